"""VisionX: dense prediction and 3D vision methods as MMEngine plugins."""
from .utils.checkpoint import register_safe_globals
from .utils.io import register_atomic_local_backend
from .version import __version__

# Checkpoints written by MMEngine must load under torch's weights-only unpickler (torch >= 2.6), and
# files MMEngine writes (checkpoints included) must never be left half-written.
register_safe_globals()
register_atomic_local_backend()

__all__ = ['__version__']
