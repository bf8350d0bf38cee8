"""The named data sets: loading by name, listing, and describing them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from latentdyn.data import arrays, folder, mnist, synthetic
from latentdyn.data.base import Dataset, resolve_data_dir
from latentdyn.errors import DataError

DEFAULT_DATASET = "mnist-embedded"

DESCRIPTIONS = {
    "mnist-embedded": mnist.EMBEDDED.description,
    "mnist": mnist.MNIST.description,
    "fashion-mnist": mnist.FASHION.description,
    "digits": "scikit-learn's 8x8 handwritten digits, 1437 train / 360 test",
    "synthetic": "generated hierarchical set (concepts -> memories) with known ground truth",
}
PATTERNS = ("synthetic:k=..,m=..,side=..,seed=..,noise=..,spread=..,test=..", "npz:PATH",
            "folder:PATH")


def dataset_names() -> list[str]:
    """The fixed data set names. Parametrised forms are also accepted by
    :func:`load_dataset`: ``synthetic:OPTIONS``, ``npz:PATH`` and ``folder:PATH``."""
    return list(DESCRIPTIONS)


def load_dataset(name: str, data_dir=None) -> Dataset:
    """Load a data set by name (see :func:`dataset_names`, plus ``npz:PATH``,
    ``folder:PATH`` (PNG images, one subfolder per label) and ``synthetic:OPTIONS``).
    Never touches the network: ``mnist`` and ``fashion-mnist``
    must already be in the data folder (``latentdyn data download NAME``)."""
    name = str(name).strip()
    kind, _, arg = name.partition(":")
    if kind == "npz" and arg:
        return arrays.load_npz(arg)
    if kind == "folder" and arg:
        return folder.load_folder(arg)
    if kind == "synthetic":
        return synthetic.generate(arg)
    if arg == "":
        if name == "mnist-embedded":
            return mnist.load_embedded()
        if name in ("mnist", "fashion-mnist"):
            return mnist.load_named(name, data_dir)
        if name == "digits":
            return arrays.load_digits()
    raise DataError(f"unknown data set {name!r}; known: "
                    + ", ".join(dataset_names() + list(PATTERNS)))


def describe(name: str, data_dir=None) -> dict:
    """Load ``name`` and summarise it (for ``latentdyn data info``): counts, image shape,
    classes and label balance, checksums, file locations, licence and provenance."""
    ds = load_dataset(name, data_dir)
    present = _present_labels(ds)
    keys = list(range(ds.num_classes)) if ds.num_classes <= MAX_LISTED_CLASSES else present
    paths = [info["path"] for info in ds.files.values()]
    where = ds.extra.get("where") or (str(Path(paths[0]).parent) if paths else "in memory")
    return {
        "name": ds.name,
        "source": ds.source,
        "license": ds.license,
        "train": len(ds.train_labels),
        "test": len(ds.test_labels),
        "image_shape": list(ds.image_shape),
        "dim": ds.dim,
        "num_classes": ds.num_classes,
        "labels_present": len(present),
        "label_balance": {
            "train": _balance(ds.train_labels, keys),
            "test": _balance(ds.test_labels, keys),
        },
        "value_range": [float(ds.train_images.min()), float(ds.train_images.max())],
        "checksums": ds.checksums(),
        "where": where,
        "files": {f: info["path"] for f, info in ds.files.items()},
    }


def list_datasets(data_dir=None) -> list[dict]:
    """One entry per data set: ``name``, ``description``, ``available`` (usable now,
    offline) and ``where`` (its location, or how to get it). Loads nothing."""
    root = resolve_data_dir(data_dir)
    rows = []
    for name, description in DESCRIPTIONS.items():
        if name == "mnist-embedded":
            available, where = True, f"inside the package ({mnist.embedded_dir()})"
        elif name in ("mnist", "fashion-mnist"):
            try:
                paths = mnist.locate(mnist.IDX_SETS[name], data_dir)
                available, where = True, str(next(iter(paths.values())).parent)
            except DataError:
                available = False
                where = f"`latentdyn data download {name}` (into {root / name})"
        elif name == "digits":
            available, where = True, "bundled with scikit-learn"
        else:
            available, where = True, "generated from a seed"
        rows.append({"name": name, "description": description,
                     "available": available, "where": where})
    rows.append({"name": "npz:PATH", "description": "your own arrays: " + arrays.NPZ_HELP,
                 "available": True, "where": "a .npz file you give"})
    rows.append({"name": "folder:PATH", "description": "your own PNG images, one subfolder "
                 "per label (PATH/<label>/*.png, or PATH/train/... and PATH/test/...)",
                 "available": True, "where": "a folder you give"})
    return rows


# label ranges up to this size are listed in full (absent classes as 0); beyond it
# only the labels that occur, so a label of 10**9 costs nothing
MAX_LISTED_CLASSES = 1000


def _present_labels(ds: Dataset) -> list[int]:
    """The labels that occur in either split, sorted (nothing allocated per class)."""
    return sorted(set(ds.train_labels.unique().tolist()) | set(ds.test_labels.unique().tolist()))


def _balance(labels, keys: list[int]) -> dict[int, int]:
    counts = Counter(labels.tolist())
    return {c: counts.get(c, 0) for c in keys}
