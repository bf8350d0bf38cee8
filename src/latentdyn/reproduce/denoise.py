"""Denoising across model families (issue 6; SPEC §4): the same corrupted test images
denoised by

(a) the VAE's repeated inference, x(t) after t steps (``vae-inference``),
(b) LSD truncation in the GAN's latent space (``lsd-gan``),
(c) LSD truncation in the VAE's latent space (``lsd-vae``),
(d) nothing: the corrupted input itself (``input``),

optionally (e) repeated inference through the GAN and its encoder (``gan-inference``),
scored by classifier accuracy and PSNR (and SSIM) against the clean image. This
comparison exists in none of the papers.

The core is a plain function of tensors and callables, :func:`compare_denoising`;
:func:`run_comparison` loads the runs, writes the table (CSV + Markdown), the figures,
``report.html`` and ``manifest.json``; ``latentdyn compare denoise`` is a thin CLI on it.

Conventions (recorded in every result): every denoiser output is clipped to [0, 1],
the data range, before it is scored; PSNR = 10 log10(1 / MSE) per image with the MSE
floored at 1e-10 (at most 100 dB), averaged over images (± SEM); SSIM uses a uniform
7×7 window (scikit-image's default) with K1 = 0.01, K2 = 0.03, averaged over the valid
window positions. Each (noise, level) pair is corrupted once, from a seed derived from
(seed, noise, level) alone, and the same corrupted images go to every method.
"""

from __future__ import annotations

import html
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from latentdyn.errors import ConfigError
from latentdyn.analysis.lsd import DEFAULT_KS, QuasiEigenbasis, lsd_truncations
from latentdyn.models.inference import predict_labels

NOISES = ("swap", "flip", "salt_pepper", "gaussian")
FAMILIES = ("input", "vae-inference", "lsd-gan", "lsd-vae", "gan-inference")
FAMILY_TITLES = {
    "clean": "clean image (reference)",
    "input": "(d) corrupted input",
    "vae-inference": "(a) VAE repeated inference",
    "lsd-gan": "(b) LSD truncation, GAN",
    "lsd-vae": "(c) LSD truncation, VAE",
    "gan-inference": "(e) GAN+encoder repeated inference",
}
FAMILY_COLOURS = {"clean": "#555555", "input": "#111111", "vae-inference": "#1b4f8a",
                  "lsd-gan": "#c0392b", "lsd-vae": "#2e8b57", "gan-inference": "#8e44ad"}
PSNR_MAX_DB = 100.0
COLUMNS = ("family", "variant", "method", "noise", "level", "n", "accuracy", "psnr",
           "psnr_sem", "mse", "ssim")

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"n_test": 500, "noises": list(NOISES), "levels": [0.1, 0.3, 0.5],
              "steps": [1, 5, 20], "ks": list(DEFAULT_KS), "basis_images": 5000,
              "n_prior": 5000, "max_per_class": 500, "examples": 6},
    "paper": {"n_test": 10000, "noises": list(NOISES),
              "levels": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5], "steps": [1, 5, 20, 80],
              "ks": list(DEFAULT_KS), "basis_images": None, "n_prior": 50000,
              "max_per_class": 5000, "examples": 8},
}


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
def compare_denoising(methods: Mapping[str, Any], classifier, clean: Tensor, labels: Tensor | None,
                      noises: Sequence[str] = NOISES, levels: Sequence[float] = (0.1, 0.3, 0.5),
                      *, seed: int = 0, batch_size: int = 500,
                      image_shape: Sequence[int] | None = None, include_input: bool = True,
                      examples: dict | None = None, n_examples: int = 0,
                      progress: bool = False) -> list[dict]:
    """Score every method on the same corrupted copies of ``clean`` (n, D) in [0, 1].

    ``methods``: name -> :class:`Method` (or a callable x -> x_hat or -> {variant: x_hat});
    the name is the row's ``family``. ``classifier``: anything
    :func:`latentdyn.analysis.lsd.predict_labels` accepts, or ``None`` (accuracy left as NaN).
    ``image_shape`` (H, W): also compute SSIM. ``examples``: a dict to fill with the
    first ``n_examples`` images per (noise, level): ``{(noise, level): {"clean",
    "corrupted", method: image}}``.

    Returns one row (dict with :data:`COLUMNS`) per (family, variant, noise, level),
    after a reference row for the clean images (family ``clean``, noise ``none``).
    """
    from latentdyn.data.corruption import NOISE_KINDS, corrupt

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
    meths = {name: _as_method(name, m) for name, m in methods.items()}
    if include_input and "input" not in meths:
        meths = {"input": input_method(), **meths}

    def score(x_hat: Tensor, ref: Tensor, lab: Tensor | None) -> dict[str, Tensor]:
        x_hat = x_hat.reshape(ref.shape[0], -1).float().clamp(0.0, 1.0)
        out = {"psnr": psnr(x_hat, ref), "mse": ((x_hat.double() - ref.double()) ** 2).mean(1)}
        if classifier is not None:
            out["correct"] = (predict_labels(classifier, x_hat, batch_size) == lab).double()
        if image_shape is not None:
            out["ssim"] = ssim(x_hat, ref, image_shape)
        return out

    def row(family: str, variant: str, noise: str, level: float, parts: list[dict]) -> dict:
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

    ref_parts = [score(clean[s:s + batch_size], clean[s:s + batch_size],
                       None if labels is None else labels[s:s + batch_size])
                 for s in range(0, n, batch_size)]
    rows = [row("clean", "", "none", 0.0, ref_parts)]
    from tqdm.auto import tqdm

    combos = [(k, p) for k in noises for p in levels]
    for noise, level in tqdm(combos, disable=not progress, desc="denoise", unit="setting"):
        gen = torch.Generator().manual_seed(corruption_seed(seed, noise, level))
        noisy = corrupt(clean, noise, level, gen)
        parts: dict[tuple[str, str], list[dict]] = {}
        ex: dict[str, Tensor] = {}
        if examples is not None and n_examples > 0:
            ex = {"clean": clean[:n_examples].clone(), "corrupted": noisy[:n_examples].clone()}
        for s in range(0, n, batch_size):
            xb, cb = noisy[s:s + batch_size], clean[s:s + batch_size]
            lb = None if labels is None else labels[s:s + batch_size]
            for name, meth in meths.items():
                outs = meth.fn(xb)
                for variant, x_hat in outs.items():
                    x_hat = torch.as_tensor(x_hat).detach().cpu()
                    parts.setdefault((name, variant), []).append(score(x_hat, cb, lb))
                    if ex and s == 0 and name != "input":  # "corrupted" is the input
                        key = f"{name} {variant}".strip()
                        ex[key] = x_hat.reshape(xb.shape[0], -1)[:n_examples].float().clamp(0, 1)
        for (name, variant), ps in parts.items():
            rows.append(row(name, variant, noise, level, ps))
        if ex:
            examples[(noise, level)] = ex
    return rows


# --------------------------------------------------------------------------- tables
def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.{digits}g}" if abs(v) < 1e-3 else f"{v:.{digits}f}"
    return str(v)


def table_columns(rows: Sequence[dict]) -> dict[str, list]:
    """The rows as CSV columns (name -> list)."""
    return {c: [r[c] for r in rows] for c in COLUMNS}


def _pivot(rows: Sequence[dict], noise: str) -> tuple[list[float], list[tuple[str, dict]]]:
    sel = [r for r in rows if r["noise"] == noise]
    levels = sorted({r["level"] for r in sel})
    methods: dict[str, dict] = {}
    for r in sel:
        methods.setdefault(r["method"], {})[r["level"]] = r
    return levels, list(methods.items())


def markdown_table(rows: Sequence[dict]) -> str:
    """One Markdown table per noise kind: methods × levels, cells 'accuracy / PSNR'."""
    out = ["# Denoising across model families", "",
           "Cells: classifier accuracy (%) / mean PSNR (dB) against the clean image.", ""]
    ref = [r for r in rows if r["family"] == "clean"]
    if ref:
        acc = ref[0]["accuracy"]
        out += [f"Clean test images: classifier accuracy "
                f"{'—' if math.isnan(acc) else f'{100 * acc:.1f} %'} (n = {ref[0]['n']}).", ""]
    for noise in [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]:
        levels, methods = _pivot(rows, noise)
        out += [f"## {noise}", "", "| method | " + " | ".join(f"p = {p:g}" for p in levels) + " |",
                "|---|" + "---|" * len(levels)]
        for name, by_level in methods:
            cells = []
            for p in levels:
                r = by_level.get(p)
                if r is None:
                    cells.append("")
                    continue
                acc = "—" if math.isnan(r["accuracy"]) else f"{100 * r['accuracy']:.1f}"
                cells.append(f"{acc} / {r['psnr']:.2f}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def html_tables(rows: Sequence[dict]) -> str:
    """The Markdown tables as HTML (for the report), best accuracy per column in bold."""
    parts = []
    for noise in [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]:
        levels, methods = _pivot(rows, noise)
        best = {}
        for p in levels:
            accs = [m[p]["accuracy"] for _, m in methods if p in m and m[p]["family"] != "input"
                    and not math.isnan(m[p]["accuracy"])]
            best[p] = max(accs) if accs else None
        head = "".join(f"<th>p = {p:g}</th>" for p in levels)
        body = []
        for name, by_level in methods:
            cells = []
            for p in levels:
                r = by_level.get(p)
                if r is None:
                    cells.append("<td></td>")
                    continue
                acc = "—" if math.isnan(r["accuracy"]) else f"{100 * r['accuracy']:.1f} %"
                if best[p] is not None and r["accuracy"] == best[p] and r["family"] != "input":
                    acc = f"<b>{acc}</b>"
                cells.append(f"<td>{acc} / {r['psnr']:.2f} dB</td>")
            body.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
        parts.append(f"<h3>{html.escape(noise)}</h3><table><thead><tr><th>method</th>{head}"
                     f"</tr></thead><tbody>{''.join(body)}</tbody></table>")
    return "".join(parts)


def write_tables(rows: Sequence[dict], out_dir: str | Path,
                 stem: str = "denoise") -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md`` into ``out_dir`` atomically."""
    from latentdyn.figures.save import write_csv
    from latentdyn.io import write_text

    out_dir = Path(out_dir)
    csv_path = write_csv(out_dir / f"{stem}.csv", table_columns(rows))
    md_path = out_dir / f"{stem}.md"
    write_text(md_path, markdown_table(rows))
    return csv_path, md_path


# -------------------------------------------------------------------------- figures
def comparison_figure(rows: Sequence[dict], caption: str = ""):
    """Accuracy (top) and PSNR (bottom) against the noise level, one column per noise
    kind, one line per method (colour = family, line style = variant)."""
    from latentdyn.figures._style import (FONT_SMALL, add_caption, attach_data, finish_axes,
                                          new_figure, plain)

    noises = [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]
    if not noises:
        raise ConfigError("no denoising rows to plot")
    has_acc = any(not math.isnan(r["accuracy"]) for r in rows)
    metrics = (["accuracy"] if has_acc else []) + ["psnr"]
    fig = new_figure(min(2.6 * len(noises) + 1.8, 13.0), 2.3 * len(metrics) + 0.6)
    axes = fig.subplots(len(metrics), len(noises), squeeze=False)
    styles = ["-", "--", ":", "-."]
    ref = next((r for r in rows if r["family"] == "clean"), None)
    handles = {}
    for col, noise in enumerate(noises):
        levels, methods = _pivot(rows, noise)
        fam_count: dict[str, int] = {}
        for name, by_level in methods:
            fam = next(iter(by_level.values()))["family"]
            idx = fam_count.get(fam, 0)
            fam_count[fam] = idx + 1
            xs = [p for p in levels if p in by_level]
            for r_i, metric in enumerate(metrics):
                ys = [by_level[p][metric] * (100 if metric == "accuracy" else 1) for p in xs]
                (line,) = axes[r_i, col].plot(
                    xs, ys, color=FAMILY_COLOURS.get(fam, "#777777"), ls=styles[idx % 4],
                    marker="osD^v"[idx % 5], ms=3, lw=1.2 if fam != "input" else 1.6,
                    alpha=1.0 if idx < 4 else 0.6)
                handles.setdefault(name, line)
        for r_i, metric in enumerate(metrics):
            ax = axes[r_i, col]
            if metric == "accuracy" and ref is not None and not math.isnan(ref["accuracy"]):
                ax.axhline(100 * ref["accuracy"], color="#999999", lw=0.8, ls=":")
            if r_i == 0:
                ax.set_title(plain(noise))
            if r_i == len(metrics) - 1:
                ax.set_xlabel("noise level p")
            if col == 0:
                ax.set_ylabel("classifier accuracy (%)" if metric == "accuracy" else "PSNR (dB)")
            finish_axes(ax, grid=True)
    fig.legend(list(handles.values()), [plain(n) for n in handles], loc="outside right upper",
               frameon=False, fontsize=FONT_SMALL)
    add_caption(fig, caption)
    attach_data(fig, table_columns(rows))
    return fig


def examples_figure(example: Mapping[str, Tensor], image_shape: Sequence[int], caption: str = "",
                    title: str | None = None):
    """Rows: clean, corrupted, then each method's output; columns: test images."""
    from latentdyn.figures.generic import image_grid

    names = list(example)
    h, w = int(image_shape[-2]), int(image_shape[-1])
    arr = np.stack([example[k].reshape(-1, h, w).numpy() for k in names])
    return image_grid(arr, caption=caption, row_labels=names,
                      col_labels=[str(i) for i in range(arr.shape[1])], title=title,
                      col_title="test image")


# --------------------------------------------------------------------------- runner
@dataclass
class ComparisonResult:
    out: Path
    rows: list[dict]
    skipped: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _load(spec, device):
    """A run folder path -> its model (``load_run``); a model object is used as is."""
    if spec is None:
        return None
    if isinstance(spec, (str, Path)):
        from latentdyn.train.runs import load_run

        return load_run(spec, device).model
    return spec


def resolve_settings(profile: str = "quick", **overrides) -> dict[str, Any]:
    """The profile's settings with the non-``None`` ``overrides`` applied."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    s = dict(PROFILES[profile])
    s.update({k: v for k, v in overrides.items() if v is not None})
    s["profile"] = profile
    for key in ("steps", "ks"):
        s[key] = sorted({int(v) for v in s[key]})
    s["levels"] = [float(v) for v in s["levels"]]
    s["noises"] = list(s["noises"])
    return s


def run_comparison(out: str | Path = "results/compare-denoise", profile: str = "quick", *,
                   vae=None, gan=None, classifier=None, basis_vae=None, basis_gan=None,
                   dataset: str = "mnist-embedded", data_dir=None, seed: int = 0,
                   device: str = "cpu", batch_size: int = 500, gan_inference: bool = False,
                   progress: bool = False, argv: list[str] | None = None,
                   **overrides) -> ComparisonResult:
    """Run the comparison and write everything into ``out``.

    ``vae``, ``gan`` (a GAN whose run offers encode/decode), ``classifier``: run folders
    (or model objects); each is optional and a missing one skips the families that need
    it, which the report says. ``basis_vae`` / ``basis_gan``: LSD bases written by
    ``latentdyn lsd`` (else built here from the training images and prior samples,
    labelled by the classifier). ``overrides``: profile settings (``n_test``,
    ``noises``, ``levels``, ``steps``, ``ks``, ``basis_images``, ``n_prior``,
    ``max_per_class``, ``examples``).
    """
    from latentdyn.data import load_dataset
    from latentdyn.io import write_json
    from latentdyn.analysis.lsd import basis_from_model, load_basis, save_basis
    from latentdyn.reporting.manifest import Manifest, resolve_device

    s = resolve_settings(profile, **overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    inputs = {"vae": vae, "gan": gan, "classifier": classifier,
              "basis_vae": basis_vae, "basis_gan": basis_gan}
    config = {**s, "dataset": dataset, "seed": seed, "batch_size": batch_size,
              "gan_inference": gan_inference,
              "inputs": {k: (str(v) if isinstance(v, (str, Path)) else
                             (None if v is None else type(v).__name__)) for k, v in inputs.items()},
              "conventions": {"clip_outputs": [0.0, 1.0], "psnr_max_db": PSNR_MAX_DB,
                              "ssim_window": 7, "vae_dynamics": "deterministic",
                              "lsd_truncation": "k largest |c_i| over all nz coefficients"}}
    ds = load_dataset(dataset, data_dir)
    manifest = Manifest(out / "manifest.json", kind="compare-denoise", config=config, seed=seed,
                        device=dev, data={"dataset": ds.name, "checksums": ds.checksums()},
                        argv=argv)
    manifest.write("running")
    try:
        result = _run(out, s, ds, vae, gan, classifier, basis_vae, basis_gan, seed, dev,
                      batch_size, gan_inference, progress, load_basis, basis_from_model,
                      save_basis, config["inputs"])
        write_json(out / "summary.json", {"settings": s, "skipped": result.skipped,
                                          "rows": result.rows})
        manifest.update(skipped=result.skipped,
                        outputs={k: str(v.relative_to(out)) for k, v in result.files.items()})
        manifest.write("finished")
    except BaseException:
        manifest.write("failed")
        raise
    return result


def _run(out, s, ds, vae_spec, gan_spec, clf_spec, basis_vae, basis_gan, seed, dev, batch_size,
         gan_inference, progress, load_basis, basis_from_model, save_basis,
         inputs) -> ComparisonResult:
    vae = _load(vae_spec, dev)
    gan = _load(gan_spec, dev)
    classifier = _load(clf_spec, dev)
    skipped: dict[str, str] = {}
    notes_files: dict[str, Path] = {}
    n_test = min(int(s["n_test"]), len(ds.test_labels))
    clean, labels = ds.test_images[:n_test], ds.test_labels[:n_test]
    train_imgs = (ds.train_images if s["basis_images"] is None
                  else ds.train_images[:int(s["basis_images"])])
    image_shape = tuple(ds.image_shape[-2:]) if len(ds.image_shape) >= 2 else None
    if image_shape is not None and min(image_shape) < 7:
        image_shape = None

    def basis_for(model, given, tag):
        if given is not None:
            return given if isinstance(given, QuasiEigenbasis) else load_basis(given)
        b = basis_from_model(model, classifier, train_imgs, int(s["n_prior"]),
                             num_classes=max(ds.num_classes, 1),
                             max_per_class=int(s["max_per_class"]),
                             batch_size=1000, generator=seed, progress=progress)
        path = out / f"basis-{tag}.safetensors"
        save_basis(path, b, {"model": tag})
        notes_files[f"basis_{tag}"] = path
        return b

    methods: dict[str, Method] = {}
    if vae is not None:
        methods["vae-inference"] = repeated_inference_method(vae, s["steps"], "vae-inference")
    else:
        skipped["vae-inference"] = "no --vae run given"
        skipped["lsd-vae"] = "no --vae run given"
    if gan is None:
        skipped["lsd-gan"] = "no --gan run given"
        if gan_inference:
            skipped["gan-inference"] = "no --gan run given"
    for tag, model, given in (("gan", gan, basis_gan), ("vae", vae, basis_vae)):
        if model is None:
            continue
        if classifier is None and given is None:
            skipped[f"lsd-{tag}"] = ("no --classifier run given: the quasi-eigenvectors need "
                                     "classifier labels of decoded latents")
            continue
        basis = basis_for(model, given, tag)
        ks = [k for k in s["ks"] if k <= basis.nz]
        methods[f"lsd-{tag}"] = lsd_method(model, basis, ks, f"lsd-{tag}")
    if gan is not None and gan_inference:
        methods["gan-inference"] = repeated_inference_method(gan, s["steps"], "gan-inference")
    if classifier is None:
        skipped["accuracy"] = "no --classifier run given: classifier accuracy not measured"

    examples: dict = {}
    rows = compare_denoising(methods, classifier, clean, labels if classifier is not None else None,
                             s["noises"], s["levels"], seed=seed, batch_size=batch_size,
                             image_shape=image_shape, examples=examples,
                             n_examples=int(s["examples"]) if image_shape else 0,
                             progress=progress)
    files = dict(notes_files)
    files["csv"], files["md"] = write_tables(rows, out)
    files.update(_figures_and_report(out, s, ds, rows, examples, image_shape, skipped, methods,
                                     n_test, seed, inputs))
    return ComparisonResult(out=out, rows=rows, skipped=skipped, files=files)


def _figures_and_report(out, s, ds, rows, examples, image_shape, skipped, methods, n_test,
                        seed, inputs) -> dict[str, Path]:
    from latentdyn.figures.save import save_figure

    files: dict[str, Path] = {}
    fig_dir, data_dir = out / "figures", out / "data"
    setting = (f"{ds.name}, {n_test} test images, profile {s['profile']}, seed {seed}; "
               f"repeated-inference steps t ∈ {s['steps']}, LSD k ∈ {s['ks']}.")
    saved = save_figure(comparison_figure(rows, caption=(
        "Classifier accuracy and PSNR of the denoised images against the clean ones, by noise "
        f"kind and level. Dotted grey: clean-image accuracy. {setting}")),
        fig_dir, "denoise_curves", data_dir=data_dir)
    files["figure"] = saved.png
    sections = []
    from latentdyn.reporting.report import Section, write_report

    sections.append(Section(
        title="Denoising across model families", figure=saved.png, caption=saved.caption,
        paper_found="No paper compares these: paper 001 shows repeated inference moving "
                    "corrupted inputs toward concepts; paper 004 shows LSD denoising only as "
                    "pictures.",
        run_found=_finding(rows), extra_html=html_tables(rows), data=saved.csv))
    for (noise, level), ex in examples.items():
        if level != _middle(s["levels"]):
            continue
        stem = f"denoise_examples_{noise}"
        fig = examples_figure(ex, image_shape, caption=(
            f"The first {next(iter(ex.values())).shape[0]} test images, corrupted with {noise} "
            f"noise at p = {level:g}, and each method's output. {setting}"),
            title=f"{noise}, p = {level:g}")
        sv = save_figure(fig, fig_dir, stem, data_dir=data_dir, csv_columns={})
        files[stem] = sv.png
        sections.append(Section(title=f"Examples: {noise} noise, p = {level:g}", figure=sv.png,
                                caption=sv.caption, paper_found="—",
                                run_found="See the images."))
    notes = [f"{FAMILY_TITLES.get(k, k)}: skipped — {why}." for k, why in skipped.items()]
    notes += [f"{FAMILY_TITLES.get(k, k)}: {m.description}." for k, m in methods.items()
              if m.description]
    notes.append("Outputs are clipped to [0, 1] before scoring; PSNR per image with the MSE "
                 "floored at 1e-10 (≤ 100 dB), averaged; SSIM with a uniform 7×7 window. "
                 "Every method sees the same corrupted images.")
    intro = ("The same corrupted test images are denoised by the VAE's repeated inference "
             "(x(t) after t steps), by LSD truncation in the GAN's and in the VAE's latent "
             "spaces (keeping the k largest quasi-eigenvector coefficients), and compared "
             "with the corrupted input itself, by classifier accuracy and PSNR against the "
             "clean image. This comparison exists in none of the papers.")
    settings = {k: v for k, v in s.items()}
    settings.update({"dataset": ds.name, "n_test": n_test, "seed": seed, "inputs": inputs})
    files["report"] = write_report(out / "report.html", "Denoising across model families",
                                   intro, settings, sections, [], notes)
    return files


def _middle(levels: Sequence[float]) -> float:
    return sorted(levels)[len(levels) // 2]


def _finding(rows: Sequence[dict]) -> str:
    real = [r for r in rows if r["family"] != "clean"]
    if not real:
        return "No method was run."
    metrics = (["accuracy"] if any(not math.isnan(r["accuracy"]) for r in real) else []) + ["psnr"]
    show = lambda m, v: f"{100 * v:.1f} %" if m == "accuracy" else f"{v:.2f} dB"  # noqa: E731
    out = []
    for noise in dict.fromkeys(r["noise"] for r in real):
        bits = []
        for metric in metrics:
            by_method: dict[str, list[float]] = {}
            for r in real:
                if r["noise"] == noise:
                    by_method.setdefault(r["method"], []).append(r[metric])
            mean = {m: float(np.mean(v)) for m, v in by_method.items()}
            best = max(mean, key=mean.get)
            text = f"best mean {metric} {best} ({show(metric, mean[best])})"
            if "input" in mean and best != "input":
                text += f" vs the corrupted input's {show(metric, mean['input'])}"
            bits.append(text)
        out.append(f"{noise}: " + ", ".join(bits))
    return "; ".join(out) + " (means over the noise levels)."


__all__ = ["COLUMNS", "FAMILIES", "Method", "NOISES", "PROFILES", "ComparisonResult",
           "compare_denoising", "comparison_figure", "corruption_seed", "examples_figure",
           "html_tables", "input_method", "lsd_method", "markdown_table", "psnr",
           "repeated_inference_method", "resolve_settings", "run_comparison", "ssim",
           "table_columns", "write_tables"]
