"""``folder:PATH``: a data set of PNG images, one subfolder per label.

Layout: ``PATH/<label>/*.png`` -- or ``PATH/train/<label>/*.png`` with
``PATH/test/<label>/*.png`` beside it. A label folder named by an integer is that
label; otherwise the labels are the folder names in sorted order (recorded as
``extra["label_names"]``). Without ``train``/``test`` folders the last 10 % of each
label's files (in name order; at least one of a label with two or more) are its test
images. Every image must have the same size; grey images (mode ``L``, ``1``, ``I;16``)
stay grey, and a set with any colour image is read as RGB (alpha dropped), held as
``(3, H, W)`` (:mod:`latentdyn.data.images`). Files are decoded with Pillow; the
checksum is the arrays' sha256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentdyn.data.base import Dataset, make_dataset
from latentdyn.errors import DataError

MAX_IMAGES = 1_000_000
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _label_folders(root: Path, label: str) -> list[Path]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{label}: no label folders in {root} (give PATH/<label>/*.png)")
    return folders


def _labels(names: list[str]) -> tuple[dict[str, int], list[str] | None]:
    """Folder name -> label: the integers the names spell, else their sorted order."""
    if all(n.isdigit() for n in names):
        return {n: int(n) for n in names}, None
    ordered = sorted(names)
    return {n: k for k, n in enumerate(ordered)}, ordered


def _pngs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")


def _read(path: Path, label: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{label}: cannot read {path.name} as PNG: {reason}") from None


def _array(im, colour: bool) -> np.ndarray:
    """One image as uint8 ``(H, W)`` grey or ``(3, H, W)`` RGB."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F") and not colour:
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I") else 1.0
        return np.clip(np.round(a / top * 255), 0, 255).astype(np.uint8)
    if colour:
        return np.ascontiguousarray(np.moveaxis(np.asarray(im.convert("RGB")), -1, 0))
    return np.asarray(im.convert("L"))


def _split_files(root: Path, label: str) -> dict[str, list[tuple[Path, str]]]:
    """``{"train": [(file, folder name)], "test": [...]}``."""
    parts = {p.name for p in root.iterdir() if p.is_dir()}
    if {"train", "test"} <= parts:
        out = {}
        for split in ("train", "test"):
            out[split] = [(f, d.name) for d in _label_folders(root / split, label)
                          for f in _pngs(d)]
        return out
    out = {"train": [], "test": []}
    for d in _label_folders(root, label):
        files = _pngs(d)
        n_test = max(1, len(files) // 10) if len(files) >= 2 else 0
        cut = len(files) - n_test
        out["train"] += [(f, d.name) for f in files[:cut]]
        out["test"] += [(f, d.name) for f in files[cut:]]
    return out


def load_folder(path: str | Path) -> Dataset:
    """The PNG images under ``path`` (module doc); every problem is one DataError line."""
    root = Path(path)
    label = f"folder:{path}"
    if not root.is_dir():
        raise DataError(f"{label}: no such folder: {root}")
    files = _split_files(root, label)
    if not files["train"] or not files["test"]:
        which = "training" if not files["train"] else "test"
        raise DataError(f"{label}: no {which} images (PNG files in the label folders)")
    total = len(files["train"]) + len(files["test"])
    if total > MAX_IMAGES:
        raise DataError(f"{label}: {total} images; at most {MAX_IMAGES}")
    names = sorted({name for split in files.values() for _, name in split})
    to_label, ordered = _labels(names)
    images = {s: [_read(f, label) for f, _ in files[s]] for s in files}
    colour = any(im.mode not in GREY_MODES for ims in images.values() for im in ims)
    arrays = {s: [_array(im, colour) for im in images[s]] for s in images}
    sizes = {a.shape for a in arrays["train"] + arrays["test"]}
    if len(sizes) > 1:
        shown = ", ".join("x".join(map(str, s)) for s in sorted(sizes)[:3])
        raise DataError(f"{label}: the images differ in size ({shown}); give images of one size")
    shape = sizes.pop()
    pairs = tuple((np.stack(arrays[s]), np.asarray([to_label[n] for _, n in files[s]]))
                  for s in ("train", "test"))
    extra = {"where": str(root.resolve()), "files": total}
    if ordered is not None:
        extra["label_names"] = ordered
    return make_dataset(label, pairs[0], pairs[1], shape, license="user-supplied",
                        source=f"user PNG images under {root}", extra=extra)


__all__ = ["load_folder"]
