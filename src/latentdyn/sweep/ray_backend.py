"""The Ray backend of sweeps: every job (one ensemble group) becomes one Ray task with
the CPUs and GPUs it asks for, on a running cluster (``address``) or on a Ray instance
started on this machine.

The driver (the process that runs :func:`latentdyn.sweep.run_sweep`) holds the sweep
folder's lock, writes ``sweep.json`` and ``summary.csv`` and shows the progress; the
tasks write the point folders, exactly as the local backend's jobs do. So the sweep
folder must be on storage every node sees at the same path. At start-up
:meth:`RayBackend.storage` writes a token file there and runs a check on every node
that can take a task: it must read the token (the same folder, not a node-local one of
that name) and write, lock and remove a file of its own; a node that cannot fails the
command with one line naming the folder. Every task repeats the check before it trains
(nodes added later by an autoscaler).

A task whose worker process or node dies is restarted by Ray (``retries`` times); the
restarted task resumes its points from their checkpoints (:func:`~latentdyn.sweep.jobs
.replan`). When the restarts are used up the other tasks still finish, and the command
fails with one line: the same command then resumes the rest.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import signal
import socket
import time
from pathlib import Path

import torch

from latentdyn._version import __version__
from latentdyn.errors import ConfigError
from latentdyn.io import write_text
from latentdyn.sweep.backends import BackendOptions, SweepIncomplete, import_ray
from latentdyn.sweep.folder import row_from_folder
from latentdyn.sweep.jobs import replan, run_job
from latentdyn.sweep.spec import Point
from latentdyn.train.config import TrainConfig

#: the token file the driver writes into the sweep folder for the storage check
STORAGE_FILE = ".latentdyn-storage"
#: test hook: when this environment variable names a file that exists, the first Ray
#: worker past one and a half epochs of its job (after its first checkpoint) removes the
#: file and kills itself with SIGKILL, as a crashed worker or a lost node would end
KILL_HOOK = "LATENTDYN_TEST_KILL_WORKER"
_CHECK_TIMEOUT_S = 300  # a fresh worker on every node imports torch first
_REPORT_EVERY_S = 0.5
_CONNECT_TIMEOUT_S = 10


def _last_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else type(exc).__name__


# --- what runs on the nodes ------------------------------------------------------------
def probe_folder(folder: str, token: str) -> str | None:
    """Why this process cannot use ``folder`` as the sweep folder (None: it can). It must
    read the driver's token there and write, lock, read back and remove a file."""
    folder = Path(folder)
    try:
        seen = (folder / STORAGE_FILE).read_text().strip()
    except FileNotFoundError:
        return f"does not see it (no {STORAGE_FILE} written by the driver there)"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    if seen != token:
        return "sees another folder of that name, not the driver's"
    import fcntl

    probe = folder / f".latentdyn-probe-{socket.gethostname()[:64]}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, token.encode())
            os.fsync(fd)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        if probe.read_text() != token:
            return "does not read back what it wrote there"
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        return f"cannot write and lock files there ({exc.strerror or exc})"
    return None


def _node_check(folder: str, token: str) -> dict:
    """The start-up check on one node: the folder, and the versions there."""
    return {"host": socket.gethostname(), "problem": probe_folder(folder, token),
            "latentdyn": __version__, "torch": torch.__version__}


def _kill_once() -> None:
    try:
        os.unlink(os.environ[KILL_HOOK])
    except (KeyError, OSError):
        return
    os.kill(os.getpid(), signal.SIGKILL)


class _Reporter:
    """A job's progress callback: model-epochs sent to the driver's queue at most every
    half second (best effort: a lost message only slows the bar)."""

    def __init__(self, queue, members: int):
        self.queue, self.pending, self.done = queue, 0.0, 0.0
        self.last = time.monotonic()
        self.kill_after = 1.5 * members if os.environ.get(KILL_HOOK) else None

    def __call__(self, n: float) -> None:
        self.pending += n
        self.done += n
        if self.kill_after is not None and self.done >= self.kill_after:
            self.flush()
            _kill_once()
        if time.monotonic() - self.last >= _REPORT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.queue is not None:
            with contextlib.suppress(Exception):
                self.queue.put_nowait(self.pending)
            self.pending = 0.0
        self.last = time.monotonic()


def _task(job: dict, data, token: str, threads: int, device: str | None, queue) -> list[dict]:
    """One Ray task: check the folder, then train (or evaluate) the job's points as their
    folders stand now; the summary rows of its points."""
    torch.set_num_threads(threads)
    problem = probe_folder(job["out"], token)
    if problem:
        raise ConfigError(f"{job['out']}: Ray node {socket.gethostname()} {problem}; the "
                          "sweep folder must be on storage every node sees (docs/scaling.md)")
    if device is not None:  # --device auto: what Ray gave this task
        job = {**job, "points": [(n, {**c, "device": device if c.get("device") == "auto"
                                      else c.get("device")}) for n, c in job["points"]]}
    report = _Reporter(queue, len(job["points"]))
    jobs, rows = replan({**job, "dataset": data})
    for sub in jobs:
        rows += run_job(sub, progress=report)
    report.flush()
    return rows


# --- the driver --------------------------------------------------------------------------
def _bootstrap(target: str) -> tuple[str, int] | None:
    """(host, port) of the cluster ``target`` names (``auto``: the one ``ray start`` left
    on this machine, or ``$RAY_ADDRESS``); None when Ray should say what is wrong."""
    if target.startswith("ray://"):
        hostport = target[len("ray://"):]
    else:
        try:
            from ray._private.services import canonicalize_bootstrap_address

            hostport = canonicalize_bootstrap_address(target)
        except Exception:  # no cluster found, or another Ray: ray.init says why
            return None
    host, _, port = (hostport or "").rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


def check_reachable(target: str) -> None:
    """One line when nothing answers at the cluster's address (``ray.init`` would wait
    there for minutes)."""
    where = _bootstrap(target)
    if where is None:
        return
    try:
        socket.create_connection(where, timeout=_CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        given = target[len("ray://"):] if target.startswith("ray://") else target
        there = f"{where[0]}:{where[1]}"
        via = "" if there == given else f" (Ray connects to it as {there})"
        raise ConfigError(f"cannot connect to Ray at {target}{via}: nothing answers there "
                          f"({exc.strerror or exc}); is the cluster running?") from None


def _connect(ray, address: str | None) -> bool:
    """Connect this process to Ray; True when this call did (and should disconnect)."""
    if ray.is_initialized():
        return False  # e.g. a notebook or a test that called ray.init itself
    kwargs = {"log_to_driver": False, "logging_level": logging.WARNING}
    target = address or os.environ.get("RAY_ADDRESS")
    if target is not None:
        check_reachable(target)
    try:
        if target is None:  # a new Ray instance on this machine (127.0.0.1 only),
            from latentdyn.sweep.ray_local import init_local  # stopped at the end

            init_local(ray, **kwargs)
        else:
            ray.init(address=target, **kwargs)
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ConfigError(f"cannot connect to Ray at {target or 'a new local instance'}: "
                          f"{first}") from None
    return True


def _slots(node: dict, cpus: float, gpus: float) -> int:
    """How many tasks of (cpus, gpus) a node can run at once."""
    res = node.get("Resources") or {}
    n = math.floor(res.get("CPU", 0.0) / cpus + 1e-9)
    if gpus > 0:
        n = min(n, math.floor(res.get("GPU", 0.0) / gpus + 1e-9))
    return max(0, int(n))


class RayBackend:
    """Jobs as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(self, opts: BackendOptions, device: str):
        self.opts, self.device_name = opts, device
        self.ray, self.owned, self.out, self.token = None, False, None, None
        self.node_info: list[dict] = []

    def __enter__(self) -> "RayBackend":
        self.ray = import_ray()
        self.owned = _connect(self.ray, self.opts.address)
        try:
            self._resources()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()
        self.owned = False

    def _resources(self) -> None:
        """GPUs per task, the tasks' device, the nodes that fit a task, the slots."""
        alive = [n for n in self.ray.nodes() if n.get("Alive")]
        has_gpus = any((n.get("Resources") or {}).get("GPU", 0) > 0 for n in alive)
        gpus = self.opts.gpus_per_task
        if gpus is None:
            gpus = 1.0 if self.device_name == "cuda" or (self.device_name == "auto"
                                                         and has_gpus) else 0.0
        self.cpus, self.gpus = self.opts.cpus_per_task, gpus
        kind = "cuda" if gpus > 0 and self.device_name != "cpu" else "cpu"
        self.device = torch.device(kind)
        self.task_device = kind if self.device_name == "auto" else None
        self.nodes = [n for n in alive if _slots(n, self.cpus, gpus) > 0]
        if not self.nodes:
            res = [n.get("Resources") or {} for n in alive] or [{}]
            big = max(res, key=lambda r: (r.get("GPU", 0), r.get("CPU", 0)))
            raise ConfigError(f"no node of the Ray cluster offers {self.cpus:g} CPU(s) and "
                              f"{gpus:g} GPU(s) per task (the largest: {big.get('CPU', 0):g} "
                              f"CPUs, {big.get('GPU', 0):g} GPUs); lower --cpus-per-task or "
                              "--gpus-per-task")
        self.slots = sum(_slots(n, self.cpus, gpus) for n in self.nodes)
        self.split_target = self.opts.workers or 1  # as the local backend: same jobs

    @contextlib.contextmanager
    def storage(self, out):
        """Check that every node that can take a task sees and can write ``out``; the
        token stays there while the jobs run (each task checks it too)."""
        self.out = Path(out).resolve()
        self.token = secrets.token_hex(16)
        marker = self.out / STORAGE_FILE
        write_text(marker, self.token + "\n")
        try:
            self._check_nodes()
            yield
        finally:
            with contextlib.suppress(OSError):
                if marker.read_text().strip() == self.token:
                    marker.unlink()

    def _check_nodes(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray, out = self.ray, self.out
        check = ray.remote(_node_check)
        refs = [check.options(num_cpus=0, max_retries=0, scheduling_strategy=(
            NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))).remote(str(out), self.token)
            for n in self.nodes]
        try:
            answers = ray.get(refs, timeout=_CHECK_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            raise ConfigError(f"{out}: Ray nodes did not answer the storage check within "
                              f"{_CHECK_TIMEOUT_S} s") from None
        except ray.exceptions.RayError as exc:
            raise ConfigError(f"{out}: the storage check failed on a Ray node "
                              f"({_last_line(exc)}); is latentdyn {__version__} installed on "
                              "every node?") from None
        for node, a in zip(self.nodes, answers):
            where = f"Ray node {a['host']} ({node.get('NodeManagerAddress')})"
            if a["problem"]:
                raise ConfigError(f"{out}: {where} {a['problem']}; the sweep folder must be "
                                  "on storage every node sees at the same path "
                                  "(docs/scaling.md)")
            if a["latentdyn"] != __version__:
                raise ConfigError(f"{where} runs latentdyn {a['latentdyn']}, this driver "
                                  f"{__version__}: install the same version on every node")
        self.node_info = [{"host": a["host"], "address": n.get("NodeManagerAddress"),
                           "slots": _slots(n, self.cpus, self.gpus), "torch": a["torch"]}
                          for n, a in zip(self.nodes, answers)]

    def record(self) -> dict:
        return {"name": "ray", "address": self.opts.address or os.environ.get("RAY_ADDRESS"),
                "cpus_per_task": self.cpus, "gpus_per_task": self.gpus,
                "retries": self.opts.retries, "slots": self.slots, "nodes": self.node_info}

    def run(self, jobs: list[dict], bar) -> None:
        """Submit every job, absorb their rows as they finish; a job whose worker died
        beyond its restarts is left to a rerun (:class:`SweepIncomplete` at the end)."""
        if not jobs:
            return
        from ray.util.queue import Queue

        ray = self.ray
        data_ref = ray.put(jobs[0]["dataset"])
        queue = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(_task).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                         max_retries=self.opts.retries,
                                         retry_exceptions=False, name="latentdyn-sweep")
        threads = max(1, int(self.cpus))
        pending = {}
        for j in jobs:
            job = {**j, "dataset": None, "out": str(self.out)}
            pending[task.remote(job, data_ref, self.token, threads, self.task_device,
                                queue)] = job
        crashed: list[str] = []
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.25)
                _drain(queue, bar)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        bar.absorb(ray.get(ref))
                    except ray.exceptions.RayTaskError as exc:  # raised inside the job
                        cause = exc.cause
                        if isinstance(cause, BaseException):
                            raise cause from None
                        raise RuntimeError(_last_line(exc)) from None
                    except ray.exceptions.RayError as exc:  # its worker or node died
                        crashed.append(f"{type(exc).__name__}: {_last_line(exc)}")
                        bar.absorb(_stopped_rows(job))
        except BaseException:
            self._cancel(list(pending))
            raise
        finally:
            _drain(queue, bar)
            with contextlib.suppress(Exception):
                queue.shutdown()
        if crashed:
            raise SweepIncomplete(f"{len(crashed)} of {len(jobs)} Ray task(s) did not finish "
                                  f"after {self.opts.retries} restart(s) ({crashed[0]}); their "
                                  "points keep their checkpoints: rerun the same command to "
                                  "resume them")

    def _cancel(self, refs: list) -> None:
        """Stop running tasks (their points are checkpointed as interrupted) and wait a
        little for them to release their folders."""
        for ref in refs:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref)
        with contextlib.suppress(Exception):
            self.ray.wait(refs, num_returns=len(refs), timeout=30)


def _drain(queue, bar) -> None:
    with contextlib.suppress(Exception):
        n = queue.qsize()
        if n:
            for value in queue.get_nowait_batch(n):
                bar.update(value)


def _stopped_rows(job: dict) -> list[dict]:
    out = Path(job["out"])
    return [row_from_folder(Point(name, TrainConfig.from_dict(cfg)), out / name, "stopped")
            for name, cfg in job["points"]]

