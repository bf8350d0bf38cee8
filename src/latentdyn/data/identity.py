"""What ties a result to its data: a data set's name in a form that means the same from
any folder, and the checksums a run records of it.

Only the data sets a user gives as files (``npz:PATH``) can change under one name: the
named sets are verified against known checksums at every load (``mnist``,
``fashion-mnist``, ``mnist-embedded``), bundled (``digits``) or generated from their
name (``synthetic:…``), so their name alone says which data they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from latentdyn.io import md5_file

#: name prefixes of data sets read from the user's files (the part after ``:`` a path)
FILE_KINDS = ("npz",)


def canonical_name(name):
    """``name`` with a relative file path made absolute (``npz:data/x.npz`` ->
    ``npz:/home/me/data/x.npz``), so a run that records it loads the same file from any
    folder; other names (and anything that is not a string) as they are."""
    if not isinstance(name, str):
        return name
    kind, sep, path = name.strip().partition(":")
    if sep and kind in FILE_KINDS and path and not os.path.isabs(os.path.expanduser(path)):
        return f"{kind}:{os.path.abspath(os.path.expanduser(path))}"
    return name


def canonical_dir(folder):
    """A data folder as an absolute path (None and non-strings as they are)."""
    if not isinstance(folder, str) or folder == "":
        return folder
    return os.path.abspath(os.path.expanduser(folder))


def from_files(name) -> bool:
    """Whether ``name`` is a data set read from the user's files, which may change."""
    return isinstance(name, str) and name.strip().partition(":")[0] in FILE_KINDS \
        and ":" in name


def source_checksums(name) -> dict | None:
    """The checksums :meth:`Dataset.checksums` gives for ``name``, computed from its file
    without loading it (``npz:PATH``: ``{file name: md5}``); None for a data set that
    cannot change under its name, or whose file is missing (loading it will say so)."""
    if not from_files(name):
        return None
    path = Path(os.path.expanduser(name.strip().partition(":")[2]))
    if not path.is_file():
        return None
    return {path.name: md5_file(path)}


def same_data(recorded, data) -> bool:
    """Whether a run's recorded data (its manifest's ``data``: ``dataset`` and
    ``checksums``) is the loaded ``data``. Only a data set of the user's files is
    compared (the others cannot change under their name), and only when the run
    recorded checksums for it."""
    if not isinstance(recorded, dict) or not from_files(data.name):
        return True
    if canonical_name(recorded.get("dataset")) != canonical_name(data.name):
        return True  # other data on purpose (--dataset): nothing to compare
    sums = recorded.get("checksums")
    return not isinstance(sums, dict) or sums == data.checksums()


__all__ = ["FILE_KINDS", "canonical_dir", "canonical_name", "from_files", "same_data",
           "source_checksums"]
