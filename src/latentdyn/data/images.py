"""Image shapes and colour: the one place that knows how a flat row is an image.

Every data set holds its images flattened to rows of ``D`` values in [0, 1]; its
``image_shape`` says how a row folds back: ``(H, W)`` for grey images, ``(C, H, W)``
for images of ``C`` channels (channels first, as torch holds them; a row lists channel
0's pixels, then channel 1's, ...). The analyses see the flat rows; what shows an image
(figures, the report's viewer, the explorer) unfolds it here:

* :func:`channels_of` -- ``C`` (1 for grey);
* :func:`plane_of` -- ``(H, W)``;
* :func:`display_images` -- rows ``(..., D)`` as ``(..., H, W)`` grey or
  ``(..., H, W, 3)`` RGB arrays in [0, 1], ready for ``imshow`` or a canvas;
* :func:`channels_last` / :func:`channels_first` -- the two orders of a colour batch.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from latentdyn.errors import ConfigError

MAX_CHANNELS = 4  # grey, grey + alpha, RGB, RGBA


def _shape(image_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or any(s < 1 for s in shape):
        raise ConfigError(f"an image shape is (H, W) or (C, H, W) of positive sizes, got "
                          f"{tuple(image_shape)}")
    return shape


def channels_of(image_shape: Sequence[int]) -> int:
    """The number of channels of images of ``image_shape`` (1 for ``(H, W)``)."""
    shape = _shape(image_shape)
    return shape[0] if len(shape) == 3 else 1


def plane_of(image_shape: Sequence[int]) -> tuple[int, int]:
    """``(H, W)`` of images of ``image_shape``."""
    shape = _shape(image_shape)
    return shape[-2], shape[-1]


def channels_last(images: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, H, W, C)``."""
    return np.moveaxis(np.asarray(images), -3, -1)


def channels_first(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` -> ``(N, C, H, W)``."""
    return np.moveaxis(np.asarray(images), -1, -3)


def display_images(rows, image_shape: Sequence[int]) -> np.ndarray:
    """Flat rows ``(..., D)`` (values in [0, 1]) as images to show: ``(..., H, W)`` for
    grey, ``(..., H, W, 3)`` for RGB. Two channels show their first (grey) and four
    drop the last (alpha); any other count shows channel 0 in grey."""
    shape = _shape(image_shape)
    a = np.asarray(rows.detach().cpu().numpy() if hasattr(rows, "detach") else rows,
                   dtype=np.float64)
    if a.ndim < 1 or a.shape[-1] != math.prod(shape):
        raise ConfigError(f"rows of shape {a.shape} do not hold images of {shape} "
                          f"({math.prod(shape)} values each)")
    lead = a.shape[:-1]
    if len(shape) == 2:
        return a.reshape(*lead, *shape)
    c, h, w = shape
    a = a.reshape(*lead, c, h, w)
    if c in (3, 4):
        return np.moveaxis(a[..., :3, :, :], -3, -1)
    return a[..., 0, :, :]


__all__ = ["MAX_CHANNELS", "channels_first", "channels_last", "channels_of", "display_images",
           "plane_of"]
