"""Sweep jobs: one group of same-shape points trained as one ensemble (or only
evaluated), in this process or in worker processes. A job is a plain dict, so it can
be sent to another process; it returns the summary rows of its points."""

from __future__ import annotations

from pathlib import Path

import torch

from latentdyn.data import Dataset, load_dataset
from latentdyn.checks import resolve_device
from latentdyn.sweep.folder import point_state, row_from_folder
from latentdyn.sweep.spec import Point
from latentdyn.train.config import TrainConfig

# memory for one batched evaluation pass; members beyond it are evaluated in turn
_EVAL_BUDGET = {"cpu": 512 << 20, "cuda": 4 << 30}


# --- evaluation of trained members -----------------------------------------------------
def _evaluate(models: list, configs: list[TrainConfig], data: Dataset, device,
              ll_k: int, ll_images: int | None) -> list[dict]:
    """Test log-likelihood and active units of each model, batched over members."""
    from latentdyn.analysis import active_units
    from latentdyn.models.vae import VAEEnsemble

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


def run_job(job: dict, progress=None) -> list[dict]:
    """Train (or only evaluate) one group of same-shape points; return summary rows."""
    from latentdyn.train.ensemble import train_ensemble

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
            row = row_from_folder(p, out / p.name, r["status"])
            row.update(metrics.get(p.name, {}))
            rows.append(row)
    else:  # finished earlier: evaluate from the run folders
        from latentdyn.train.runs import load_run

        models = [load_run(out / p.name, device).model for p in points]
        evals = _evaluate(models, [p.config for p in points], data, device, ll_k, ll_images)
        for p, e in zip(points, evals):
            row = row_from_folder(p, out / p.name, "completed")
            row.update(e)
            rows.append(row)
    n_test = len(data.test_labels)
    for row in rows:
        if row["status"] == "completed":
            row.update(ll_k=ll_k if ll_k > 0 else None,
                       ll_images=min(ll_images or n_test, n_test) if ll_k > 0 else None)
    return rows


def replan(job: dict) -> tuple[list[dict], list[dict]]:
    """A train job's points as their folders stand now: (jobs to run, rows of points that
    diverged). A job restarted after its worker died finds its points further on than
    planned, possibly at different epochs (killed between two members' checkpoints):
    each epoch becomes its own job, finished points are only evaluated."""
    if job["kind"] != "train":
        return [job], []
    out = Path(job["out"])
    groups: dict[int, list] = {}
    done, rows = [], []
    for name, cfg in job["points"]:
        point = Point(name, TrainConfig.from_dict(cfg))
        state, start = point_state(point, out / name, overwrite=False)
        if state == "diverged":
            rows.append(row_from_folder(point, out / name, "diverged"))
        elif state == "done":
            done.append((name, cfg))
        else:
            groups.setdefault(start, []).append((name, cfg))
    jobs = [{**job, "points": pts} for _, pts in sorted(groups.items())]
    if done:
        jobs.append({**job, "kind": "eval", "points": done})
    return jobs, rows


_PROGRESS = None  # in a worker process: the queue its progress goes to


def _init_worker(threads: int, progress, dataset) -> None:
    global _PROGRESS
    torch.set_num_threads(threads)
    _PROGRESS = progress
    if dataset is not None:  # a caller's own Dataset, sent once per worker
        _DATA_CACHE.clear()
        _DATA_CACHE["given"] = dataset


def _pool_job(job: dict) -> list[dict]:
    return run_job(job, progress=_PROGRESS.put if _PROGRESS is not None else None)


def run_pool(jobs: list[dict], workers: int, bar, absorb) -> None:
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
