"""Data sets from arrays: the user's own ``.npz`` files and scikit-learn's 8x8 digits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from latentdyn.data.base import Dataset, check_images, make_dataset
from latentdyn.data.images import MAX_CHANNELS, channels_first
from latentdyn.errors import DataError
from latentdyn.io import md5_file

DIGITS_TRAIN = 1437  # the first 1437 of scikit-learn's 1797 digits train, the rest test

NPZ_HELP = (
    "keys: images (N,H,W), (N,H,W,C) with C channels last (C <= 4) or (N,D), floats in "
    "[0,1] or uint8; labels (N,) integers; "
    "optional test_images/test_labels (else the last 10% of rows, at least one, are the "
    "test set); optional image_shape"
)


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (values/16); first 1437 train, 360 test."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    return make_dataset(
        "digits", (x[:DIGITS_TRAIN], y[:DIGITS_TRAIN]), (x[DIGITS_TRAIN:], y[DIGITS_TRAIN:]),
        (8, 8), num_classes=10, license="CC BY 4.0 (UCI ML repository: E. Alpaydin, C. Kaynak)",
        source="scikit-learn load_digits: UCI optical recognition of handwritten digits, 8x8",
        extra={"where": "bundled with scikit-learn"},
    )


def load_npz(path: str | Path) -> Dataset:
    """Load a user's ``.npz`` (see NPZ_HELP for the keys). Pickles are never loaded;
    every problem raises DataError naming the file."""
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise DataError(f"{label}: no such file: {path}")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise DataError(f"{label}: not an .npz archive ({NPZ_HELP})")
        with npz:
            arrays = {k: npz[k] for k in npz.files}
    except DataError:
        raise
    except Exception as exc:  # corrupt zip, pickled objects, truncated members, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label}: cannot read as .npz: {reason}") from None
    return _from_arrays(arrays, label, path)


def _from_arrays(arrays: dict, label: str, path: Path) -> Dataset:
    for key in ("images", "labels"):
        if key not in arrays:
            raise DataError(f"{label}: missing key {key!r} (has {sorted(arrays)}; {NPZ_HELP})")
    if ("test_images" in arrays) != ("test_labels" in arrays):
        raise DataError(f"{label}: test_images and test_labels must come together")
    x, y = _checked_pair(arrays["images"], arrays["labels"], label, "images", "labels")
    x = _channels_first(x)
    if "test_images" in arrays:
        tx, ty = _checked_pair(arrays["test_images"], arrays["test_labels"], label,
                               "test_images", "test_labels")
        tx = _channels_first(tx)
        if tx.shape[1:] != x.shape[1:]:
            raise DataError(f"{label}: test_images rows have shape {tx.shape[1:]}, "
                            f"images rows {x.shape[1:]}")
    else:
        if len(x) < 2:
            raise DataError(f"{label}: need at least 2 images to split off a test set")
        n_test = max(1, len(x) // 10)
        x, tx, y, ty = x[:-n_test], x[-n_test:], y[:-n_test], y[-n_test:]
    shape = _image_shape(arrays, x, label)
    return make_dataset(
        f"npz:{path}", (x, y), (tx, ty), shape,
        files={path.name: {"path": str(path.resolve()), "md5": md5_file(path)}},
        license="user-supplied", source=f"user arrays from {path}",
    )


def _channels_first(x: np.ndarray) -> np.ndarray:
    """Colour images ``(N, H, W, C)`` as ``(N, C, H, W)`` (one channel: ``(N, H, W)``)."""
    if x.ndim != 4:
        return x
    return x[..., 0] if x.shape[-1] == 1 else np.ascontiguousarray(channels_first(x))


def _checked_pair(x, y, label: str, xkey: str, ykey: str):
    if x.ndim not in (2, 3, 4):
        raise DataError(f"{label}: {xkey} must be (N, H, W), (N, H, W, C) or (N, D), got "
                        f"shape {x.shape}")
    if x.ndim == 4 and not 1 <= x.shape[-1] <= MAX_CHANNELS:
        hint = (" (channels first? give them last: (N, H, W, C), as NumPy and PIL hold "
                "images)" if 1 <= x.shape[1] <= MAX_CHANNELS else "")
        raise DataError(f"{label}: {xkey} of shape {x.shape} has {x.shape[-1]} channels; "
                        f"at most {MAX_CHANNELS}{hint}")
    if x.shape[0] == 0 or math.prod(x.shape[1:]) == 0:
        raise DataError(f"{label}: {xkey} is empty (shape {x.shape})")
    check_images(x, f"{label}: {xkey}")
    if y.ndim != 1:
        raise DataError(f"{label}: {ykey} must be one-dimensional, got shape {y.shape}")
    if len(y) != len(x):
        raise DataError(f"{label}: {len(x)} {xkey} but {len(y)} {ykey}")
    if np.issubdtype(y.dtype, np.floating):
        if not (np.isfinite(y).all() and (y == np.round(y)).all()):
            raise DataError(f"{label}: {ykey} must be integers, found non-integer values")
    elif not np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise DataError(f"{label}: {ykey} must be integers, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise DataError(f"{label}: {ykey} must be >= 0, found {y.min()}")
    return x, y.astype(np.int64)


def _image_shape(arrays: dict, x: np.ndarray, label: str) -> tuple[int, ...]:
    dim = math.prod(x.shape[1:])
    if "image_shape" not in arrays:
        return tuple(x.shape[1:])
    shape = arrays["image_shape"]
    if not (np.issubdtype(shape.dtype, np.integer) and shape.ndim == 1 and (shape > 0).all()
            and math.prod(int(s) for s in shape) == dim):
        raise DataError(f"{label}: image_shape {shape.tolist()} does not fit rows of {dim} "
                        "values (positive integers whose product is the row width)")
    return tuple(int(s) for s in shape)
