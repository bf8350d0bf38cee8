"""The report of the denoising comparison: its intro, sections, notes and settings,
each built from the stages' result objects (:class:`Results`), and :func:`write`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from latentdyn.studies.denoise.models import Given, Networks
from latentdyn.studies.denoise.outputs import Outputs
from latentdyn.studies.denoise.stages import Comparison, Denoisers

TITLE = "Denoising across model families"
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


@dataclass
class Results:
    """What every stage returned: the settings they ran with, the inputs and networks,
    the denoisers, the comparison and the files."""

    out: Path
    settings: dict  # the resolved comparison settings (summary.json's)
    dataset: str
    seed: int
    given: Given
    nets: Networks
    denoisers: Denoisers
    comparison: Comparison
    outputs: Outputs
    training: dict  # the profile's training settings
    seeds: list | None = None  # the training seeds of --seeds N (the figures: the first)

    @property
    def rows(self) -> list[dict]:
        return self.comparison.rows

    @property
    def skipped(self) -> dict[str, str]:
        return self.denoisers.skipped

    def files(self) -> dict[str, Path]:
        """Every file written, the LSD bases first (the manifest's ``outputs``)."""
        return {**self.denoisers.basis_files, **self.outputs.files(),
                "report": self.out / "report.html"}


def write(res: Results, claims: Sequence = ()) -> Path:
    """``report.html`` of ``res``."""
    from latentdyn.reporting.report import write_report

    return write_report(res.out / "report.html", TITLE, INTRO, settings(res), sections(res),
                        list(claims), notes(res))


# ------------------------------------------------------------------------ sections
def sections(res: Results) -> list:
    """The curves with the tables, then one section per example grid."""
    from latentdyn.reporting.denoise_tables import html_tables
    from latentdyn.reporting.report import Section

    curves = res.outputs.curves
    out = [Section(
        title=TITLE, figure=curves.png, caption=curves.caption,
        paper_found="No paper compares these: paper 001 shows repeated inference moving "
                    "corrupted inputs toward concepts; paper 004 shows LSD denoising only as "
                    "pictures.",
        run_found=finding(res.rows), extra_html=html_tables(res.rows), data=curves.csv)]
    for noise, level, saved in res.outputs.examples:
        out.append(Section(title=f"Examples: {noise} noise, p = {level:g}", figure=saved.png,
                           caption=saved.caption, paper_found="—", run_found="See the images."))
    return out


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
def notes(res: Results) -> list[str]:
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


def settings(res: Results) -> dict[str, Any]:
    """The report's settings table: the comparison's settings, the data, the inputs,
    the runs used and, when networks were trained here, their training settings."""
    out = dict(res.settings)
    out.update({"dataset": res.dataset, "n_test": res.comparison.n_test, "seed": res.seed,
                "inputs": res.given.labels})
    if res.seeds and len(res.seeds) > 1:
        out["training seeds (--seeds; the figures show the first)"] = list(res.seeds)
    out["runs"] = dict(res.nets.paths)
    if res.nets.trained:
        out["training"] = res.training
    return out
