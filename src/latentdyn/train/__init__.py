"""Training: a config object, one training loop, run folders and checkpoints.

* :mod:`~latentdyn.train.config` -- :class:`TrainConfig` (a run's ``config.json``);
* :mod:`~latentdyn.train.loop` -- the one training loop, for one run or a stack; what
  one step means for each model kind is its family's task (``latentdyn.models.<family>``,
  named in :mod:`latentdyn.models.registry`);
* :mod:`~latentdyn.train.trainer` -- :func:`train` one run folder, :func:`ensure_trained`,
  :func:`make_task` (a kind's task, with the runs it is built from loaded);
* :mod:`~latentdyn.train.ensemble` -- same-shape VAEs stacked into one batched
  computation (:class:`~latentdyn.models.vae.VAEEnsemble`, :func:`train_ensemble`),
  each trained as ``train()`` would train it;
* :mod:`~latentdyn.train.runs` -- reading run folders; :mod:`~latentdyn.train.checkpoint`
  -- weights and optimizer state as safetensors; :mod:`~latentdyn.train.recipes` -- the
  configs of the networks the studies train.
"""

from latentdyn.models.vae import VAEEnsemble  # re-exported: the stack ensembles train
from latentdyn.train.config import TrainConfig, read_config_file
from latentdyn.train.ensemble import train_ensemble
from latentdyn.train.loop import TrainingDiverged
from latentdyn.train.trainer import ensure_trained, make_task, train

__all__ = ["TrainConfig", "TrainingDiverged", "VAEEnsemble", "ensure_trained", "make_task",
           "read_config_file", "train", "train_ensemble"]
