"""The report of the denoising comparison: :func:`report` writes the files of every
seed (:mod:`.outputs`), the further seeds' scorecards and ``report.html`` -- its
intro, sections, notes and settings, each built from the stages' results."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from latentdyn.studies.denoise.outputs import Outputs
from latentdyn.studies.denoise.profiles import TITLE

FAMILY_TITLES = {
    "clean": "clean image (reference)",
    "input": "(d) corrupted input",
    "vae-inference": "(a) VAE repeated inference",
    "lsd-gan": "(b) LSD truncation, GAN",
    "lsd-vae": "(c) LSD truncation, VAE",
    "gan-inference": "(e) GAN+encoder repeated inference",
}
INTRO = ("The same corrupted test images are denoised by the VAE's repeated inference "
         "(x(t) after t steps), by LSD truncation in the GAN's and in the VAE's latent "
         "spaces (keeping the k largest quasi-eigenvector coefficients), and compared "
         "with the corrupted input itself, by classifier accuracy and PSNR against the "
         "clean image. This comparison exists in none of the papers; its claims D1-D4 "
         "state what it tests (each denoiser against the corrupted input, image by image, "
         "at the moderate level of every noise kind, with rules fixed in code before "
         "the run) and carry bootstrap intervals over the test images.")
CONVENTIONS = ("Outputs are clipped to [0, 1] before scoring; PSNR per image with the MSE "
               "floored at 1e-10 (≤ 100 dB), averaged; SSIM with a uniform 7×7 window. "
               "Every method sees the same corrupted images.")


def report(run, setup, results, claims) -> None:
    """The files of the first seed in the output folder (its LSD bases, table, figures,
    ``report.html`` and ``summary.json``), those of a further seed ``s`` in
    ``seeds/seed<s>/`` (its bases, scorecard and ``summary.json``), and the manifest's
    skipped families, runs and outputs."""
    from latentdyn.reporting.claims import write_scorecard
    from latentdyn.reporting.report import write_report
    from latentdyn.studies.denoise.claims import scorecard
    from latentdyn.studies.denoise.outputs import write_bases, write_outputs, write_summary

    s, first, out = setup.comparison, results.first, run.out
    with run.stage("outputs"):
        bases = write_bases(out, first.denoisers)
        outputs = write_outputs(out, first.comparison, s, setup.data.name, first.seed)
        for res in results.seeds[1:]:
            sub = out / "seeds" / f"seed{res.seed}"
            write_bases(sub, res.denoisers)
            write_scorecard(scorecard(res.comparison, res.seed), sub)
            write_summary(sub, s, res.skipped, res.rows)
    with run.stage("report"):
        page = out / "report.html"
        write_report(page, TITLE, INTRO, settings(setup, first, results.seed_list),
                     sections(first, outputs), list(claims), notes(first))
        write_summary(out, s, first.skipped, first.rows)
    files = {**bases, **outputs.files(), "report": page}
    run.record(skipped=first.skipped, runs=first.nets.paths,
               outputs={k: str(v.relative_to(out)) for k, v in files.items()})


# ------------------------------------------------------------------------ sections
def sections(res, outputs: Outputs) -> list:
    """The curves with the tables, then one section per example grid: one seed's
    results (:class:`~.stages.SeedResults`) and its files."""
    from latentdyn.reporting.denoise_tables import html_tables
    from latentdyn.reporting.report import Section

    curves = outputs.curves
    out = [Section(
        title=TITLE, figure=curves.png, caption=curves.caption,
        paper_found="No paper compares these: paper 001 shows repeated inference moving "
                    "corrupted inputs toward concepts; paper 004 shows LSD denoising only as "
                    "pictures.",
        run_found=finding(res.rows), extra_html=html_tables(res.rows), data=curves.csv)]
    for noise, level, saved in outputs.examples:
        out.append(Section(title=f"Examples: {noise} noise, p = {level:g}", figure=saved.png,
                           caption=saved.caption, paper_found="",
                           run_found=examples_found(res.rows, noise, level)))
    return out


def examples_found(rows: Sequence[dict], noise: str, level) -> str:
    """The measured numbers behind one grid of examples: each method's score at that
    noise and level, best first."""
    at = [r for r in rows if r["family"] != "clean" and r["noise"] == noise
          and float(r["level"]) == float(level)]
    if not at:
        return f"examples at {noise} {level:g}; this level was not measured."
    metric = "accuracy" if any(not math.isnan(r["accuracy"]) for r in at) else "psnr"
    ranked = sorted(at, key=lambda r: r[metric], reverse=True)
    return (f"measured at this noise and level ({metric}, best first): "
            + ", ".join(f"{r['method']} {_show(metric, r[metric])}" for r in ranked)
            + ". The grid shows a few of those test images.")


def finding(rows: Sequence[dict]) -> str:
    """Per noise kind, the method with the best mean accuracy and PSNR over the levels,
    against the corrupted input's."""
    real = [r for r in rows if r["family"] != "clean"]
    if not real:
        return "No method was run."
    metrics = (["accuracy"] if any(not math.isnan(r["accuracy"]) for r in real) else []) + ["psnr"]
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
            text = f"best mean {metric} {best} ({_show(metric, mean[best])})"
            if "input" in mean and best != "input":
                text += f" vs the corrupted input's {_show(metric, mean['input'])}"
            bits.append(text)
        out.append(f"{noise}: " + ", ".join(bits))
    return "; ".join(out) + " (means over the noise levels)."


def _show(metric: str, v: float) -> str:
    return f"{100 * v:.1f} %" if metric == "accuracy" else f"{v:.2f} dB"


# ------------------------------------------------------------------- notes, settings
def notes(res) -> list[str]:
    """The skipped families, each method's description, the networks trained here and
    the scoring conventions."""
    out = [f"{FAMILY_TITLES.get(k, k)}: skipped — {why}." for k, why in res.skipped.items()]
    out += [f"{FAMILY_TITLES.get(k, k)}: {m.description}."
            for k, m in res.denoisers.methods.items() if m.description]
    if res.nets.trained:
        out.append("Trained here, and reused when the command is repeated with the same "
                   "settings: " + ", ".join(f"{name} ({folder})"
                                            for name, folder in res.nets.trained.items()) + ".")
    out.append(CONVENTIONS)
    return out


def settings(setup, res, seeds: list) -> dict[str, Any]:
    """The report's settings table: the comparison's settings, the data, the inputs,
    the runs used and, when networks were trained here, their training settings."""
    out = dict(setup.comparison)
    out.update({"dataset": setup.data.name, "n_test": res.comparison.n_test, "seed": res.seed,
                "inputs": setup.given.labels})
    if len(seeds) > 1:
        out["training seeds (--seeds; the figures show the first)"] = list(seeds)
    out["runs"] = dict(res.nets.paths)
    if setup.given.properties:
        out["given runs"] = dict(setup.given.properties)
    if res.nets.trained:
        from latentdyn.studies.denoise import training_settings

        out["training"] = training_settings(setup.profile, setup.given)
    return out
