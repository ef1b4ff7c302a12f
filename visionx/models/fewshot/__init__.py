"""Few-shot segmentation (RePRI): the base segmentor and the transductive per-task classifier."""
from .repri import (RePRIClassifier, RePRIState, cosine_logits, downsample_masks, fg_bg_probas,
                    oracle_proportion, proportion_kl, prototype_init, query_entropy, query_marginal,
                    support_cross_entropy)
from .data_preprocessor import FewShotSegDataPreProcessor
from .segmentor import FewShotEncoderDecoder

__all__ = [
    'FewShotEncoderDecoder', 'FewShotSegDataPreProcessor', 'RePRIClassifier', 'RePRIState', 'cosine_logits', 'downsample_masks',
    'fg_bg_probas', 'oracle_proportion', 'proportion_kl', 'prototype_init', 'query_entropy',
    'query_marginal', 'support_cross_entropy'
]
