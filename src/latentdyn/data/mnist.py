"""MNIST-format data sets: the embedded MNIST subset, MNIST and Fashion-MNIST.

Each set is four IDX files (train images/labels, test images/labels). Every file is
checked against known md5 sums at every load: the md5 of the canonical ``.gz`` file,
or, for an uncompressed or re-compressed copy (Debian's ``dataset-fashion-mnist``
re-compresses), the md5 of the uncompressed content.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentdyn.data.base import Dataset, check_data_dir, make_dataset, resolve_data_dir
from latentdyn.data.idx import GZIP_MAGIC, check_pair, gunzip, read_idx
from latentdyn.errors import DataError

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
STANDARD_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST_LICENSE = "CC BY-SA 3.0 (MNIST: Y. LeCun, C. Cortes, C. J. C. Burges)"


@dataclass(frozen=True)
class IdxSet:
    """A data set made of four IDX files, with their known checksums."""

    name: str
    description: str
    files: tuple[str, ...]  # file stems (no .gz) in ROLES order
    gz_md5: dict[str, str]  # stem -> md5 of the .gz file
    raw_md5: dict[str, str] = field(default_factory=dict)  # stem -> md5 of the content
    mirrors: tuple[str, ...] = ()
    extra_dirs: tuple[str, ...] = ()
    license: str = ""
    source: str = ""
    classes: tuple[str, ...] = ()


EMBEDDED = IdxSet(
    name="mnist-embedded",
    description="MNIST subset shipped in the package: first 10 000 train images, full test set",
    files=(
        "train-10k-images-idx3-ubyte",
        "train-10k-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ),
    gz_md5={  # as in data/embedded/README.md
        "train-10k-images-idx3-ubyte": "d7068223799496bd1fa13d2ac103d8ef",
        "train-10k-labels-idx1-ubyte": "8d1fc8b330d84cb861f1431acc223c93",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    license=MNIST_LICENSE,
    source="MNIST (LeCun, Cortes, Burges): first 10 000 training images and the full "
    "test set, embedded in the latentdyn package",
)

MNIST = IdxSet(
    name="mnist",
    description="MNIST handwritten digits, 60 000 train / 10 000 test, 28x28",
    files=STANDARD_FILES,
    gz_md5=dict(zip(STANDARD_FILES, (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ))),
    raw_md5=dict(zip(STANDARD_FILES, (
        "6bbc9ace898e44ae57da46a324031adb",
        "a25bea736e30d166cdddb491f175f624",
        "2646ac647ad5339dbf082846283269ea",
        "27ae3e4e09519cfbb04c329615203637",
    ))),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    license=MNIST_LICENSE,
    source="MNIST handwritten digits (Y. LeCun, C. Cortes, C. J. C. Burges)",
)

FASHION = IdxSet(
    name="fashion-mnist",
    description="Fashion-MNIST clothing images, 60 000 train / 10 000 test, 28x28",
    files=STANDARD_FILES,
    gz_md5=dict(zip(STANDARD_FILES, (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ))),
    raw_md5=dict(zip(STANDARD_FILES, (
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "9018921c3c673c538a1fc5bad174d6f9",
        "8181f5470baa50b63fa0f6fddb340f0a",
        "15d484375f8d13e6eb1aabb0c3f46965",
    ))),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    extra_dirs=("/usr/share/datasets/fashion-mnist",),  # Debian: dataset-fashion-mnist
    license="MIT (Fashion-MNIST: H. Xiao, K. Rasul, R. Vollgraf, Zalando SE)",
    source="Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, Zalando Research)",
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)

IDX_SETS = {s.name: s for s in (EMBEDDED, MNIST, FASHION)}


def embedded_dir():
    """The package folder (a Traversable) holding the embedded MNIST files."""
    return importlib.resources.files("latentdyn.data") / "embedded"


def search_dirs(spec: IdxSet, data_dir=None) -> list[Path]:
    """Folders searched for ``spec``'s files, in order."""
    root = resolve_data_dir(data_dir)
    return [root / spec.name, root] + [Path(d) for d in spec.extra_dirs]


def locate(spec: IdxSet, data_dir=None) -> dict[str, Path]:
    """Find the four files (``.gz`` preferred, else uncompressed) in the first search
    folder holding all of them. Raises DataError naming the missing files otherwise, or
    naming the folder when a data folder chosen explicitly (``data_dir`` or
    ``$LATENTDYN_DATA``) does not exist (no silent fallback to a copy elsewhere)."""
    check_data_dir(spec.name, data_dir)
    dirs = search_dirs(spec, data_dir)
    best: tuple[int, Path, dict] | None = None
    for d in dirs:
        found = {}
        for stem in spec.files:
            for cand in (d / f"{stem}.gz", d / stem):
                if cand.is_file():
                    found[stem] = cand
                    break
        if len(found) == len(spec.files):
            return found
        if best is None or len(found) > best[0]:
            best = (len(found), d, found)
    _, where, found = best
    missing = ", ".join(f"{s}.gz" for s in spec.files if s not in found)
    looked = ", ".join(str(d) for d in dirs)
    raise DataError(
        f"{spec.name}: missing {missing} (looked in {looked}); run "
        f"`latentdyn data download {spec.name}` or place the files (.gz or uncompressed) "
        f"in {dirs[0]}"
    )


def verified_content(spec: IdxSet, stem: str, path: Path) -> tuple[bytes, str]:
    """Read ``path`` and check it against the known checksums of ``stem``.

    Returns ``(uncompressed bytes, md5 of the file)``. A file matches when its md5 is
    the canonical ``.gz`` md5, or its uncompressed content has the canonical raw md5.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{spec.name}: cannot read {path}: {exc.strerror or exc}") from None
    md5 = hashlib.md5(data).hexdigest()
    raw_md5 = spec.raw_md5.get(stem)
    if md5 in (spec.gz_md5[stem], raw_md5):
        return gunzip(data, Path(path).name), md5
    if raw_md5 and data.startswith(GZIP_MAGIC):  # a re-compressed copy?
        content = gunzip(data, Path(path).name)
        if hashlib.md5(content).hexdigest() == raw_md5:
            return content, md5
    expected = spec.gz_md5[stem]
    if stem in spec.raw_md5:
        expected += f" for the .gz or {spec.raw_md5[stem]} for its content"
    fix = (
        "the package installation is damaged; reinstall latentdyn"
        if spec is EMBEDDED
        else f"delete it and run `latentdyn data download {spec.name}`"
    )
    raise DataError(
        f"{spec.name}: checksum mismatch for {path}: md5 {md5}, expected {expected} "
        f"(corrupt or another data set's file); {fix}"
    )


def load_idx_set(spec: IdxSet, paths: dict[str, Path]) -> Dataset:
    """Verify and read the four files of ``spec`` (stem -> path) into a Dataset."""
    arrays, files = [], {}
    for stem in spec.files:
        path = Path(paths[stem])
        content, md5 = verified_content(spec, stem, path)
        arrays.append(read_idx(content, name=path.name))
        files[path.name] = {"path": str(path), "md5": md5}
    names = [Path(paths[s]).name for s in spec.files]
    for i in (0, 2):
        check_pair(arrays[i], arrays[i + 1], names[i], names[i + 1])
        if arrays[i].ndim != 3 or arrays[i].dtype != np.uint8:
            raise DataError(f"{names[i]}: expected uint8 images (N, H, W), got "
                            f"{arrays[i].dtype} {arrays[i].shape}")
        if arrays[i + 1].size and arrays[i + 1].max() > 9:
            raise DataError(f"{names[i + 1]}: labels must be 0..9, found {arrays[i + 1].max()}")
    if arrays[0].shape[1:] != arrays[2].shape[1:]:
        raise DataError(f"{spec.name}: train images are {arrays[0].shape[1:]} but test images "
                        f"are {arrays[2].shape[1:]}")
    where = str(Path(paths[spec.files[0]]).parent)
    extra = {"where": where}
    if spec.classes:
        extra["classes"] = list(spec.classes)
    return make_dataset(
        spec.name, (arrays[0], arrays[1]), (arrays[2], arrays[3]), arrays[0].shape[1:],
        num_classes=10, files=files, license=spec.license,
        source=f"{spec.source}; files in {where}", extra=extra,
    )


def load_embedded(directory: str | os.PathLike | None = None) -> Dataset:
    """Load the embedded MNIST subset (md5-checked), from the package or ``directory``."""
    with ExitStack() as stack:
        if directory is None:
            root = embedded_dir()
            paths = {s: stack.enter_context(importlib.resources.as_file(root / f"{s}.gz"))
                     for s in EMBEDDED.files}
        else:
            paths = {s: Path(directory) / f"{s}.gz" for s in EMBEDDED.files}
        for stem, p in paths.items():
            if not Path(p).is_file():
                raise DataError(f"mnist-embedded: {p} is missing; reinstall latentdyn")
        ds = load_idx_set(EMBEDDED, paths)
    ds.source = EMBEDDED.source
    return ds


def load_named(name: str, data_dir=None) -> Dataset:
    """Load ``mnist`` or ``fashion-mnist`` from the data folder (see :func:`locate`)."""
    spec = IDX_SETS[name]
    return load_idx_set(spec, locate(spec, data_dir))
