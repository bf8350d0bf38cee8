"""The explorer's typed requests: limits, and the validation of every request.

Each request is checked here before any computation; a bad one raises
:class:`BadRequest` carrying the HTTP status (400 malformed, 404 no such image,
413 too large, 422 a value out of range) and one line saying what is wrong. Nothing
in a request is ever used as a path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics import MODES
from latentdyn.errors import ConfigError

MAX_STEPS = 200  # the largest T a request may ask for
MAX_SEED = 2**31 - 1  # seeds are integers in [0, MAX_SEED] (exact in JavaScript too)
MAX_INT = 2**31 - 1  # labels and indices lie in [-MAX_INT - 1, MAX_INT]; larger ones are
#                      refused without being echoed back in full
MAX_BODY_BYTES = 1_000_000  # a drawn 28x28 image as JSON is about 10 kB
SPLITS = ("train", "test")
SOURCES = (*SPLITS, "drawn")
DEFAULTS = {"noise": "swap", "p": 0.2, "mode": "deterministic", "steps": 80, "seed": 0}
TRAJECTORY_KEYS = {"source", "label", "index", "pixels", "noise", "p", "mode", "steps", "seed",
                   "models"}


class BadRequest(ConfigError):
    """A request the explorer refuses: ``status`` is its HTTP status code."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ImageRequest:
    """One image of the data set: the ``index``-th of ``label`` in ``split``."""

    split: str
    label: int
    index: int


@dataclass(frozen=True)
class TrajectoryRequest:
    """Repeated inference for one input (see ``docs/explore.md`` for the JSON)."""

    source: str  # "train", "test" or "drawn"
    label: int | None  # the image's label (for "drawn": optional, given by the user)
    index: int | None  # the index-th image of the label in the split (not for "drawn")
    pixels: torch.Tensor | None  # (D,) the drawn image, values in [0, 1] (only "drawn")
    noise: str
    p: float
    mode: str
    steps: int
    seed: int
    models: tuple[int, ...]  # which of the loaded models, in order


def _int(value: Any, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not value.is_integer()):
        raise BadRequest(f"{name} must be an integer, got {_show(value)}", 400)
    value = int(value)
    if hi is not None and not lo <= value <= hi:
        raise BadRequest(f"{name} must be in {lo}..{hi}, got {_show(value)}")
    if value < lo:
        raise BadRequest(f"{name} must be at least {lo}, got {_show(value)}")
    if value > MAX_INT:
        raise BadRequest(f"{name} must be at most {MAX_INT}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    """``value`` for a message, at most 40 characters (a 300-digit number is not echoed)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"a number of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _choice(value: Any, name: str, choices) -> str:
    if value not in choices:
        raise BadRequest(f"unknown {name} {_show(value)}; choose from {', '.join(choices)}")
    return value


def parse_p(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"p must be a number in [0, 1], got {_show(value)}", 400)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise BadRequest(f"p must be in [0, 1], got {value}")
    return float(value)


def parse_pixels(value: Any, dim: int, shape: tuple[int, ...]) -> torch.Tensor:
    """A drawn image: a flat list of ``dim`` numbers in [0, 1]."""
    size = "x".join(map(str, shape))
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise BadRequest(f"pixels must be a list of {dim} numbers in [0, 1] (a {size} image, "
                         "row by row)", 400)
    if len(value) != dim:
        raise BadRequest(f"pixels has {len(value)} values but the models take {dim} "
                         f"(a {size} image)")
    x = torch.tensor(value, dtype=torch.float64)
    if not bool(torch.isfinite(x).all()) or float(x.min()) < 0 or float(x.max()) > 1:
        raise BadRequest("pixels must be finite numbers in [0, 1]")
    return x.float()


def parse_image_query(query: Mapping[str, str], classes: list[int]) -> ImageRequest:
    """``?split=train&label=6&index=0`` (split defaults to train, index to 0)."""
    unknown = set(query) - {"split", "label", "index"}
    if unknown:
        raise BadRequest(f"unknown parameter {sorted(unknown)[0]!r}; /api/image takes split, "
                         "label and index", 400)
    split = _choice(query.get("split", "train"), "split", SPLITS)
    if "label" not in query:
        raise BadRequest("label is required (one of the data set's classes)", 400)
    label = _int(_number(query["label"], "label"), "label", -(2**31))
    index = _int(_number(query.get("index", "0"), "index"), "index", 0)
    if label not in classes:
        raise BadRequest(f"unknown label {label}; the classes are {classes}", 404)
    return ImageRequest(split, label, index)


def _number(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {_show(text)}", 400) from None


def parse_trajectory(body: Any, *, n_models: int, dim: int, shape: tuple[int, ...],
                     classes: list[int]) -> TrajectoryRequest:
    """Validate the JSON body of ``POST /api/trajectory``."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", 400)
    unknown = set(body) - TRAJECTORY_KEYS
    if unknown:
        raise BadRequest(f"unknown field {sorted(unknown)[0]!r}; the fields are "
                         f"{', '.join(sorted(TRAJECTORY_KEYS))}", 400)
    b = {**DEFAULTS, "source": "train", **body}
    source = _choice(b["source"], "source", SOURCES)
    label = b.get("label")
    if label is not None:
        label = _int(label, "label", -(2**31))
        if label not in classes:
            raise BadRequest(f"unknown label {label}; the classes are {classes}", 404)
    index, pixels = None, None
    if source == "drawn":
        if b.get("index") is not None:
            raise BadRequest("a drawn image takes no index", 400)
        if "pixels" not in b:
            raise BadRequest("a drawn image needs pixels", 400)
        pixels = parse_pixels(b["pixels"], dim, shape)
    else:
        if "pixels" in b:
            raise BadRequest(f"pixels are only for source 'drawn', not {source!r}", 400)
        if label is None:
            raise BadRequest(f"label is required for source {source!r}", 400)
        index = _int(b.get("index", 0), "index", 0)
    models = b.get("models", list(range(n_models)))
    if not isinstance(models, list) or not models:
        raise BadRequest("models must be a non-empty list of model ids", 400)
    models = tuple(_int(m, "model id", 0, n_models - 1) for m in models)
    if len(set(models)) != len(models):
        raise BadRequest("models lists a model twice", 400)
    return TrajectoryRequest(
        source=source, label=label, index=index, pixels=pixels,
        noise=_choice(b["noise"], "noise", NOISE_KINDS), p=parse_p(b["p"]),
        mode=_choice(b["mode"], "mode", MODES), steps=_int(b["steps"], "steps", 0, MAX_STEPS),
        seed=_int(b["seed"], "seed", 0, MAX_SEED), models=models)


def limits() -> dict:
    """What ``/api/model`` tells the page about the requests it may make."""
    return {"max_steps": MAX_STEPS, "max_seed": MAX_SEED, "noise_kinds": list(NOISE_KINDS),
            "modes": list(MODES), "defaults": dict(DEFAULTS), "sources": list(SOURCES),
            "max_trials": MAX_TRIALS, "vary": list(VARY),
            "average_defaults": dict(AVERAGE_DEFAULTS)}


MAX_TRIALS = 200  # the most trials one averaged request may ask for
VARY = ("images", "noise")
AVERAGE_DEFAULTS = {"trials": 50, "vary": "images"}


@dataclass(frozen=True)
class AverageRequest:
    """N trials of one setting (``POST /api/average``): ``vary="images"`` starts them
    from ``trials`` training images of ``label`` drawn with ``seed`` (exactly the trials
    of ``latentdyn dynamics --label``), ``vary="noise"`` from the one chosen input under
    ``trials`` independent corruptions."""

    base: TrajectoryRequest
    trials: int
    vary: str


def parse_average(body: Any, **shape) -> AverageRequest:
    """Validate the JSON body of ``POST /api/average``: the fields of
    ``/api/trajectory`` plus ``trials`` (2..MAX_TRIALS) and ``vary``."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", 400)
    rest = {k: v for k, v in body.items() if k not in AVERAGE_DEFAULTS}
    b = {**AVERAGE_DEFAULTS, **body}
    trials = _int(b["trials"], "trials", 2, MAX_TRIALS)
    vary = _choice(b["vary"], "vary", VARY)
    if vary == "images":
        if rest.get("source", "train") != "train":
            raise BadRequest("vary 'images' draws training images; for a test or drawn "
                             "image use vary 'noise'", 400)
        rest.setdefault("index", 0)
    base = parse_trajectory(rest, **shape)
    return AverageRequest(base, trials, vary)
