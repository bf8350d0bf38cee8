"""What one training step means for each model kind.

A *task* owns a model and its optimizers and knows how to take one step on a batch and
how to evaluate on held-out data. The trainer (``trainer.py``) owns everything else:
data order, learning-rate schedule, checkpoints, metrics and progress.

The task interface (duck-typed; see :class:`VAETask`):

* ``__init__(config, input_dim, device)``: build ``self.model`` (one ``nn.Module``
  holding every trained part; it is what ``model.safetensors`` stores and what
  ``load_run`` returns) and ``self.optimizers`` (name -> optimizer; all of their
  state is checkpointed). Draw initial weights from ``config.seed`` only.
* ``train_step(x, y, generator) -> Tensor``: one update; returns the detached scalar
  loss (checked for NaN, shown in the progress bar). Use only ``generator`` for noise.
* ``train_metrics(mean_loss) -> dict``: the epoch's training metrics.
* ``evaluate(x, y, generator) -> dict``: held-out metrics (deterministic).
* optional ``on_epoch_end(epoch, out) -> dict``: extra metrics / files per epoch.
* ``self.model.config_dict()`` records the model's shape, ``input_dim`` included.
* optional classmethod/staticmethod ``apply_defaults(config)``: set the kind's own
  defaults (e.g. its learning rate) in place before the run folder is checked.
* optional ``manifest_extra() -> dict``: extra manifest fields (e.g. input runs).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from latentdyn.models import build_model
from latentdyn.models.build import make_adam, seeded_init
from latentdyn.train.config import TrainConfig


def check_step_memory(config: TrainConfig, input_dim: int) -> None:
    """One line when one training step's activations cannot fit: L samples of a batch
    through the hidden layers, the latent and the output, forward and backward."""
    from latentdyn.checks import check_memory

    per_image = config.n_samples * (2 * config.hidden + config.nz + input_dim)
    check_memory(config.batch_size * per_image * 4 * 4,
                 f"a training step (batch {config.batch_size} x {config.n_samples} samples)")


class VAETask:
    """The paper's VAE trained on the negative ELBO (eq. 5) with Adam."""

    metric_names = ("elbo",)

    def __init__(self, config: TrainConfig, input_dim: int, device: torch.device):
        check_step_memory(config, input_dim)
        self.config = config
        self.model: nn.Module = seeded_init(
            config.seed,
            lambda: build_model(
                "vae",
                input_dim=input_dim,
                hidden=config.hidden,
                nz=config.nz,
                activation=config.activation,
                n_samples=config.n_samples,
                **config.model_options,
            ),
        ).to(device)
        self.optimizers = {"adam": make_adam(self.model.parameters(), config.lr, device)}

    def train_step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
        """One Adam step; returns the detached loss (negative ELBO, nats per image)."""
        model = self.model
        eps = torch.randn(
            (model.config.n_samples, x.shape[0], model.nz), generator=generator, device=x.device
        )
        loss = model.loss(x, eps)
        opt = self.optimizers["adam"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    @staticmethod
    def train_metrics(mean_loss: float) -> dict[str, float]:
        return {"elbo": -mean_loss}

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, generator: torch.Generator, chunk: int = 2000):
        self.model.eval()
        total = 0.0
        for start in range(0, x.shape[0], chunk):
            total += self.model.elbo(x[start : start + chunk], generator=generator).sum().item()
        self.model.train()
        return {"elbo": total / max(1, x.shape[0])}


# model kind -> "module:Class", imported on first use
TASK_PATHS = {
    "vae": "latentdyn.train.tasks:VAETask",
    "vmi": "latentdyn.train.vmi:VMITask",
    "gan": "latentdyn.train.gan:GANTask",
    "gan-encoder": "latentdyn.train.gan_encoder:EncoderTask",
    "classifier": "latentdyn.train.classifier:ClassifierTask",
}


def available_tasks() -> list[str]:
    import importlib.util

    return [k for k, v in TASK_PATHS.items() if importlib.util.find_spec(v.split(":")[0])]


def get_task(kind: str):
    """The task class for a model kind, or a one-line error naming the known kinds."""
    import importlib

    from latentdyn.errors import ConfigError

    if kind not in TASK_PATHS or kind not in available_tasks():
        raise ConfigError(f"unknown model kind {kind!r}; choose from {', '.join(available_tasks())}")
    module, attr = TASK_PATHS[kind].split(":")
    return getattr(importlib.import_module(module), attr)
