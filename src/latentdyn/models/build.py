"""Building a network reproducibly: initial weights from a seed alone, and the Adam
optimizer every trainer (and the MI evaluator's auxiliary Q) uses."""

from __future__ import annotations

import torch


def seeded_init(seed: int, build):
    """Build a module with parameters drawn from ``seed`` without touching global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def make_adam(params, lr: float, device: torch.device, **kwargs) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch build offers it for ``device``."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, **kwargs)
