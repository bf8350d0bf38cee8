"""The training loop: one loop for every model kind, for one run or a stack of runs.

Each run folder being trained is a :class:`Member`: its config, its task (which owns
the model and its optimizers, see :mod:`latentdyn.models.family`), its two generators
seeded from ``config.seed`` (one for the data order, one for the noise), its metrics
rows and its manifest. A *runner* takes one optimisation step for all active members
at once: :class:`TaskRunner` steps each member's task on its own batch (what
``latentdyn train`` does with one member), and
:class:`~latentdyn.train.ensemble.EnsembleRunner` steps a stack of same-shape VAEs as
one batched computation (what sweeps do). :func:`fit` is everything else, written
once: data order, learning-rate steps, the NaN check, evaluation, the per-epoch hooks,
checkpoints (weights, optimizer and RNG state, atomically) and the final save. A run
stopped after any epoch and resumed ends with the same weights as one never stopped.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from latentdyn.errors import CheckpointError, LatentdynError
from latentdyn.io import load_tensors, save_tensors, write_json, write_text
from latentdyn.manifest import Manifest
from latentdyn.train.checkpoint import (
    flatten_optimizer,
    load_model_weights,
    restore_optimizer,
    save_model,
)
from latentdyn.train.config import TrainConfig
from latentdyn.train.hooks import BarProgress, Callback, CallbackProgress  # noqa: F401
from latentdyn.train.memory import keep_freed_memory
from latentdyn.train.runs import RUN_FILES

CHECK_EVERY = 25  # steps between NaN checks (and progress updates)


class TrainingDiverged(LatentdynError):
    """The loss became NaN or infinite."""


@dataclass
class Member:
    """One run folder being trained."""

    config: TrainConfig
    out: Path
    task: Any
    data_gen: torch.Generator
    noise_gen: torch.Generator
    # each optimizer's learning rates as the task built them (the schedule's base): read
    # before a checkpoint is restored, whose param groups hold the rate last set
    base_lrs: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    start: int = 0
    saved: int = 0  # the epoch of its last checkpoint (0: none yet)
    previous: dict | None = None
    manifest: Manifest | None = None
    status: str = "running"
    message: str = ""


# --------------------------------------------------------------------- run folders
def metrics_csv(rows: list[dict]) -> str:
    """``metrics.csv``: epoch, lr, train_*, test_*, then anything else (seconds last)."""
    if not rows:
        return ""
    seen: list[str] = []
    for row in rows:
        seen += [c for c in row if c not in seen]
    rank = {"epoch": 0, "lr": 1}
    columns = sorted(seen, key=lambda c: (rank.get(c, 2 if c.startswith("train_") else
                                                   3 if c.startswith("test_") else 4),
                                          seen.index(c)))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def open_member(config: TrainConfig, out: Path, task, device, resume: bool) -> Member:
    """A member for ``out``: restored from its checkpoint when ``resume`` (and there is
    one), else with the run files of anything that was there removed."""
    m = Member(config, Path(out), task, torch.Generator("cpu").manual_seed(config.seed),
               torch.Generator(device).manual_seed(config.seed + 1),
               {n: [g["lr"] for g in o.param_groups] for n, o in task.optimizers.items()})
    ckpt = m.out / "checkpoint.safetensors"
    if resume and ckpt.exists():
        _restore(m, ckpt)
    elif not resume:
        clear_run(m.out)
    return m


# what a replaced run leaves behind: its files and what was derived from it
DERIVED = ("inputs.json", "samples", "lsd", "dynamics-*", "snapshots")


def clear_run(out: Path) -> None:
    """Remove a run's files and everything latentdyn derived from it in ``out``."""
    import shutil

    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for pattern in DERIVED:
        for p in out.glob(pattern):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)


def _restore(m: Member, ckpt: Path) -> None:
    """Weights, optimizer and RNG state from ``ckpt``; a one-line error, and nothing
    written, when its metadata is not what :func:`checkpoint` writes."""
    tensors, meta = load_tensors(ckpt)
    if not isinstance(meta, dict) or meta.get("model") != m.config.model:
        got = meta.get("model") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{ckpt}: checkpoint is for model {got!r}")
    epoch, opts, rows = meta.get("epoch"), meta.get("optimizers"), meta.get("metrics")
    if not (isinstance(epoch, int) and not isinstance(epoch, bool)
            and 0 <= epoch <= m.config.epochs):
        raise CheckpointError(f"{ckpt}: checkpoint epoch {epoch!r} is not an epoch of this "
                              f"run (0..{m.config.epochs})")
    if not isinstance(opts, dict) or set(opts) != set(m.task.optimizers) \
            or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CheckpointError(f"{ckpt}: checkpoint metadata is damaged (optimizers or "
                              "metrics missing or malformed)")
    load_model_weights(m.task.model, {k[6:]: v for k, v in tensors.items()
                                      if k.startswith("model.")}, str(ckpt))
    try:
        for name, opt in m.task.optimizers.items():
            restore_optimizer(f"optim.{name}", opt, tensors, opts[name])
        m.data_gen.set_state(tensors["rng.data"])
        m.noise_gen.set_state(tensors["rng.noise"])
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{ckpt}: checkpoint state does not fit this run "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
                              ) from None
    m.start, m.saved, m.rows = epoch, epoch, list(rows)
    previous = meta.get("manifest")
    m.previous = previous if isinstance(previous, dict) else None


def common_start(members: list[Member]) -> int:
    """The epoch every member resumes from; one line when they differ."""
    starts = {m.start for m in members}
    if len(starts) != 1:
        raise CheckpointError("ensemble members were checkpointed at different epochs "
                              f"({sorted(starts)}); train them in separate ensembles")
    return starts.pop()


def begin_member(m: Member, data, device, argv=None, **extra) -> None:
    """Write the member's ``config.json`` and its manifest (status ``running``)."""
    m.out.mkdir(parents=True, exist_ok=True)
    write_json(m.out / "config.json", m.config.to_dict())
    m.manifest = Manifest(
        m.out / "manifest.json", kind="train", config=m.config.to_dict(), seed=m.config.seed,
        device=device, data={"dataset": data.name, "checksums": data.checksums(),
                             "train": len(data.train_labels), "test": len(data.test_labels)},
        argv=argv, previous=m.previous)
    own = getattr(m.task, "manifest_extra", None)
    if callable(own):  # e.g. the runs a GAN encoder was built from, with checksums
        m.manifest.update(**own())
    m.manifest.update(**extra)
    m.manifest.write("running")


def checkpoint(m: Member, epoch: int) -> None:
    """Weights, optimizer and RNG state after ``epoch`` epochs, and the metrics so far."""
    tensors = {f"model.{k}": v for k, v in m.task.model.state_dict().items()}
    opt_meta = {}
    for name, opt in m.task.optimizers.items():
        t, om = flatten_optimizer(f"optim.{name}", opt)
        tensors.update(t)
        opt_meta[name] = om
    tensors["rng.data"] = m.data_gen.get_state()
    tensors["rng.noise"] = m.noise_gen.get_state()
    m.manifest.write()
    save_tensors(m.out / "checkpoint.safetensors", tensors, {
        "model": m.config.model, "model_config": m.task.model.config_dict(), "epoch": epoch,
        "optimizers": opt_meta, "metrics": m.rows, "manifest": m.manifest.data})
    write_text(m.out / "metrics.csv", metrics_csv(m.rows))
    m.saved = epoch


def finish_member(m: Member, last_epoch: int) -> None:
    """``model.safetensors`` and status ``completed`` after the last epoch, else
    ``stopped`` (a resumable run)."""
    if last_epoch == m.config.epochs:
        save_model(m.out / "model.safetensors", m.task.model,
                   {"model": m.config.model, "model_config": m.task.model.config_dict(),
                    "config": m.config.to_dict()})
        write_text(m.out / "metrics.csv", metrics_csv(m.rows))
        m.manifest.update(final_metrics=m.rows[-1] if m.rows else {})
        m.status = "completed"
    else:
        m.status = "stopped"
    m.manifest.write(m.status)


# ----------------------------------------------------------------------- runners
class TaskRunner:
    """Each member's own task takes its step on its own batch (``task.train_step``)."""

    def __init__(self, members: list[Member]):
        self.members = list(members)

    def set_lr(self, epoch: int) -> None:
        """Every optimizer's rate for ``epoch``: its base rate (as the task built it, never
        the rate a restored checkpoint last held) times the schedule's factor."""
        for m in self.members:
            factor = m.config.lr_at(epoch) / m.config.lr
            for name, opt in m.task.optimizers.items():
                for group, lr in zip(opt.param_groups, m.base_lrs[name]):
                    group["lr"] = lr * factor

    def step(self, idx: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``idx`` (M, B): each member's batch; returns the detached losses (M,)."""
        return torch.stack([m.task.train_step(x[i], y[i], m.noise_gen).reshape(())
                            for m, i in zip(self.members, idx)])

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> list[dict]:
        out = []
        for m in self.members:
            gen = torch.Generator(x.device).manual_seed(m.config.seed + 2)
            out.append(m.task.evaluate(x, y, gen))
        return out

    def keep(self, keep: list[int]) -> None:
        self.members = [self.members[i] for i in keep]


# ------------------------------------------------------------------------ the loop
def fit(runner, data, device, last_epoch: int, progress: Callback | None = None,
        strict: bool = True, callbacks=()) -> list[Member]:
    """Train ``runner.members`` (all at the same start epoch) up to ``last_epoch``.

    ``progress`` and ``callbacks`` are :class:`~latentdyn.train.hooks.Callback` objects,
    called as training goes. A member whose loss becomes NaN or infinite is marked
    ``diverged`` (its last good checkpoint kept); with ``strict`` that raises
    :class:`TrainingDiverged`, else the others go on. Returns the members that did not
    diverge.
    """
    hooks = [h for h in (progress, *callbacks) if h is not None]
    keep_freed_memory()  # no page faults for the memory each step frees and takes again
    start, cfg0 = common_start(runner.members), runner.members[0].config
    from latentdyn.train.snapshots import snapshot_writer

    writer = snapshot_writer(runner, len(data.train_labels), start)
    if writer is not None:  # weights at chosen steps (train --snapshots)
        hooks.append(writer)
    train_x, train_y = data.train_images.to(device), data.train_labels.to(device)
    test_x, test_y = data.test_images.to(device), data.test_labels.to(device)
    try:
        for epoch in range(start, last_epoch):
            if not runner.members:
                break
            _epoch(runner, epoch, cfg0, (train_x, train_y, test_x, test_y), start, last_epoch,
                   hooks, strict)
    except TrainingDiverged:
        raise
    except BaseException:
        for m in runner.members:
            m.manifest.write("interrupted")
        raise
    finally:
        for h in hooks:
            h.close()
    for m in runner.members:
        finish_member(m, last_epoch)
    return list(runner.members)


def _epoch(runner, epoch, cfg0, tensors, start, last_epoch, hooks, strict) -> None:
    t0 = time.perf_counter()
    train_x, train_y, test_x, test_y = tensors
    n, bs = train_x.shape[0], cfg0.batch_size
    steps = (n + bs - 1) // bs
    runner.set_lr(epoch)
    for h in hooks:
        h.on_epoch_start(epoch, cfg0.epochs)
    per_step = [h for h in hooks if h.wants_steps()]
    perms = torch.stack([torch.randperm(n, generator=m.data_gen) for m in runner.members])
    perms = perms.to(train_x.device)
    losses = torch.empty(steps, len(runner.members), device=train_x.device)
    checked = 0
    for step in range(steps):
        losses[step] = runner.step(perms[:, step * bs:(step + 1) * bs], train_x, train_y)
        for h in per_step:
            h.on_step_end(epoch, step)
        if (step + 1) % CHECK_EVERY == 0 or step + 1 == steps:
            window = losses[checked:step + 1]
            keep = _drop_diverged(runner, window, checked, epoch, strict)
            if keep is not None:
                losses, perms, window = losses[:, keep], perms[keep], window[:, keep]
                if not runner.members:
                    return
            for h in hooks:
                h.on_advance(step + 1 - checked, steps, len(runner.members), window)
            checked = step + 1
    sizes = torch.full((steps,), float(bs), device=train_x.device)
    sizes[-1] = n - bs * (steps - 1)
    means = ((losses * sizes[:, None]).sum(0) / n).tolist()
    evaluate = (epoch + 1) % cfg0.eval_every == 0 or epoch + 1 == cfg0.epochs
    tests = runner.evaluate(test_x, test_y) if evaluate else None
    for i, m in enumerate(runner.members):
        row = {"epoch": epoch + 1, "lr": m.config.lr_at(epoch)}
        row.update({f"train_{k}": v for k, v in m.task.train_metrics(means[i]).items()})
        if tests is not None:
            row.update({f"test_{k}": v for k, v in tests[i].items()})
        hook = getattr(m.task, "on_epoch_end", None)
        if callable(hook):  # e.g. sample grids, collapse checks; may add metrics
            row.update(hook(epoch + 1, m.out) or {})
        row["seconds"] = round(time.perf_counter() - t0, 3)
        m.rows.append(row)
    for h in hooks:
        h.on_epoch_end(epoch, runner.members)
    if (epoch + 1) % cfg0.checkpoint_every == 0 or epoch + 1 == last_epoch:
        for m in runner.members:
            checkpoint(m, epoch + 1)


def _drop_diverged(runner, window, checked, epoch, strict) -> list[int] | None:
    """Mark members whose losses in ``window`` are not finite as diverged; return the
    indices of those kept (None when all are fine)."""
    finite = torch.isfinite(window)
    if bool(finite.all()):
        return None
    bad = (~finite.all(0)).nonzero().flatten().tolist()
    for i in bad:
        m = runner.members[i]
        row = int((~finite[:, i]).nonzero()[0, 0])
        good = m.saved
        m.status = "diverged"
        m.message = (f"loss became {float(window[row, i])} at epoch {epoch + 1}, step "
                     f"{checked + row + 1}; the last good checkpoint (epoch {good}) is kept "
                     f"in {m.out}")
        m.manifest.update(error=m.message)
        m.manifest.write("diverged")
    if strict:
        raise TrainingDiverged(runner.members[bad[0]].message)
    keep = [i for i in range(len(runner.members)) if i not in bad]
    runner.keep(keep)
    return keep
