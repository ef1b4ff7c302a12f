"""Exceptions for user errors.  The command-line tools print their message in one line and exit 2."""


class ConfigError(ValueError):
    """A config file or a ``--cfg-options`` override is invalid."""


class CheckpointMismatchError(ValueError):
    """A checkpoint does not belong to the model it is loaded into."""
