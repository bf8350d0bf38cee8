"""Training: a config object, a plain ``train`` function, and safetensors checkpoints."""

from latentdyn.train.config import TrainConfig, read_config_file
from latentdyn.train.trainer import TrainingDiverged, train

__all__ = ["TrainConfig", "read_config_file", "train", "TrainingDiverged"]
