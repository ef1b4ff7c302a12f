# RePRI base training on COCO-20i: as the PASCAL schedule, 20 epochs.
_base_ = ['./schedule_sgd-nesterov-cosine_100e.py']
max_epochs = 20
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-6, by_epoch=True, begin=0,
                        end=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
