"""latentdyn's own error type.

Everything a user can cause (bad files, impossible options, a checkpoint from another
model) raises :class:`LatentdynError` with a one-line message naming the problem. The
CLI prints that line and exits with status 2; a notebook sees an ordinary exception.
"""


class LatentdynError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(LatentdynError):
    """A dataset file or array that cannot be read as promised."""


class ConfigError(LatentdynError):
    """An impossible or inconsistent option."""


class CheckpointError(LatentdynError):
    """A checkpoint or run folder that does not fit the requested model."""


class FolderInUse(LatentdynError):
    """Another latentdyn process is writing into the same output folder."""
