"""Model kinds that latentdyn can train and load.

Every model offers the encode/decode protocol of SPEC §4: ``encode(x)`` (latent mean,
or ``(mean, logvar)``), ``decode(z)`` (data mean), ``sample_latent`` and ``sample_data``.
"""

from __future__ import annotations

from torch import nn

from latentdyn.errors import ConfigError
from latentdyn.models.protocol import LatentModel, check_model, data_mean, latent_mean, sample_data, sample_latent
from latentdyn.models.vae import VAE, VAEConfig

MODEL_KINDS: dict[str, type[nn.Module]] = {"vae": VAE}


def build_model(kind: str, **options) -> nn.Module:
    """Build a model of ``kind`` from its config options (unknown options are an error)."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_KINDS)}")
    cls = MODEL_KINDS[kind]
    config_cls = getattr(cls, "config_class", None) or VAEConfig
    fields = config_cls.__dataclass_fields__
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(f"model {kind!r} has no option(s) {', '.join(unknown)}")
    return cls(config_cls(**options))


__all__ = ["VAE", "VAEConfig", "MODEL_KINDS", "build_model", "LatentModel", "check_model",
           "latent_mean", "data_mean", "sample_latent", "sample_data"]
