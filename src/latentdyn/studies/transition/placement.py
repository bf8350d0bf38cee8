"""Where a trained model sits on the transition map: its data size and optimiser steps
against τ_concept and τ_mem of a ``latentdyn transition`` result (``transition.json``),
in words, for the reports of other studies (``reproduce nagano2017``)."""

from __future__ import annotations

import math
from pathlib import Path

from latentdyn.studies.transition import DEFAULT_OUT


def _tau_at(times: dict, alpha, n: int):
    """τ at ``n`` from the nearest measured size (in log n), scaled by n^α when a law was
    fitted; None when that size's τ is beyond the grid."""
    sizes = [int(k) for k, v in times.items() if v.get("tau") is not None]
    if not sizes:
        return None, None
    near = min(sizes, key=lambda m: abs(math.log(m / n)))
    tau = times[str(near)]["tau"]
    if alpha is not None and near != n:
        tau *= (n / near) ** alpha
    return tau, near


def placement(n_train: int, steps: int, result: dict, dataset: str | None = None) -> str:
    """One paragraph: the model of ``n_train`` images and ``steps`` optimiser steps on
    the map of ``result`` (a transition.json)."""
    settings = result.get("by_setting") or {}
    if not settings:
        return "The transition result holds no setting."
    name = next((k for k in settings if dataset and k.split("|")[0] == dataset),
                next(iter(settings)))
    found = settings[name]
    words = [f"This model saw {n_train} training images for {steps} optimiser steps. "
             f"On the transition map ({name}):"]
    where = []
    for kind in ("concept", "memory"):
        tag = {"concept": "τ_concept", "memory": "τ_mem"}[kind]
        alpha = (found.get("alpha", {}).get(kind) or {}).get("alpha")
        tau, near = _tau_at(found["times"][kind], alpha, n_train)
        if tau is None:
            words.append(f"{tag} lies beyond the map's grid at every size.")
            continue
        how = f"measured at n = {near}" + (f", scaled by n^{alpha:.2f}" if alpha is not None
                                            and near != n_train else "")
        words.append(f"{tag} ≈ {tau:.3g} steps ({how}).")
        where.append((kind, steps >= tau))
    state = dict(where)
    if state.get("memory"):
        words.append("It was trained past the time at which memories take over.")
    elif state.get("concept"):
        words.append("It sits in the concept window: after τ_concept, before τ_mem.")
    elif "concept" in state:
        words.append("It was trained for less than τ_concept.")
    return " ".join(words)


def find_result(given=None) -> dict | None:
    """The transition result at ``given`` (a folder or its transition.json), else at the
    default output folder when present; None when there is none."""
    from latentdyn.io import read_json

    path = Path(given) if given is not None else Path(DEFAULT_OUT)
    path = path / "transition.json" if path.is_dir() or path.suffix != ".json" else path
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["find_result", "placement"]
