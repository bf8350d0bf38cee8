"""The variational autoencoder of Nagano, Karakida & Okada (2017).

Fully connected encoder and decoder with one hidden layer each (1024 tanh units by
default), a diagonal Gaussian posterior q(z|x) = N(mu, diag(exp(logvar))), a standard
normal prior and a Bernoulli decoder over pixels in [0, 1]. The ELBO is estimated with
``n_samples`` reparameterised samples (L = 2 in the paper, eq. 5) and is always reported
in nats per image, summed over pixels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.distributions import (
    bernoulli_log_prob,
    gaussian_kl,
    gaussian_sample,
    posterior_log_prob,
    reparameterise,
    standard_normal_log_prob,
)

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
}


@dataclass
class VAEConfig:
    input_dim: int = 784
    hidden: int = 1024
    nz: int = 100
    activation: str = "tanh"
    n_samples: int = 2

    def validate(self) -> "VAEConfig":
        for name in ("input_dim", "hidden", "nz", "n_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}"
            )
        return self


class VAE(nn.Module):
    """``encode(x) -> (mu, logvar)``, ``decode(z) -> pixel means``, samplers and bounds."""

    kind = "vae"
    config_class = VAEConfig

    def __init__(self, config: VAEConfig | None = None, **kwargs):
        super().__init__()
        self.config = (config or VAEConfig(**kwargs)).validate()
        c = self.config
        act = ACTIVATIONS[c.activation]
        self.encoder = nn.Sequential(nn.Linear(c.input_dim, c.hidden), act())
        self.encoder_out = nn.Linear(c.hidden, 2 * c.nz)  # [mu, logvar]
        self.decoder = nn.Sequential(nn.Linear(c.nz, c.hidden), act())
        self.decoder_out = nn.Linear(c.hidden, c.input_dim)  # Bernoulli logits

    @property
    def nz(self) -> int:
        return self.config.nz

    def config_dict(self) -> dict:
        return asdict(self.config)

    # --- the encode/decode protocol -------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance, each ``(..., nz)``."""
        mu, logvar = self.encoder_out(self.encoder(x)).chunk(2, dim=-1)
        return mu, logvar

    def latent_mean(self, x: Tensor) -> Tensor:
        """The posterior mean alone: the mean half of ``encoder_out`` (the numbers of
        ``encode(x)[0]``, at about 5 % less arithmetic per step of repeated inference)."""
        out = self.encoder_out
        return F.linear(self.encoder(x), out.weight[:self.config.nz], out.bias[:self.config.nz])

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder_out(self.decoder(z))

    def decode(self, z: Tensor) -> Tensor:
        """Pixel means E_p[x | z] = sigmoid(logits), in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def sample_latent(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z ~ q(z | x)."""
        return gaussian_sample(*self.encode(x), generator)

    def sample_data(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """x ~ p(x | z), binary pixels."""
        return torch.bernoulli(self.decode(z), generator=generator)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        device = self.decoder_out.weight.device
        return torch.randn((n, self.nz), generator=generator, device=device)

    # --- objectives ---------------------------------------------------------------
    def elbo(
        self,
        x: Tensor,
        n_samples: int | None = None,
        eps: Tensor | None = None,
        generator: torch.Generator | None = None,
        posterior: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """Per-image ELBO in nats (summed over pixels), shape ``(B,)``.

        The reconstruction term is averaged over ``n_samples`` reparameterised samples
        (``eps`` of shape ``(L, B, nz)`` may be given to fix them); the KL term is the
        analytic Gaussian KL to N(0, I). ``posterior``: ``self.encode(x)`` when already
        computed (several draws of z for the same images encode them once).
        """
        mu, logvar = self.encode(x) if posterior is None else posterior
        if eps is None:
            L = n_samples or self.config.n_samples
            eps = torch.randn(
                (L, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype
            )
        z = reparameterise(mu, logvar, eps)  # (L, B, nz)
        rec = bernoulli_log_prob(self.decode_logits(z), x).mean(0)
        return rec - gaussian_kl(mu, logvar)

    def loss(self, x: Tensor, eps: Tensor) -> Tensor:
        """Training objective: the negative ELBO averaged over the batch (a scalar).

        Same value as ``-elbo(x, eps=eps).mean()``, computed with one fused reduction.
        """
        mu, logvar = self.encode(x)
        logits = self.decode_logits(reparameterise(mu, logvar, eps))
        L, B = eps.shape[0], eps.shape[1]
        # -sum_l log p(x | z_l) with the data term summed over samples first
        rec = (F.softplus(logits).sum() - (x * logits.sum(0)).sum()) / (L * B)
        return rec + gaussian_kl(mu, logvar, None) / B

    @torch.no_grad()
    def log_likelihood(
        self,
        x: Tensor,
        k: int = 1000,
        chunk: int = 250,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Importance-weighted estimate of log p(x) (the IWAE bound with ``k`` samples).

        Returns ``(B,)`` nats per image. Samples are drawn ``chunk`` at a time and
        combined with a running log-sum-exp, so memory stays bounded for any ``k``.
        """
        if k <= 0:
            raise ConfigError(f"k must be positive, got {k}")
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        total = None
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            eps = torch.randn((n, *mu.shape), generator=generator, device=mu.device)
            z = mu + std * eps
            log_px_z = bernoulli_log_prob(self.decode_logits(z), x)
            log_pz = standard_normal_log_prob(z)
            log_qz = posterior_log_prob(eps, logvar)
            lw = torch.logsumexp(log_px_z + log_pz - log_qz, dim=0)
            total = lw if total is None else torch.logaddexp(total, lw)
        return total - math.log(k)
