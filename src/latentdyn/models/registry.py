"""The model families latentdyn can train and load: one line per family.

``FAMILIES`` maps a model kind (``latentdyn train --model KIND``, the ``model`` of a
run's ``config.json``) to the ``"module:attribute"`` of its
:class:`~latentdyn.models.family.Family`, imported on first use. The training loop takes
a kind's task from here, ``load_run`` its network, ``build_model`` its network class.
A family added at run time (a study's variant, a test) is one more entry.
"""

from __future__ import annotations

import importlib
import importlib.util

from latentdyn.errors import ConfigError

FAMILIES: dict[str, str] = {
    "vae": "latentdyn.models.vae:FAMILY",
    "vmi": "latentdyn.models.vmi:FAMILY",
    "gan": "latentdyn.models.gan:FAMILY",
    "gan-encoder": "latentdyn.models.gan:ENCODER_FAMILY",
    "classifier": "latentdyn.models.classifier:FAMILY",
}


def _importable(path: str) -> bool:
    try:
        return importlib.util.find_spec(path.split(":")[0]) is not None
    except (ImportError, ValueError):
        return False


def kinds() -> list[str]:
    """The registered kinds whose module is importable."""
    return [k for k, v in FAMILIES.items() if _importable(v)]


def family(kind: str):
    """The :class:`~latentdyn.models.family.Family` of ``kind``, or a one-line error
    naming the known kinds."""
    if kind not in FAMILIES or not _importable(FAMILIES[kind]):
        raise ConfigError(f"unknown model kind {kind!r}; choose from {', '.join(kinds())}")
    module, attr = FAMILIES[kind].split(":")
    return getattr(importlib.import_module(module), attr)


def build_model(kind: str, **options):
    """A network of ``kind`` from its config options (unknown options are an error),
    with weights from the global random state."""
    cls = family(kind).network
    config_cls = getattr(cls, "config_class", None)
    if config_cls is None:
        raise ConfigError(f"model {kind!r} cannot be built from options")
    unknown = sorted(set(options) - set(config_cls.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"model {kind!r} has no option(s) {', '.join(unknown)}")
    return cls(config_cls(**options))


__all__ = ["FAMILIES", "build_model", "family", "kinds"]
