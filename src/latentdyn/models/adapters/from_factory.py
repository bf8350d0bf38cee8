"""``--model path/to/file.py:make_model`` or ``--model package.module:make_model``: a
function of the user's own that builds their model, and optionally ``--weights``.

The named function is called with no arguments and must return a protocol object
(``encode``/``decode``, :mod:`latentdyn.models.protocol`). It runs the user's own code
-- the file or module they named, and nothing else. ``--weights`` loads a state dict
into it (it must then be a ``torch.nn.Module``), strictly: a ``.safetensors`` file, or
a PyTorch file opened with ``torch.load(weights_only=True)`` holding a state dict (or a
dict with one under ``state_dict`` or ``model_state_dict``). Weights of another
architecture are one line naming the keys or shapes that differ.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, Mapping

import torch

from latentdyn.errors import CheckpointError, ConfigError
from latentdyn.models.protocol import check_model

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
STATE_KEYS = ("state_dict", "model_state_dict")


def split_factory(spec: str) -> tuple[str, str] | None:
    """``(file or module, function name)`` when ``spec`` reads as ``X.py:NAME`` or
    ``package.module:NAME``, else None."""
    where, sep, name = str(spec).rpartition(":")
    if not sep or not _NAME.match(name) or not where:
        return None
    if where.endswith(".py") or _MODULE.match(where):
        return where, name
    return None


def _import_file(path: Path, spec_text: str):
    if not path.is_file():
        raise ConfigError(f"--model {spec_text}: no such file {path}")
    name = f"latentdyn_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # the file may import modules beside it
    try:
        spec.loader.exec_module(module)
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    return module


def _module(where: str, spec_text: str):
    if where.endswith(".py"):
        return _import_file(Path(where).expanduser(), spec_text)
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise ConfigError(f"--model {spec_text}: no module {where!r} on the Python path") \
                from None
        raise


def load_factory(spec: str, device, weights: str | Path | None = None) -> Any:
    """The model ``spec``'s function returns, with ``weights`` loaded, on ``device``."""
    parts = split_factory(spec)
    if parts is None:
        raise ConfigError(f"--model {spec}: a factory is FILE.py:FUNCTION or "
                          "package.module:FUNCTION")
    where, name = parts
    try:
        module = _module(where, spec)
        factory = getattr(module, name, None)
        if not callable(factory):
            raise ConfigError(f"--model {spec}: {where} has no function {name!r}")
        model = factory()
    except ConfigError:
        raise
    except Exception as exc:  # the user's code failed: say where, in one line
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(f"--model {spec}: {type(exc).__name__} while building the model"
                          + (f": {reason}" if reason else "")) from None
    try:
        check_model(model)
    except ConfigError as exc:
        raise ConfigError(f"--model {spec}: returned {exc}") from None
    if weights is not None:
        load_weights(model, weights, spec)
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
    return model


def read_state(path: str | Path) -> Mapping[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a weights-only PyTorch file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"--weights {path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle of objects, a truncated file, a bad header...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"--weights {path}: cannot read it as weights (safetensors, or "
                              f"torch.load with weights_only=True): {reason}") from None
    if isinstance(state, Mapping):
        for key in STATE_KEYS:
            if isinstance(state.get(key), Mapping) and len(state) <= 3:
                state = state[key]
                break
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor)
                                                 for v in state.values()):
        raise CheckpointError(f"--weights {path}: not a state dict (names -> tensors)")
    return state


def load_weights(model, path: str | Path, spec: str) -> None:
    """Load the state dict in ``path`` into ``model`` strictly; one line when it is of
    another architecture."""
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"--weights needs a torch.nn.Module; {spec} returned a "
                          f"{type(model).__name__}")
    state = read_state(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        said = []
        if missing:
            said.append(f"missing {_few(missing)}")
        if unexpected:
            said.append(f"unexpected {_few(unexpected)}")
        if shapes:
            said.append(f"other shapes: {_few(shapes)}")
        raise CheckpointError(f"--weights {path}: not weights of the model {spec} builds "
                              f"({'; '.join(said)})")
    model.load_state_dict(state, strict=True)


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


__all__ = ["load_factory", "load_weights", "read_state", "split_factory"]
