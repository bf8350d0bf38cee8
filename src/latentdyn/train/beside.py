"""Work beside a training: a function run in a child process on a share of the CPU
threads while this process trains on the rest, which it gets back when the child ends.

On a small CPU two single-thread trainings side by side use the cores better than one
training on every thread (docs/benchmarks.md, "Two threads on a quiet machine"), so a
study that trains one long model and a few short ones can train the short ones beside
the long one. :class:`Beside` starts ``fn(*args, **kwargs)`` in a spawned process with
``threads`` torch threads and leaves this process the rest; :attr:`Beside.callback`,
given to the training loop, gives this process every thread back as soon as the child
has ended. Leaving the ``with`` block waits for the child (or, on an error or an
interruption, stops it) and restores the thread count.

The child returns nothing: it is meant to leave its work in a resumable folder (a
sweep, a run), which the caller then reads, or resumes, as it would without the child.
So a child that fails, or is stopped, costs only time: it prints nothing (the caller's
own attempt reports the error, once) and it ends when this process ends, whatever the
way. Whether splitting the threads changes any number is the caller's to know: the
paper VAE's weights do not depend on the thread count on this project's CPUs, small-Nz
VAEs' do in their last digits (docs/benchmarks.md), which is why ``reproduce
nagano2017`` trains every point of its sweep on one thread, beside the VAE or not.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time

import torch

from latentdyn.train.hooks import Callback


def _exit_with_parent() -> None:
    """In the child: end at once when the parent process ends (even by SIGKILL)."""
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _child(fn, args: tuple, kwargs: dict, threads: int) -> None:
    _exit_with_parent()
    torch.set_num_threads(threads)
    try:
        fn(*args, **kwargs)
    except BaseException:  # the caller redoes the work in its own process and reports
        os._exit(1)


class _GiveBack(Callback):
    def __init__(self, beside: "Beside"):
        self.beside = beside

    def on_advance(self, steps_done, steps, active, losses):
        self.beside.poll()


class Beside:
    """``fn(*args, **kwargs)`` in a spawned child process on ``threads`` torch threads,
    this process on the others while it runs (see the module's text). ``fn`` must be
    importable (a module-level function) and its arguments picklable."""

    def __init__(self, fn, args: tuple = (), kwargs: dict | None = None, threads: int = 1):
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs or {})
        self.threads = int(threads)
        self.process = None
        self.total = self.others = None  # this process's threads before, and while it runs
        self.started = self.ended = None  # perf_counter times
        self.callback = _GiveBack(self)

    def __enter__(self) -> "Beside":
        self.total = torch.get_num_threads()
        ctx = mp.get_context("spawn")
        self.process = ctx.Process(target=_child, args=(self.fn, self.args, self.kwargs,
                                                         self.threads),
                                   daemon=True)
        self.process.start()
        self.started = time.perf_counter()
        self.others = max(1, self.total - self.threads)
        torch.set_num_threads(self.others)
        return self

    def poll(self) -> bool:
        """Whether the child has ended; when it has, this process gets every thread back."""
        if self.ended is None and self.process is not None and not self.process.is_alive():
            self._ended()
        return self.ended is not None

    def _ended(self) -> None:
        self.ended = time.perf_counter()
        torch.set_num_threads(self.total)

    def wait(self) -> bool:
        """Wait for the child to end (this process then has every thread); whether it
        finished its work."""
        self.process.join()
        self.poll()
        return self.exitcode == 0

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.process.is_alive():
            self.process.terminate()
        self.process.join()
        if self.ended is None:
            self._ended()

    @property
    def exitcode(self) -> int | None:
        """0 when the child finished its work; None while it runs."""
        return None if self.process is None else self.process.exitcode

    def record(self) -> dict:
        """What a manifest says of it: the child's threads, seconds and exit code."""
        seconds = None if self.ended is None else round(self.ended - self.started, 2)
        return {"threads": self.threads, "others": self.others, "seconds": seconds,
                "exitcode": self.exitcode}


__all__ = ["Beside"]
