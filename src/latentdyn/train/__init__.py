"""Training: a config object, a plain ``train`` function, and safetensors checkpoints."""

from latentdyn.train.config import TrainConfig, read_config_file
from latentdyn.train.trainer import TrainingDiverged, ensure_trained, train

__all__ = ["TrainConfig", "read_config_file", "train", "TrainingDiverged", "ensure_trained"]
