"""Training: a config object, one training loop, run folders and checkpoints.

* :mod:`~latentdyn.train.config` -- :class:`TrainConfig` (a run's ``config.json``);
* :mod:`~latentdyn.train.tasks` -- what one step means for each model kind, and the
  registry of model kinds (one line per kind);
* :mod:`~latentdyn.train.loop` -- the one training loop, for one run or a stack;
* :mod:`~latentdyn.train.trainer` -- :func:`train` one run folder, :func:`ensure_trained`;
* :mod:`~latentdyn.train.ensemble` -- same-shape VAEs stacked into one batched
  computation (:func:`train_ensemble`), each trained as ``train()`` would train it;
* :mod:`~latentdyn.train.runs` -- reading run folders; :mod:`~latentdyn.train.checkpoint`
  -- weights and optimizer state as safetensors; :mod:`~latentdyn.train.recipes` -- the
  configs of the networks the studies train.
"""

from latentdyn.train.config import TrainConfig, read_config_file
from latentdyn.train.ensemble import train_ensemble
from latentdyn.train.stack import VAEEnsemble
from latentdyn.train.loop import TrainingDiverged
from latentdyn.train.trainer import ensure_trained, train

__all__ = ["TrainConfig", "TrainingDiverged", "VAEEnsemble", "ensure_trained",
           "read_config_file", "train", "train_ensemble"]
