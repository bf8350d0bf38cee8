"""latentdyn: repeated inference and concept analyses in the latent spaces of deep
generative models."""

from latentdyn._version import __version__
from latentdyn.errors import LatentdynError

__all__ = ["__version__", "LatentdynError"]


def load_run(path, device="cpu"):
    """Return ``(model, config)`` of a run folder; see :func:`latentdyn.train.runs.load_run`."""
    from latentdyn.train.runs import load_run as _load_run

    return _load_run(path, device)


__all__.append("load_run")
