# RePRI's base segmentor (METHODS.md B§3.1, official src/model/pspnet.py): PSPNet on a deep-stem ResNet-50
# (3x3 convs 64-64-128, layer1 input 128), dilations 2/4 in layer3/4 (output stride 8), PPM bins 1/2/3/6
# (2048 -> 4 x 512, bilinear align_corners=True), 3x3 bottleneck 4096 -> 512 + BN + ReLU, Dropout2d(0.1),
# 1x1 classifier to the 15 base classes + background.  FewShotEncoderDecoder exposes the 512-d bottleneck
# features (extract_bottleneck_features) that RePRI's test loop uses.  Loss: label-smoothed CE, eps 0.1,
# eps/(C-1) on the other classes, ignore 255.  SyncBN as the official DDP training; ImageNet weights of the
# deep-stem ResNet (PFENet's initmodel/) are not downloaded: convert them and set init_cfg/load_from.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='FewShotSegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(417, 417))
model = dict(
    type='FewShotEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ResNetV1c', depth=50, stem_channels=128, num_stages=4, out_indices=(3, ),
                  dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  style='pytorch', contract_dilation=False),
    decode_head=dict(type='PSPHead', in_channels=2048, in_index=0, channels=512, pool_scales=(1, 2, 3, 6),
                     dropout_ratio=0.1, num_classes=16, norm_cfg=norm_cfg, align_corners=True,
                     loss_decode=dict(type='LabelSmoothedCrossEntropyLoss', epsilon=0.1, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
