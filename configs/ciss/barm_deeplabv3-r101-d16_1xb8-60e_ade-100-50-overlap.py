# BARM (ECCV 2024) on ADE 100-50 (overlap); paper mIoU-all 35.7.  Step 0: 60 epochs, batch
# 8, backbone lr 1e-3, head 1e-2.  Steps >= 1 (METHODS.md B§4.3): 100 epochs, batch 8 (official: 4 x 2 GPUs), new head
# and ear at lr 0.01, ASPP 1e-3, old heads / ears / head_pre / backbone 1e-4, BN and dropout frozen.
_base_ = [
    '../_base_/datasets/ciss_ade_513-crop.py', '../_base_/models/barm_deeplabv3-r101-d16.py',
    '../_base_/schedules/schedule_ciss-barm-sgd-poly-amp_50e.py', '../_base_/default_runtime.py'
]
runner_type = 'visionx.IncrementalRunner'
train_dataloader = dict(dataset=dict(task='100-50', setting='overlap'))
test_dataloader = dict(dataset=dict(task='100-50'))
model = dict(classes_per_step=[101])
# ADE step 0: 60 epochs, batch 8
max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs + 1)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=max_epochs, by_epoch=True,
                        convert_to_iter_based=True)]
ciss = dict(
    later_steps={
        'train_dataloader.batch_size': 8,
        'train_cfg.max_epochs': 100,
        'train_cfg.val_interval': 101,
        'param_scheduler': [
            dict(type='PolyLR', power=0.9, eta_min=1e-6, begin=0, end=100, by_epoch=True,
                 convert_to_iter_based=True)
        ],
        'optim_wrapper.optimizer.lr': 0.01,
        'optim_wrapper.paramwise_cfg': {
            '_delete_': True,
            'custom_keys': {
                'decode_head.heads.{step}.': dict(lr_mult=1.0),
                'decode_head.ears.{step}.': dict(lr_mult=1.0),
                'decode_head.aspp_convs': dict(lr_mult=0.1),
                'decode_head.image_pool': dict(lr_mult=0.1),
                'decode_head.project': dict(lr_mult=0.1),
                'decode_head': dict(lr_mult=0.01),
                'backbone': dict(lr_mult=0.01),
            }
        },
    })
