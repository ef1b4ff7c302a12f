# TopoMortar for the self-distillation framework (METHODS §3.4): the training pipeline also loads the soft
# labels that the SelfDistillationLoop saves after each round.
_base_ = ['./topomortar_512x512.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadSoftLabels'),          # no-op in round 1; the loop points it at each round's soft labels
    dict(type='ZScoreNormalize'),
    dict(type='TopoMortarAugment'),       # resamples soft labels bilinearly
    dict(type='PackTopoMortarInputs'),    # packs them as a float (2, H, W) gt_soft_seg
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
