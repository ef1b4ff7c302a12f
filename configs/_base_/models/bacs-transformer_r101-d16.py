# BACS with the token transformer decoder ("TranSeg", METHODS.md B§5.1): on the ResNet-101 output (stride 16,
# no ASPP) a 1x1 conv 2048 -> 256, a learned 32 x 32 positional embedding (512 crops), learned class tokens,
# 2 pre-norm transformer blocks (8 heads, FFN 2048), cosine masks patches x classes and the LayerNorm over
# classes (mask_norm).  New classes are new tokens initialised by the mean of the existing ones, with the
# official mask_norm beta quirk (new beta = mean(old gamma)).  Distilled features: the decoded patch tokens.
_base_ = ['./bacs_deeplabv3_r101-d16.py']
model = dict(
    new_classifier_init='normal',  # the head initialises its new tokens itself (new_token_init)
    decode_head=dict(
        _delete_=True,
        type='TokenMaskTransformerHead',
        in_channels=2048,
        in_index=0,
        d_model=256,
        num_heads=8,
        ffn_channels=2048,
        num_layers=2,
        pos_grid=(32, 32),
        new_token_init='mean',
        mask_norm_beta_quirk=True,
        align_corners=False))
