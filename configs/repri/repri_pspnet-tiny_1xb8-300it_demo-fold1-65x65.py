# RePRI CPU demo, fold 1 of the synthetic 8-class dataset (novel classes 3 and 4): a short base training
# of a tiny PSPNet, then 5 x 100 1-shot episodes (5-shot and the prototype / oracle classifiers: tools/demo.sh).
_base_ = ['../_base_/models/pspnet-tiny_repri.py', '../_base_/datasets/repri_demo_65.py',
          '../_base_/schedules/schedule_repri-demo_300it.py', '../_base_/default_runtime.py']
fold = 1
train_dataloader = dict(dataset=dict(fold=fold))
test_dataloader = dict(dataset=dict(fold=fold))
