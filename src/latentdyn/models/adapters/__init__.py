"""Models from other libraries and from the user's own code, as protocol objects.

Every command's ``--model`` takes (:mod:`latentdyn.train.sources` decides which):

* a latentdyn run folder (the train layer loads it);
* a factory, ``path/to/file.py:make_model`` or ``package.module:make_model``
  (:mod:`.from_factory`), optionally with ``--weights``;
* a model folder of another library, one adapter each (:data:`ADAPTERS`, one line per
  adapter): a pythae model folder (:mod:`.from_pythae`), a diffusers ``AutoencoderKL``
  folder (:mod:`.from_diffusers`). What kind a folder is, is read from its files
  (:func:`detect`); ``--model-kind`` says it explicitly. Each library is an optional
  extra (``pip install -e ".[pythae]"``), and its absence is one line naming the extra.

Every adapter returns an :class:`~.base.ImageModel`: ``encode`` takes flat rows in
[0, 1] and returns flat latents, ``decode`` the reverse, as every analysis expects.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from latentdyn.errors import ConfigError
from latentdyn.models.adapters.base import Adapter, ImageModel, require
from latentdyn.models.adapters.from_factory import load_factory, load_weights, split_factory

# name -> "module:ADAPTER"; one line per adapter
ADAPTERS = {
    "pythae": "latentdyn.models.adapters.from_pythae:ADAPTER",
    "diffusers": "latentdyn.models.adapters.from_diffusers:ADAPTER",
}


def adapter(name: str) -> Adapter:
    """The adapter registered as ``name``."""
    if name not in ADAPTERS:
        raise ConfigError(f"unknown model kind {name!r}; adapters: {', '.join(ADAPTERS)}")
    module, _, attr = ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def detect(folder: str | Path) -> str | None:
    """The adapter whose files ``folder`` holds, or None (no library is imported)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for name in ADAPTERS:
        if adapter(name).detect(folder):
            return name
    return None


def load_folder(name: str, folder: str | Path, device, trust_pickles: bool = False):
    """The protocol model of the ``name`` adapter's folder, on ``device``."""
    return adapter(name).load(Path(folder), device, trust_pickles)


def described() -> str:
    """The adapters' folders in words, for messages."""
    return " or ".join(adapter(n).what for n in ADAPTERS)


__all__ = ["ADAPTERS", "Adapter", "ImageModel", "adapter", "described", "detect",
           "load_factory", "load_folder", "load_weights", "require", "split_factory"]
