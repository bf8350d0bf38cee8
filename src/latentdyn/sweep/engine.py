"""``run_sweep``: plan a grid, train it in ensembles (optionally in parallel processes),
resume what is there, and summarise every point.

Layout of a sweep folder ``out``::

    out/sweep.json            the grid, the shared options, the points, status
    out/summary.csv           one row per point (see latentdyn.sweep.summary)
    out/<point>/              an ordinary run folder (config.json, manifest.json,
                              metrics.csv, checkpoint.safetensors, model.safetensors)

Points that share a shape (same Nz and batch size; hidden width, activation, samples,
data set and schedule are shared by the whole sweep) and stand at the same epoch are
trained together as one :class:`~latentdyn.sweep.ensemble.VAEEnsemble`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from latentdyn.data import Dataset, load_dataset
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.io import write_json
from latentdyn.reporting.manifest import now_iso, resolve_device, versions
from latentdyn.sweep.spec import Point, SweepSpec
from latentdyn.sweep.summary import COLUMNS, read_summary, write_summary
from latentdyn.train.config import TrainConfig
from latentdyn.train.runs import RUN_FILES, last_metrics, read_manifest
from latentdyn.train.trainer import prepare_out

#: IWAE samples per test image when none is given: Burda et al.'s 5000 on a GPU; 500 on
#: a CPU, where k = 5000 over 10 000 test images costs about as much as 10 training epochs
DEFAULT_LL_K = {"cpu": 500, "cuda": 5000}
# memory for one batched evaluation pass; members beyond it are evaluated in turn
_EVAL_BUDGET = {"cpu": 512 << 20, "cuda": 4 << 30}


# --- what each point folder holds --------------------------------------------------------
def _checkpoint_epoch(path: Path) -> int | None:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get("latentdyn", "{}"))
        return int(meta["epoch"])
    except Exception:  # unreadable: start the point again
        return None


def _state(point: Point, folder: Path, overwrite: bool) -> tuple[str, int]:
    """("done" | "diverged" | "train", start epoch) of one point."""
    if overwrite:
        for name in RUN_FILES:
            (folder / name).unlink(missing_ok=True)
        return "train", 0
    if not prepare_out(folder, point.config, resume=True, overwrite=False):
        return "train", 0  # nothing there yet
    status = read_manifest(folder).get("status")
    epochs = point.config.epochs
    if status == "completed" and (folder / "model.safetensors").is_file():
        return "done", epochs
    if status == "diverged":
        return "diverged", epochs
    epoch = None
    if (folder / "checkpoint.safetensors").is_file():
        epoch = _checkpoint_epoch(folder / "checkpoint.safetensors")
        if epoch is None:
            (folder / "checkpoint.safetensors").unlink()
    if epoch is None:
        for name in RUN_FILES:  # no usable checkpoint: the point starts again
            if name != "config.json":
                (folder / name).unlink(missing_ok=True)
        return "train", 0
    return "train", min(epoch, epochs)


def _base_row(point: Point, status: str) -> dict:
    row = {c: None for c in COLUMNS}
    row.update(point=point.name, status=status, **point.key)
    return row


def _row_from_folder(point: Point, folder: Path, status: str) -> dict:
    row = _base_row(point, status)
    last = last_metrics(folder)
    man = read_manifest(folder)
    row.update(epochs=int(last["epoch"]) if "epoch" in last else 0,
               train_elbo=last.get("train_elbo"), test_elbo=last.get("test_elbo"),
               wall_s=man.get("wall_time_s"),
               ensemble=(man.get("ensemble") or {}).get("size", 1))
    return row


# --- evaluation of trained members -----------------------------------------------------
def _evaluate(models: list, configs: list[TrainConfig], data: Dataset, device,
              ll_k: int, ll_images: int | None) -> list[dict]:
    """Test log-likelihood and active units of each model, batched over members."""
    from latentdyn.analysis import active_units
    from latentdyn.sweep.ensemble import VAEEnsemble

    test_x = data.test_images[: ll_images or None].to(device)
    train_x = data.train_images.to(device)
    c = models[0].config
    chunk, batch = 50, 100
    per_member = 4 * max(chunk * batch * (3 * c.input_dim + 2 * c.hidden),
                         2000 * (c.input_dim + c.hidden) + train_x.shape[0] * c.nz)
    size = max(1, _EVAL_BUDGET.get(torch.device(device).type, 512 << 20) // per_member)
    out = []
    for start in range(0, len(models), size):
        ens = VAEEnsemble(models[start:start + size])
        cfgs = configs[start:start + size]
        lls = [None] * ens.size
        if ll_k > 0 and test_x.shape[0] > 0:
            gens = [torch.Generator(device).manual_seed(cf.seed + 3) for cf in cfgs]
            lls = ens.log_likelihood(test_x, gens, ll_k, chunk, batch).mean(1).tolist()
        means = ens.latent_means(train_x).cpu()
        for i in range(ens.size):
            au = active_units(means[i])[1] if means.shape[1] >= 2 else None
            out.append({"test_ll": lls[i], "active_units": au})
    return out


# --- jobs (run in this process or in worker processes) ---------------------------------
_DATA_CACHE: dict = {}


def _job_data(job: dict) -> Dataset:
    if job.get("dataset") is not None:
        return job["dataset"]
    if "given" in _DATA_CACHE:
        return _DATA_CACHE["given"]
    key = (job["base"]["dataset"], job["base"]["data_dir"])
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = load_dataset(*key)
    return _DATA_CACHE[key]


def _run_job(job: dict, progress=None) -> list[dict]:
    """Train (or only evaluate) one group of same-shape points; return summary rows."""
    from latentdyn.sweep.ensemble import train_ensemble

    data = _job_data(job)
    out = Path(job["out"])
    points = [Point(name, TrainConfig.from_dict(cfg)) for name, cfg in job["points"]]
    device = resolve_device(points[0].config.device)
    ll_k, ll_images = job["ll_k"], job["ll_images"]
    rows: list[dict] = []
    if job["kind"] == "train":
        results, ens, kept = train_ensemble(
            [p.config for p in points], [out / p.name for p in points], dataset=data,
            progress=progress, stop_after_epoch=job.get("stop_after_epoch"),
            argv=job.get("argv"), info={"sweep": str(out)}, return_ensemble=True)
        by_out = {Path(r["out"]): r for r in results}
        done = [points[i] for i, r in enumerate(results) if r["status"] == "completed"]
        models = {}
        if ens is not None:
            models = {Path(o): m for o, m in zip(kept, ens.models)}
        metrics = {}
        if done:
            evals = _evaluate([models[out / p.name] for p in done], [p.config for p in done],
                              data, device, ll_k, ll_images)
            metrics = {p.name: e for p, e in zip(done, evals)}
        for p in points:
            r = by_out[out / p.name]
            row = _row_from_folder(p, out / p.name, r["status"])
            row.update(metrics.get(p.name, {}))
            rows.append(row)
    else:  # finished earlier: evaluate from the run folders
        from latentdyn.train.runs import load_run

        models = [load_run(out / p.name, device).model for p in points]
        evals = _evaluate(models, [p.config for p in points], data, device, ll_k, ll_images)
        for p, e in zip(points, evals):
            row = _row_from_folder(p, out / p.name, "completed")
            row.update(e)
            rows.append(row)
    n_test = len(data.test_labels)
    for row in rows:
        if row["status"] == "completed":
            row.update(ll_k=ll_k if ll_k > 0 else None,
                       ll_images=min(ll_images or n_test, n_test) if ll_k > 0 else None)
    return rows


_PROGRESS = None  # in a worker process: the queue its progress goes to


def _init_worker(threads: int, progress, dataset) -> None:
    global _PROGRESS
    torch.set_num_threads(threads)
    _PROGRESS = progress
    if dataset is not None:  # a caller's own Dataset, sent once per worker
        _DATA_CACHE.clear()
        _DATA_CACHE["given"] = dataset


def _pool_job(job: dict) -> list[dict]:
    return _run_job(job, progress=_PROGRESS.put if _PROGRESS is not None else None)


def _split(groups: list[list], size: int | None) -> list[list]:
    out = []
    for g in groups:
        step = size or len(g)
        out += [g[i:i + step] for i in range(0, len(g), step)]
    return out


# --- the sweep ---------------------------------------------------------------------------
def run_sweep(
    grid: SweepSpec | dict,
    out: str | Path,
    *,
    workers: int = 1,
    max_ensemble: int | None = None,
    ll_k: int | None = None,
    ll_images: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    stop_after_epoch: int | None = None,
    argv: list[str] | None = None,
) -> Path:
    """Train every point of ``grid`` into ``out`` and return the path of ``summary.csv``.

    ``grid`` is a :class:`SweepSpec` or a dict of TrainConfig options whose ``nz``,
    ``lr``, ``batch_size`` and ``seed`` may be lists, e.g.
    ``{"dataset": "mnist-embedded", "epochs": 100, "nz": [2, 5, 10], "lr": [1e-3, 1e-4]}``.

    Rerunning with the same grid skips finished points and resumes interrupted ones from
    their checkpoints; a different grid or different shared options in ``out`` is refused
    unless ``overwrite``. ``workers`` runs groups in that many processes (torch threads
    split among them); ``max_ensemble`` caps how many models train together (1: one by
    one). The summary's test log-likelihood uses ``ll_k`` importance samples (default
    :data:`DEFAULT_LL_K` for the device; 0 skips it) over the first ``ll_images`` test
    images (default: all). ``stop_after_epoch`` ends every point early after that many
    epochs, leaving a resumable sweep (for tests).
    """
    spec = SweepSpec.coerce(grid).validate()
    for name, value, low in (("workers", workers, 1), ("max_ensemble", max_ensemble, 1),
                             ("ll_k", ll_k, 0), ("ll_images", ll_images, 0)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < low):
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    device = resolve_device(spec.base.device)
    if ll_k is None:
        ll_k = DEFAULT_LL_K.get(device.type, 500)
    data = dataset if dataset is not None else load_dataset(spec.base.dataset,
                                                            spec.base.data_dir)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    sweep_json, summary_path = out / "sweep.json", out / "summary.csv"
    if (out / "config.json").exists() and not sweep_json.exists():
        raise ConfigError(f"{out}: holds a training run, not a sweep; choose another --out")
    previous: dict = {}
    if sweep_json.exists():
        try:
            previous = json.loads(sweep_json.read_text())
            if not isinstance(previous, dict):
                raise ValueError("not a mapping")
        except (OSError, ValueError):
            if not overwrite:
                raise ConfigError(f"{out}: holds an unreadable sweep.json; pass --overwrite "
                                  "to replace it") from None
            previous = {}
        diff = spec.difference(previous) if previous else None
        if diff and not overwrite:
            raise ConfigError(f"{out}: holds a different sweep ({diff}); pass --overwrite "
                              "to replace it, or choose another --out")
        if overwrite:
            for name in previous.get("points") or []:
                folder = out / str(name)
                if folder.is_dir() and folder.parent == out:
                    for f in RUN_FILES:
                        (folder / f).unlink(missing_ok=True)
                    try:
                        folder.rmdir()
                    except OSError:
                        pass
            summary_path.unlink(missing_ok=True)
            previous = {}

    points = spec.points()
    states = {p.name: _state(p, out / p.name, overwrite) for p in points}

    n_test = len(data.test_labels)
    want_images = min(ll_images or n_test, n_test)
    record = {
        "kind": "sweep", "status": "running", **spec.to_dict(),
        "points": [p.name for p in points],
        "evaluation": {"ll_k": ll_k, "ll_images": want_images},
        "command": list(argv) if argv is not None else None,
        "versions": versions(), "device": str(device),
        "data": {"dataset": data.name, "checksums": data.checksums()},
        "created": previous.get("created", now_iso()), "updated": now_iso(),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(sweep_json, record)

    # summary rows kept from an earlier run of this sweep
    old_rows = {}
    if summary_path.is_file() and not overwrite:
        try:
            old_rows = {r["point"]: r for r in read_summary(summary_path)}
        except (LatentdynError, ValueError, OSError):
            old_rows = {}
    rows: dict[str, dict] = {}
    train_groups: dict = {}
    eval_groups: dict = {}
    for p in points:
        state, start = states[p.name]
        if state == "diverged":
            rows[p.name] = _row_from_folder(p, out / p.name, "diverged")
        elif state == "done":
            old = old_rows.get(p.name)
            if (old and old.get("status") == "completed"
                    and (old.get("ll_k") or 0) == ll_k
                    and (ll_k == 0 or old.get("ll_images") == want_images)):
                rows[p.name] = {c: old.get(c) for c in COLUMNS}
            else:
                eval_groups.setdefault(p.config.nz, []).append(p)
        else:
            rows[p.name] = _row_from_folder(p, out / p.name, "pending")
            train_groups.setdefault((p.config.nz, p.config.batch_size, start), []).append(p)

    def job(kind: str, pts: list[Point], remaining: int) -> dict:
        return {"kind": kind, "points": [(p.name, p.config.to_dict()) for p in pts],
                "out": str(out), "base": spec.base.to_dict(), "ll_k": ll_k,
                "ll_images": ll_images, "stop_after_epoch": stop_after_epoch, "argv": argv,
                "dataset": data, "cost": len(pts) * remaining}

    epochs = spec.base.epochs
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
    jobs += [job("eval", g, 0) for _, grp in sorted(eval_groups.items())
             for g in _split([grp], max_ensemble)]

    def write_rows() -> None:
        write_summary(summary_path, [rows[p.name] for p in points if p.name in rows])

    total = len(points) * epochs
    initial = sum(min(states[p.name][1], epochs) for p in points)
    bar = tqdm(total=total, initial=initial, disable=not progress, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} model-epochs "
                          "[{elapsed}<{remaining}{postfix}]")
    finished = {p.name for p in points if states[p.name][0] != "train"}
    bar.set_description(f"sweep {out.name}")

    def absorb(result: list[dict]) -> None:
        for row in result:
            rows[row["point"]] = row
            if row["status"] in ("completed", "diverged"):
                finished.add(row["point"])
        bar.set_postfix_str(f"{len(finished)}/{len(points)} points done")
        write_rows()

    write_rows()
    bar.set_postfix_str(f"{len(finished)}/{len(points)} points done")
    t0 = time.perf_counter()
    status = "failed"
    try:
        if workers <= 1 or len(jobs) <= 1:
            for j in jobs:
                absorb(_run_job(j, progress=bar.update))
        else:
            _run_pool(jobs, workers, bar, absorb)
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


def _run_pool(jobs: list[dict], workers: int, bar, absorb) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    threads = max(1, torch.get_num_threads() // workers)
    progress = ctx.Queue()

    def drain() -> None:
        while True:
            try:
                bar.update(progress.get_nowait())
            except queue_mod.Empty:
                return

    dataset = jobs[0].get("dataset")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                               initializer=_init_worker, initargs=(threads, progress, dataset))
    try:
        pending = {pool.submit(_pool_job, {**j, "dataset": None}) for j in jobs}
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                absorb(fut.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    drain()
    progress.close()
