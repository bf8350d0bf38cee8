"""Training the paper's VAE (``latentdyn train --model vae``): the network a run builds
and one step of the negative ELBO (eq. 5) with Adam."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.build import check_step_memory, make_adam, seeded_init
from latentdyn.models.vae.network import VAE, VAEConfig


def vae_config(config, input_dim: int) -> VAEConfig:
    """The network's config of a run: its ``--nz``, ``--hidden``, ``--activation`` and
    ``--samples`` and the data's size (the VAE has no ``--option`` of its own)."""
    options = dict(config.model_options)
    unknown = sorted(set(options) - set(VAEConfig.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"model 'vae' has no option(s) {', '.join(unknown)}")
    return VAEConfig(input_dim=input_dim, hidden=config.hidden, nz=config.nz,
                     activation=config.activation, n_samples=config.n_samples, **options)


def build_vae(config, input_dim: int) -> VAE:
    """The VAE a run of ``config`` trains, its initial weights drawn from ``config.seed``."""
    return seeded_init(config.seed, lambda: VAE(vae_config(config, input_dim)))


class VAETask:
    """The paper's VAE trained on the negative ELBO (eq. 5) with Adam."""

    metric_names = ("elbo",)

    def __init__(self, config, input_dim: int, device: torch.device):
        check_step_memory(config, input_dim)
        self.config = config
        self.model: nn.Module = build_vae(config, input_dim).to(device)
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


__all__ = ["VAETask", "build_vae", "vae_config"]
