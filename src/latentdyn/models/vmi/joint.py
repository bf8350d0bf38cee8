"""The VMI VAE seen through its full latent [z_g, one-hot c], for repeated inference
that carries the category from step to step (see :mod:`latentdyn.models.vmi`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError


class JointLatent(nn.Module):
    """The VMI VAE seen through its *full* latent [z_g, c] for repeated inference.

    ``encode(x)`` = [mu(x), one-hot of the most likely category] (``categorical="hard"``,
    the default) or [mu(x), q(c | x)] (``"soft"``, the posterior mean of the one-hot);
    ``decode`` takes that full width. ``sample_latent`` draws z_g ~ q(z_g|x) and
    c ~ q(c|x). :meth:`split` cuts a trajectory ``(n, T+1, n_gauss + n_cat)`` into its
    continuous part and its category at each step.
    """

    def __init__(self, model, categorical: str = "hard"):
        super().__init__()
        if categorical not in ("hard", "soft"):
            raise ConfigError(f"categorical must be 'hard' or 'soft', got {categorical!r}")
        self.model = model
        self.categorical = categorical

    @property
    def n_gauss(self) -> int:
        return self.model.n_gauss

    def encode(self, x: Tensor) -> Tensor:
        mu, _, logits = self.model.encode_joint(x)
        if logits is None:
            return mu
        if self.categorical == "soft":
            c = F.softmax(logits, -1)
        else:
            c = F.one_hot(logits.argmax(-1), self.model.n_cat).to(mu.dtype)
        return torch.cat([mu, c], -1)

    def decode(self, z: Tensor) -> Tensor:
        return self.model.decode(z)

    def sample_latent(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.model.sample_joint(x, generator=generator)

    def sample_data(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.model.sample_data(z, generator=generator)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(z_g (..., n_gauss), category (...,) int64 or None)`` of full latents."""
        g = self.model.n_gauss
        if not self.model.n_cat:
            return z[..., :g], None
        return z[..., :g], z[..., g:].argmax(-1)
