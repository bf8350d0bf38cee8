"""The CNN digit classifier of Nagano et al. (2017), Fig. B.2 (SPEC §1).

conv(3×3, 32)-ReLU-conv(3×3, 64)-ReLU-maxpool(2×2)-dropout(0.25)-dense(128)-ReLU-
dropout(0.5)-dense(classes)-softmax: the Keras MNIST CNN that reports 99.25 % test
accuracy on full MNIST. Inputs are flattened images ``(..., D)`` with pixels in [0, 1],
like everywhere in latentdyn; ``D = channels · side²`` fixes the (square) image shape,
so 28×28 MNIST and other square sizes (side ≥ 6) work alike.

Dropout draws its masks from an explicit ``torch.Generator`` (never the global RNG), so
a training run stopped and resumed ends with the same weights as one never stopped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError


def dropout(x: Tensor, p: float, training: bool, generator: torch.Generator | None) -> Tensor:
    """Inverted dropout whose mask comes from ``generator`` (identity when not training)."""
    if not training or p <= 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= p
    return x * keep / (1.0 - p)


def square_side(input_dim: int, channels: int, what: str) -> int:
    """The side of a square image with ``channels`` planes and ``input_dim`` values."""
    if input_dim % channels:
        raise ConfigError(
            f"{what}: input size {input_dim} is not a multiple of {channels} channels"
        )
    side = math.isqrt(input_dim // channels)
    if side * side * channels != input_dim:
        raise ConfigError(
            f"{what}: input size {input_dim} is not a square image "
            f"({channels} channel(s) of side × side pixels)"
        )
    return side


@dataclass
class ClassifierConfig:
    input_dim: int = 784
    channels: int = 1  # image planes; input_dim = channels * side**2
    num_classes: int = 10
    conv1: int = 32
    conv2: int = 64
    dense: int = 128
    dropout_conv: float = 0.25
    dropout_dense: float = 0.5

    def validate(self) -> "ClassifierConfig":
        for name in ("input_dim", "channels", "num_classes", "conv1", "conv2", "dense"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"classifier: {name} must be a positive integer, got {v!r}")
        for name in ("dropout_conv", "dropout_dense"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(f"classifier: {name} must be in [0, 1), got {v!r}")
        if self.num_classes < 2:
            raise ConfigError("classifier: num_classes must be at least 2")
        side = square_side(self.input_dim, self.channels, "classifier")
        if side < 6:
            raise ConfigError(f"classifier: images of side {side} are too small (need ≥ 6)")
        return self

    @property
    def side(self) -> int:
        return square_side(self.input_dim, self.channels, "classifier")


class CNNClassifier(nn.Module):
    """``forward(x) -> logits``, ``predict_proba(x)``, ``predict(x)`` for flattened images."""

    kind = "classifier"
    config_class = ClassifierConfig

    def __init__(self, config: ClassifierConfig | None = None, **kwargs):
        super().__init__()
        self.config = (config or ClassifierConfig(**kwargs)).validate()
        c = self.config
        self.conv1 = nn.Conv2d(c.channels, c.conv1, 3)
        self.conv2 = nn.Conv2d(c.conv1, c.conv2, 3)
        pooled = (c.side - 4) // 2
        self.fc1 = nn.Linear(c.conv2 * pooled * pooled, c.dense)
        self.fc2 = nn.Linear(c.dense, c.num_classes)

    def config_dict(self) -> dict:
        return asdict(self.config)

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Class logits ``(..., num_classes)`` of flattened images ``(..., D)``.

        In training mode dropout masks come from ``generator`` (the global RNG if None).
        """
        c = self.config
        if x.shape[-1] != c.input_dim:
            raise ConfigError(
                f"classifier expects images of {c.input_dim} values, got {x.shape[-1]}"
            )
        lead = x.shape[:-1]
        h = x.reshape(-1, c.channels, c.side, c.side)
        h = F.relu(self.conv1(h))
        h = F.relu(self.conv2(h))
        h = F.max_pool2d(h, 2)
        h = dropout(h, c.dropout_conv, self.training, generator).flatten(1)
        h = F.relu(self.fc1(h))
        h = dropout(h, c.dropout_dense, self.training, generator)
        return self.fc2(h).reshape(*lead, c.num_classes)

    def logits(self, x: Tensor) -> Tensor:
        """Logits without dropout, whatever the mode (keeps gradients)."""
        was = self.training
        self.train(False)
        try:
            return self(x)
        finally:
            self.train(was)

    @torch.no_grad()
    def predict_proba(self, x: Tensor, chunk: int = 1000) -> Tensor:
        """Class probabilities ``(..., num_classes)`` (softmax, no dropout)."""
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1])
        parts = [torch.softmax(self.logits(flat[i:i + chunk]), -1)
                 for i in range(0, flat.shape[0], chunk)]
        out = torch.cat(parts) if parts else flat.new_zeros((0, self.num_classes))
        return out.reshape(*lead, self.num_classes)

    @torch.no_grad()
    def predict(self, x: Tensor, chunk: int = 1000) -> Tensor:
        """Most probable class ``(...)`` (int64)."""
        return self.predict_proba(x, chunk).argmax(-1)
