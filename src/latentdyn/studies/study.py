"""The scaffold every reproduced study runs in.

A study is a package ``latentdyn/studies/<name>/`` (the recipe is in
docs/architecture.md): its profiles, a short sequence of stages that return typed
results, its claims as functions of those results, its report sections built from
them, and a click command. What every study shares lives here, written once:

* profiles -- :data:`PROFILE_NAMES` (``quick``, ``paper``, ``smoke`` in every study) and
  :func:`get_profile`;
* the dataset default -- :func:`default_dataset` (the paper profile uses full MNIST
  when it is present, every other profile the embedded subset);
* the output-folder guard -- :func:`guard_output`;
* the manifest lifecycle (running -> completed or failed, argv recorded), stage
  timings and progress messages -- :class:`StudyRun`;
* the final lines on the terminal -- :func:`finish`;
* the command-line options every ``reproduce`` command has -- :func:`common_options`.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, TypeVar

import click

from latentdyn.errors import ConfigError

PROFILE_NAMES = ("quick", "paper", "smoke")
PROFILE_HELP = ("quick: reduced to fit a few CPU minutes (every reduction is stated in the "
                "report); paper: the paper's settings (hours; use a GPU); smoke: toy size in "
                "seconds, for tests (not a reproduction).")

P = TypeVar("P")


# ------------------------------------------------------------------------ settings
def get_profile(profiles: Mapping[str, P], name: str) -> P:
    """The profile ``name`` of a study, or a one-line error naming the choices."""
    if name not in profiles:
        raise ConfigError(f"unknown profile {name!r}; choose from {', '.join(profiles)}")
    return profiles[name]


def default_dataset(profile: str, data_dir=None, other: str = "mnist-embedded") -> str:
    """``mnist`` for the paper profile when it is present on this machine, else the
    embedded MNIST subset (``other`` for the other profiles)."""
    if profile != "paper":
        return other
    from latentdyn.data import list_datasets
    from latentdyn.data.base import check_data_dir

    check_data_dir("mnist", data_dir)  # an explicit folder that is not there: say so

    present = {d["name"]: d.get("available") for d in list_datasets(data_dir)}
    return "mnist" if present.get("mnist") else "mnist-embedded"


def check_seed(seed: Any, name: str = "seed") -> int:
    """A seed in [0, 2**32 - 1] (what every run accepts), or a one-line error."""
    from latentdyn.train.config import MAX_SEED

    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be an integer in [0, {MAX_SEED}], got {seed!r}")
    return seed


def guard_output(out: str | Path, identity: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse ``out`` when it holds results of another setting: its manifest's config
    differs from ``identity`` in a key of ``identity`` (values compared as JSON)."""
    path = Path(out) / "manifest.json"
    if overwrite or not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("config", {})
    except (OSError, ValueError, AttributeError):
        raise ConfigError(f"{path}: unreadable manifest; pass --overwrite or choose another "
                          "--out") from None
    new = json.loads(json.dumps(dict(identity), default=str))
    if not isinstance(old, dict) or any(old.get(k) != v for k, v in new.items()):
        raise ConfigError(f"{out}: holds results of another setting; pass --overwrite or "
                          "choose another --out")


# ------------------------------------------------------------------------ lifecycle
STAGING = ".staging"  # where a run's results grow until they replace the old ones


class StudyRun:
    """One reproduction writing into ``out``: its manifest, stage timings and messages.

    Use as a context manager around the stages, after every option has been checked::

        with StudyRun(out, "reproduce nagano2017", settings, seed=0, device=dev) as run:
            with run.stage("train", "training the VAE"):
                model = train_into(run.folder / "model")       # runs: in the folder
            save_figures(run.out / "figures")                   # results: in run.out

    On entry the folder is locked (a second process writing there gets one ``error:``
    line) and the results are written into ``run.out``, a staging folder inside it,
    with a manifest of status ``running`` and the command line. When the block ends
    they replace the folder's earlier results at once, with status ``completed``. When
    an exception leaves the block (it is not swallowed), the staging folder is removed:
    a completed result already in the folder stays exactly as it was, and a folder
    without one gets a manifest of status ``failed``. Runs a study trains (and reuses
    on the next call) live in ``run.folder`` itself, never in the staging folder.
    ``timings`` maps each stage to its seconds.
    """

    def __init__(self, out: str | Path, kind: str, config: Mapping[str, Any], *, seed,
                 device, data: Mapping[str, Any] | None = None,
                 argv: Sequence[str] | None = None, progress: bool = True,
                 overwrite: bool = False):
        self.folder = Path(out)
        self.overwrite = overwrite
        self.out = self.folder / STAGING
        self.kind, self.config, self.seed, self.device = kind, dict(config), seed, device
        self.data = dict(data or {})
        self.argv = list(argv) if argv is not None else None
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.manifest = None
        self._lock = None
        self._t0 = time.perf_counter()

    def __enter__(self) -> "StudyRun":
        import shutil

        from latentdyn.cli import invocation
        from latentdyn.io import folder_lock
        from latentdyn.manifest import Manifest

        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"{self.folder}: exists and is not a folder")
        self._lock = folder_lock(self.folder)
        self._lock.__enter__()
        try:
            _refuse_other_settings(self.folder, self.kind, self.config, self.overwrite)
            if self.out.exists():  # left by a killed run: its results never counted
                shutil.rmtree(self.out)
            self.out.mkdir()
            self.manifest = Manifest(self.out / "manifest.json", kind=self.kind,
                                     config=self.config, seed=self.seed, device=self.device,
                                     data=self.data,
                                     argv=self.argv if self.argv is not None else invocation())
            self.manifest.write("running")
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self.manifest.update(timings=self.timings)
            if exc_type is None:
                self.manifest.write("completed")
                _commit(self.out, self.folder)
            else:
                _abandon(self.out, self.folder, self.manifest)
        finally:
            self._lock.__exit__(None, None, None)
        return False

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
        """Add fields to the manifest (written at the next write)."""
        self.manifest.update(**fields)

    def checkpoint(self, **fields: Any) -> None:
        """Add fields and write the manifest now (still ``running``)."""
        self.manifest.update(timings=self.timings, **fields)
        self.manifest.write()


# settings that may differ between two runs of the same results
SAME_RESULTS = {"device"}


def _refuse_other_settings(folder: Path, kind: str, config: Mapping[str, Any],
                           overwrite: bool) -> None:
    """Refuse (unless ``overwrite``) to replace a completed result of other settings."""
    path = folder / "manifest.json"
    if overwrite or not path.is_file():
        return
    try:
        old = json.loads(path.read_text())
        status, old_kind, old_config = old.get("status"), old.get("kind"), old.get("config")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(f"{path}: unreadable manifest; pass --overwrite or choose another "
                          "--out") from None
    if status != "completed":
        return
    new = json.loads(json.dumps(dict(config), default=str))
    if old_kind != kind:
        raise ConfigError(f"{folder}: holds the results of {old_kind!r}; pass --overwrite or "
                          "choose another --out")
    old_config = old_config if isinstance(old_config, dict) else {}
    diffs = [k for k in sorted(set(old_config) | set(new))
             if k not in SAME_RESULTS and old_config.get(k) != new.get(k)]
    if diffs:
        k = diffs[0]
        raise ConfigError(f"{folder}: holds results of another setting ({k} = "
                          f"{old_config.get(k)!r} there, {new.get(k)!r} here); pass --overwrite "
                          "or choose another --out")


def _commit(staging: Path, folder: Path) -> None:
    """Move every result of ``staging`` into ``folder``, replacing what was there (the
    manifest last), then remove ``staging``."""
    import os
    import shutil

    from latentdyn.io import fsync_dir

    entries = sorted(staging.iterdir(), key=lambda p: p.name == "manifest.json")
    for src in entries:
        dest = folder / src.name
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(src, dest)
    staging.rmdir()
    fsync_dir(folder)


def _abandon(staging: Path, folder: Path, manifest) -> None:
    """Drop a failed run's results; record the failure only where no completed result
    would be hidden by it."""
    import shutil

    shutil.rmtree(staging, ignore_errors=True)
    try:
        old = json.loads((folder / "manifest.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        old = None
    if old != "completed":
        manifest.path = folder / "manifest.json"
        manifest.write("failed")


def finish(out: str | Path, claims: Sequence, progress: bool = True,
           report: str = "report.html") -> None:
    """The last words of a reproduction: the scorecard table on stderr (with
    ``progress``) and one line on stdout naming the report and the verdict counts."""
    from latentdyn.reporting.claims import format_scorecard, summary_line

    if progress and claims:
        click.echo(format_scorecard(claims), err=True)
    line = f"report: {Path(out) / report}"
    if claims:
        line += f"; {summary_line(claims)}"
    click.echo(line)


# ------------------------------------------------------------------------ seeds
MAX_SEEDS = 100  # --seeds N: at most this many independently trained models


def seed_list(seed: int, n: int) -> list[int]:
    """The training seeds of ``--seeds N``: ``seed, seed + 1, …, seed + N - 1``."""
    check_seed(seed)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {n!r}")
    if n > MAX_SEEDS:
        raise ConfigError(f"--seeds must be at most {MAX_SEEDS}, got {n}")
    check_seed(seed + n - 1, f"the last seed of --seeds {n} (seed + {n - 1})")
    return [seed + i for i in range(n)]


def combine_seeds(per_seed: Sequence[Sequence], seeds: Sequence[int]):
    """One scorecard from the scorecards of several independently trained seeds: the
    first seed's claims, each with ``seeds`` = how many seeds reproduce it, every seed's
    verdict and value."""
    from dataclasses import replace

    if not per_seed:
        return []
    first = list(per_seed[0])
    ids = [c.id for c in first]
    for cards in per_seed[1:]:
        if [c.id for c in cards] != ids:
            raise ConfigError("the seeds' scorecards list different claims")
    out = []
    for i, claim in enumerate(first):
        mine = [cards[i] for cards in per_seed]
        evaluated = [c for c in mine if c.reproduced is not None]
        out.append(replace(claim, seeds={
            "reproduced": sum(c.reproduced is True for c in mine),
            "evaluated": len(evaluated), "of": len(mine), "seeds": list(seeds),
            "verdicts": [c.verdict for c in mine], "values": [c.run_value for c in mine]}))
    return out


# ------------------------------------------------------------------------ options
def seeds_option(default: int = 1):
    return click.option("--seeds", "n_seeds", type=int, default=default, show_default=True,
                        help="Train N models with seeds SEED, SEED+1, … and report per claim "
                             "how many of them reproduce it.")



def profile_option(default: str = "quick", help: str = PROFILE_HELP):
    return click.option("--profile", type=click.Choice(PROFILE_NAMES), default=default,
                        show_default=True, help=help)


def common_options(default_out: str):
    """``--out``, ``--seed``, ``--device``, ``--overwrite`` and ``--quiet``."""
    options = [
        click.option("--out", default=default_out, show_default=True,
                     type=click.Path(file_okay=False), help="Output folder."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--device", default="auto", show_default=True,
                     help="cpu, cuda, cuda:N, or auto."),
        click.option("--overwrite", is_flag=True,
                     help="Replace results of another setting in --out."),
        click.option("--quiet", is_flag=True, help="No progress output."),
    ]

    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


__all__ = ["PROFILE_HELP", "PROFILE_NAMES", "StudyRun", "check_seed", "combine_seeds",
           "common_options", "default_dataset", "finish", "get_profile", "guard_output",
           "profile_option", "seed_list", "seeds_option"]
