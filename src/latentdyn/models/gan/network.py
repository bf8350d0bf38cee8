"""DCGAN for small square images (SPEC §3): the generator G, the discriminator D, the GAN.

Generator G: dense (no bias) → batch norm → LeakyReLU(0.2) → reshape to
(g_width, s/4, s/4) → transposed conv 5×5 (stride 1) to g_width/2 → BN, LeakyReLU →
transposed conv 4×4 (stride 2) to g_width/4 → BN, LeakyReLU → transposed conv 4×4
(stride 2) to the image, tanh; for 28×28 MNIST 7×7×256 → 7×7×128 → 14×14×64 → 28×28×1,
SPEC §3's "dense → 7×7×256, transposed convs to 28×28, tanh". Discriminator D: conv
4×4 stride 2 (d_width) → LeakyReLU(0.2) → dropout → conv 4×4 stride 2 (2·d_width) →
LeakyReLU(0.2) → dropout → dense logit. DCGAN initialisation (N(0, 0.02)).

Choices SPEC leaves open, as options: the batch norm after G's dense layer normalises
each feature (``g_norm="feature"``, as in Keras' and Flux's MNIST DCGANs) or each
channel (``"channel"``); G's hidden activation is LeakyReLU(0.2) (``g_act``) because
with plain ReLU this generator collapsed to a single image within the first few
hundred steps on MNIST (measured; ``g_act="relu"`` keeps that variant).

The networks work in [−1, 1] internally; the public API works like the rest of
latentdyn: ``decode(z)`` returns flattened images ``(..., D)`` in [0, 1], and
``encode`` takes them.

The encoder trained on a frozen G is :mod:`latentdyn.models.gan.encoder`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentdyn.errors import ConfigError
from latentdyn.models.classifier.network import dropout, square_side


def _positive_ints(obj, names, what: str) -> None:
    for name in names:
        v = getattr(obj, name)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConfigError(f"{what}: {name} must be a positive integer, got {v!r}")


def _gan_side(input_dim: int, channels: int, what: str) -> int:
    side = square_side(input_dim, channels, what)
    if side % 4 or side < 4:
        raise ConfigError(f"{what}: the image side must be a multiple of 4, got {side}")
    return side


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) weights, N(1, 0.02) batch-norm scales, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


G_NORMS = ("feature", "channel")
G_ACTIVATIONS = ("leaky_relu", "relu")  # leaky_relu: slope 0.2


def _check_choice(value, choices, name: str, what: str) -> None:
    if value not in choices:
        raise ConfigError(f"{what}: {name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass
class GANConfig:
    input_dim: int = 784
    nz: int = 100
    channels: int = 1
    g_width: int = 256  # generator channels at side/4 (then /2 and /4)
    d_width: int = 64  # discriminator channels of the first conv (then ×2)
    dropout: float = 0.25  # discriminator dropout
    g_norm: str = "feature"  # batch norm after G's dense layer: per "feature" or per "channel"
    g_act: str = "leaky_relu"  # G's hidden activation (plain ReLU tends to collapse early)

    def validate(self) -> "GANConfig":
        _positive_ints(self, ("input_dim", "nz", "channels", "g_width", "d_width"), "gan")
        _check_choice(self.g_norm, G_NORMS, "g_norm", "gan")
        _check_choice(self.g_act, G_ACTIVATIONS, "g_act", "gan")
        if self.g_width % 4:
            raise ConfigError(f"gan: g_width must be a multiple of 4, got {self.g_width}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ConfigError(f"gan: dropout must be in [0, 1), got {self.dropout!r}")
        _gan_side(self.input_dim, self.channels, "gan")
        return self

    @property
    def side(self) -> int:
        return _gan_side(self.input_dim, self.channels, "gan")


class Generator(nn.Module):
    """z ``(..., nz)`` → flattened images ``(..., D)`` in [−1, 1] (tanh)."""

    def __init__(self, nz: int, input_dim: int, channels: int = 1, width: int = 256,
                 norm: str = "feature", act: str = "leaky_relu"):
        super().__init__()
        self.slope = 0.2 if act == "leaky_relu" else 0.0
        self.nz, self.input_dim, self.channels = nz, input_dim, channels
        self.side = _gan_side(input_dim, channels, "gan")
        s4 = self.side // 4
        self.width = width
        self.fc = nn.Linear(nz, width * s4 * s4, bias=False)
        self.bn0 = nn.BatchNorm1d(width * s4 * s4) if norm == "feature" else nn.BatchNorm2d(width)
        self.up1 = nn.ConvTranspose2d(width, width // 2, 5, stride=1, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.up2 = nn.ConvTranspose2d(width // 2, width // 4, 4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 4)
        self.up3 = nn.ConvTranspose2d(width // 4, channels, 4, stride=2, padding=1)

    def _act(self, h: Tensor) -> Tensor:
        return F.leaky_relu(h, self.slope) if self.slope else F.relu(h)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        s4 = self.side // 4
        h = self.fc(z.reshape(-1, self.nz))
        if isinstance(self.bn0, nn.BatchNorm1d):
            if self.training and h.shape[0] == 1:  # one sample has no batch statistics
                b = self.bn0
                h = F.batch_norm(h, b.running_mean, b.running_var, b.weight, b.bias,
                                 False, 0.0, b.eps)
            else:
                h = self.bn0(h)
            h = self._act(h).reshape(-1, self.width, s4, s4)
        else:
            h = self._act(self.bn0(h.reshape(-1, self.width, s4, s4)))
        h = self._act(self.bn1(self.up1(h)))
        h = self._act(self.bn2(self.up2(h)))
        x = torch.tanh(self.up3(h))
        return x.reshape(*lead, self.input_dim)


class Discriminator(nn.Module):
    """Flattened images ``(N, D)`` in [−1, 1] → real/fake logits ``(N,)``."""

    def __init__(self, input_dim: int, channels: int = 1, width: int = 64, p: float = 0.25):
        super().__init__()
        self.channels, self.p = channels, p
        self.side = _gan_side(input_dim, channels, "gan")
        s4 = self.side // 4
        self.conv1 = nn.Conv2d(channels, width, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)
        self.fc = nn.Linear(2 * width * s4 * s4, 1)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        h = x.reshape(-1, self.channels, self.side, self.side)
        h = dropout(F.leaky_relu(self.conv1(h), 0.2), self.p, self.training, generator)
        h = dropout(F.leaky_relu(self.conv2(h), 0.2), self.p, self.training, generator)
        return self.fc(h.flatten(1)).squeeze(-1)


class GAN(nn.Module):
    """The DCGAN: ``generator``, ``discriminator``, ``decode(z)`` in [0, 1], prior samples.

    A bare GAN has no encoder; train a ``gan-encoder`` run on it for ``encode``.
    """

    kind = "gan"
    config_class = GANConfig

    def __init__(self, config: GANConfig | None = None, **kwargs):
        super().__init__()
        self.config = (config or GANConfig(**kwargs)).validate()
        c = self.config
        self.generator = Generator(c.nz, c.input_dim, c.channels, c.g_width, c.g_norm, c.g_act)
        self.discriminator = Discriminator(c.input_dim, c.channels, c.d_width, c.dropout)
        dcgan_init(self)

    @property
    def nz(self) -> int:
        return self.config.nz

    def config_dict(self) -> dict:
        return asdict(self.config)

    def decode(self, z: Tensor) -> Tensor:
        """G(z) as flattened images in [0, 1]."""
        return (self.generator(z) + 1.0) * 0.5

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        device = self.generator.fc.weight.device
        return torch.randn((n, self.nz), generator=generator, device=device)


__all__ = ["GAN", "GANConfig", "Discriminator", "Generator", "dcgan_init"]
