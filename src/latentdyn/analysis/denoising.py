"""Denoising metrics and the comparison core: the same corrupted images denoised by
several methods, scored by classifier accuracy and PSNR (and SSIM) against the clean
image.

* :func:`psnr`, :func:`ssim` -- per-image scores;
* :class:`Method` and its makers -- :func:`repeated_inference_method` (x(t) of the
  deterministic repeated inference), :func:`lsd_method` (LSD truncation, paper 004),
  :func:`input_method` (the corrupted input itself);
* :func:`compare_denoising` -- every method on the same corrupted copies, one row per
  (method, variant, noise, level); :func:`table_columns` and :func:`pivot` arrange the rows.

Conventions: every denoiser output is clipped to [0, 1] before it is scored; PSNR =
10 log10(1 / MSE) per image with the MSE floored at 1e-10 (at most 100 dB), averaged
over images (± SEM); SSIM uses a uniform 7×7 window (scikit-image's default) with
K1 = 0.01, K2 = 0.03. Each (noise, level) pair is corrupted once, from a seed derived
from (seed, noise, level) alone (:func:`corruption_seed`), and the same corrupted
images go to every method.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor

from latentdyn.analysis.lsd import DEFAULT_KS, QuasiEigenbasis, lsd_truncations
from latentdyn.errors import ConfigError
from latentdyn.models.inference import predict_labels

NOISES = ("swap", "flip", "salt_pepper", "gaussian")
FAMILIES = ("input", "vae-inference", "lsd-gan", "lsd-vae", "gan-inference")
PSNR_MAX_DB = 100.0
COLUMNS = ("family", "variant", "method", "noise", "level", "n", "accuracy", "psnr",
           "psnr_sem", "mse", "ssim")


# ---------------------------------------------------------------------------- metrics
def psnr(x: Tensor, clean: Tensor, data_range: float = 1.0) -> Tensor:
    """(n,) PSNR in dB of each row of ``x`` against ``clean`` (MSE floored at 1e-10)."""
    mse = ((x.double() - clean.double()) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(data_range ** 2 / mse.clamp(min=1e-10))


def ssim(x: Tensor, clean: Tensor, image_shape: Sequence[int], window: int = 7,
         data_range: float = 1.0) -> Tensor:
    """(n,) mean SSIM of grey images (uniform ``window``×``window`` window, sample
    covariances, K1 = 0.01, K2 = 0.03; scikit-image's defaults)."""
    h, w = int(image_shape[-2]), int(image_shape[-1])
    if h < window or w < window:
        raise ConfigError(f"SSIM needs images of at least {window}×{window}, got {h}×{w}")
    a = x.double().reshape(-1, 1, h, w)
    b = clean.double().reshape(-1, 1, h, w)
    k = torch.full((1, 1, window, window), 1.0 / window ** 2, dtype=torch.float64)
    conv = lambda t: torch.nn.functional.conv2d(t, k)  # noqa: E731
    cov = window ** 2 / (window ** 2 - 1)
    ma, mb = conv(a), conv(b)
    va = cov * (conv(a * a) - ma * ma)
    vb = cov * (conv(b * b) - mb * mb)
    vab = cov * (conv(a * b) - ma * mb)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))
    return s.flatten(1).mean(1)


# -------------------------------------------------------------------------- methods
@dataclass
class Method:
    """A denoiser family: ``fn(x_corrupted (n, D)) -> {variant: x_hat (n, D)}``."""

    family: str
    fn: Callable[[Tensor], Mapping[str, Tensor]]
    description: str = ""


def repeated_inference_method(model, steps: Iterable[int] = (1, 5, 20),
                              family: str = "vae-inference", chunk_size: int = 2048) -> Method:
    """x(t) of the deterministic repeated inference (paper 001, eqs. 6-7) after each t
    in ``steps``: t = 1 is one encode-decode pass."""
    from latentdyn.dynamics import run_dynamics

    steps = sorted({int(t) for t in steps})
    if not steps or steps[0] < 1:
        raise ConfigError(f"repeated-inference steps must be >= 1, got {steps}")

    def fn(x: Tensor) -> dict[str, Tensor]:
        traj = run_dynamics(model, x, steps=steps[-1], mode="deterministic", record_x=steps,
                            chunk_size=chunk_size)
        return {f"t={t}": traj.x_at(t) for t in steps}

    return Method(family, fn, f"x(t) of the deterministic repeated inference, t ∈ {steps}")


def lsd_method(model, basis: QuasiEigenbasis, ks: Iterable[int] = DEFAULT_KS,
               family: str = "lsd-gan", batch_size: int = 1000) -> Method:
    """decode(z_k), z_k keeping the k largest |c_i| of z = E(x) (paper 004)."""
    ks = sorted({int(k) for k in ks})
    bad = [k for k in ks if not 1 <= k <= basis.nz]
    if bad:
        raise ConfigError(f"LSD k must lie in [1, {basis.nz}], got {bad}")

    def fn(x: Tensor) -> dict[str, Tensor]:
        out = lsd_truncations(model, basis, x, ks, batch_size)
        return {f"k={k}": out[k] for k in ks}

    return Method(family, fn, f"LSD truncation to the k largest coefficients, k ∈ {ks}")


def input_method() -> Method:
    """The corrupted input itself (no denoising)."""
    return Method("input", lambda x: {"": x}, "the corrupted input, not denoised")


def _as_method(name: str, m) -> Method:
    if isinstance(m, Method):
        return m
    if callable(m):
        def fn(x, _m=m):
            out = _m(x)
            return out if isinstance(out, Mapping) else {"": out}
        return Method(name, fn)
    raise ConfigError(f"method {name!r} must be a Method or a callable x -> x_hat")


def corruption_seed(seed: int, noise: str, level: float) -> int:
    """The seed of the (noise, level) corruption: a function of these three alone."""
    return (int(seed) * 1_000_003 + zlib.crc32(f"{noise}:{float(level):.9g}".encode())) % (2 ** 63)


# ----------------------------------------------------------------------- the core
def _checked(clean, labels, classifier, noises, levels, batch_size):
    from latentdyn.data.corruption import NOISE_KINDS

    clean = torch.as_tensor(clean)
    if clean.dim() < 2 or clean.shape[0] == 0:
        raise ConfigError(f"clean must be a non-empty batch (n, D), got {tuple(clean.shape)}")
    clean = clean.reshape(clean.shape[0], -1).float()
    n = clean.shape[0]
    if labels is not None:
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.shape[0] != n:
            raise ConfigError(f"clean has {n} rows but labels has {labels.shape[0]}")
    if classifier is not None and labels is None:
        raise ConfigError("classifier accuracy needs the labels of the clean images")
    bad = [k for k in noises if k not in NOISE_KINDS]
    if bad:
        raise ConfigError(f"unknown noise kind(s) {bad}; choose from {', '.join(NOISE_KINDS)}")
    levels = [float(p) for p in levels]
    if not levels or not noises:
        raise ConfigError("give at least one noise kind and one level")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    return clean, labels, levels, batch_size


def _score(x_hat: Tensor, ref: Tensor, lab: Tensor | None, classifier, batch_size: int,
           image_shape) -> dict[str, Tensor]:
    """Per-image scores of outputs ``x_hat`` against the clean ``ref`` (clipped first)."""
    x_hat = x_hat.reshape(ref.shape[0], -1).float().clamp(0.0, 1.0)
    out = {"psnr": psnr(x_hat, ref), "mse": ((x_hat.double() - ref.double()) ** 2).mean(1)}
    if classifier is not None:
        out["correct"] = (predict_labels(classifier, x_hat, batch_size) == lab).double()
    if image_shape is not None:
        out["ssim"] = ssim(x_hat, ref, image_shape)
    return out


def _row(family: str, variant: str, noise: str, level: float, parts: list[dict]) -> dict:
    """One table row from the per-batch scores of one (method, variant, noise, level)."""
    cat = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    m = cat["psnr"].numel()
    return {
        "family": family, "variant": variant,
        "method": f"{family} {variant}".strip(),
        "noise": noise, "level": level, "n": m,
        "accuracy": float(cat["correct"].mean()) if "correct" in cat else float("nan"),
        "psnr": float(cat["psnr"].mean()),
        "psnr_sem": float(cat["psnr"].std() / math.sqrt(m)) if m > 1 else float("nan"),
        "mse": float(cat["mse"].mean()),
        "ssim": float(cat["ssim"].mean()) if "ssim" in cat else float("nan"),
    }


def _one_setting(meths: Mapping[str, Method], noisy: Tensor, clean: Tensor, labels, score,
                 batch_size: int, ex: dict, n_examples: int) -> dict:
    """Scores of every method on one corrupted copy; fills ``ex`` with example outputs."""
    parts: dict[tuple[str, str], list[dict]] = {}
    for s in range(0, clean.shape[0], batch_size):
        xb, cb = noisy[s:s + batch_size], clean[s:s + batch_size]
        lb = None if labels is None else labels[s:s + batch_size]
        for name, meth in meths.items():
            for variant, x_hat in meth.fn(xb).items():
                x_hat = torch.as_tensor(x_hat).detach().cpu()
                parts.setdefault((name, variant), []).append(score(x_hat, cb, lb))
                if ex and s == 0 and name != "input":  # "corrupted" is the input
                    key = f"{name} {variant}".strip()
                    ex[key] = x_hat.reshape(xb.shape[0], -1)[:n_examples].float().clamp(0, 1)
    return parts


def compare_denoising(methods: Mapping[str, Any], classifier, clean: Tensor, labels: Tensor | None,
                      noises: Sequence[str] = NOISES, levels: Sequence[float] = (0.1, 0.3, 0.5),
                      *, seed: int = 0, batch_size: int = 500,
                      image_shape: Sequence[int] | None = None, include_input: bool = True,
                      examples: dict | None = None, n_examples: int = 0,
                      scores: dict | None = None, progress: bool = False) -> list[dict]:
    """Score every method on the same corrupted copies of ``clean`` (n, D) in [0, 1].

    ``methods``: name -> :class:`Method` (or a callable x -> x_hat or -> {variant: x_hat});
    the name is the row's ``family``. ``classifier``: anything
    :func:`latentdyn.models.inference.predict_labels` accepts, or ``None`` (accuracy left
    as NaN). ``image_shape`` (H, W): also compute SSIM. ``examples``: a dict to fill with
    the first ``n_examples`` images per (noise, level): ``{(noise, level): {"clean",
    "corrupted", method: image}}``. ``scores``: a dict to fill with the per-image scores
    behind each row, ``{(family, variant, noise, level): {"psnr", "mse", ["correct"],
    ["ssim"]: (n,) float64 arrays}}`` (image i is the same clean image in every entry,
    so differences between entries are paired), for intervals over images.

    Returns one row (dict with :data:`COLUMNS`) per (family, variant, noise, level),
    after a reference row for the clean images (family ``clean``, noise ``none``).
    """
    from tqdm.auto import tqdm

    from latentdyn.data.corruption import corrupt

    clean, labels, levels, batch_size = _checked(clean, labels, classifier, noises, levels,
                                                 batch_size)
    n = clean.shape[0]
    meths = {name: _as_method(name, m) for name, m in methods.items()}
    if include_input and "input" not in meths:
        meths = {"input": input_method(), **meths}

    def score(x_hat, ref, lab):
        return _score(x_hat, ref, lab, classifier, batch_size, image_shape)

    ref_parts = [score(clean[s:s + batch_size], clean[s:s + batch_size],
                       None if labels is None else labels[s:s + batch_size])
                 for s in range(0, n, batch_size)]
    rows = [_row("clean", "", "none", 0.0, ref_parts)]
    combos = [(k, p) for k in noises for p in levels]
    for noise, level in tqdm(combos, disable=not progress, desc="denoise", unit="setting"):
        gen = torch.Generator().manual_seed(corruption_seed(seed, noise, level))
        noisy = corrupt(clean, noise, level, gen)
        ex: dict[str, Tensor] = {}
        if examples is not None and n_examples > 0:
            ex = {"clean": clean[:n_examples].clone(), "corrupted": noisy[:n_examples].clone()}
        parts = _one_setting(meths, noisy, clean, labels, score, batch_size, ex, n_examples)
        for (name, variant), ps in parts.items():
            rows.append(_row(name, variant, noise, level, ps))
            if scores is not None:
                scores[(name, variant, noise, level)] = {
                    k: torch.cat([p[k] for p in ps]).double().numpy() for k in ps[0]}
        if ex:
            examples[(noise, level)] = ex
    return rows


# ------------------------------------------------------------------------- tables
def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.{digits}g}" if abs(v) < 1e-3 else f"{v:.{digits}f}"
    return str(v)


def table_columns(rows: Sequence[dict]) -> dict[str, list]:
    """The rows as CSV columns (name -> list)."""
    return {c: [r[c] for r in rows] for c in COLUMNS}


def pivot(rows: Sequence[dict], noise: str) -> tuple[list[float], list[tuple[str, dict]]]:
    sel = [r for r in rows if r["noise"] == noise]
    levels = sorted({r["level"] for r in sel})
    methods: dict[str, dict] = {}
    for r in sel:
        methods.setdefault(r["method"], {})[r["level"]] = r
    return levels, list(methods.items())


