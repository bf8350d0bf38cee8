"""The VMI VAE of Serdega & Kim (2020), as one family:

* :mod:`~latentdyn.models.vmi.config` -- :class:`VMIConfig`;
* :mod:`~latentdyn.models.vmi.network` -- :class:`VMIVAE` (Gaussian + categorical
  latents, the auxiliary network Q inside the model);
* :mod:`~latentdyn.models.vmi.joint` -- :class:`JointLatent`, the model seen through its
  full latent for repeated inference that carries the category;
* :mod:`~latentdyn.models.vmi.task` -- the network a run builds (:func:`build_vmi`) and
  :class:`VMITask` (two Adam optimisers, ``vae`` and ``q``).
"""

from latentdyn.models.family import Family
from latentdyn.models.vmi.config import VMIConfig
from latentdyn.models.vmi.joint import JointLatent
from latentdyn.models.vmi.network import VMIVAE
from latentdyn.models.vmi.task import VMITask, build_vmi

FAMILY = Family("vmi", build=build_vmi, task=VMITask, network=VMIVAE)

__all__ = ["FAMILY", "JointLatent", "VMIConfig", "VMITask", "VMIVAE", "build_vmi"]
