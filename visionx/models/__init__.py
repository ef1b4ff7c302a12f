"""Models.  Each method family lives in its own sub-package; importing this package registers them all."""
from . import losses  # noqa: F401
from . import ciss, converters, distillers, fewshot, medical, networks, reconstruction, salient, segmentors  # noqa: F401
