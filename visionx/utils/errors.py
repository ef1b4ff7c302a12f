"""Exceptions for user errors.

Every error a user can fix by changing their input (a path, a config, a checkpoint, a file) derives from
:class:`VisionXUserError`.  The command-line tools (:func:`visionx.utils.cli.run_tool`) print such an
error as one ``error:`` line and exit with status 2; any other exception is a bug and keeps its traceback.

Each class also derives from the built-in exception that the same check raised before the family existed
(``ValueError`` / ``FileNotFoundError``), so ``except ValueError`` and ``pytest.raises(ValueError)`` keep
working.
"""


class VisionXUserError(Exception):
    """Base class of the errors caused by user input (paths, configs, checkpoints, data files)."""


class ConfigError(VisionXUserError, ValueError):
    """A config file, a ``--cfg-options`` override or a command-line option is invalid."""


class CheckpointMismatchError(VisionXUserError, ValueError):
    """A checkpoint does not belong to the model it is loaded into."""


class UserFileNotFoundError(VisionXUserError, FileNotFoundError):
    """A file or folder the user named (config, checkpoint, data root, input file) does not exist."""


class DataFormatError(VisionXUserError, ValueError):
    """An input file exists but its content or format is not what the reader expects."""


class OutputPathError(VisionXUserError, OSError):
    """An output path cannot be written (it is a folder, or a parent is a file, or the folder is read-only)."""
