"""Run folders: the one module that reads them.

A run folder (``latentdyn train --out``) holds ``config.json``, ``manifest.json``,
``metrics.csv``, ``model.safetensors`` once finished, ``checkpoint.safetensors`` while
training, and for runs built from other runs ``inputs.json`` (their paths and the md5
of their weights). Everything that opens a run -- loading its model, checking its
kind, reading its metrics, telling whether its inputs changed -- goes through here.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from latentdyn.errors import CheckpointError, ConfigError, DataError, LatentdynError
from latentdyn.io import load_tensors, md5_file, read_json
from latentdyn.train.checkpoint import load_model_weights
from latentdyn.train.config import TrainConfig

RUN_FILES = ("config.json", "manifest.json", "metrics.csv", "model.safetensors",
             "checkpoint.safetensors")


class Run(NamedTuple):
    model: nn.Module
    config: TrainConfig


# ------------------------------------------------------------------------- reading
def read_manifest(path: str | Path) -> dict:
    """The run's ``manifest.json`` as a dict ({} when missing or unreadable)."""
    try:
        data = read_json(Path(path) / "manifest.json")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of ``metrics.csv``, numbers as floats, empty cells as None ([] when
    there is none)."""
    try:
        with open(Path(path) / "metrics.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    return [{k: _number(v) for k, v in row.items()} for row in rows]


def _number(v):
    if v in ("", None):
        return None
    try:
        return float(v)
    except ValueError:
        return v


def last_metrics(path: str | Path) -> dict:
    """The last row of ``metrics.csv`` ({} when there is none)."""
    rows = read_metrics(path)
    return rows[-1] if rows else {}


def run_kind(path: str | Path, option: str = "a run folder") -> str:
    """The model kind recorded in the run's ``config.json``; one line naming ``option``
    when ``path`` holds no readable run."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path}: no run there ({option} needs a run folder)")
    try:
        kind = read_json(path / "config.json").get("model")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(f"{path}: not a readable run folder ({option})") from None
    return kind


def weights_file(path: str | Path) -> Path:
    """``model.safetensors`` of a finished run, else its last checkpoint."""
    path = Path(path)
    weights = path / "model.safetensors"
    return weights if weights.is_file() else path / "checkpoint.safetensors"


def weights_source(path: str | Path) -> dict:
    """Where a run's weights are and their md5 (what a run built from it records)."""
    path = Path(path)
    weights = weights_file(path)
    return {"path": str(path), "resolved": str(path.resolve()), "weights": weights.name,
            "md5": md5_file(weights)}


def recorded_inputs(path: str | Path) -> dict:
    """``inputs.json``: name -> source of the runs this run was built from ({} if none)."""
    try:
        data = read_json(Path(path) / "inputs.json")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def inputs_changed(path: str | Path, inputs: dict) -> bool:
    """Whether any run in ``inputs`` (name -> run folder) has other weights now than
    when ``path`` was built from it (or was never recorded)."""
    recorded = recorded_inputs(path)
    if not (Path(path) / "inputs.json").is_file():
        return True
    for name, run in inputs.items():
        weights = Path(run) / "model.safetensors"
        if not weights.is_file() or (recorded.get(name) or {}).get("md5") != md5_file(weights):
            return True
    return False


def input_run(path: str | Path, name: str) -> str | None:
    """The ``name`` run that ``path`` was built from, when it is still there."""
    source = recorded_inputs(path).get(name)
    run = source.get("path") if isinstance(source, dict) else None
    return run if run and (Path(run) / "config.json").is_file() else None


# ------------------------------------------------------------------------- its data
def check_run_data(path: str | Path, data, option: str = "--model") -> None:
    """One line (DataError) when ``data`` is the data set the run in ``path`` was trained
    on by name but not by content: its file changed since (the checksums the run's
    manifest recorded differ). A result computed from such a run would mix two data
    sets; other data given on purpose (``--dataset``) is not compared."""
    from latentdyn.data.identity import same_data

    recorded = read_manifest(path).get("data")
    if same_data(recorded, data):
        return
    was = ", ".join(f"{k} {v}" for k, v in sorted(recorded["checksums"].items()))
    now = ", ".join(f"{k} {v}" for k, v in sorted(data.checksums().items()))
    raise DataError(f"{path} ({option}) was trained on {data.name} with md5 {was}; that "
                    f"file now has md5 {now}: the data changed since. Train the run again, "
                    "or give the data it was trained on")


def data_unchanged(path: str | Path, dataset: str) -> bool:
    """Whether the file of ``dataset`` (``npz:PATH``) still has the checksums the run in
    ``path`` recorded (True for data sets that cannot change, and for runs that
    recorded none): what decides whether a cached run may be reused."""
    from latentdyn.data.identity import canonical_name, source_checksums

    recorded = read_manifest(path).get("data")
    now = source_checksums(dataset)
    if now is None or not isinstance(recorded, dict):
        return True
    if canonical_name(recorded.get("dataset")) != canonical_name(dataset):
        return False  # trained on another file than this config names
    return recorded.get("checksums") == now


# ------------------------------------------------------------------------- loading
def _input_dim(meta: dict, tensors: dict, source: Path) -> int:
    # the weights' metadata records the data dimension; no dataset needs loading
    config = meta.get("model_config")
    dim = config.get("input_dim") if isinstance(config, dict) else None
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
        raise CheckpointError(f"{source}: metadata does not record the model's input size")
    held = sum(t.numel() for t in tensors.values())
    if dim > held:  # every network holds at least one weight per input value
        raise CheckpointError(f"{source}: its metadata says the model takes {dim:,} values "
                              f"per image, more than its weights hold ({held:,} numbers); "
                              "the metadata is damaged")
    return dim


def load_snapshot(path: str | Path, step: int, device: str | torch.device = "cpu",
                  option: str = "--model") -> Run:
    """The run in ``path`` as it was after optimiser step ``step`` (a snapshot it saved,
    :mod:`latentdyn.train.snapshots`), in eval mode on ``device``; one line naming the
    saved steps when ``step`` is not one of them."""
    from latentdyn.train.snapshots import snapshot_path

    path = Path(path)
    config = _run_config(path)
    saved = [s.get("step") for s in (read_manifest(path).get("snapshots") or [])
             if isinstance(s, dict)]
    file = snapshot_path(path, step)
    if step not in saved or not file.is_file():
        listed = ", ".join(str(s) for s in saved[:12]) + (", …" if len(saved) > 12 else "")
        raise ConfigError(f"{option} {path}@{step}: no snapshot at step {step} in {path} "
                          + (f"(saved: {listed})" if saved else "(the run saved no snapshots; "
                             "train it with --snapshots)"))
    return _load_weights(config, path / "config.json", file, "", device)


def _run_config(path: Path) -> TrainConfig:
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise CheckpointError(f"{path}: not a run folder (no config.json)")
    try:
        raw = read_json(cfg_path)
        if not isinstance(raw, dict):
            raise ValueError(f"a {type(raw).__name__}, not an object")
        return TrainConfig.from_dict(raw).validate()
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{cfg_path}: unreadable run config ({exc})") from None
    except LatentdynError as exc:
        raise CheckpointError(f"{cfg_path}: {exc}") from None


def load_run(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Return ``(model, config)`` of the run in ``path``, in eval mode on ``device``.

    Uses ``model.safetensors`` when the run finished, else its last checkpoint. Only
    the network is built (by the run's family, from its config and the data size the
    weights record), then its weights loaded: no task, no optimizer, no input run.
    """
    path = Path(path)
    cfg_path = path / "config.json"
    config = _run_config(path)
    weights = path / "model.safetensors"
    prefix = ""
    if not weights.is_file():
        weights, prefix = path / "checkpoint.safetensors", "model."
        if not weights.is_file():
            raise CheckpointError(f"{path}: run has no model.safetensors or checkpoint yet")
    return _load_weights(config, cfg_path, weights, prefix, device)


def _load_weights(config: TrainConfig, cfg_path: Path, weights: Path, prefix: str,
                  device) -> Run:
    """The network of ``config`` with the weights of ``weights`` (keys after ``prefix``)."""
    from latentdyn.models.registry import family

    tensors, meta = load_tensors(weights)
    if meta.get("model", config.model) != config.model:
        raise CheckpointError(
            f"{weights}: weights are for model {meta.get('model')!r}, config says {config.model!r}"
        )
    tensors = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    bad = sorted(k for k, v in tensors.items() if v.is_floating_point()
                 and not bool(torch.isfinite(v).all()))
    if bad:  # a damaged file, or a run whose training diverged
        raise CheckpointError(f"{weights}: weights hold NaN or infinite values ({bad[0]}"
                              f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}); the "
                              "model is damaged or its training diverged")
    try:
        fam = family(config.model)
    except LatentdynError as exc:
        raise CheckpointError(f"{cfg_path}: {exc}") from None
    model = fam.build(config, _input_dim(meta, tensors, weights))
    load_model_weights(model, tensors, str(weights))
    return Run(model.to(device).eval(), config)


def load_run_of_kind(path: str | Path, kind: str | tuple[str, ...], option: str,
                     device="cpu", frozen: bool = False) -> Run:
    """:func:`load_run`, refusing in one line a run of another model kind than ``kind``
    (or than each of a tuple of kinds; ``option`` names what asked for it, e.g.
    ``--classifier``). ``frozen``: no parameter requires a gradient."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    got = run_kind(path, option)
    if got not in kinds:
        raise ConfigError(f"{path}: is a {got!r} run; {option} needs a run trained with "
                          f"--model {' or '.join(kinds)}")
    model, config = load_run(path, device)
    if frozen:
        for p in model.parameters():
            p.requires_grad_(False)
    return Run(model.eval(), config)


def load_input_run(path: str | Path, kind: str, option: str, device):
    """A run another run is built from (``--option OPTION=RUN``), loaded frozen, and its
    source (path and md5 of its weights)."""
    model, _ = load_run_of_kind(path, kind, f"--option {option}=RUN", device, frozen=True)
    return model, weights_source(path)


def load_inputs(declared: dict, device) -> dict:
    """The input runs a family declares (name -> ``InputRun(kind, path)``, see
    :mod:`latentdyn.models.family`), each loaded frozen on ``device`` with its source;
    a missing run, or one of another kind, is refused in one line."""
    out = {}
    for name, run in declared.items():
        if not (Path(run.path) / "config.json").is_file():
            raise ConfigError(f"{run.path}: no run there (--option {name}=RUN needs a "
                              f"--model {run.kind} run folder)")
        model, source = load_input_run(run.path, run.kind, name, device)
        out[name] = run._replace(model=model, source=source)
    return out


__all__ = ["RUN_FILES", "Run", "check_run_data", "data_unchanged", "input_run", "inputs_changed", "last_metrics", "load_input_run",
           "load_inputs", "load_run",
           "load_run_of_kind", "load_snapshot", "read_manifest", "read_metrics", "recorded_inputs", "run_kind",
           "weights_file", "weights_source"]
