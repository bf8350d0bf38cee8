"""One run lifecycle for every study and analysis command: lock, staging, manifest,
an all-or-nothing commit.

A result is either a whole folder (a reproduction's ``report.html``, ``claims.json``,
``figures/``, ``data/`` …) or a set of named files in a folder (``latentdyn dynamics``
writes ``X.npz``, ``X.json``, ``X.manifest.json`` and ``X.html``): a :class:`Target`.
A files result that fails leaves no folder behind that it had to create.
While a :class:`Run` is open the folder is locked (a second process writing there gets
one ``error:`` line), the results grow in a staging folder inside it, and the manifest
says ``running``. When the block ends they replace the earlier results all at once;
when anything fails the earlier results stay exactly as they were.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import click

from latentdyn.errors import ConfigError

STAGING = ".staging"  # where a run's results grow until they replace the old ones
PREVIOUS = ".previous"  # the replaced results, kept until the new ones are all in place
MANIFEST = "manifest.json"
SAME_RESULTS = {"device"}  # settings that may differ between two runs of the same results


@dataclass(frozen=True)
class Target:
    """Where a result goes: the whole of ``folder`` (``files`` is None) or the named
    ``files`` inside it; ``manifest`` names its manifest file (None: none is written)."""

    folder: Path
    files: tuple[str, ...] | None = None
    manifest: str | None = MANIFEST

    @property
    def manifest_path(self) -> Path | None:
        return None if self.manifest is None else self.folder / self.manifest


def folder_target(out: str | Path) -> Target:
    return Target(Path(out))


def files_target(*paths: str | Path, manifest: str | Path | None = None) -> Target:
    """The files ``paths`` (all in one folder), ``manifest`` one of them."""
    paths = [Path(p) for p in paths]
    folders = {p.parent for p in paths}
    if len(folders) != 1:
        raise ConfigError("the outputs of one command must lie in one folder")
    names = tuple(p.name for p in paths)
    if len(set(names)) < len(names):
        raise ConfigError(f"two outputs share one name: {', '.join(names)}")
    return Target(folders.pop(), names, None if manifest is None else Path(manifest).name)


# ------------------------------------------------------------------------- guards
def refuse_other_results(target: Target, kind: str, config: Mapping[str, Any],
                         overwrite: bool) -> None:
    """Refuse an output that holds another result: for a folder, a manifest of another
    command (whatever its status: also one a killed run left in its staging folder) or
    of other settings, unless ``overwrite``; a training run, a sweep or files that are
    no latentdyn result, always (``--overwrite`` would mix them with the new result);
    for files, any of them already there, unless ``overwrite``."""
    if target.files is not None:
        if not overwrite:
            from latentdyn.io import refuse_existing

            refuse_existing([target.folder / n for n in target.files], overwrite)
        return
    if target.folder.exists() and not target.folder.is_dir():
        raise ConfigError(f"{target.folder}: exists and is not a folder")
    path = _manifest_of(target.folder)
    if path is None:
        _refuse_foreign(target.folder, kind)
        return
    try:
        from latentdyn.io import read_json

        old = read_json(path)
        old_kind, old_config = old.get("kind"), old.get("config")
    except (OSError, ValueError, AttributeError):
        if overwrite:
            return
        raise ConfigError(f"{path}: unreadable manifest; pass --overwrite or choose another "
                          "--out") from None
    if old_kind in FOREIGN_KINDS and old_kind != kind:
        _refuse_foreign(target.folder, kind)
    if overwrite:
        return
    if old_kind != kind:
        raise ConfigError(f"{target.folder}: holds the results of {old_kind!r}; pass "
                          "--overwrite or choose another --out")
    new = json.loads(json.dumps(dict(config), default=str))
    old_config = old_config if isinstance(old_config, dict) else {}
    diffs = [k for k in sorted(set(old_config) | set(new))
             if k not in SAME_RESULTS and old_config.get(k) != new.get(k)]
    if diffs:
        k = diffs[0]
        raise ConfigError(f"{target.folder}: holds results of another setting ({k} = "
                          f"{old_config.get(k)!r} there, {new.get(k)!r} here); pass "
                          "--overwrite or choose another --out")


#: folders of these commands are never a study's output folder, not even with --overwrite
FOREIGN_KINDS = {"train", "sweep"}
#: what marks them when they hold no manifest of a study: a run's or a sweep's own file
_FOREIGN_FILES = {"config.json": "a training run", "sweep.json": "a sweep",
                  "checkpoint.safetensors": "a training run",
                  "model.safetensors": "a training run"}


def _manifest_of(folder: Path) -> Path | None:
    """The manifest that says what ``folder`` holds: its own, else the one a commit
    killed half way moved aside, else the one of a run killed while it ran."""
    for path in (folder / MANIFEST, folder / PREVIOUS / MANIFEST, folder / STAGING / MANIFEST):
        if path.is_file():
            return path
    return None


def _refuse_foreign(folder: Path, kind: str) -> None:
    """One line when ``folder`` holds a training run, a sweep, or anything else that is
    not a result of a latentdyn command (only its lock file and a staging folder are
    ignored)."""
    from latentdyn.io import LOCK_NAME

    if not folder.is_dir():
        return
    names = sorted(p.name for p in folder.iterdir() if p.name not in (LOCK_NAME, STAGING))
    for name, what in _FOREIGN_FILES.items():
        if name in names:
            raise ConfigError(f"{folder}: holds {what} ({name}); the results of {kind} never "
                              "go into it; choose another --out")
    if names and not (folder / MANIFEST).is_file():
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        raise ConfigError(f"{folder}: holds files that are not a latentdyn result ({shown}); "
                          "choose another --out")


# ------------------------------------------------------------------------- commit
def commit(staging: Path, folder: Path) -> None:
    """Move every entry of ``staging`` into ``folder`` (the manifest last), all or
    nothing: each entry it replaces is first moved aside into ``folder/.previous``; if
    any move fails, the new entries are taken out again and the old ones put back."""
    from latentdyn.io import fsync_dir

    backup = folder / PREVIOUS
    restore_previous(folder)
    backup.mkdir()
    entries = sorted(staging.iterdir(), key=lambda p: (p.name.endswith(MANIFEST), p.name))
    moved: list[str] = []
    try:
        for src in entries:
            dest = folder / src.name
            if dest.exists() or dest.is_symlink():
                os.replace(dest, backup / src.name)
            os.replace(src, dest)
            moved.append(src.name)
    except BaseException:
        for name in reversed(moved):
            _remove(folder / name)
        _put_back(backup, folder)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(folder)


def restore_previous(folder: Path) -> None:
    """Finish a commit that a killed process left half done: the entries it had moved
    aside go back, replacing the new ones (the old manifest was never replaced)."""
    backup = folder / PREVIOUS
    if backup.is_dir():
        _put_back(backup, folder)


def _put_back(backup: Path, folder: Path) -> None:
    for entry in sorted(backup.iterdir()):
        dest = folder / entry.name
        if dest.exists() or dest.is_symlink():
            _remove(dest)
        os.replace(entry, dest)
    backup.rmdir()


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist (None: it exists)."""
    missing = None
    for p in (folder, *folder.parents):
        if p.exists():
            return missing
        missing = p
    return missing


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------- the run
class Run:
    """One command writing its result into ``target``: lock, staging, manifest, timings.

    Use as a context manager around the stages, after every option has been checked::

        with Run(target, "reproduce nagano2017", settings, seed=0, device=dev) as run:
            with run.stage("train", "training the VAE"):
                model = train_into(run.folder / "model")       # runs: in the folder
            save_figures(run.out / "figures")                   # results: in run.out

    ``run.out`` is the staging folder: write every result there, under its final name.
    Runs a study trains (and reuses on the next call) live in ``run.folder`` itself.
    When the block ends the results replace the earlier ones at once (status
    ``completed``); when an exception leaves it (it is not swallowed) the staging
    folder is removed, a completed result already there stays exactly as it was, and a
    folder result without one gets a manifest of status ``failed``. With ``target``
    None nothing is written at all (``run.out`` is None). ``timings`` maps each stage
    to its seconds.
    """

    def __init__(self, target: Target | None, kind: str, config: Mapping[str, Any], *,
                 seed, device, data: Mapping[str, Any] | None = None,
                 argv: Sequence[str] | None = None, progress: bool = True,
                 overwrite: bool = False):
        self.target = target
        self.folder = target.folder if target is not None else None
        self.out = self.folder / STAGING if target is not None else None
        self.overwrite = overwrite
        self.kind, self.config, self.seed, self.device = kind, dict(config), seed, device
        self.data = dict(data or {})
        self.argv = list(argv) if argv is not None else None
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.fields: dict[str, Any] = {}
        self.manifest = None
        self._lock = None
        self._made = None  # the outermost folder this run created (files results)
        self._t0 = time.perf_counter()

    def __enter__(self) -> "Run":
        if self.target is None:
            self._t0 = time.perf_counter()
            return self
        from latentdyn.io import folder_lock

        refuse_other_results(self.target, self.kind, self.config, self.overwrite)
        self._made = _first_missing(self.folder)
        self._lock = folder_lock(self.folder)
        self._lock.__enter__()
        try:
            # again, now that no other process can write here
            refuse_other_results(self.target, self.kind, self.config, self.overwrite)
            restore_previous(self.folder)
            if self.out.exists() or self.out.is_symlink():  # left by a killed run
                _remove(self.out)
            self.out.mkdir()
            self._open_manifest()
        except BaseException:
            shutil.rmtree(self.out, ignore_errors=True)
            self._drop_made_folders()
            self._lock.__exit__(None, None, None)
            raise
        self._t0 = time.perf_counter()
        return self

    def _open_manifest(self) -> None:
        from latentdyn.manifest import Manifest

        if self.target.manifest is None:
            return
        argv = self.argv
        if argv is None:
            from latentdyn.manifest import invocation

            argv = invocation()
        self.manifest = Manifest(self.out / self.target.manifest, kind=self.kind,
                                 config=self.config, seed=self.seed, device=self.device,
                                 data=self.data, argv=argv)
        if self.target.files is None:  # a folder result says at once that it is running
            self.manifest.write("running")

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.target is None:
            return False
        try:
            if self.manifest is not None:
                self.manifest.update(timings=self.timings, **self.fields)
            if exc_type is not None:
                self._abandon()
                self._drop_made_folders()
                if isinstance(exc, OSError) and exc.filename is None:
                    from latentdyn.io import with_path

                    raise with_path(exc, self.folder) from None  # a full disk: name it
                return False
            try:
                if self.manifest is not None:
                    self.manifest.write("completed")
                self._check_files()
                commit(self.out, self.folder)
            except BaseException:
                self._abandon()
                self._drop_made_folders()
                raise
        finally:
            self._lock.__exit__(None, None, None)
        return False

    def _drop_made_folders(self) -> None:
        """A files result that failed leaves no folder behind that it created (its
        lock file aside, such a folder is empty now)."""
        from latentdyn.io import LOCK_NAME

        if self._made is None or self.target.files is None:
            return
        (self.folder / LOCK_NAME).unlink(missing_ok=True)
        folder = self.folder
        while True:
            try:
                folder.rmdir()
            except OSError:  # not empty: another process writes there now
                return
            if folder == self._made:
                return
            folder = folder.parent

    def _check_files(self) -> None:
        if self.target.files is None:
            return
        made = {p.name for p in self.out.iterdir()}
        stray = sorted(made - set(self.target.files))
        if stray:
            raise RuntimeError(f"the command wrote files it did not declare: {stray}")

    def _abandon(self) -> None:
        """Drop a failed run's results; record the failure only for a folder result
        that holds no completed one."""
        shutil.rmtree(self.out, ignore_errors=True)
        if self.manifest is None or self.target.files is not None:
            return
        try:
            old = json.loads((self.folder / MANIFEST).read_text()).get("status")
        except (OSError, ValueError, AttributeError, RecursionError):
            old = None
        if old != "completed":
            self.manifest.path = self.folder / MANIFEST
            try:
                self.manifest.write("failed")
            except OSError:  # a full disk: the error that stopped the run says more
                pass

    # ------------------------------------------------------------- during the run
    @property
    def wall_time(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self._t0

    def log(self, message: str) -> None:
        """A progress message on stderr (silent with ``progress=False``)."""
        if self.progress:
            click.echo(message, err=True)

    @contextlib.contextmanager
    def stage(self, name: str, message: str | None = None) -> Iterator[None]:
        """Time the block as stage ``name`` (added to earlier time under that name)."""
        if message:
            self.log(message)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t, 2)

    def record(self, **fields: Any) -> None:
        """Add fields to the manifest (written when the run ends)."""
        self.fields.update(fields)
        if self.manifest is not None:
            self.manifest.update(**fields)

    def checkpoint(self, **fields: Any) -> None:
        """Add fields and write the manifest now (still ``running``; folder results)."""
        self.record(**fields)
        if self.manifest is not None and self.target.files is None:
            self.manifest.update(timings=self.timings)
            self.manifest.write()


__all__ = ["MANIFEST", "PREVIOUS", "Run", "STAGING", "Target", "commit", "files_target",
           "folder_target", "refuse_other_results", "restore_previous"]
