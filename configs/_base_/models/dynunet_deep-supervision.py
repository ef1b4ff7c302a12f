# TopoMortar's segmentor: MONAI DynUNet (8 levels for 512x512 inputs) with 6 deep-supervision heads; the
# loss is applied to every head.  Inputs are padded to a multiple of 128 (the total down-sampling).
model = dict(
    type='DeepSupervisionSegmentor',
    data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=128),
    network=dict(type='MonaiDynUNet', spatial_dims=2, in_channels=3, out_channels=2, num_levels=8,
                 deep_supervision=True, deep_supr_num=6),
    loss=dict(type='CEDiceLoss'))
