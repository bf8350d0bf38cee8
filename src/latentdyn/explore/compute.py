"""The computations behind the API: one input through repeated inference in every
chosen model, with its distances to the hierarchy, its path on the memory map and the
classifier's reading at every step.

The input is corrupted once (``corrupt`` seeded ``seed``) and the same corrupted image
starts every model's chain (``run_dynamics`` seeded ``seed + 1``, as
:func:`latentdyn.analysis.trials.run_trials` does). The three distances of each step
are ‖z(t) − ξ‖ for ξ the image's own memory, its concept ξ̄_label and the abstract
concept ξ̄_all (paper 001, eqs. 8-10, 12). A test or drawn image has no memory of its
own: its memory is the training memory nearest to the encoding of the clean image,
and ``memory_source`` says so.
"""

from __future__ import annotations

import base64
import time

import numpy as np
import torch
from torch import Tensor

from latentdyn.analysis import distance_to, min_distance
from latentdyn.data import corrupt
from latentdyn.dynamics import run_dynamics
from latentdyn.explore.schema import BadRequest, ImageRequest, TrajectoryRequest, limits
from latentdyn.explore.state import MAP_POINTS, Explorer, ModelEntry
from latentdyn.models.inference import encode_all, predict_proba

LEVELS = ("memory", "concept", "abstract")


def pixels_b64(x: Tensor) -> str:
    """Images in [0, 1] (any shape) as base64 of uint8 intensities, row-major."""
    u8 = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return base64.b64encode(np.ascontiguousarray(u8.cpu().numpy()).tobytes()).decode("ascii")


def _rounded(t: Tensor, digits: int = 5) -> list:
    return np.round(t.detach().double().cpu().numpy(), digits).tolist()


def lookup(explorer: Explorer, split: str, label: int, index: int) -> tuple[int, Tensor]:
    """(row in the split, image (D,)) of the ``index``-th image of ``label``; 404 past
    the end."""
    rows = explorer.indices(split, label)
    if rows.numel() == 0:
        raise BadRequest(f"the {split} images have no label {label}", 404)
    if index >= rows.numel():
        raise BadRequest(f"index {index} is out of range: the {split} images of label {label} "
                         f"are indices 0..{rows.numel() - 1}", 404)
    row = int(rows[index])
    images = explorer.data.train_images if split == "train" else explorer.data.test_images
    return row, images[row]


def image_payload(explorer: Explorer, req: ImageRequest) -> dict:
    """``GET /api/image``: one image of the data set."""
    row, x = lookup(explorer, req.split, req.label, req.index)
    return {"split": req.split, "label": req.label, "index": req.index, "row": row,
            "count": int(explorer.indices(req.split, req.label).numel()),
            "shape": list(explorer.data.image_shape), "pixels": pixels_b64(x)}


def model_payload(explorer: Explorer) -> dict:
    """``GET /api/model``: the served models, their memory maps, the data set, limits."""
    data = explorer.data
    counts = {s: {str(c): int(explorer.indices(s, c).numel()) for c in explorer.classes}
              for s in ("train", "test")}
    return {
        "models": [{**_model_info(k, e), "source": (explorer.sources[k] if k < len(
            explorer.sources) else None)} for k, e in enumerate(explorer.models)],
        "dataset": {"name": data.name, "shape": list(data.image_shape), "dim": data.dim,
                    "classes": explorer.classes, "counts": counts},
        "classifier": None if explorer.classifier is None else {
            "name": explorer.classifier_name, "source": explorer.classifier_source},
        "limits": limits(),
    }


def _model_info(k: int, e: ModelEntry) -> dict:
    hier, m = e.hierarchy, e.map
    n = hier.memories.shape[0]
    sub = torch.linspace(0, n - 1, min(n, MAP_POINTS)).round().long().unique()
    # each drawn memory's index among the training images of its label (for /api/image)
    rank = torch.empty(n, dtype=torch.long)
    for c in hier.classes.tolist():
        rows = (hier.labels == c).nonzero().flatten()
        rank[rows] = torch.arange(rows.numel())
    fixed = None
    if e.fixed_points is not None:
        fixed = {"points": _rounded(m.project(e.fixed_points), 4), "info": e.fixed_info}
    return {
        "id": k, "name": e.name, "kind": e.kind, "nz": e.nz,
        "map": {"explained": _rounded(m.explained, 4),
                "memories": _rounded(m.points[sub], 4), "labels": hier.labels[sub].tolist(),
                "rows": sub.tolist(), "index": rank[sub].tolist(),
                "concepts": _rounded(m.project(hier.concepts), 4),
                "classes": hier.classes.tolist(),
                "abstract": _rounded(m.project(hier.abstract), 4), "fixed_points": fixed},
    }


def _source(explorer: Explorer, req: TrajectoryRequest) -> tuple[Tensor, dict]:
    """The clean input (D,) and what is known about it."""
    if req.source == "drawn":
        return req.pixels, {"source": "drawn", "label": req.label, "index": None, "row": None}
    row, x = lookup(explorer, req.source, req.label, req.index)
    return x, {"source": req.source, "label": req.label, "index": req.index, "row": row}


def _targets(e: ModelEntry, clean: Tensor, info: dict, drawn_label: int | None) -> dict:
    """The memory, concept and abstract concept this input is measured against."""
    hier = e.hierarchy
    if info["source"] == "train":
        memory_row, memory_source = info["row"], "own"
    else:
        z = encode_all(e.model, clean[None])[0]
        memory_row = int(torch.linalg.vector_norm(hier.memories - z, dim=1).argmin())
        memory_source = "nearest"
    label, label_source = info["label"], "data"
    if label is None:
        label, label_source = drawn_label, "classifier"
    if label is None:
        label, label_source = int(hier.labels[memory_row]), "nearest memory"
    elif info["source"] == "drawn" and info["label"] is not None:
        label_source = "given"
    return {"memory": hier.memories[memory_row], "concept": hier.concept(label),
            "abstract": hier.abstract, "memory_row": memory_row,
            "memory_source": memory_source, "label": int(label), "label_source": label_source}


def nearest_memories(e: ModelEntry, z: Tensor) -> list[dict]:
    """For each latent point of ``z`` (n, nz): the training memory nearest to it (its
    row, label and distance): where a trajectory ends, which the 2-D map cannot say."""
    d = torch.cdist(z.double(), e.hierarchy.memories.double())
    value, row = d.min(1)
    return [{"row": int(r), "label": int(e.hierarchy.labels[r]), "distance": round(float(v), 5)}
            for r, v in zip(row, value)]


def _readings(explorer: Explorer, frames: Tensor) -> dict | None:
    if explorer.classifier is None:
        return None
    proba = predict_proba(explorer.classifier, frames)
    conf, labels = proba.max(1)
    return {"labels": labels.tolist(), "confidence": _rounded(conf, 4)}


def _one_model(explorer: Explorer, k: int, x0: Tensor, clean: Tensor, info: dict,
               drawn_label: int | None, req: TrajectoryRequest) -> dict:
    e = explorer.models[k]
    traj = run_dynamics(e.model, x0[None], steps=req.steps, mode=req.mode, record_x="all",
                        generator=req.seed + 1)
    targets = _targets(e, clean, info, drawn_label)
    z = traj.z  # (1, T+1, nz)
    distances, minima = {}, {}
    for level in LEVELS:
        d = distance_to(z, targets[level])
        value, step = min_distance(d)
        distances[level] = _rounded(d[0])
        minima[level] = {"value": round(float(value[0]), 5), "t": int(step[0]),
                         "final": round(float(d[0, -1]), 5)}
    frames = traj.x[0]
    return {"model": k, "name": e.name, "frames": pixels_b64(frames),
            "end": nearest_memories(e, z[:, -1])[0],
            "distances": distances, "minima": minima,
            "closest": min(LEVELS, key=lambda lv: minima[lv]["value"]),
            "map": _rounded(e.map.project(z[0]), 4), "readings": _readings(explorer, frames),
            "memory_image": pixels_b64(explorer.data.train_images[targets["memory_row"]]),
            **{key: targets[key] for key in ("memory_row", "memory_source", "label",
                                             "label_source")}}


def trajectory_payload(explorer: Explorer, req: TrajectoryRequest) -> dict:
    """``POST /api/trajectory``: the corrupted input through every chosen model."""
    t0 = time.perf_counter()
    clean, info = _source(explorer, req)
    x0 = corrupt(clean[None], kind=req.noise, p=req.p, generator=req.seed,
                 channels=explorer.data.channels)[0]
    with explorer.lock:
        drawn_label = None
        if req.source == "drawn" and req.label is None and explorer.classifier is not None:
            drawn_label = int(predict_proba(explorer.classifier, clean[None]).argmax(1)[0])
        results = [_one_model(explorer, k, x0, clean, info, drawn_label, req)
                   for k in req.models]
    return {
        "request": {"source": req.source, "label": req.label, "index": req.index,
                    "noise": req.noise, "p": req.p, "mode": req.mode, "steps": req.steps,
                    "seed": req.seed, "models": list(req.models)},
        "input": {**info, "shape": list(explorer.data.image_shape), "clean": pixels_b64(clean),
                  "corrupted": pixels_b64(x0)},
        "steps": req.steps, "results": results,
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    }
