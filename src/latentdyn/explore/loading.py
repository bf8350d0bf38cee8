"""Building an explorer (``latentdyn explore``): every model, the classifier, the data
set and the fixed points are loaded and checked here, before any server starts, so a
bad input stops the command with one line. Nothing is written.

A model is anything ``--model`` takes in every other command, read by the same loader
(:func:`latentdyn.train.sources.open_model`): a run folder, a factory
``FILE.py:FUNCTION`` (with ``--weights``), a pythae or diffusers model folder; from
Python also a model object.
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
from latentdyn.models.adapters.fitting import fit_data
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


def load_model(path, device, weights=None, kind: str | None = None,
               trust_pickles: bool = False) -> tuple[str, str, object, object]:
    """``(name, kind, model, config)`` of the model ``path`` names (any form of
    ``--model``, or a model object); one line for one that cannot be explored."""
    from latentdyn.train.runs import run_kind
    from latentdyn.train.sources import open_model

    if not isinstance(path, (str, Path)):  # a model object, from Python
        check_model(path)
        return type(path).__name__, "object", path, None
    if kind in (None, "run") and (Path(path) / "config.json").is_file():
        recorded = run_kind(path, "--model")
        if recorded in NO_ENCODER:
            raise ConfigError(f"{path}: is a {recorded!r} run, {NO_ENCODER[recorded]}; --model "
                              "needs a model with encode and decode")
    source = open_model(path, device, kind=kind, weights=weights, trust_pickles=trust_pickles)
    try:
        check_model(source.model)
    except LatentdynError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    name = Path(str(path)).name or str(path)
    return name, source.kind, source.model, source.config


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


def _per_model(values: Sequence, n: int, flag: str) -> list:
    """One value of a repeated option per ``--model``, in order (None past the end)."""
    values = list(values or ())
    if len(values) > n:
        raise ConfigError(f"{len(values)} {flag} for {n} --model; give at most one per model, "
                          "in the same order")
    return values + [None] * (n - len(values))


def load_explorer(model_paths: Sequence, classifier_path: str | Path | None = None,
                  attractor_paths: Sequence[str | Path] = (), dataset: str | None = None,
                  data_dir: str | None = None, device="cpu", *, weights: Sequence = (),
                  model_kinds: Sequence = (), trust_pickles: bool = False) -> Explorer:
    """An explorer of the models ``model_paths`` (any form of ``--model``, or model
    objects) on ``dataset`` (default: the first run's data set; needed for any other
    form); ``attractor_paths[k]`` marks fixed points of model k, ``weights[k]`` and
    ``model_kinds[k]`` are model k's ``--weights`` and ``--model-kind``."""
    from latentdyn.train.runs import load_run_of_kind

    if not model_paths:
        raise ConfigError("give at least one --model RUN")
    if len(attractor_paths) > len(model_paths):
        raise ConfigError(f"{len(attractor_paths)} --attractors for {len(model_paths)} "
                          "--model; give at most one per model, in the same order")
    n = len(model_paths)
    loaded = [load_model(p, device, w, k, trust_pickles) for p, w, k in
              zip(model_paths, _per_model(weights, n, "--weights"),
                  _per_model(model_kinds, n, "--model-kind"))]
    first = loaded[0][3]
    if dataset is None and first is None:
        raise ConfigError(f"--dataset is needed for {model_paths[0]} (not a run folder, so it "
                          "records no data set)")
    data = load_dataset(dataset or first.dataset, data_dir or getattr(first, "data_dir", None))
    from latentdyn.train.runs import check_run_data

    for (name, _, model, config), path in zip(loaded, model_paths):
        fit_data(model, data, f"the model of {path if isinstance(path, (str, Path)) else name}")
        if config is not None:  # a run: the data it was trained on, changed since
            check_run_data(path, data)
    classifier = None
    if classifier_path is not None:
        classifier, _ = load_run_of_kind(classifier_path, "classifier", "--classifier", device)
        data.require_dim(input_dim(classifier), f"the classifier of {classifier_path}")
    names = _unique([name for name, *_ in loaded])
    fixed = []
    for k, path in enumerate(attractor_paths):  # in the space the dynamics run in
        nz = encode_all(loaded[k][2], data.train_images[:2]).shape[1]
        fixed.append(read_fixed_points(path, nz))
    explorer = build_explorer([(n, kind, m) for n, (_, kind, m, _) in zip(names, loaded)],
                              data, classifier, None if classifier_path is None else
                              (Path(classifier_path).name or str(classifier_path)), fixed)
    explorer.sources = [str(p) if isinstance(p, (str, Path)) else None for p in model_paths]
    explorer.classifier_source = None if classifier_path is None else str(classifier_path)
    return explorer


def _unique(names: list[str]) -> list[str]:
    """The run folders' names, made distinct (``A``, ``A (2)``) when they clash."""
    out: list[str] = []
    for n in names:
        out.append(n if n not in out else f"{n} ({len(out) + 1})")
    return out
