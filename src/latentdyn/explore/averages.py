"""The averaged view (``POST /api/average``): N trials of one setting, the way every
claim of the papers is made -- the mean ± SEM over trials of each distance, every
single trace, and the minima of the mean curve (value, t*) with its final value.

``vary="images"`` runs exactly the trials of ``latentdyn dynamics --label L --p P
--trials N --seed S`` (:func:`latentdyn.analysis.trials.run_trials`: N training images
of the label drawn and corrupted with seed S, the dynamics seeded S + 1), each measured
against its own memory. ``vary="noise"`` starts every trial from the one chosen image
(train, test or drawn) under N independent corruptions drawn from one generator seeded
S; the dynamics are seeded S + 1.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from latentdyn.analysis import distance_to, mean_sem
from latentdyn.analysis.trials import corrupted_trials
from latentdyn.data import corrupt
from latentdyn.dynamics import run_dynamics
from latentdyn.explore.compute import (LEVELS, _rounded, _source, _targets, lookup,
                                       nearest_memories, pixels_b64)
from latentdyn.explore.schema import AverageRequest
from latentdyn.explore.state import Explorer
from latentdyn.models.inference import predict_proba


def _inputs(explorer: Explorer, req: AverageRequest) -> tuple[Tensor, Tensor | None, dict]:
    """(x0 (N, D), training rows of the trials or None, what the input is)."""
    b, data = req.base, explorer.data
    if req.vary == "images":
        rows, x0 = corrupted_trials(data.train_images, data.train_labels, b.label, req.trials,
                                    b.noise, b.p, b.seed, data.channels)
        return x0, rows, {"source": "train", "label": b.label, "index": None, "row": None}
    clean, info = _source(explorer, b)
    x0 = corrupt(clean[None].expand(req.trials, *clean.shape).clone(), kind=b.noise, p=b.p,
                 generator=b.seed, channels=data.channels)
    return x0, None, info


def _level_stats(d: Tensor) -> dict:
    """Mean ± SEM over trials of one level's distances ``d`` (N, T+1), every trace, and
    the minimum of the mean curve, its t* and the final value."""
    mean, sem = mean_sem(d)
    t_star = int(mean.argmin())
    per_trial = d.min(1).values
    return {"mean": _rounded(mean, 4), "sem": _rounded(sem, 4), "traces": _rounded(d, 3),
            "min": round(float(mean[t_star]), 5), "t": t_star,
            "final": round(float(mean[-1]), 5),
            "trial_min": {"mean": round(float(per_trial.mean()), 5),
                          "sem": round(float(per_trial.std() / len(per_trial) ** 0.5), 5)}}


def _reading(explorer: Explorer, last: Tensor, label: int) -> dict | None:
    """How many trials the classifier reads as ``label`` at t = T (the last frames)."""
    if explorer.classifier is None:
        return None
    read = predict_proba(explorer.classifier, last).argmax(1)
    counts = torch.bincount(read, minlength=max(explorer.classes) + 1)
    return {"label": label, "as_label": int((read == label).sum()), "of": int(read.numel()),
            "most": int(counts.argmax())}


def _one_model(explorer: Explorer, k: int, x0: Tensor, rows: Tensor | None, clean, info: dict,
               req: AverageRequest) -> dict:
    e, b = explorer.models[k], req.base
    traj = run_dynamics(e.model, x0, steps=b.steps, mode=b.mode, record_x="all",
                        generator=b.seed + 1)
    if rows is not None:
        targets = {"memory": e.hierarchy.memories[rows], "concept": e.hierarchy.concept(b.label),
                   "abstract": e.hierarchy.abstract, "memory_row": None,
                   "memory_source": "own", "label": b.label, "label_source": "data"}
    else:
        targets = _targets(e, clean, info, _drawn_label(explorer, clean, info, b))
    levels = {lv: _level_stats(distance_to(traj.z, targets[lv])) for lv in LEVELS}
    mean_x = traj.x.mean(0)  # (T+1, ...) the mean image over the trials at every t
    ends = nearest_memories(e, traj.z[:, -1])
    own = None if rows is None else sum(int(x["row"] == int(r)) for x, r in zip(ends, rows))
    end = {"own_memory": own, "label": sum(int(x["label"] == targets["label"]) for x in ends),
           "of": len(ends)}
    return {"model": k, "name": e.name, "frames": pixels_b64(mean_x), "levels": levels,
            "end": end,
            "map": _rounded(e.map.project(traj.z.mean(0)), 4),
            "reading": _reading(explorer, traj.x[:, -1], targets["label"]),
            **{key: targets[key] for key in ("memory_row", "memory_source", "label",
                                             "label_source")}}


def _drawn_label(explorer: Explorer, clean: Tensor, info: dict, b) -> int | None:
    if info["source"] == "drawn" and b.label is None and explorer.classifier is not None:
        return int(predict_proba(explorer.classifier, clean[None]).argmax(1)[0])
    return None


def average_payload(explorer: Explorer, req: AverageRequest) -> dict:
    """``POST /api/average``: N trials of one setting through every chosen model."""
    t0 = time.perf_counter()
    b = req.base
    with explorer.lock:
        x0, rows, info = _inputs(explorer, req)
        clean = None
        if rows is None:
            clean = (b.pixels if b.source == "drawn" else
                     lookup(explorer, b.source, b.label, b.index)[1])
        results = [_one_model(explorer, k, x0, rows, clean, info, req) for k in b.models]
    return {
        "request": {"source": b.source, "label": b.label,
                    "index": None if req.vary == "images" else b.index, "noise": b.noise,
                    "p": b.p, "mode": b.mode, "steps": b.steps, "seed": b.seed,
                    "models": list(b.models), "trials": req.trials, "vary": req.vary},
        "input": {**info, "shape": list(explorer.data.image_shape),
                  "rows": None if rows is None else rows.tolist(),
                  "clean": None if clean is None else pixels_b64(clean),
                  "corrupted": pixels_b64(x0[0])},
        "steps": b.steps, "trials": req.trials, "results": results,
        "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1),
    }
