"""Class-incremental segmentation losses: MiB's unbiased CE / KD, BARM's losses, BACS's losses."""
from .bacs import (BgAwareCrossEntropyLoss, BinaryFocalLoss, DERLabelLoss, DERLogitLoss, MaskedFeatureKDLoss,
                   bg_aware_cross_entropy, binary_focal_loss, der_label_loss, der_logit_loss, detector_loss_decay,
                   masked_feature_kd)
from .barm import MultiLabelBCELoss, bfd_loss, bga_loss, gkd_loss, multilabel_bce, pseudo_labels, tri_loss
from .mib import UnbiasedCrossEntropyLoss, UnbiasedKDLoss, unbiased_cross_entropy, unbiased_kd

__all__ = ['UnbiasedCrossEntropyLoss', 'UnbiasedKDLoss', 'unbiased_cross_entropy', 'unbiased_kd',
           'MultiLabelBCELoss', 'multilabel_bce', 'pseudo_labels', 'bga_loss', 'tri_loss', 'bfd_loss', 'gkd_loss',
           'BinaryFocalLoss', 'binary_focal_loss', 'detector_loss_decay', 'BgAwareCrossEntropyLoss',
           'bg_aware_cross_entropy', 'MaskedFeatureKDLoss', 'masked_feature_kd', 'DERLogitLoss', 'der_logit_loss',
           'DERLabelLoss', 'der_label_loss']
