"""Sample grids as PNG files without matplotlib or any other dependency (the GAN's
per-epoch samples): a core module, so training needs nothing of ``figures/``.

:func:`sample_grid` tiles flattened images into one uint8 picture; :func:`png_bytes`
encodes it (zlib, no dependency); :func:`write_sample_grid` writes it atomically.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import numpy as np
from torch import Tensor

from latentdyn.io import write_bytes


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode a uint8 array ``(H, W)`` (grey) or ``(H, W, 3)`` (RGB) as a PNG file."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    raw = b"".join(b"\x00" + pixels[i].tobytes() for i in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def sample_grid(images: Tensor, side: int, channels: int = 1, cols: int | None = None,
               gap: int = 1, scale: int = 2) -> np.ndarray:
    """Tile flattened images ``(N, D)`` in [0, 1] into one uint8 picture."""
    imgs = images.detach().float().cpu().clamp(0, 1).reshape(-1, channels, side, side).numpy()
    n = imgs.shape[0]
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    cell = side + gap
    canvas = np.full((channels, rows * cell + gap, cols * cell + gap), 0.25, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = gap + r * cell, gap + c * cell
        canvas[:, top:top + side, left:left + side] = imgs[i]
    canvas = np.round(canvas * 255).astype(np.uint8)
    if scale > 1:
        canvas = canvas.repeat(scale, axis=1).repeat(scale, axis=2)
    return np.moveaxis(canvas, 0, -1) if channels == 3 else canvas[0]


def write_sample_grid(path: str | Path, images: Tensor, side: int, channels: int = 1) -> Path:
    """Write a PNG grid of ``images`` atomically to ``path``."""
    path = Path(path)
    write_bytes(path, png_bytes(sample_grid(images, side, channels)))
    return path
