"""latentdyn's data layer: labelled image sets as flattened float tensors in [0, 1].

Data sets (``load_dataset(name)``):

* ``mnist-embedded`` (the default): an MNIST subset shipped in the package, 10 000 train
  / 10 000 test, md5-checked at every load;
* ``mnist``, ``fashion-mnist``: the four standard IDX files in ``<data dir>/<name>/`` or
  ``<data dir>/`` (Fashion-MNIST also in Debian's ``/usr/share/datasets/fashion-mnist``),
  fetched by :func:`download`, md5-checked;
* ``digits``: scikit-learn's 8x8 digits;
* ``npz:PATH``: your own arrays, grey ``(N, H, W)`` or colour ``(N, H, W, C)``;
* ``folder:PATH``: your own PNG images, one subfolder per label;
* ``synthetic[:OPTIONS]``: a generated concept -> memory hierarchy with ground truth.

:func:`corrupt` (:mod:`~latentdyn.data.corruption`) makes the corrupted inputs that
repeated inference starts from (per channel for colour images);
:mod:`~latentdyn.data.images` folds flat rows back into grey or colour images.

The data dir is ``--data-dir``, else ``$LATENTDYN_DATA``, else the per-user cache. Only
:func:`download` touches the network.
"""

from latentdyn.data.base import Dataset, resolve_data_dir
from latentdyn.data.corruption import NOISE_KINDS, corrupt
from latentdyn.data.download import download
from latentdyn.data.idx import read_idx, read_idx_pair
from latentdyn.data.registry import (
    DEFAULT_DATASET,
    dataset_names,
    describe,
    list_datasets,
    load_dataset,
)

__all__ = [
    "DEFAULT_DATASET",
    "NOISE_KINDS",
    "corrupt",
    "Dataset",
    "dataset_names",
    "describe",
    "download",
    "list_datasets",
    "load_dataset",
    "read_idx",
    "read_idx_pair",
    "resolve_data_dir",
]
