"""The VAE of Nagano, Karakida & Okada (2017), as one family:

* :mod:`~latentdyn.models.vae.network` -- :class:`VAEConfig` and :class:`VAE`;
* :mod:`~latentdyn.models.vae.task` -- the network a run builds (:func:`build_vae`) and
  :class:`VAETask`, one Adam step of the negative ELBO;
* :mod:`~latentdyn.models.vae.stack` -- :class:`VAEEnsemble`, same-shape VAEs stacked
  into one batched computation (what ensembles and sweeps train).
"""

from latentdyn.models.family import Family
from latentdyn.models.vae.network import ACTIVATIONS, VAE, VAEConfig
from latentdyn.models.vae.stack import VAEEnsemble
from latentdyn.models.vae.task import VAETask, build_vae

FAMILY = Family("vae", build=build_vae, task=VAETask, network=VAE)

__all__ = ["ACTIVATIONS", "FAMILY", "VAE", "VAEConfig", "VAEEnsemble", "VAETask", "build_vae"]
