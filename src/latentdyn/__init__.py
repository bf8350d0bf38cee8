"""latentdyn: repeated inference and concept analyses in the latent spaces of deep
generative models."""

__version__ = "0.1.0"

from latentdyn.errors import LatentdynError  # noqa: E402

__all__ = ["__version__", "LatentdynError"]


def load_run(path, device="cpu"):
    """Return ``(model, config)`` of a run folder; see :func:`latentdyn.train.runs.load_run`."""
    from latentdyn.train.runs import load_run as _load_run

    return _load_run(path, device)


__all__.append("load_run")
