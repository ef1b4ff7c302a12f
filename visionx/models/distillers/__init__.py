"""Knowledge distillation between segmentors: :class:`KDEncoderDecoder` (BPKD, CWD)."""
from .kd_encoder_decoder import KDEncoderDecoder, load_teacher_cfg, state_digest

__all__ = ['KDEncoderDecoder', 'load_teacher_cfg', 'state_digest']
