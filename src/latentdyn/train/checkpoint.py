"""Checkpoints as safetensors: weights, optimizer state and RNG state, never pickles.

Tensors go into the safetensors body; everything else (epoch, optimizer hyper-
parameters, metrics so far) goes into its JSON metadata. Every write is atomic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentdyn.errors import CheckpointError
from latentdyn.io import load_tensors, save_tensors  # noqa: F401  (re-exported)


# --- model weights ----------------------------------------------------------------
def save_model(path: str | Path, model: nn.Module, meta: dict) -> None:
    save_tensors(path, model.state_dict(), meta)


def load_model_weights(model: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Load ``tensors`` into ``model``, explaining any mismatch in one line."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        bits = []
        if missing:
            bits.append(f"missing {', '.join(missing[:3])}{'…' if len(missing) > 3 else ''}")
        if extra:
            bits.append(f"unexpected {', '.join(extra[:3])}{'…' if len(extra) > 3 else ''}")
        raise CheckpointError(
            f"{source}: weights are from another architecture ({'; '.join(bits)})"
        )
    for name, value in expected.items():
        if tuple(tensors[name].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{source}: weights are from another architecture ({name} has shape "
                f"{tuple(tensors[name].shape)}, this model needs {tuple(value.shape)})"
            )
    model.load_state_dict(tensors)


# --- optimizers -------------------------------------------------------------------
def flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer):
    """Split an optimizer's state dict into tensors and JSON-able metadata."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors, meta) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, extra in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(extra)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"optimizer state does not fit this model ({exc})") from None
