"""report.html of the study: its intro, one section per figure, and the notes, all
built from the stage results and the saved figures."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from latentdyn.analysis.trials import NoiseSweep
from latentdyn.figures import SavedFigure
from latentdyn.reporting.claims import Claim
from latentdyn.reporting.report import Section, write_report
from latentdyn.reproduce.nagano2017.latent_size import Attribution, ElboCurve, LatentSizeScan
from latentdyn.reproduce.nagano2017.profiles import LABEL, PROFILES, Profile
from latentdyn.reproduce.nagano2017.stages import ConceptCourses, ConceptGeometry

TITLE = ("Nagano, Karakida & Okada (2017): concept formation in repeated inference — "
         "reproduction")
INTRO = ("Repeated inference z(t) = E_q[z|x(t)], x(t+1) = E_p[x|z(t)] from corrupted training "
         "images of a VAE, measured against the hierarchy of memories, concepts and the "
         "abstract concept (figures 1-4, 6, 7, A.1 and B.2, claims C1-C8).")


def hierarchy_sections(figs: Mapping[str, SavedFigure], courses: ConceptCourses,
                       geometry: ConceptGeometry, sweep: NoiseSweep) -> list[Section]:
    """The sections of figures 1-4 and A.1."""
    f1, f2, f4, fa1 = (figs[k] for k in ("fig1", "fig2", "fig4", "figA1"))
    f3a, f3b, f3c = (figs[k] for k in ("fig3a", "fig3b", "fig3c"))
    g, n = geometry, len(courses.classes)
    dip_txt = ", ".join(f"'{c}': t*={d['t_star']}" for c, d in courses.dips.items())
    return [
        Section("Fig. 1: repeated inference from a corrupted '6'", f1.png, f1.caption,
                "the VAE removes the noise in the first few steps, then drifts toward a "
                "specific '6'.", "see the sequence: x(0) is the corrupted input.",
                data=f1.csv),
        Section("Fig. 2: distance to the concept", f2.png, f2.caption,
                "for all labels the distance falls fast, then rises slowly (a dip).",
                f"{courses.n_dip} of {n} labels show a significant dip ({dip_txt}).",
                data=f2.csv),
        Section("Fig. 3a: concepts", f3a.png, f3a.caption, "14 of 100 units active.",
                f"{g.n_active} of {g.nz} units active.", data=f3a.csv),
        Section("Fig. 3b: PCA of the memories", f3b.png, f3b.caption,
                "14 dimensions explain all the variance, 9 explain 70 %.",
                f"{g.dims_99} components reach 99 %, {g.dims_70} reach 70 %.", data=f3b.csv),
        Section("Fig. 3c: cosine similarity of concepts", f3c.png, f3c.caption,
                "off-diagonal cosines near zero (orthogonal concepts).",
                f"mean |off-diagonal cosine| = {g.offdiagonal:.3f}.", data=f3c.csv),
        Section("Fig. 4: stages of the hierarchy", f4.png, f4.caption,
                "stage I (low noise) closest to the own memory, stage II to the concept, "
                "stage III (high noise) to the abstract concept.",
                "closest level per p: " + ", ".join(f"{p:g}: {c}" for p, c in
                                                    zip(sweep.ps, sweep.closest)) + ".",
                data=f4.csv),
        Section("Fig. A.1: PCA embedding of the memories", fa1.png, fa1.caption,
                "ten visible clusters.", "see the embedding.", data=fa1.csv),
    ]


def latent_size_sections(figs: Mapping[str, SavedFigure], scan: LatentSizeScan,
                         curve: ElboCurve, attr: Attribution) -> list[Section]:
    """The sections of figures 6, 7 and B.2."""
    f6, f7, fb2 = figs["fig6"], figs["fig7"], figs["figB2"]
    return [
        Section("Fig. 6: latent size and the dip", f6.png, f6.caption,
                "no approach to the concept for Nz = 2, 5; approach from Nz ≈ 6; "
                "orthogonality grows with Nz.",
                f"dip for Nz = {scan.dip_nz}; from Nz = {scan.first_dip} on every larger Nz "
                f"dips; Spearman rho(Nz, |off-diag|) = {scan.orthogonality_rho:.2f}.",
                data=f6.csv),
        Section("Fig. 7: test ELBO against Nz", f7.png, f7.caption,
                "best near Nz = 14, flat beyond.",
                f"best Nz = {curve.best_nz}; Nz = 100 is {curve.gap:.2f} nats below the best; "
                f"{curve.active_units} active units at Nz = "
                f"{max(curve.nz) if curve.nz else '-'}.", data=f7.csv),
        Section("Fig. B.2: digit attribution", fb2.png, fb2.caption,
                "193 of 300 trials end as '6'; both curves dip.",
                f"{attr.n_kept} of {attr.trials} trials end as '{LABEL}'; dip in all trials: "
                f"{attr.dip_all['has_dip']}, in kept trials: {attr.dip_kept['has_dip']}.",
                data=fb2.csv),
    ]


def notes(prof: Profile, dataset: str, model_path: str, timings: Mapping[str, float]) -> list[str]:
    """What the reader needs to know about this run: the model, the timings, and every
    reduction from the paper's settings."""
    out = [f"Model: {model_path}.", f"Stage timings (s): {dict(timings)}."]
    if prof.name == "quick":
        out.append(f"Quick profile: the model is trained for {prof.epochs} epochs (paper "
                   f"profile: {PROFILES['paper'].epochs}) and Fig. 4 uses "
                   f"{prof.trials_fig4} trials per noise level (paper: 500).")
    if dataset == "mnist-embedded":
        out.append("Data: the embedded MNIST subset (first 10 000 training images, full "
                   "test set), not the paper's 60 000 training images.")
    return out


def write(out: Path, settings: Mapping, sections: Sequence[Section], claims: Sequence[Claim],
          notes_: Sequence[str]) -> Path:
    """Write ``out/report.html``."""
    return write_report(out / "report.html", TITLE, INTRO, settings, sections, claims, notes_)
