"""Input corruption for the repeated-inference experiments (SPEC §1, "Corruption").

Every function takes a batch ``x`` of shape ``(N, ...)`` (usually ``(N, D)``) with
values in [0, 1], returns a new tensor of the same shape, dtype and device, never
modifies ``x`` in place, and draws its randomness from ``generator`` (an int seed, or
a ``torch.Generator``: one on another device than ``x`` seeds a fresh one there), so the
same seed gives the same output. Each image is treated as a flat vector of its ``D``
pixels.

Colour images (``channels`` > 1; a row holds channel 0's pixels, then channel 1's, ...,
as :mod:`latentdyn.data.images` lays them out) are corrupted per channel: each channel
is corrupted as a grey image of its own, so ``swap`` permutes intensities among the
selected pixels of one channel and never moves a red value into green. For every kind
but ``swap`` this is the same draw as treating the row as ``D`` independent values.

Kinds (``p`` in [0, 1] throughout):

* ``swap`` (default, the paper's reading of "pixels with probability p were selected
  from 784 pixels, the image intensities of the selected pixels were swapped"): each
  pixel is selected independently with probability ``p``, and within each image the
  selected pixels' intensities are randomly permuted among themselves. ``p = 1``
  scrambles the whole image; each image keeps its multiset of values.
* ``flip``: selected pixels become ``1 - x``.
* ``salt_pepper``: selected pixels become 0 or 1 with equal probability.
* ``gaussian``: additive N(0, p²) noise on every pixel (``p`` is the std), clipped to [0, 1].
* ``mask``: selected pixels become 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from latentdyn.checks import as_generator
from latentdyn.errors import ConfigError

NOISE_KINDS = ("swap", "flip", "salt_pepper", "gaussian", "mask")


def corrupt(
    x: Tensor, kind: str = "swap", p: float = 0.2, generator: torch.Generator | int | None = None,
    channels: int = 1,
) -> Tensor:
    """Corrupt the batch ``x`` with noise ``kind`` at level ``p`` (see the module doc).

    ``generator``: a ``torch.Generator``, an int seed, or None (the global source).
    ``channels``: the channels of each image (``Dataset.channels``); each is corrupted
    as an image of its own."""
    if kind not in _KINDS:
        raise ConfigError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ConfigError(f"channels must be a positive integer, got {channels!r}")
    if channels == 1:
        return _KINDS[kind](x, p, generator)
    if not isinstance(x, Tensor) or x.ndim < 2:
        _prepare(x, p, generator)  # the usual one-line error
    flat = x.flatten(1)
    if flat.shape[1] % channels:
        raise ConfigError(f"images of {flat.shape[1]} values cannot hold {channels} channels")
    planes = flat.reshape(flat.shape[0] * channels, flat.shape[1] // channels)
    return _KINDS[kind](planes, p, generator).reshape(x.shape)


def swap(x: Tensor, p: float = 0.2, generator: torch.Generator | int | None = None) -> Tensor:
    """Permute the intensities of the pixels selected with probability ``p``, per image.

    Vectorised over the batch with one sort. Each pixel draws u ~ U[0, 1) and is selected
    when u < p; given the selection, the selected pixels' u are i.i.d. uniform on [0, p),
    so sorting each image by u (the unselected ones last) lists its selected pixels in
    a uniformly random order. The k-th selected pixel in position order (k from a
    cumulative sum) takes the value of the k-th in that random order: a uniform random
    permutation of each image's selected pixels, the others left in place. u is float64
    so that ties, which would fall back to position order, practically never occur.
    """
    flat, p, generator = _prepare(x, p, generator)
    if p == 0.0 or flat.shape[1] < 2:
        return x.clone()
    u = torch.rand(flat.shape, generator=generator, device=flat.device, dtype=torch.float64)
    selected = u < p
    shuffled = torch.argsort(u.masked_fill_(~selected, 2.0), dim=1)
    rank = (selected.cumsum(dim=1) - 1).clamp_(min=0)
    out = torch.where(selected, flat.gather(1, shuffled.gather(1, rank)), flat)
    return out.view_as(x)


def flip(x: Tensor, p: float = 0.2, generator: torch.Generator | int | None = None) -> Tensor:
    """Selected pixels (probability ``p`` each) become ``1 - x``."""
    flat, p, generator = _prepare(x, p, generator)
    return torch.where(_select(flat, p, generator), 1.0 - flat, flat).view_as(x)


def salt_pepper(x: Tensor, p: float = 0.2, generator: torch.Generator | int | None = None) -> Tensor:
    """Selected pixels (probability ``p`` each) become 0 or 1 with equal probability."""
    flat, p, generator = _prepare(x, p, generator)
    selected = _select(flat, p, generator)
    salt = torch.rand(flat.shape, generator=generator, device=flat.device) < 0.5
    return torch.where(selected, salt.to(flat.dtype), flat).view_as(x)


def gaussian(x: Tensor, p: float = 0.2, generator: torch.Generator | int | None = None) -> Tensor:
    """Add N(0, p²) noise to every pixel (``p`` is the std) and clip to [0, 1]."""
    flat, p, generator = _prepare(x, p, generator)
    noise = torch.randn(flat.shape, generator=generator, device=flat.device, dtype=flat.dtype)
    return (flat + p * noise).clamp_(0.0, 1.0).view_as(x)


def mask(x: Tensor, p: float = 0.2, generator: torch.Generator | int | None = None) -> Tensor:
    """Selected pixels (probability ``p`` each) become 0."""
    flat, p, generator = _prepare(x, p, generator)
    return flat.masked_fill(_select(flat, p, generator), 0.0).view_as(x)


_KINDS = {"swap": swap, "flip": flip, "salt_pepper": salt_pepper, "gaussian": gaussian,
          "mask": mask}


def _select(flat: Tensor, p: float, generator) -> Tensor:
    return torch.rand(flat.shape, generator=generator, device=flat.device) < p


def _prepare(x, p, generator) -> tuple[Tensor, float, torch.Generator | None]:
    """Validate ``x``, ``p`` and ``generator``; return ``x`` as a contiguous ``(N, D)``
    view, float ``p`` and a generator on ``x``'s device."""
    if not isinstance(x, Tensor):
        raise ConfigError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ConfigError(f"x must be a floating-point tensor with values in [0, 1], got {x.dtype}")
    if x.ndim < 2:
        raise ConfigError(f"x must be a batch of shape (N, ...), got shape {tuple(x.shape)}; "
                          "use x[None] for one image")
    number = isinstance(p, (int, float)) or isinstance(p, Tensor) and p.numel() == 1
    if isinstance(p, bool) or not number:
        raise ConfigError(f"noise level p must be a number in [0, 1], got {p!r}")
    p = float(p)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ConfigError(f"noise level p must be in [0, 1], got {p}")
    return x.flatten(1).contiguous(), p, as_generator(generator, x.device)
