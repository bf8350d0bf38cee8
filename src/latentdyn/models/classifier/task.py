"""Training the CNN digit classifier (SPEC §1, Fig. B.2): the network a run builds and
one cross-entropy step with Adam.

Kind defaults (used where the config still holds the generic VAE values): Adam with a
constant learning rate of 1e-3. ``latentdyn classifier train`` also defaults to 12
epochs of batches of 128 (the Keras MNIST CNN recipe). Architecture options go in
``model_options`` (``--option KEY=VALUE``): ``num_classes`` (10), ``channels`` (1),
``conv1`` (32), ``conv2`` (64), ``dense`` (128), ``dropout_conv`` (0.25),
``dropout_dense`` (0.5).
"""

from __future__ import annotations

from dataclasses import fields

import torch
import torch.nn.functional as F
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.models.build import make_adam, seeded_init
from latentdyn.models.classifier.network import ClassifierConfig, CNNClassifier
from latentdyn.models.options import apply_kind_defaults, split_options

ARCH_OPTIONS = {f.name for f in fields(ClassifierConfig)} - {"input_dim"}


def classifier_config(config, input_dim: int) -> ClassifierConfig:
    """The network's config of a run: the data's size and the ``--option`` values."""
    opts = dict(config.model_options)
    split_options(opts, ARCH_OPTIONS, "classifier")
    try:
        arch = ClassifierConfig(input_dim=input_dim, **opts)
    except TypeError as exc:
        raise ConfigError(f"classifier: bad option ({exc})") from None
    return arch.validate()


def build_classifier(config, input_dim: int) -> CNNClassifier:
    """The CNN a run of ``config`` trains, its weights drawn from ``config.seed``."""
    arch = classifier_config(config, input_dim)
    return seeded_init(config.seed, lambda: CNNClassifier(arch))


def check_labels(y: Tensor, num_classes: int) -> None:
    top = int(y.max()) if y.numel() else 0
    if top >= num_classes or (y.numel() and int(y.min()) < 0):
        raise ConfigError(
            f"labels reach {top} but the classifier has {num_classes} classes; "
            f"pass --option num_classes={top + 1}"
        )


class ClassifierTask:
    """The CNN of Fig. B.2 trained on cross-entropy; reports accuracy and loss."""

    metric_names = ("loss", "acc")
    DEFAULT_LR = 1e-3
    ARCH_OPTIONS = ARCH_OPTIONS

    @classmethod
    def apply_defaults(cls, config):
        return apply_kind_defaults(config, cls.DEFAULT_LR)

    def __init__(self, config, input_dim: int, device: torch.device):
        self.apply_defaults(config)
        self.config = config
        self.model = build_classifier(config, input_dim).to(device)
        self.optimizers = {"adam": make_adam(self.model.parameters(), config.lr, device)}
        self._acc = torch.zeros(2, device=device)  # correct, seen (this epoch)
        self._labels_checked = False

    def check_data(self, data) -> None:
        """Labels beyond the classifier's classes are refused before anything is written."""
        check_labels(data.train_labels, self.model.num_classes)

    def train_step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        if not self._labels_checked:
            check_labels(y, self.model.num_classes)
            self._labels_checked = True
        self.model.train()
        logits = self.model(x, generator=generator)
        loss = F.cross_entropy(logits, y)
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            self._acc[0] += (logits.argmax(-1) == y).sum()
            self._acc[1] += y.numel()
        return loss.detach()

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        correct, seen = self._acc.tolist()
        self._acc.zero_()
        return {"loss": mean_loss, "acc": correct / max(1.0, seen)}

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, generator: torch.Generator, chunk: int = 1000):
        was = self.model.training
        self.model.eval()
        loss, correct = 0.0, 0
        for start in range(0, x.shape[0], chunk):
            logits = self.model(x[start:start + chunk])
            yy = y[start:start + chunk]
            loss += F.cross_entropy(logits, yy, reduction="sum").item()
            correct += int((logits.argmax(-1) == yy).sum())
        self.model.train(was)
        n = max(1, x.shape[0])
        return {"acc": correct / n, "loss": loss / n}


__all__ = ["ClassifierTask", "build_classifier", "check_labels", "classifier_config"]
