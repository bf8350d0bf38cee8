"""Model families latentdyn can train and load, and what every analysis may call.

Every model offers the encode/decode protocol of SPEC §4: ``encode(x)`` (latent mean,
or ``(mean, logvar)``), ``decode(z)`` (data mean), ``sample_latent`` and ``sample_data``
(:mod:`~latentdyn.models.protocol`). Each trainable family lives in its own folder
(``vae/``, ``vmi/``, ``gan/``, ``classifier/``) with its network, its config and its
training task, and is named by one line of :data:`~latentdyn.models.registry.FAMILIES`.
"""

from __future__ import annotations

from latentdyn.models.protocol import LatentModel, check_model, data_mean, latent_mean, sample_data, sample_latent
from latentdyn.models.registry import FAMILIES, build_model
from latentdyn.models.vae import VAE, VAEConfig

__all__ = ["VAE", "VAEConfig", "FAMILIES", "build_model", "LatentModel",
           "check_model", "latent_mean", "data_mean", "sample_latent", "sample_data"]
