"""What every adapter shares: the shape of an adapter, the optional library it needs,
and :class:`ImageModel`, the protocol object that wraps a network of images.

An adapter is one module with one :class:`Adapter` named ``ADAPTER``: its name (what
``--model-kind`` says), the extra that installs its library, ``detect(folder)`` (do the
folder's files say it is one of ours?) and ``load(folder, device, trust_pickles)``
(the protocol model). :func:`require` imports the library or says, in one line,
which extra installs it.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from torch import Tensor, nn

from latentdyn.errors import ConfigError


@dataclass(frozen=True)
class Adapter:
    """A kind of model folder latentdyn reads with its own library."""

    name: str  # --model-kind NAME
    extra: str  # pip install -e ".[EXTRA]"
    what: str  # how the folder is described in messages
    detect: Callable[[Path], bool]
    load: Callable[[Path, Any, bool], nn.Module]


def require(module: str, extra: str, what: str) -> Any:
    """``import module``, or one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        raise ConfigError(f"{what} needs the {module} library ({missing} is not installed): "
                          f"pip install -e \".[{extra}]\" (or pip install 'latentdyn[{extra}]')"
                          ) from None


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``, or None when it is missing, not an object, or nested
    too deeply (:func:`latentdyn.io.parse_json`: never a RecursionError)."""
    from latentdyn.io import parse_json

    try:
        doc = parse_json(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class ImageModel(nn.Module):
    """The encode/decode protocol over a network that takes images.

    latentdyn hands ``encode`` flat rows ``(n, D)`` in [0, 1] and ``decode`` flat latents
    ``(n, nz)``; the network takes images ``(n, *image_shape)`` with values in
    ``value_range`` and latents ``(n, *latent_shape)``. Subclasses say how the network
    encodes (:meth:`encode_net`: the mean, or ``(mean, log-variance)``) and decodes
    (:meth:`decode_net`); this class folds, maps and flattens. ``image_shape`` None
    takes square images of ``channels`` channels of whatever size the rows have, fixed
    by :meth:`fit_images` once the data set says it.
    """

    def __init__(self, net: nn.Module, image_shape: Sequence[int] | None, channels: int,
                 latent_shape: Sequence[int] | None = None,
                 value_range: tuple[float, float] = (0.0, 1.0), clamp: bool = False,
                 kind: str = "module"):
        super().__init__()
        self.net = net
        self.channels = int(channels)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        self.latent_shape = None if latent_shape is None else tuple(int(s) for s in latent_shape)
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.clamp = bool(clamp)
        self.kind = kind

    # ------------------------------------------------------------------ shapes
    def fit_images(self, image_shape: Sequence[int]) -> None:
        """Take images of the data set's ``image_shape`` (``(H, W)`` or ``(C, H, W)``);
        one line when their channels are not the network's."""
        shape = tuple(int(s) for s in image_shape)
        c = shape[0] if len(shape) == 3 else 1
        if len(shape) not in (2, 3) or c != self.channels:
            size = "x".join(map(str, shape))
            raise ConfigError(f"the {self.kind} model takes images of {self.channels} "
                              f"channel(s); the data set's are {size}")
        self.image_shape = (c, shape[-2], shape[-1])
        self.latent_shape = self.latent_shape_for(self.image_shape)

    def latent_shape_for(self, image_shape: tuple[int, int, int]) -> tuple[int, ...] | None:
        """The latent shape of images of ``image_shape`` (None: from the first encoding)."""
        return self.latent_shape

    def _image_shape(self, dim: int) -> tuple[int, ...]:
        if self.image_shape is not None:
            if math.prod(self.image_shape) != dim:
                size = "x".join(map(str, self.image_shape))
                raise ConfigError(f"the {self.kind} model takes images of {size} "
                                  f"({math.prod(self.image_shape)} values), got rows of {dim}")
            return self.image_shape
        side = math.isqrt(dim // self.channels) if dim % self.channels == 0 else 0
        if side * side * self.channels != dim:
            raise ConfigError(f"rows of {dim} values are not square images of {self.channels} "
                              "channel(s); give the data set's image shape")
        self.fit_images((self.channels, side, side))
        return self.image_shape

    # ------------------------------------------------------------------ ranges
    def to_net(self, x: Tensor) -> Tensor:
        """Rows ``(n, D)`` in [0, 1] as the network's images."""
        lo, hi = self.value_range
        images = x.reshape(x.shape[0], *self._image_shape(x.shape[1]))
        return images if (lo, hi) == (0.0, 1.0) else lo + (hi - lo) * images

    def from_net(self, images: Tensor) -> Tensor:
        """The network's images as rows in [0, 1] (clamped when ``clamp``)."""
        lo, hi = self.value_range
        rows = images.reshape(images.shape[0], -1)
        rows = rows if (lo, hi) == (0.0, 1.0) else (rows - lo) / (hi - lo)
        return rows.clamp(0.0, 1.0) if self.clamp else rows

    # ------------------------------------------------------------------ protocol
    def encode_net(self, images: Tensor):
        raise NotImplementedError

    def decode_net(self, latents: Tensor) -> Tensor:
        raise NotImplementedError

    def encode(self, x: Tensor):
        out = self.encode_net(self.to_net(x))
        parts = out if isinstance(out, (tuple, list)) else (out,)
        if self.latent_shape is None:
            self.latent_shape = tuple(parts[0].shape[1:])
        flat = tuple(p.reshape(p.shape[0], -1) for p in parts)
        return flat if len(flat) > 1 else flat[0]

    def decode(self, z: Tensor) -> Tensor:
        if self.latent_shape is None:
            raise ConfigError(f"the {self.kind} model's latent shape is not known yet; encode "
                              "an image first")
        return self.from_net(self.decode_net(z.reshape(z.shape[0], *self.latent_shape)))

    @property
    def nz(self) -> int | None:
        return None if self.latent_shape is None else math.prod(self.latent_shape)

    def config_dict(self) -> dict:
        """What latentdyn reads of the model: ``input_dim`` once its image size is known."""
        out: dict = {"kind": self.kind, "channels": self.channels}
        if self.image_shape is not None:
            out.update(input_dim=math.prod(self.image_shape), image_shape=list(self.image_shape))
        if self.latent_shape is not None:
            out.update(nz=self.nz, latent_shape=list(self.latent_shape))
        return out


def no_grad_params(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with no parameter requiring a gradient (a fixed model)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


__all__ = ["Adapter", "ImageModel", "no_grad_params", "read_json", "require"]
