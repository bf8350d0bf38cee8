"""Where the jobs of a sweep run: ``local`` (this process, or ``workers`` processes of
this machine) or ``ray`` (one Ray task per job, on a running cluster or on a Ray
instance started on this machine; :mod:`latentdyn.sweep.ray_backend`).

:func:`check_backend` checks every backend option before anything is loaded or
written; :func:`latentdyn.sweep.engine.open_backend` turns them into a backend (this
module's :class:`LocalBackend`, or the Ray backend), a context manager with

* ``device`` -- the device type the jobs train on (for the defaults of the summary),
* ``split_target`` -- how many jobs the planner should make at least (big groups are
  split until every worker or task slot has one),
* ``storage(out)`` -- a context manager around the jobs: the Ray backend checks there
  that every node sees and can write ``out``,
* ``run(jobs, bar)`` -- run the jobs, ``bar.update`` with model-epochs and
  ``bar.absorb`` with each job's summary rows,
* ``record()`` -- what ``sweep.json`` says about the backend.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

import torch

from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.checks import resolve_device
from latentdyn.sweep.jobs import run_job, run_pool

BACKENDS = ("local", "ray")
#: how to install Ray (the ``ray`` extra of pyproject.toml) and the range it is tested in
RAY_EXTRA = 'pip install -e ".[ray]"'
RAY_TESTED = ((2, 40), (3, 0))
#: times Ray restarts a task whose worker process or node died (each restart resumes
#: its points from their checkpoints)
DEFAULT_RETRIES = 2
_ADDRESS = re.compile(r"^(auto|(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5})$")


class SweepIncomplete(LatentdynError):
    """Some jobs of a sweep could not finish (a worker or node died); rerun to resume."""


@dataclass(frozen=True)
class BackendOptions:
    name: str = "local"
    workers: int | None = None
    address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float | None = None  # None: 1 when the cluster has GPUs and the
    #                                     device is auto or cuda, else 0
    retries: int = DEFAULT_RETRIES


def _number(name: str, value, low: float, strict: bool) -> float:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or math.isinf(value) or (value <= low if strict else value < low):
        raise ConfigError(f"{flag} must be a number {'>' if strict else '>='} {low:g}, "
                          f"got {value!r}")
    return float(value)


def import_ray():
    """The ``ray`` module; one line naming the extra when it is missing or out of range."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--backend ray needs Ray, which is not installed: {RAY_EXTRA}") \
            from None
    try:
        version = tuple(int(v) for v in ray.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        version = RAY_TESTED[0]
    if not RAY_TESTED[0] <= version < RAY_TESTED[1]:
        raise ConfigError(f"Ray {ray.__version__} is outside the tested range >=2.40,<3: "
                          f"{RAY_EXTRA}")
    return ray


def check_backend(backend: str | None = "local", *, workers: int | None = None,
                  address: str | None = None, cpus_per_task: float | None = None,
                  gpus_per_task: float | None = None, retries: int | None = None,
                  device: str = "auto") -> BackendOptions:
    """Every backend option checked (one line for the first wrong one); for ``ray``,
    Ray must be importable. ``None`` for any option means its default (``backend``:
    local). Commands that run other work before their sweep call this first, so that
    a wrong option fails before anything is trained or written."""
    backend = "local" if backend is None else backend
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    given = {"address": address, "cpus_per_task": cpus_per_task,
             "gpus_per_task": gpus_per_task, "retries": retries}
    if backend == "local":
        for name, value in given.items():
            if value is not None:
                raise ConfigError(f"--{name.replace('_', '-')} is an option of --backend ray")
        resolve_device(device)  # the jobs train here: the device must exist here
        return BackendOptions("local", workers)
    if address is not None and (not isinstance(address, str) or not _ADDRESS.match(address)):
        raise ConfigError(f"--address must be auto, HOST:PORT or ray://HOST:PORT, got "
                          f"{address!r}")
    cpus = 1.0 if cpus_per_task is None else _number("cpus_per_task", cpus_per_task, 0, True)
    gpus = None if gpus_per_task is None else _number("gpus_per_task", gpus_per_task, 0, False)
    if retries is None:
        retries = DEFAULT_RETRIES
    elif isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"--retries must be an integer >= 0, got {retries!r}")
    if device not in ("auto", "cpu", "cuda"):  # cuda:N (TrainConfig checks the names)
        raise ConfigError(f"--device {device} names a GPU of this machine; with --backend "
                          "ray use --device cuda and --gpus-per-task (Ray assigns the GPUs)")
    if device == "cpu" and gpus:
        raise ConfigError("--gpus-per-task reserves GPUs that --device cpu never uses")
    if device == "cuda" and gpus == 0:
        raise ConfigError("--device cuda with --gpus-per-task 0: Ray would hide every GPU "
                          "from the tasks")
    import_ray()
    return BackendOptions("ray", workers, address, cpus, gpus, retries)


class LocalBackend:
    """Jobs in this process (``workers`` 1) or in a pool of ``workers`` processes."""

    name = "local"

    def __init__(self, opts: BackendOptions, device: str):
        self.workers = opts.workers or 1
        self.device = resolve_device(device)
        self.split_target = self.workers

    def __enter__(self) -> "LocalBackend":
        return self

    def __exit__(self, *exc) -> None:
        return None

    @contextlib.contextmanager
    def storage(self, out):
        yield

    def record(self) -> dict:
        return {"name": "local", "workers": self.workers,
                "threads": max(1, torch.get_num_threads() // self.workers)}

    def run(self, jobs: list[dict], bar) -> None:
        if self.workers <= 1 or len(jobs) <= 1:
            for j in jobs:
                bar.absorb(run_job(j, progress=bar.update))
        else:
            run_pool(jobs, self.workers, bar, bar.absorb)
