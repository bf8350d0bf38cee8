"""Load a finished (or checkpointed) run folder in one call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from latentdyn.errors import CheckpointError, LatentdynError
from latentdyn.train.checkpoint import load_model_weights, load_tensors
from latentdyn.train.config import TrainConfig


class Run(NamedTuple):
    model: nn.Module
    config: TrainConfig


def _input_dim(meta: dict, source: Path) -> int:
    # the weights' metadata records the data dimension; no dataset needs loading
    dim = (meta.get("model_config") or {}).get("input_dim")
    if not isinstance(dim, int) or dim <= 0:
        raise CheckpointError(f"{source}: metadata does not record the model's input size")
    return dim


def load_run(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Return ``(model, config)`` of the run in ``path``, in eval mode on ``device``.

    Uses ``model.safetensors`` when the run finished, else its last checkpoint.
    """
    from latentdyn.train.tasks import get_task

    path = Path(path)
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise CheckpointError(f"{path}: not a run folder (no config.json)")
    try:
        config = TrainConfig.from_dict(json.loads(cfg_path.read_text())).validate()
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{cfg_path}: unreadable run config ({exc})") from None
    except LatentdynError as exc:
        raise CheckpointError(f"{cfg_path}: {exc}") from None
    weights = path / "model.safetensors"
    prefix = ""
    if not weights.is_file():
        weights, prefix = path / "checkpoint.safetensors", "model."
        if not weights.is_file():
            raise CheckpointError(f"{path}: run has no model.safetensors or checkpoint yet")
    tensors, meta = load_tensors(weights)
    if meta.get("model", config.model) != config.model:
        raise CheckpointError(
            f"{weights}: weights are for model {meta.get('model')!r}, config says {config.model!r}"
        )
    tensors = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        task_cls = get_task(config.model)
    except LatentdynError as exc:
        raise CheckpointError(f"{cfg_path}: {exc}") from None
    task = task_cls(config, _input_dim(meta, weights), torch.device("cpu"))
    load_model_weights(task.model, tensors, str(weights))
    model = task.model.to(device).eval()
    return Run(model, config)
