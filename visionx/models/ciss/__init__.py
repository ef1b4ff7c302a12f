"""Class-incremental semantic segmentation models: growing heads, the incremental segmentor, BARM, BACS."""
from .bacs import BACSSegmentor, BgShiftDetector
from .barm import BARMHead, BARMSegmentor
from .heads import IncrementalASPPHead, IncrementalClassifier, mib_init
from .token_head import TokenMaskTransformerHead
from .segmentor import IncrementalEncoderDecoder, load_step_state

__all__ = ['IncrementalASPPHead', 'IncrementalClassifier', 'mib_init', 'IncrementalEncoderDecoder',
           'load_step_state', 'BARMHead', 'BARMSegmentor', 'BACSSegmentor', 'BgShiftDetector', 'TokenMaskTransformerHead']
