"""What ``latentdyn transition`` measures at one snapshot of one model (issue 20), by the
rules of issue 19 (none written a second time here):

* the C1 dip: ``trials`` corrupted training images per label at p = ``p_dip``, their
  distance to their concept over T steps; per label the selection-free rule
  (:func:`latentdyn.analysis.distances.split_dip`), its depth and t*, and the labels
  whose trajectories end nearer their concept than they started. The per-trial
  distances are kept, so that the times of :mod:`.law` can be resampled;
* where those trajectories end (:func:`latentdyn.analysis.capture.classify_ends`, each
  level against its own capture radius): own memory, another memory, own concept,
  another concept, the abstract concept, none; the own-memory share's chance level;
* the held-out baseline: ``trials`` corrupted *test* images per label run the same way;
  a trajectory *returns* when it ends within the memory capture radius of the clean
  encoding of its own start image. Training images return to their own memory when the
  model memorises them; a held-out image has no memory of its own, so its return share
  is what generalisation alone gives. ``memorisation`` = return share of training
  starts − that of held-out starts (the statistic :mod:`.law` reads τ_mem from);
* the train and test ELBO (at most ``elbo_images`` of each) and their gap, and the
  active units;
* the local stability at memories and concepts: the share of measured memories at
  which the latent map contracts, those that are attracting fixed points, and the
  spectral radius at the concepts (:func:`latentdyn.analysis.attractors.memory_stability`).
"""

from __future__ import annotations

import numpy as np
import torch

from latentdyn.analysis import active_units, distance_to
from latentdyn.analysis.attractors import DEDUP_FACTOR, memory_stability
from latentdyn.analysis.capture import END_LEVELS, classify_ends, hierarchy_scale
from latentdyn.analysis.distances import split_dip
from latentdyn.analysis.trials import corrupted_trials
from latentdyn.dynamics import run_dynamics
from latentdyn.models.inference import encode_all

TRIAL_SEED, HELD_OUT_SEED, STABILITY_SEED = 101, 7001, 77
TOL = 1e-3  # a fixed point: a step below this fraction of the latent scale


def _trials(images, labels, classes, n, noise, p, seed):
    parts = [corrupted_trials(images, labels, c, n, noise, p, seed + TRIAL_SEED * (c + 1))
             for c in classes]
    idx = torch.cat([i for i, _ in parts])
    return idx, torch.cat([x for _, x in parts]), [x.shape[0] for _, x in parts]


def _elbo(model, x, n: int, seed: int) -> float | None:
    elbo = getattr(model, "elbo", None)
    if not callable(elbo):
        return None
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(x.shape[0], generator=gen)[:n].sort().values
    with torch.no_grad():
        return float(elbo(x[pick], generator=gen).double().mean())


def dip_arrays(z, hier, idx, sizes) -> np.ndarray | None:
    """Per-trial distances to the own concept, (trials, G, T+1) when every label has
    the same number of trials (None otherwise)."""
    if len(set(sizes)) != 1:
        return None
    labels = hier.labels[idx]
    d = distance_to(z, hier.concepts_for(labels))  # (n, T+1)
    return d.double().numpy().reshape(len(sizes), sizes[0], -1).transpose(1, 0, 2)


def snapshot_stats(model, hier, data, prof, seed: int) -> dict:
    """Every statistic of the module doc for ``model`` with hierarchy ``hier`` of the
    training set ``data`` (its test set the held-out images); ``prof``: trials, steps,
    p_dip, noises[0], memories, and ``elbo_images``."""
    classes = [int(c) for c in hier.classes]
    noise, T = prof.noises[0], prof.steps
    scale = hierarchy_scale(hier, generator=seed)
    r_mem = scale.capture.memory
    idx, x0, sizes = _trials(data.train_images, data.train_labels, classes, prof.trials,
                             noise, prof.p_dip, seed)
    z = run_dynamics(model, x0, steps=T, generator=seed + 1).z
    d = dip_arrays(z, hier, idx, sizes)
    dip = split_dip(d) if d is not None else None
    ends = classify_ends(z[:, -1], hier, hier.labels[idx], idx, scale.capture)
    shares = ends.share()
    ret_train = (ends.d_own_memory <= r_mem).numpy()
    t_idx, t_x0, _ = _trials(data.test_images, data.test_labels, classes, prof.trials,
                             noise, prof.p_dip, seed + HELD_OUT_SEED)
    zt = run_dynamics(model, t_x0, steps=T, generator=seed + 2).z[:, -1]
    own_t = encode_all(model, data.test_images[t_idx]).double()
    ret_test = (torch.linalg.vector_norm(zt.double() - own_t, dim=1) <= r_mem).numpy()
    _, n_active = active_units(hier.memories)
    stab = memory_stability(model, hier, prof.memories,
                            fixed_tol=DEDUP_FACTOR * TOL * scale.scale,
                            generator=seed + STABILITY_SEED)
    e_train = _elbo(model, data.train_images, prof.elbo_images, seed + 3)
    e_test = _elbo(model, data.test_images, prof.elbo_images, seed + 4)
    out = {"classes": len(classes), "latent_scale": scale.scale, "memory_radius": r_mem,
           **{f"end_{k}": shares[k] for k in END_LEVELS},
           "own_memory_chance": ends.own_memory_chance(),
           "return_train": float(ret_train.mean()), "return_held_out": float(ret_test.mean()),
           "memorisation": float(ret_train.mean() - ret_test.mean()),
           "active_units": int(n_active), "contraction_share": stab.contraction_share,
           "fixed_attractor_share": stab.fixed_attractor_share,
           "concept_radius_median": float(stab.concept_radius.double().median()),
           "elbo_train": e_train, "elbo_test": e_test,
           "elbo_gap": None if e_train is None or e_test is None else e_train - e_test}
    if dip is not None:
        has = dip["has_dip"]
        out.update(dip_count=int(has.sum()), dip_fraction=float(has.mean()),
                   dip_depth_rel=float(np.nanmean(dip["depth"] / dip["d0"])),
                   t_star_median=float(np.median(dip["t_star"])),
                   below_start=int((dip["d_T"] < dip["d0"]).sum()),
                   dip_labels=" ".join(str(c) for c, h in zip(classes, has) if h))
    trials = {"dip": None if d is None else d.astype(np.float32).round(5).tolist(),
              "return_train": ret_train.astype(int).tolist(),
              "return_held_out": ret_test.astype(int).tolist()}
    return {"stats": out, "trials": trials}


__all__ = ["snapshot_stats", "dip_arrays"]
