# The TopoMortar losses on an mmseg segmentor: EncoderDecoder + mmseg UNet + FCN head, same data and
# schedule as the DynUNet configs.  Swap `loss_decode` for any TopoMortar loss.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16.py', '../_base_/datasets/topomortar_512x512.py',
    '../_base_/schedules/schedule_sgd-poly-amp_12k.py', '../_base_/default_runtime.py'
]
