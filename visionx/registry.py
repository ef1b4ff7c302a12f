"""VisionX registries.

Every registry is a child of the corresponding MMSegmentation registry (itself a child of MMEngine's), so
with ``default_scope='visionx'`` a config can name VisionX modules and MMSeg/MMEngine modules side by side
(``type='EncoderDecoder'`` resolves through the parent chain).  ``locations=`` makes the registry import
the package that registers its modules on first lookup, so no ``register_all_modules()`` call is needed.
"""
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS



def _child(name: str, parent: Registry, location: str) -> Registry:
    """A child of ``parent`` that imports ``location`` and the parent's own locations on first lookup.

    MMEngine's parent lookup reads the parent's module dict without importing the parent's locations, so
    the mmseg packages are listed here too; otherwise ``type='EncoderDecoder'`` would only resolve after
    an explicit ``import mmseg.models``.
    """
    return Registry(name, parent=parent, locations=[location, *parent._locations])


RUNNERS = _child('runner', MMSEG_RUNNERS, 'visionx.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', MMSEG_RUNNER_CONSTRUCTORS, 'visionx.engine')
LOOPS = _child('loop', MMSEG_LOOPS, 'visionx.engine')
HOOKS = _child('hook', MMSEG_HOOKS, 'visionx.engine')

DATASETS = _child('dataset', MMSEG_DATASETS, 'visionx.datasets')
DATA_SAMPLERS = _child('data sampler', MMSEG_DATA_SAMPLERS, 'visionx.datasets')
TRANSFORMS = _child('transform', MMSEG_TRANSFORMS, 'visionx.datasets')

MODELS = _child('model', MMSEG_MODELS, 'visionx.models')
MODEL_WRAPPERS = _child('model_wrapper', MMSEG_MODEL_WRAPPERS, 'visionx.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMSEG_WEIGHT_INITIALIZERS, 'visionx.models')
TASK_UTILS = _child('task util', MMSEG_TASK_UTILS, 'visionx.models')

OPTIMIZERS = _child('optimizer', MMSEG_OPTIMIZERS, 'visionx.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMSEG_OPTIM_WRAPPERS, 'visionx.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', MMSEG_OPTIM_WRAPPER_CONSTRUCTORS, 'visionx.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMSEG_PARAM_SCHEDULERS, 'visionx.engine')

METRICS = _child('metric', MMSEG_METRICS, 'visionx.evaluation')
EVALUATOR = _child('evaluator', MMSEG_EVALUATOR, 'visionx.evaluation')

VISUALIZERS = _child('visualizer', MMSEG_VISUALIZERS, 'visionx.visualization')
VISBACKENDS = _child('vis_backend', MMSEG_VISBACKENDS, 'visionx.visualization')
LOG_PROCESSORS = _child('log_processor', MMSEG_LOG_PROCESSORS, 'visionx.engine')

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
    'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'VISUALIZERS',
    'VISBACKENDS', 'LOG_PROCESSORS'
]
