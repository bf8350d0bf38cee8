"""``run_sweep``: plan a grid, train it in ensembles (in this process, in parallel
processes, or as tasks on a Ray cluster: :mod:`latentdyn.sweep.backends`), resume what
is there, and summarise every point.

Layout of a sweep folder ``out``::

    out/sweep.json            the grid, the shared options, the points, status
    out/summary.csv           one row per point (see latentdyn.sweep.summary)
    out/<point>/              an ordinary run folder (config.json, manifest.json,
                              metrics.csv, checkpoint.safetensors, model.safetensors)

Points that share a shape (same Nz and batch size; hidden width, activation, samples,
data set and schedule are shared by the whole sweep) and stand at the same epoch are
trained together as one :class:`~latentdyn.models.vae.VAEEnsemble`.
"""

from __future__ import annotations

import time
from pathlib import Path

from tqdm.auto import tqdm

from latentdyn.data import Dataset, load_dataset
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.io import LOCK_NAME, folder_lock, read_json, write_json
from latentdyn.manifest import now_iso, versions
from latentdyn.sweep.backends import BackendOptions, LocalBackend, check_backend
from latentdyn.sweep.folder import point_state, row_from_folder
from latentdyn.sweep.spec import Point, SweepSpec
from latentdyn.sweep.summary import COLUMNS, read_summary, write_summary
from latentdyn.train.loop import clear_run

#: IWAE samples per test image when none is given: Burda et al.'s 5000 on a GPU; 500 on
#: a CPU, where k = 5000 over 10 000 test images costs about as much as 10 training epochs
DEFAULT_LL_K = {"cpu": 500, "cuda": 5000}


def _split(groups: list[list], size: int | None) -> list[list]:
    out = []
    for g in groups:
        step = size or len(g)
        out += [g[i:i + step] for i in range(0, len(g), step)]
    return out


# --- the sweep ---------------------------------------------------------------------------
def _check_counts(**values) -> None:
    lows = {"workers": 1, "max_ensemble": 1, "ll_k": 0, "ll_images": 0}
    for name, value in values.items():
        low = lows[name]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < low):
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")


def _open_folder(out: Path, spec: SweepSpec, overwrite: bool) -> dict:
    """Check what ``out`` holds, touching nothing; return the earlier ``sweep.json`` of
    this sweep ({} when there is none, or an unreadable one that ``overwrite`` replaces)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    sweep_json = out / "sweep.json"
    if (out / "config.json").exists() and not sweep_json.exists():
        raise ConfigError(f"{out}: holds a training run, not a sweep; choose another --out")
    if not sweep_json.exists():
        others = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME) \
            if out.is_dir() else []
        if others:
            what = "another command's results" if (out / "manifest.json").exists() else "files"
            raise ConfigError(f"{out}: holds {what} ({', '.join(others[:3])}"
                              f"{', …' if len(others) > 3 else ''}), not a sweep; choose "
                              "another --out")
        return {}
    try:
        previous = read_json(sweep_json)
        if not isinstance(previous, dict):
            raise ValueError("not a mapping")
    except (OSError, ValueError):
        if not overwrite:
            raise ConfigError(f"{out}: holds an unreadable sweep.json; pass --overwrite "
                              "to replace it") from None
        return {}
    diff = spec.difference(previous) if previous else None
    if diff and not overwrite:
        raise ConfigError(f"{out}: holds a different sweep ({diff}); pass --overwrite "
                          "to replace it, or choose another --out")
    return previous


def _clear_folder(out: Path, previous: dict) -> None:
    """``--overwrite``: remove the earlier sweep's points and summary."""
    for name in previous.get("points") or []:
        folder = out / str(name)
        if folder.is_dir() and folder.parent == out:
            clear_run(folder)  # the sweep folder is locked: no one trains its points
            (folder / LOCK_NAME).unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass
    (out / "summary.csv").unlink(missing_ok=True)


def _plan(points: list[Point], states: dict, old_rows: dict, out: Path, ll_k: int,
          want_images: int) -> tuple[dict, dict, dict]:
    """(summary rows known now, groups to train, groups to evaluate only)."""
    rows: dict[str, dict] = {}
    train_groups: dict = {}
    eval_groups: dict = {}
    for p in points:
        state, start = states[p.name]
        if state == "diverged":
            rows[p.name] = row_from_folder(p, out / p.name, "diverged")
        elif state == "done":
            old = old_rows.get(p.name)
            if (old and old.get("status") == "completed"
                    and (old.get("ll_k") or 0) == ll_k
                    and (ll_k == 0 or old.get("ll_images") == want_images)):
                rows[p.name] = {c: old.get(c) for c in COLUMNS}
            else:
                eval_groups.setdefault(p.config.nz, []).append(p)
        else:
            rows[p.name] = row_from_folder(p, out / p.name, "pending")
            train_groups.setdefault((p.config.nz, p.config.batch_size, start), []).append(p)
    return rows, train_groups, eval_groups


def _jobs(train_groups: dict, eval_groups: dict, epochs: int, workers: int,
          max_ensemble: int | None, common: dict) -> list[dict]:
    """The jobs, largest first; with several workers big groups are split until every
    worker has one."""
    def job(kind: str, pts: list[Point], remaining: int) -> dict:
        return {"kind": kind, "points": [(p.name, p.config.to_dict()) for p in pts],
                **common, "cost": len(pts) * remaining}

    jobs = [job("train", g, epochs - key[2])
            for key, grp in sorted(train_groups.items()) for g in _split([grp], max_ensemble)]
    if workers > 1:  # enough independent jobs to keep every worker busy
        while len(jobs) < workers:
            big = max(jobs, key=lambda j: (len(j["points"]), j["cost"]), default=None)
            if big is None or len(big["points"]) < 2:
                break
            jobs.remove(big)
            half = len(big["points"]) // 2
            for part in (big["points"][:half], big["points"][half:]):
                jobs.append({**big, "points": part, "cost": big["cost"] * len(part)
                             / len(big["points"])})
        jobs.sort(key=lambda j: -j["cost"])
    return jobs + [job("eval", g, 0) for _, grp in sorted(eval_groups.items())
                   for g in _split([grp], max_ensemble)]


def _old_rows(summary_path: Path, overwrite: bool) -> dict:
    """Summary rows kept from an earlier run of this sweep."""
    if not summary_path.is_file() or overwrite:
        return {}
    try:
        return {r["point"]: r for r in read_summary(summary_path)}
    except (LatentdynError, ValueError, OSError):
        return {}


def run_sweep(
    grid: SweepSpec | dict,
    out: str | Path,
    *,
    workers: int | None = None,
    max_ensemble: int | None = None,
    ll_k: int | None = None,
    ll_images: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    stop_after_epoch: int | None = None,
    argv: list[str] | None = None,
    backend: str | None = "local",
    address: str | None = None,
    cpus_per_task: float | None = None,
    gpus_per_task: float | None = None,
    retries: int | None = None,
) -> Path:
    """Train every point of ``grid`` into ``out`` and return the path of ``summary.csv``.

    ``grid`` is a :class:`SweepSpec` or a dict of TrainConfig options whose ``nz``,
    ``lr``, ``batch_size`` and ``seed`` may be lists, e.g.
    ``{"dataset": "mnist-embedded", "epochs": 100, "nz": [2, 5, 10], "lr": [1e-3, 1e-4]}``.

    Rerunning with the same grid skips finished points and resumes interrupted ones from
    their checkpoints; a different grid or different shared options in ``out`` is refused
    unless ``overwrite``. ``max_ensemble`` caps how many models train together (1: one by
    one). The summary's test log-likelihood uses ``ll_k`` importance samples (default
    :data:`DEFAULT_LL_K` for the device; 0 skips it) over the first ``ll_images`` test
    images (default: all). ``stop_after_epoch`` ends every point early after that many
    epochs, leaving a resumable sweep (for tests).

    ``backend="local"`` (the default) trains here: ``workers`` processes (default 1; torch
    threads split among them). ``backend="ray"`` makes every group a Ray task with
    ``cpus_per_task`` CPUs (default 1) and ``gpus_per_task`` GPUs (default 1 when the
    cluster has GPUs and the device is ``auto`` or ``cuda``, else 0) on the cluster at
    ``address`` (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``; default ``$RAY_ADDRESS``,
    else a Ray instance started here, or the connection this process already has); a
    task whose worker dies is restarted ``retries`` times (default 2), each time from
    its checkpoints; ``workers`` is then how many tasks the groups are split into at
    least (default 1: one task per group, the jobs of the local backend, so the same
    numbers; splitting one group changes weights only within float rounding). ``out``
    must be on storage every node sees; that is checked first (docs/scaling.md).
    """
    spec = SweepSpec.coerce(grid).validate()
    _check_counts(workers=workers, max_ensemble=max_ensemble, ll_k=ll_k, ll_images=ll_images)
    opts = check_backend(backend, workers=workers, address=address,
                         cpus_per_task=cpus_per_task, gpus_per_task=gpus_per_task,
                         retries=retries, device=spec.base.device)
    data = dataset if dataset is not None else load_dataset(spec.base.dataset,
                                                            spec.base.data_dir)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    with open_backend(opts, spec.base.device) as runner:
        if ll_k is None:
            ll_k = DEFAULT_LL_K.get(runner.device.type, 500)
        with folder_lock(out):
            return _sweep(spec, out, data, runner, max_ensemble=max_ensemble, ll_k=ll_k,
                          ll_images=ll_images, overwrite=overwrite, progress=progress,
                          stop_after_epoch=stop_after_epoch, argv=argv)


def _sweep(spec: SweepSpec, out: Path, data, runner, *, max_ensemble, ll_k, ll_images,
           overwrite, progress, stop_after_epoch, argv) -> Path:
    """The body of :func:`run_sweep`, with the sweep folder locked and the backend open."""
    previous = _open_folder(out, spec, overwrite)
    with runner.storage(out):  # the Ray backend: every node sees and can write out
        if overwrite:
            _clear_folder(out, previous)
            previous = {}
        return _run(spec, out, data, runner, previous, max_ensemble=max_ensemble, ll_k=ll_k,
                    ll_images=ll_images, overwrite=overwrite, progress=progress,
                    stop_after_epoch=stop_after_epoch, argv=argv)


def _run(spec: SweepSpec, out: Path, data, runner, previous: dict, *, max_ensemble, ll_k,
         ll_images, overwrite, progress, stop_after_epoch, argv) -> Path:
    sweep_json, summary_path = out / "sweep.json", out / "summary.csv"
    points = spec.points()
    checksums = data.checksums()  # a point trained on other data is trained again
    states = {p.name: point_state(p, out / p.name, overwrite, checksums) for p in points}
    want_images = min(ll_images or len(data.test_labels), len(data.test_labels))
    record = {
        "kind": "sweep", "status": "running", **spec.to_dict(),
        "points": [p.name for p in points],
        "evaluation": {"ll_k": ll_k, "ll_images": want_images},
        "command": list(argv) if argv is not None else None,
        "versions": versions(), "device": str(runner.device), "backend": runner.record(),
        "data": {"dataset": data.name, "checksums": checksums},
        "created": previous.get("created", now_iso()), "updated": now_iso(),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(sweep_json, record)
    rows, train_groups, eval_groups = _plan(points, states, _old_rows(summary_path, overwrite),
                                            out, ll_k, want_images)
    jobs = _jobs(train_groups, eval_groups, spec.base.epochs, runner.split_target,
                 max_ensemble, {"out": str(out), "base": spec.base.to_dict(), "ll_k": ll_k,
                                "ll_images": ll_images, "stop_after_epoch": stop_after_epoch,
                                "argv": argv, "dataset": data})
    t0 = time.perf_counter()
    status = "failed"
    bar = _SweepBar(out, points, states, spec.base.epochs, rows, summary_path, progress)
    try:
        runner.run(jobs, bar)
        status = "completed" if all(rows[p.name]["status"] in ("completed", "diverged")
                                    for p in points) else "stopped"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        bar.close()
        record.update(status=status, updated=now_iso(),
                      wall_time_s=round(float(previous.get("wall_time_s", 0.0))
                                        + time.perf_counter() - t0, 3))
        write_json(sweep_json, record)
    return summary_path


class _SweepBar:
    """The driver's progress bar over model-epochs, and the summary rows it absorbs
    (``summary.csv`` rewritten after every finished job)."""

    def __init__(self, out, points, states, epochs, rows, summary_path, progress):
        self.points, self.rows, self.summary_path = points, rows, summary_path
        total = len(points) * epochs
        initial = sum(min(states[p.name][1], epochs) for p in points)
        self.bar = tqdm(total=total, initial=initial, disable=not progress,
                        dynamic_ncols=True,
                        bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} model-epochs "
                                   "[{elapsed}<{remaining}{postfix}]")
        self.finished = {p.name for p in points if states[p.name][0] != "train"}
        self.bar.set_description(f"sweep {out.name}")
        self.write_rows()
        self.bar.set_postfix_str(f"{len(self.finished)}/{len(points)} points done")

    def update(self, n) -> None:
        # a restarted Ray task reports the epochs it trains again: never past the total
        self.bar.update(max(0.0, min(n, self.bar.total - self.bar.n)))

    def write_rows(self) -> None:
        write_summary(self.summary_path,
                      [self.rows[p.name] for p in self.points if p.name in self.rows])

    def absorb(self, result: list[dict]) -> None:
        for row in result:
            self.rows[row["point"]] = row
            if row["status"] in ("completed", "diverged"):
                self.finished.add(row["point"])
        self.bar.set_postfix_str(f"{len(self.finished)}/{len(self.points)} points done")
        self.write_rows()

    def close(self) -> None:
        self.bar.close()


def open_backend(opts: BackendOptions, device: str):
    """The backend of ``opts`` (enter it to connect: the Ray backend connects to its
    cluster, or starts a Ray instance here, and leaves it when done)."""
    if opts.name == "local":
        return LocalBackend(opts, device)
    from latentdyn.sweep.ray_backend import RayBackend

    return RayBackend(opts, device)
