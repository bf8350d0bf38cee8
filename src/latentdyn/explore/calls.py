"""The explorer's two computations as Python calls, with the fields of the JSON API:

    from latentdyn.explore import load_explorer, trajectory, average
    ex = load_explorer(["runs/vae"], "runs/clf")
    one = trajectory(ex, source="train", label=6, index=0, p=0.2, steps=80, seed=0)
    many = average(ex, label=6, p=0.2, steps=80, seed=0, trials=50, vary="images")

Each returns exactly what ``POST /api/trajectory`` or ``POST /api/average`` answers
(the page shows the call that reproduces its view); a bad field raises
:class:`~latentdyn.explore.schema.BadRequest` (a ``ConfigError``) with the same line.
"""

from __future__ import annotations

from latentdyn.explore.state import Explorer


def request_shape(explorer: Explorer) -> dict:
    """What the request validation needs to know about the served models and data."""
    data = explorer.data
    return {"n_models": len(explorer.models), "dim": data.dim, "shape": data.image_shape,
            "classes": explorer.classes}


def trajectory(explorer: Explorer, **fields) -> dict:
    """One input through repeated inference in the chosen models (``/api/trajectory``)."""
    from latentdyn.explore.compute import trajectory_payload
    from latentdyn.explore.schema import parse_trajectory

    fields = _pixels_as_list(fields)
    return trajectory_payload(explorer, parse_trajectory(fields, **request_shape(explorer)))


def average(explorer: Explorer, **fields) -> dict:
    """N trials of one setting, mean ± SEM and every trace (``/api/average``)."""
    from latentdyn.explore.averages import average_payload
    from latentdyn.explore.schema import parse_average

    fields = _pixels_as_list(fields)
    return average_payload(explorer, parse_average(fields, **request_shape(explorer)))


def _pixels_as_list(fields: dict) -> dict:
    pixels = fields.get("pixels")
    if hasattr(pixels, "tolist"):  # a tensor or array from Python
        fields = {**fields, "pixels": [float(v) for v in pixels.reshape(-1).tolist()]}
    return fields
