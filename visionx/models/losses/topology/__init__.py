"""The losses compared in TopoMortar (BMVC 2025): CE+Dice, clDice, Skeleton Recall, cbDice, region-wise,
Warping, the persistent-homology loss (TopoLoss) and TOPO's distance + MALIS loss.

Modules: :mod:`.losses` (the unscheduled pixel/skeleton losses), :mod:`.warping`, :mod:`.persistence`,
:mod:`.malis`; shared pieces in :mod:`.common` and digital topology (simple points, thinning) in
:mod:`.digital`.
"""
from .losses import *  # noqa: F401,F403
from .losses import __all__  # noqa: F401
