"""The encoder of a DCGAN (SPEC §3): :class:`GANEncoder` bundles an encoder E (image →
(μ, log σ²)) with a frozen copy of the GAN's generator G, so a trained encoder run
offers the whole encode/decode protocol of SPEC §4 (repeated inference x → E → G → E …,
latent spectral decomposition) by itself.

E: conv 4×4 stride 2 (e_width) → LeakyReLU(0.2) → conv 4×4 stride 2 (2·e_width) →
batch norm → LeakyReLU(0.2) → dense (e_hidden) → LeakyReLU(0.2) → dense (μ, log σ²), on
images rescaled to [−1, 1]; DCGAN initialisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.distributions import gaussian_sample
from latentdyn.models.gan.network import (
    G_ACTIVATIONS,
    G_NORMS,
    Generator,
    _check_choice,
    _gan_side,
    _positive_ints,
    dcgan_init,
)


@dataclass
class EncoderConfig:
    input_dim: int = 784
    nz: int = 100
    channels: int = 1
    g_width: int = 256  # must match the GAN's generator
    g_norm: str = "feature"  # must match the GAN's generator
    g_act: str = "leaky_relu"  # must match the GAN's generator
    e_width: int = 64  # encoder channels of the first conv (then ×2)
    e_hidden: int = 512  # dense layer before (μ, log σ²)

    def validate(self) -> "EncoderConfig":
        _positive_ints(self, ("input_dim", "nz", "channels", "g_width", "e_width", "e_hidden"),
                       "gan-encoder")
        if self.g_width % 4:
            raise ConfigError(f"gan-encoder: g_width must be a multiple of 4, got {self.g_width}")
        _check_choice(self.g_norm, G_NORMS, "g_norm", "gan-encoder")
        _check_choice(self.g_act, G_ACTIVATIONS, "g_act", "gan-encoder")
        _gan_side(self.input_dim, self.channels, "gan-encoder")
        return self


class Encoder(nn.Module):
    """Flattened images in [0, 1] → (μ, log σ²) of a diagonal Gaussian q(z | x)."""

    def __init__(self, nz: int, input_dim: int, channels: int = 1, width: int = 64,
                 hidden: int = 512):
        super().__init__()
        self.channels, self.nz = channels, nz
        self.side = _gan_side(input_dim, channels, "gan-encoder")
        s4 = self.side // 4
        self.conv1 = nn.Conv2d(channels, width, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width * s4 * s4, hidden)
        self.out = nn.Linear(hidden, 2 * nz)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        lead = x.shape[:-1]
        h = (x.reshape(-1, self.channels, self.side, self.side) * 2.0) - 1.0
        h = F.leaky_relu(self.conv1(h), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        h = F.leaky_relu(self.fc(h.flatten(1)), 0.2)
        mu, logvar = self.out(h).chunk(2, dim=-1)
        return mu.reshape(*lead, self.nz), logvar.reshape(*lead, self.nz)


class GANEncoder(nn.Module):
    """Encoder E plus a frozen copy of the GAN's generator G: the encode/decode protocol.

    ``encode(x) -> (μ, log σ²)``, ``decode(z) = G(z)`` in [0, 1]. G stays in eval mode
    (batch-norm running statistics) and its parameters never require gradients.
    ``sources`` records the GAN and classifier runs it was trained from.
    """

    kind = "gan-encoder"
    config_class = EncoderConfig

    def __init__(self, config: EncoderConfig | None = None, **kwargs):
        super().__init__()
        self.config = (config or EncoderConfig(**kwargs)).validate()
        c = self.config
        self.encoder = Encoder(c.nz, c.input_dim, c.channels, c.e_width, c.e_hidden)
        self.generator = Generator(c.nz, c.input_dim, c.channels, c.g_width, c.g_norm, c.g_act)
        dcgan_init(self.encoder)
        for p in self.generator.parameters():
            p.requires_grad_(False)
        self.generator.eval()
        self.sources: dict = {}

    @property
    def nz(self) -> int:
        return self.config.nz

    def train(self, mode: bool = True) -> "GANEncoder":
        super().train(mode)
        self.generator.eval()  # frozen: always the running statistics
        return self

    def config_dict(self) -> dict:
        out = asdict(self.config)
        if self.sources:
            out["sources"] = dict(self.sources)
        return out

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return (self.generator(z) + 1.0) * 0.5

    def sample_latent(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return gaussian_sample(*self.encode(x), generator)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        device = self.generator.fc.weight.device
        return torch.randn((n, self.nz), generator=generator, device=device)


__all__ = ["Encoder", "EncoderConfig", "GANEncoder"]
