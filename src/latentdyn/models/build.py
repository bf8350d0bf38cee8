"""Building a network reproducibly: initial weights from a seed alone (after checking
that they fit in memory), the memory check of a training step, and the Adam optimizer
every task (and the MI evaluator's auxiliary Q) uses."""

from __future__ import annotations

import torch

from latentdyn.checks import available_memory

# bytes per parameter while training: the weight, its gradient and Adam's two moments
TRAINING_BYTES_PER_PARAMETER = 16


def parameter_count(build) -> int:
    """Parameters of the module ``build()`` makes, counted without allocating them (the
    module is built on PyTorch's meta device)."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())


def check_fits(build, budget: int | None = None) -> int:
    """The parameter count of ``build()``; a one-line error when training it would need
    more memory than ``budget`` (default: what is available now)."""
    from latentdyn.errors import ConfigError

    n = parameter_count(build)
    need = n * TRAINING_BYTES_PER_PARAMETER
    budget = available_memory() if budget is None else budget
    if need > budget:
        raise ConfigError(f"the model has {n:,} parameters: training it needs about "
                          f"{need / 2**30:,.1f} GiB, more than the {budget / 2**30:,.1f} GiB "
                          "available; choose smaller sizes")
    return n


def check_step_memory(config, input_dim: int) -> None:
    """One line when one training step's activations cannot fit: L samples of a batch
    through the hidden layers, the latent and the output, forward and backward
    (``config``: a run's config, read for ``n_samples``, ``hidden``, ``nz`` and
    ``batch_size``)."""
    from latentdyn.checks import check_memory

    per_image = config.n_samples * (2 * config.hidden + config.nz + input_dim)
    check_memory(config.batch_size * per_image * 4 * 4,
                 f"a training step (batch {config.batch_size} x {config.n_samples} samples)")


def seeded_init(seed: int, build):
    """Build a module with parameters drawn from ``seed`` without touching global RNG,
    after :func:`check_fits` has made sure it fits in memory."""
    check_fits(build)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def make_adam(params, lr: float, device: torch.device, **kwargs) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch build offers it for ``device``."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, **kwargs)
