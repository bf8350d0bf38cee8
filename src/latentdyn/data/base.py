"""The :class:`Dataset` container and where downloaded data sets live."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentdyn.errors import DataError

DATA_ENV = "LATENTDYN_DATA"


@dataclass
class Dataset:
    """A labelled image data set, split into train and test, flattened to (N, D).

    Images are float32 in [0, 1]; labels are int64 in ``range(num_classes)``.
    ``image_shape`` is ``(H, W)`` for grey images and ``(C, H, W)`` for images of ``C``
    channels (channels first: a row holds channel 0's pixels, then channel 1's, ...;
    see :mod:`latentdyn.data.images`).
    ``files`` maps each source file name to ``{"path", "md5"}`` (empty for generated
    sets); ``extra`` carries anything else a loader knows (for the synthetic set the
    ground truth: prototypes, the concept of each memory, the generation parameters).
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    image_shape: tuple[int, ...]
    num_classes: int
    files: dict[str, dict] = field(default_factory=dict)
    license: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        """Number of pixels per image (the flattened width D)."""
        return int(self.train_images.shape[1])

    @property
    def channels(self) -> int:
        """Channels per image: 1 for grey ``(H, W)``, ``C`` for ``(C, H, W)``."""
        return self.image_shape[0] if len(self.image_shape) == 3 else 1

    def checksums(self) -> dict[str, str]:
        """File name -> md5 of each source file.

        A generated set (no files) instead returns ``{"arrays.sha256": <hex>}``, a
        sha256 over the four arrays, so a run manifest still pins the exact data.
        """
        if self.files:
            return {name: info["md5"] for name, info in self.files.items()}
        return {"arrays.sha256": arrays_sha256(self)}

    def require_dim(self, dim: int | None, what: str = "the model") -> None:
        """One line (ConfigError) unless the images have ``dim`` values each (a model of
        another image size); ``dim`` None checks nothing."""
        from latentdyn.errors import ConfigError

        if dim is not None and int(dim) != self.dim:
            shape = "x".join(map(str, self.image_shape))
            raise ConfigError(f"data set {self.name} has {self.dim} values per image ({shape}) "
                              f"but {what} takes {int(dim)}")


def arrays_sha256(ds: Dataset) -> str:
    """sha256 over dtype, shape and bytes of the train/test images and labels."""
    h = hashlib.sha256()
    for t in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        a = np.ascontiguousarray(t.detach().cpu().numpy())
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def make_dataset(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    image_shape: tuple[int, ...],
    num_classes: int | None = None,
    **kwargs,
) -> Dataset:
    """Build a Dataset from numpy arrays: images (N, ...) floats in [0, 1] or uint8
    (divided by 255), labels integers. Images are flattened to (N, D)."""
    tensors = []
    for images, labels in (train, test):
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        images = np.ascontiguousarray(images.reshape(len(images), -1), dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        tensors += [torch.from_numpy(images), torch.from_numpy(labels)]
    if num_classes is None:
        top = max((int(t.max()) for t in tensors[1::2] if t.numel()), default=-1)
        num_classes = top + 1
    return Dataset(name, *tensors, tuple(int(s) for s in image_shape), int(num_classes), **kwargs)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Where downloadable data sets live: ``data_dir`` if given, else ``$LATENTDYN_DATA``,
    else ``$XDG_CACHE_HOME/latentdyn``, else ``~/.cache/latentdyn``. Not created here."""
    given = explicit_data_dir(data_dir)
    return given[0] if given is not None else _default_data_dir()


def explicit_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """``(folder, how it was given)`` when the data folder was chosen explicitly
    (``data_dir``, else ``$LATENTDYN_DATA``); None for the default cache folder."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser(), f"${DATA_ENV}"
    return None


def check_data_dir(name: str, data_dir: str | os.PathLike | None = None) -> None:
    """One line (DataError) naming the folder when an explicitly chosen data folder does
    not exist, rather than falling back to a copy elsewhere; the default cache folder
    may be absent."""
    given = explicit_data_dir(data_dir)
    if given is None:
        return
    folder, how = given
    if not folder.is_dir():
        where = "is not a folder" if folder.exists() else "does not exist"
        fetch = f"latentdyn data download {name}" + (
            f" --data-dir {folder}" if how == "--data-dir" else "")
        raise DataError(f"{name}: data folder {folder} (from {how}) {where}; correct {how}, "
                        f"or run `{fetch}` to fetch the files into it")


def _default_data_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "latentdyn"


def check_images(images: np.ndarray, label: str) -> None:
    """Raise DataError unless ``images`` is uint8 or finite floats in [0, 1]."""
    if images.dtype == np.uint8:
        return
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{label}: images must be floats in [0, 1] or uint8, got {images.dtype}")
    if images.size and not np.isfinite(images).all():
        raise DataError(f"{label}: images contain NaN or infinite values")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise DataError(
            f"{label}: image values must lie in [0, 1] (uint8 is divided by 255), "
            f"found range [{images.min():g}, {images.max():g}]"
        )
