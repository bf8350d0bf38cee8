"""The configuration of the VMI VAE (Serdega & Kim 2020, SPEC §2): its latent units, its
networks, its likelihood, the MI term and the Gumbel-softmax temperature schedule (see
:mod:`latentdyn.models.vmi.network`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentdyn.errors import ConfigError
from latentdyn.models.auxiliary import ARCHS, conv_side
from latentdyn.models.codes import format_codes, parse_codes
from latentdyn.models.vae.network import ACTIVATIONS

LIKELIHOODS = ("bernoulli", "gaussian")
Q_SOURCES = ("posterior", "prior", "both")


@dataclass
class VMIConfig:
    input_dim: int = 784
    n_gauss: int = 16
    n_cat: int = 10  # 0: a Gaussian-only model
    arch: str = "conv"  # "conv" (square images, side divisible by 4) or "fc"
    hidden: int = 256  # fc hidden units / the dense layer of the conv nets
    channels: int = 32  # first conv layer's channels (the second has twice as many)
    activation: str = "relu"
    likelihood: str = "bernoulli"  # or "gaussian" (fixed std obs_std, means in [0, 1])
    obs_std: float = 0.1
    n_samples: int = 1  # reparameterised samples L per image in training
    kl_weight: float = 1.0
    lam: float = 0.0  # λ, weight of the MI term
    codes: str = "auto"  # chosen codes, see parse_codes
    q_source: str = "posterior"  # decodings Q trains on: posterior, prior or both
    q_hidden: int = 256
    temp_start: float = 1.0
    temp_min: float = 0.5
    temp_steps: int = 10000  # steps for the exponential decay to reach temp_min

    def validate(self) -> "VMIConfig":
        for name in ("input_dim", "n_gauss", "hidden", "channels", "n_samples", "q_hidden",
                     "temp_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.n_cat, int) or isinstance(self.n_cat, bool) or self.n_cat < 0 \
                or self.n_cat == 1:
            raise ConfigError(f"n_cat must be 0 (no categorical unit) or >= 2, got {self.n_cat!r}")
        if self.arch not in ARCHS:
            raise ConfigError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.arch == "conv":
            conv_side(self.input_dim)
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {self.activation!r}; choose from "
                              f"{', '.join(ACTIVATIONS)}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, "
                              f"got {self.likelihood!r}")
        if self.q_source not in Q_SOURCES:
            raise ConfigError(f"q_source must be one of {', '.join(Q_SOURCES)}, "
                              f"got {self.q_source!r}")
        for name, lo in (("obs_std", 0.0), ("temp_start", 0.0), ("temp_min", 0.0)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) \
                    or v <= lo:
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        for name in ("kl_weight", "lam"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) \
                    or v < 0:
                raise ConfigError(f"{name} must be a non-negative number, got {v!r}")
        if self.temp_min > self.temp_start:
            raise ConfigError(f"temp_min ({self.temp_min}) must not exceed temp_start "
                              f"({self.temp_start})")
        units, use_cat = parse_codes(self.codes, self.n_gauss, self.n_cat)
        self.codes = format_codes(units, use_cat)
        return self


__all__ = ["LIKELIHOODS", "Q_SOURCES", "VMIConfig"]
