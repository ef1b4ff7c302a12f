"""Class-incremental segmentation losses: MiB's unbiased CE / KD, BARM's losses."""
from .barm import MultiLabelBCELoss, bfd_loss, bga_loss, gkd_loss, multilabel_bce, pseudo_labels, tri_loss
from .mib import UnbiasedCrossEntropyLoss, UnbiasedKDLoss, unbiased_cross_entropy, unbiased_kd

__all__ = ['UnbiasedCrossEntropyLoss', 'UnbiasedKDLoss', 'unbiased_cross_entropy', 'unbiased_kd',
           'MultiLabelBCELoss', 'multilabel_bce', 'pseudo_labels', 'bga_loss', 'tri_loss', 'bfd_loss', 'gkd_loss']
