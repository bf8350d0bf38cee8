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

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from latentdyn.analysis.denoising import (
    COLUMNS,
    FAMILIES,
    NOISES,
    PSNR_MAX_DB,
    Method,
    compare_denoising,
    corruption_seed,
    input_method,
    lsd_method,
    psnr,
    repeated_inference_method,
    ssim,
    table_columns,
)
from latentdyn.analysis.lsd import DEFAULT_KS, QuasiEigenbasis
from latentdyn.errors import ConfigError
from latentdyn.figures.denoise import comparison_figure, examples_figure
from latentdyn.reporting.denoise_tables import html_tables, markdown_table, write_tables

FAMILY_TITLES = {
    "clean": "clean image (reference)",
    "input": "(d) corrupted input",
    "vae-inference": "(a) VAE repeated inference",
    "lsd-gan": "(b) LSD truncation, GAN",
    "lsd-vae": "(c) LSD truncation, VAE",
    "gan-inference": "(e) GAN+encoder repeated inference",
}

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"n_test": 500, "noises": list(NOISES), "levels": [0.1, 0.3, 0.5],
              "steps": [1, 5, 20], "ks": list(DEFAULT_KS), "basis_images": 5000,
              "n_prior": 5000, "max_per_class": 500, "examples": 6},
    "paper": {"n_test": 10000, "noises": list(NOISES),
              "levels": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5], "steps": [1, 5, 20, 80],
              "ks": list(DEFAULT_KS), "basis_images": None, "n_prior": 50000,
              "max_per_class": 5000, "examples": 8},
}


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
