"""Building an explorer from run folders (``latentdyn explore``): every model, the
classifier, the data set and the fixed points are loaded and checked here, before any
server starts, so a bad input stops the command with one line. Nothing is written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch

from latentdyn.data import load_dataset
from latentdyn.errors import ConfigError, LatentdynError
from latentdyn.io import read_json
from latentdyn.explore.state import Explorer, build_explorer
from latentdyn.models.inference import encode_all
from latentdyn.models.protocol import check_model

ATTRACTOR_FILES = ("attractors.json", "fixed_points.json", "data/attractors.json")
# keys of a list of fixed points, in order of preference ("fixed_points" is a count in the
# summary `latentdyn attractors` writes today; "fixed_point_list" is asked of it)
POINT_KEYS = ("fixed_point_list", "fixed_points", "attractors", "points")
NO_ENCODER = {"gan": "a generator without an encoder: train --model gan-encoder on it",
              "classifier": "a classifier, not a generative model (give it as --classifier)"}


def input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


def load_model(path: str | Path, device) -> tuple[str, str, object, object]:
    """``(name, kind, model, config)`` of the run in ``path``; one line for a run that
    cannot be explored."""
    from latentdyn.train.runs import load_run, run_kind

    kind = run_kind(path, "--model")
    if kind in NO_ENCODER:
        raise ConfigError(f"{path}: is a {kind!r} run, {NO_ENCODER[kind]}; --model needs a "
                          "model with encode and decode")
    model, config = load_run(path, device=device)
    try:
        check_model(model)
    except LatentdynError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return Path(path).name or str(path), kind, model, config


def _point_list(doc, path: Path) -> list:
    if isinstance(doc, dict):
        key = next((k for k in POINT_KEYS if isinstance(doc.get(k), list)), None)
        if key is None:
            count = doc.get("fixed_points")
            if isinstance(count, int) and not isinstance(count, bool):
                raise ConfigError(f"--attractors {path}: records {count} fixed points but not "
                                  "where they are; it needs a fixed_point_list of "
                                  '{"z": [...]} entries')
            raise ConfigError(f"--attractors {path}: no {', '.join(POINT_KEYS)} list in it")
        doc = doc[key]
    if not isinstance(doc, list) or not doc:
        raise ConfigError(f"--attractors {path}: the fixed points must be a non-empty list")
    return doc


def read_fixed_points(path: str | Path, nz: int) -> tuple[torch.Tensor, list[dict]]:
    """Fixed points ``(F, nz)`` and their scalar fields from a JSON file, or a folder
    holding one of :data:`ATTRACTOR_FILES`: a list of points, or an object with one of
    the lists :data:`POINT_KEYS`; each point a list of ``nz`` numbers or an object with
    ``z`` and optional scalar fields (label, stable, basin...)."""
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in ATTRACTOR_FILES if (path / n).is_file()]
        if not found:
            raise ConfigError(f"--attractors {path}: no {' or '.join(ATTRACTOR_FILES)} there")
        path = found[0]
    try:
        doc = read_json(path)
    except OSError as exc:
        raise ConfigError(f"--attractors {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"--attractors {path}: not valid JSON ({exc})") from None
    doc = _point_list(doc, path)
    points, info = [], []
    for k, item in enumerate(doc):
        z = item.get("z") if isinstance(item, dict) else item
        ok = isinstance(z, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         and math.isfinite(v) for v in z)
        if not ok or len(z) != nz:
            raise ConfigError(f"--attractors {path}: fixed point {k} is not a list of {nz} "
                              "finite numbers (the model's latent size)")
        points.append(z)
        info.append({key: v for key, v in item.items() if key != "z" and (
            v is None or isinstance(v, (str, int, float, bool)))} if isinstance(item, dict) else {})
    return torch.tensor(points, dtype=torch.float32), info


def load_explorer(model_paths: Sequence[str | Path], classifier_path: str | Path | None = None,
                  attractor_paths: Sequence[str | Path] = (), dataset: str | None = None,
                  data_dir: str | None = None, device="cpu") -> Explorer:
    """An explorer of the runs ``model_paths`` on ``dataset`` (default: the first run's
    data set); ``attractor_paths[k]`` marks fixed points of model k."""
    from latentdyn.train.runs import load_run_of_kind

    if not model_paths:
        raise ConfigError("give at least one --model RUN")
    if len(attractor_paths) > len(model_paths):
        raise ConfigError(f"{len(attractor_paths)} --attractors for {len(model_paths)} "
                          "--model; give at most one per model, in the same order")
    loaded = [load_model(p, device) for p in model_paths]
    first = loaded[0][3]
    data = load_dataset(dataset or first.dataset, data_dir or first.data_dir)
    from latentdyn.train.runs import check_run_data

    for (name, _, model, _), path in zip(loaded, model_paths):
        data.require_dim(input_dim(model), f"the model of {path}")
        check_run_data(path, data)  # the data a run was trained on, changed since
    classifier = None
    if classifier_path is not None:
        classifier, _ = load_run_of_kind(classifier_path, "classifier", "--classifier", device)
        data.require_dim(input_dim(classifier), f"the classifier of {classifier_path}")
    names = _unique([name for name, *_ in loaded])
    fixed = []
    for k, path in enumerate(attractor_paths):  # in the space the dynamics run in
        nz = encode_all(loaded[k][2], data.train_images[:2]).shape[1]
        fixed.append(read_fixed_points(path, nz))
    return build_explorer([(n, kind, m) for n, (_, kind, m, _) in zip(names, loaded)], data,
                          classifier, None if classifier_path is None else
                          (Path(classifier_path).name or str(classifier_path)), fixed)


def _unique(names: list[str]) -> list[str]:
    """The run folders' names, made distinct (``A``, ``A (2)``) when they clash."""
    out: list[str] = []
    for n in names:
        out.append(n if n not in out else f"{n} ({len(out) + 1})")
    return out
