"""Latent codes: which parts of a latent a model declares, and which it was trained to
make informative (the *chosen* codes of Serdega & Kim 2020).

A latent z is ``n_gauss`` Gaussian units, followed (in models with one) by the one-hot
of one ``n_cat``-way categorical unit. Codes are named ``z0``, ``z1``, ... and ``cat``.
A model declares its codes with a ``code_spec()`` method returning a :class:`CodeSpec`;
:func:`code_spec` reads that declaration (or, for a model without one, its documented
attributes ``n_gauss`` / ``nz``, ``n_cat`` and ``chosen_codes``, else the width of
``encode``), so no analysis needs to know a model class. :func:`categorical_accuracy` and
:func:`majority_mapping` read a discrete code as labels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch

from latentdyn.errors import ConfigError

CAT = "cat"
GAUSS_ENTROPY = 0.5 * math.log(2 * math.pi * math.e)  # h(N(0, 1)) in nats


@dataclass(frozen=True)
class CodeSpec:
    """``n_gauss`` Gaussian units, then (``n_cat`` > 0) one categorical unit as a
    one-hot; ``chosen``: the code names the model was trained to make informative
    (None: it declares none)."""

    n_gauss: int
    n_cat: int = 0
    chosen: tuple[str, ...] | None = None

    @property
    def width(self) -> int:
        """Width of the full latent decode() accepts: n_gauss + n_cat."""
        return self.n_gauss + self.n_cat


def _positive_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def code_spec(model, images=None) -> CodeSpec:
    """The codes of ``model``: its ``code_spec()``, else its ``n_gauss`` (or ``nz``),
    ``n_cat`` and ``chosen_codes`` attributes, else the width of ``encode`` on one of
    ``images``."""
    own = getattr(model, "code_spec", None)
    if callable(own):
        return own()
    n_cat = int(getattr(model, "n_cat", 0) or 0)
    chosen = getattr(model, "chosen_codes", None)
    chosen = tuple(chosen) if isinstance(chosen, (list, tuple)) else None
    for attr in ("n_gauss", "nz"):
        v = getattr(model, attr, None)
        if _positive_int(v):
            return CodeSpec(v, n_cat, chosen)
    if images is None:
        raise ConfigError(f"{type(model).__name__} declares no n_gauss or nz; pass images "
                          "so the latent width can be read from encode()")
    from latentdyn.models.inference import inference_mode
    from latentdyn.models.protocol import latent_mean, model_device

    with inference_mode(model):
        z = latent_mean(model, torch.as_tensor(images)[:1].to(model_device(model)))
    return CodeSpec(int(z.shape[-1]), n_cat, chosen)


def parse_codes(spec, n_gauss: int, n_cat: int) -> tuple[tuple[int, ...], bool]:
    """The chosen codes as ``(Gaussian unit indices, categorical chosen?)``.

    ``spec``: ``"auto"`` (the categorical unit when there is one, else Gaussian units
    0 and 1 — the paper's MNIST setting), ``"all"`` (every unit), ``"none"``, or a
    comma-separated list of unit indices, ``a-b`` ranges and ``cat``, e.g.
    ``"cat,0,1"``; also an int or a list of those tokens.
    """
    if isinstance(spec, bool):
        raise ConfigError(f"codes must name latent units, got {spec!r}")
    if isinstance(spec, int):
        tokens = [str(spec)]
    elif isinstance(spec, (list, tuple)):
        tokens = [str(t) for t in spec]
    elif isinstance(spec, str):
        tokens = [t.strip() for t in spec.split(",") if t.strip()]
    else:
        raise ConfigError(f"codes must be a string such as 'cat,0,1', got {spec!r}")
    if tokens == ["auto"]:
        return ((), True) if n_cat > 0 else (tuple(range(min(2, n_gauss))), False)
    if tokens == ["all"]:
        return tuple(range(n_gauss)), n_cat > 0
    if tokens in (["none"], []):
        return (), False
    units: set[int] = set()
    use_cat = False
    for tok in tokens:
        if tok.lower() in (CAT, "c", "categorical"):
            if n_cat <= 0:
                raise ConfigError("codes name the categorical unit but the model has none "
                                  "(n_cat = 0)")
            use_cat = True
            continue
        m = re.fullmatch(r"(?:g|z)?(\d+)(?:-(\d+))?", tok)
        if not m:
            raise ConfigError(f"bad code {tok!r}; use unit indices (0,1 or 0-3), 'cat', "
                              "'auto', 'all' or 'none'")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo or hi >= n_gauss:
            raise ConfigError(f"code {tok!r} is outside the Gaussian units 0..{n_gauss - 1}")
        units.update(range(lo, hi + 1))
    return tuple(sorted(units)), use_cat


def format_codes(units, use_cat: bool) -> str:
    """The canonical spelling of chosen codes, e.g. ``"0,1,cat"`` (``"none"`` if empty)."""
    parts = [str(u) for u in units] + ([CAT] if use_cat else [])
    return ",".join(parts) if parts else "none"


def code_names(units, use_cat: bool) -> list[str]:
    """Display names: ``z0``, ``z1``, …, ``cat``."""
    return [f"z{u}" for u in units] + ([CAT] if use_cat else [])


# ------------------------------------------------------------------ code statistics
def categorical_accuracy(codes, labels, n_codes: int | None = None) -> float:
    """Unsupervised accuracy of a discrete code: each code value is mapped to its
    majority label among the given rows, then the fraction of rows labelled right."""
    codes = torch.as_tensor(codes).long().cpu().reshape(-1)
    labels = torch.as_tensor(labels).long().cpu().reshape(-1)
    if codes.shape != labels.shape:
        raise ConfigError(f"{codes.numel()} codes but {labels.numel()} labels")
    if codes.numel() == 0:
        return float("nan")
    _, codes = torch.unique(codes, return_inverse=True)  # only the values that occur:
    _, labels = torch.unique(labels, return_inverse=True)  # labels may be any integers
    table = torch.zeros(int(codes.max()) + 1, int(labels.max()) + 1, dtype=torch.int64)
    table.index_put_((codes, labels), torch.ones_like(codes), accumulate=True)
    return float(table.max(1).values.sum()) / codes.numel()


def majority_mapping(codes, labels, n_codes: int) -> list[int]:
    """The majority label of each code value (-1 for a value never used)."""
    codes = torch.as_tensor(codes).long().cpu().reshape(-1)
    labels = torch.as_tensor(labels).long().cpu().reshape(-1)
    table = torch.zeros(n_codes, int(labels.max()) + 1, dtype=torch.int64)
    table.index_put_((codes, labels), torch.ones_like(codes), accumulate=True)
    best = table.argmax(1)
    best[table.sum(1) == 0] = -1
    return best.tolist()
