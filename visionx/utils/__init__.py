from .checkpoint import check_checkpoint_matches, register_safe_globals, safe_checkpoint_globals
from .config import (ConfigOverrideWarning, check_cfg_option, check_data_roots, check_model_files, edit_distance,
                     iter_dataset_cfgs, load_config, set_data_root)
from .errors import (CheckpointMismatchError, ConfigError, DataFormatError, OutputPathError, UserFileNotFoundError,
                     VisionXUserError)
from .io import (atomic_path, atomic_write_json, atomic_write_text, check_output_dir, check_output_path,
                 register_atomic_local_backend)

__all__ = [
    'register_safe_globals', 'safe_checkpoint_globals', 'check_checkpoint_matches', 'load_config',
    'check_data_roots', 'check_model_files', 'iter_dataset_cfgs', 'ConfigError', 'CheckpointMismatchError',
    'atomic_path', 'atomic_write_json', 'atomic_write_text', 'register_atomic_local_backend', 'VisionXUserError',
    'UserFileNotFoundError', 'DataFormatError', 'ConfigOverrideWarning', 'check_cfg_option', 'edit_distance',
    'set_data_root', 'OutputPathError', 'check_output_path', 'check_output_dir'
]
