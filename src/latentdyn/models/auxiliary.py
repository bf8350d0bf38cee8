"""The image networks shared by the VMI VAE and the MI evaluator: a trunk (images ->
features), a head (latents -> pixel parameters), and the auxiliary network Q(c | x̃) of
the variational MI bound (Serdega & Kim 2020), and the Gumbel-softmax relaxation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.distributions import LOG_2PI
from latentdyn.models.vae.network import ACTIVATIONS

ARCHS = ("conv", "fc")
# Q's Gaussian log-variance is squashed into (-Q_LOGVAR_MAX, Q_LOGVAR_MAX): a perfectly
# recoverable code gives a large but finite bound instead of a diverging one.
Q_LOGVAR_MAX = 10.0


def conv_side(input_dim: int) -> int:
    """The side of square images of ``input_dim`` pixels that the conv nets accept."""
    side = math.isqrt(int(input_dim))
    if side * side != input_dim or side % 4 != 0:
        raise ConfigError(f"arch 'conv' needs square images with a side divisible by 4 "
                          f"(e.g. 28x28); got {input_dim} pixels — use arch=fc")
    return side


def image_trunk(arch: str, input_dim: int, hidden: int, channels: int, activation: str
                ) -> nn.Sequential:
    """Flat images (B, D) -> features (B, hidden): the encoder's and Q's body."""
    act = ACTIVATIONS[activation]
    if arch == "fc":
        return nn.Sequential(nn.Linear(input_dim, hidden), act())
    side = conv_side(input_dim)
    small = side // 4
    return nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, channels, 4, 2, 1), act(),
        nn.Conv2d(channels, 2 * channels, 4, 2, 1), act(),
        nn.Flatten(),
        nn.Linear(2 * channels * small * small, hidden), act(),
    )


def image_head(arch: str, latent: int, input_dim: int, hidden: int, channels: int,
               activation: str) -> nn.Sequential:
    """Latents (B, latent) -> pixel parameters (B, D): the decoder."""
    act = ACTIVATIONS[activation]
    if arch == "fc":
        return nn.Sequential(nn.Linear(latent, hidden), act(), nn.Linear(hidden, input_dim))
    side = conv_side(input_dim)
    small = side // 4
    return nn.Sequential(
        nn.Linear(latent, hidden), act(),
        nn.Linear(hidden, 2 * channels * small * small), act(),
        nn.Unflatten(1, (2 * channels, small, small)),
        nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), act(),
        nn.ConvTranspose2d(channels, 1, 4, 2, 1),
        nn.Flatten(),
    )


class AuxiliaryQ(nn.Module):
    """Q(c | x̃): a diagonal Gaussian over ``n_units`` Gaussian codes and logits over
    ``n_cat`` categories (either may be 0), from flat images (B, D)."""

    def __init__(self, arch: str, input_dim: int, n_units: int, n_cat: int, hidden: int = 256,
                 channels: int = 32, activation: str = "relu"):
        super().__init__()
        self.n_units, self.n_cat = int(n_units), int(n_cat)
        self.trunk = image_trunk(arch, input_dim, hidden, channels, activation)
        n_out = 2 * self.n_units + self.n_cat
        self.head = nn.Linear(hidden, n_out) if n_out else None  # None: no code chosen

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(mean (B, n_units), logvar (B, n_units), cat logits (B, n_cat))``."""
        if self.head is None:
            out = x.new_zeros((x.shape[0], 0))
        else:
            out = self.head(self.trunk(x))
        k = self.n_units
        mean, raw, logits = out[:, :k], out[:, k:2 * k], out[:, 2 * k:]
        logvar = Q_LOGVAR_MAX * torch.tanh(raw / Q_LOGVAR_MAX)
        return mean, logvar, logits

    def nll(self, x: Tensor, z_codes: Tensor | None, c_target: Tensor | None
            ) -> tuple[Tensor | None, Tensor | None]:
        """Per-image −log Q of the Gaussian codes, ``(B, n_units)`` (per unit), and of
        the categorical code, ``(B,)``; ``c_target`` one-hot or probabilities (B, n_cat)."""
        mean, logvar, logits = self(x)
        g = c = None
        if self.n_units and z_codes is not None:
            g = 0.5 * (LOG_2PI + logvar + (z_codes - mean).pow(2) * torch.exp(-logvar))
        if self.n_cat and c_target is not None:
            c = -(c_target * F.log_softmax(logits, -1)).sum(-1)
        return g, c


def _scale_grad(x: Tensor, scale: float) -> Tensor:
    """``x`` in value; its gradient multiplied by ``scale`` on the way back."""
    if scale == 1.0:
        return x
    d = x.detach()
    return d + scale * (x - d)


def gumbel_softmax(logits: Tensor, tau: float, generator: torch.Generator | None) -> Tensor:
    """A relaxed one-hot sample softmax((logits + g) / tau), g ~ Gumbel(0, 1)."""
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
    g = -torch.log((-torch.log(u.clamp_min(1e-20))).clamp_min(1e-20))
    return F.softmax((logits + g) / tau, dim=-1)
