"""Snapshots: a run's weights at chosen optimiser steps, so that one training run serves
every amount of training up to its end (issue 20).

``TrainConfig.snapshots`` (``latentdyn train --snapshots``) is ``None`` (none), ``"log"``
(the steps 1, 2, 4, ..., 2^k up to the run's last step, and the last step) or a list of
steps. :class:`SnapshotWriter`, a :class:`~latentdyn.train.hooks.Callback` that
:func:`latentdyn.train.loop.fit` adds for members that ask for snapshots, writes the
model's weights after each such step to ``snapshots/step-<STEP>.safetensors`` in the
run folder (atomically, safetensors with the run's model metadata) and lists them in
the run's ``manifest.json`` under ``snapshots`` (step, epoch, file). A run stopped and
resumed replays from its last checkpoint: the snapshots written after that checkpoint
are removed when it resumes and written again by the replay, the same bytes as a run
never stopped. ``RUN@STEP`` (:func:`latentdyn.train.sources.open_model`) loads one.
"""

from __future__ import annotations

import re
from pathlib import Path

from latentdyn.errors import ConfigError
from latentdyn.train.hooks import Callback

FOLDER = "snapshots"
MAX_LISTED = 10_000  # steps one run may list
_FILE = re.compile(r"^step-(\d+)\.safetensors$")


def parse_snapshots(value):
    """``None``, ``"log"`` or a sorted tuple-free list of distinct positive steps, from
    what a config file or ``--snapshots`` gives (``"log"``, ``"100,1000"``, ``[100]``,
    ``"none"``); one line naming ``snapshots`` for anything else."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, str) and value.strip().lower() == "log":
        return "log"
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"snapshots must be 'log' or a list of optimiser steps, got {value!r}")
    steps = []
    for item in items:
        try:
            step = int(str(item).strip()) if not isinstance(item, bool) else None
        except ValueError:
            step = None
        if step is None or step < 1 or (isinstance(item, float) and item != step):
            raise ConfigError(f"snapshots: {item!r} is not a positive optimiser step "
                              "(give 'log' or steps such as 100,1000,5000)")
        steps.append(step)
    if len(set(steps)) != len(steps):
        raise ConfigError("snapshots: a step is listed twice")
    if len(steps) > MAX_LISTED:
        raise ConfigError(f"snapshots: at most {MAX_LISTED} steps")
    return sorted(steps)


def snapshot_steps(spec, total: int) -> list[int]:
    """The steps ``spec`` (as :func:`parse_snapshots` returns it) saves in a run of
    ``total`` optimiser steps: ``log`` is 1, 2, 4, ... up to ``total``, and ``total``;
    listed steps beyond ``total`` are not reached."""
    spec = parse_snapshots(spec)
    if spec is None or total < 1:
        return []
    if spec == "log":
        steps, s = [], 1
        while s < total:
            steps.append(s)
            s *= 2
        return steps + [total]
    return [s for s in spec if s <= total]


def snapshot_path(out, step: int) -> Path:
    return Path(out) / FOLDER / f"step-{step:09d}.safetensors"


def saved_steps(out) -> list[int]:
    """The steps whose snapshot file is in the run folder ``out``, ascending."""
    folder = Path(out) / FOLDER
    if not folder.is_dir():
        return []
    return sorted(int(m[1]) for p in folder.iterdir() if (m := _FILE.match(p.name)))


def _entry(step: int, steps_per_epoch: int) -> dict:
    return {"step": step, "epoch": round(step / steps_per_epoch, 6),
            "file": f"{FOLDER}/step-{step:09d}.safetensors"}


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return (n_train + batch_size - 1) // batch_size


class SnapshotWriter(Callback):
    """Writes each member's snapshots as training passes their steps (module doc)."""

    def __init__(self, runner, spe: int, start_epoch: int):
        self.runner, self.spe = runner, spe
        self.wanted, self.listed = {}, {}
        for m in runner.members:
            want = set(snapshot_steps(m.config.snapshots, m.config.epochs * spe))
            done = start_epoch * spe
            for step in saved_steps(m.out):  # beyond the checkpoint: the replay writes them
                if step > done or step not in want:
                    snapshot_path(m.out, step).unlink(missing_ok=True)
            self.wanted[id(m)] = want
            self.listed[id(m)] = [_entry(s, spe) for s in saved_steps(m.out)]
            m.manifest.update(snapshots=self.listed[id(m)])

    def on_step_end(self, epoch: int, step: int) -> None:
        from latentdyn.train.checkpoint import save_model

        g = epoch * self.spe + step + 1
        for m in self.runner.members:
            if g not in self.wanted.get(id(m), ()):
                continue
            save_model(snapshot_path(m.out, g), m.task.model,
                       {"model": m.config.model, "model_config": m.task.model.config_dict(),
                        "config": m.config.to_dict(), "step": g})
            self.listed[id(m)].append(_entry(g, self.spe))
            m.manifest.update(snapshots=self.listed[id(m)])
            m.manifest.write()


def snapshot_writer(runner, n_train: int, start_epoch: int) -> SnapshotWriter | None:
    """The writer for ``runner``'s members that ask for snapshots (None when none do)."""
    if not any(parse_snapshots(getattr(m.config, "snapshots", None)) for m in runner.members):
        return None
    spe = steps_per_epoch(n_train, runner.members[0].config.batch_size)
    return SnapshotWriter(runner, spe, start_epoch)


__all__ = ["FOLDER", "SnapshotWriter", "parse_snapshots", "saved_steps", "snapshot_path",
           "snapshot_steps", "snapshot_writer", "steps_per_epoch"]
