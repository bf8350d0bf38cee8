"""What each point folder of a sweep holds: its state (done, diverged, or to train
from an epoch) and its summary row as read from the run folder."""

from __future__ import annotations

import json
from pathlib import Path

from latentdyn.sweep.spec import Point
from latentdyn.sweep.summary import COLUMNS
from latentdyn.train.runs import RUN_FILES, last_metrics, read_manifest
from latentdyn.train.trainer import prepare_out


def _checkpoint_epoch(path: Path) -> int | None:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get("latentdyn", "{}"))
        return int(meta["epoch"])
    except Exception:  # unreadable: start the point again
        return None


def point_state(point: Point, folder: Path, overwrite: bool,
                checksums: dict | None = None) -> tuple[str, int]:
    """("done" | "diverged" | "train", start epoch) of one point. ``checksums``: those
    of the data the sweep trains on now; a point trained (or begun) on other data is
    trained again from the start (its model is a cache of the data it saw)."""
    if overwrite:
        for name in RUN_FILES:
            (folder / name).unlink(missing_ok=True)
        return "train", 0
    if not prepare_out(folder, point.config, resume=True, overwrite=False):
        return "train", 0  # nothing there yet
    if checksums is not None and not _same_data(folder, checksums):
        for name in RUN_FILES:
            if name != "config.json":
                (folder / name).unlink(missing_ok=True)
        return "train", 0
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


def _same_data(folder: Path, checksums: dict) -> bool:
    """Whether the point in ``folder`` recorded ``checksums`` for its data (a point
    whose manifest records none is taken as trained on it)."""
    recorded = read_manifest(folder).get("data")
    if not isinstance(recorded, dict) or not isinstance(recorded.get("checksums"), dict):
        return True
    return recorded["checksums"] == checksums


def base_row(point: Point, status: str) -> dict:
    row = {c: None for c in COLUMNS}
    row.update(point=point.name, status=status, **point.key)
    return row


def row_from_folder(point: Point, folder: Path, status: str) -> dict:
    row = base_row(point, status)
    last = last_metrics(folder)
    man = read_manifest(folder)
    row.update(epochs=int(last["epoch"]) if "epoch" in last else 0,
               train_elbo=last.get("train_elbo"), test_elbo=last.get("test_elbo"),
               wall_s=man.get("wall_time_s"),
               ensemble=(man.get("ensemble") or {}).get("size", 1))
    return row

