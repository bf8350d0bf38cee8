"""The figures and data files of the study, drawn from the stage results.

Each function draws one figure (PNG and PDF under ``figures/``, its plotted numbers as
CSV under ``data/``, and the statistics behind it as JSON where it has them) and
returns the :class:`~latentdyn.figures.SavedFigure` the report links to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentdyn.analysis.trials import NoiseSweep
from latentdyn.figures import SavedFigure, fig2_distance_curves, save_figure
from latentdyn.io import write_json
from latentdyn.studies.nagano2017.figures import fig1_sequence, fig4_stages
from latentdyn.studies.nagano2017.figures_geometry import (
    fig3a_concepts,
    fig3b_pca,
    fig3c_cosine,
    figA1_pca,
)
from latentdyn.studies.nagano2017.figures_latent_size import (
    fig6_latent_size,
    fig7_elbo,
    figB2_attribution,
)
from latentdyn.studies.nagano2017.latent_size import Attribution, ElboCurve, LatentSizeScan
from latentdyn.studies.nagano2017.profiles import LABEL, LatentSizeProfile
from latentdyn.studies.nagano2017.stages import (
    ConceptCourses,
    ConceptGeometry,
    CorruptedSequence,
    Experiment,
    MemoryEmbedding,
)


def settings_caption(exp: Experiment, p: float, nz: int, dataset: str) -> str:
    """The settings of figures 1 and 2, as drawn in their captions."""
    return (f"{exp.noise} noise p = {p}, {exp.mode} dynamics, T = {exp.steps}, Nz = {nz}, "
            f"{dataset}, seed {exp.seed}")


def _save(fig, out: Path, stem: str) -> SavedFigure:
    return save_figure(fig, out / "figures", stem, data_dir=out / "data")


# ------------------------------------------------------------- figures 1-4, A.1
def save_fig1(seq: CorruptedSequence, out: Path, caption: str) -> SavedFigure:
    return _save(fig1_sequence(seq.frames, seq.steps, seq.concept_image, LABEL,
                               caption=f"Fig. 1: x(t) from a corrupted '6'; {caption}"),
                 out, "fig1_sequence")


def save_fig2(courses: ConceptCourses, exp: Experiment, out: Path,
              caption: str) -> SavedFigure:
    cs = courses.courses
    saved = _save(
        fig2_distance_curves(np.arange(exp.steps + 1),
                             {c: tc.mean.numpy() for c, tc in cs.items()},
                             {c: tc.sem.numpy() for c, tc in cs.items()},
                             caption=f"Fig. 2: ||z(t) - concept||, mean ± SEM over "
                                     f"{courses.trials} trials per label; {caption}",
                             t_star={c: tc.dip["t_star"] for c, tc in cs.items()}),
        out, "fig2_distance")
    write_json(out / "data" / "fig2_dips.json", courses.dips)
    return saved


def save_fig3(geometry: ConceptGeometry,
              out: Path) -> tuple[SavedFigure, SavedFigure, SavedFigure]:
    g = geometry
    f3a = _save(fig3a_concepts(g.concepts.numpy(), g.active_mask.numpy(),
                               caption=f"Fig. 3a: concepts (label x latent unit); "
                                       f"{g.n_active} of {g.nz} units active "
                                       f"(Var of E_q[z_u|x] > 0.01)"),
                out, "fig3a_concepts")
    f3b = _save(fig3b_pca(np.asarray(g.cumulative), caption="Fig. 3b: cumulative contribution "
                          "ratio of the principal components of the training memories"),
                out, "fig3b_pca")
    f3c = _save(fig3c_cosine(g.cosines.numpy(), g.classes, caption="Fig. 3c: cosine similarity "
                             f"between concepts (eq. 11); mean |off-diagonal| = "
                             f"{g.offdiagonal:.3f}"),
                out, "fig3c_cosine")
    return f3a, f3b, f3c


def save_fig4(sweep: NoiseSweep, exp: Experiment, trials: int, out: Path) -> SavedFigure:
    later = sweep.readings.get("t>=1") if sweep.readings else None
    saved = _save(fig4_stages(np.asarray(sweep.ps),
                              {k: np.asarray(v) for k, v in sweep.mean.items()},
                              {k: np.asarray(v) for k, v in sweep.sem.items()},
                              later.stages if later is not None else sweep.stages,
                              caption=f"Fig. 4: min_t distance from trials started at "
                                      f"corrupted '6's ({trials} per p) to their own memory, "
                                      f"the concept of '6' and the abstract concept; "
                                      f"solid: min over t >= 0 (eq. 13), dashed: over t >= 1 "
                                      f"(what repeated inference reaches; its stages are "
                                      f"shaded and decide C5); {exp.noise} noise, {exp.mode}, "
                                      f"T = {exp.steps}",
                              later=None if later is None else {
                                  lv: (np.asarray(later.mean[lv]), np.asarray(later.sem[lv]))
                                  for lv in later.mean}),
                  out, "fig4_stages")
    write_json(out / "data" / "fig4_stages.json", {
        "ps": sweep.ps, "mean": sweep.mean, "sem": sweep.sem, "closest": sweep.closest,
        "stages": sweep.stages, "ordered": sweep.ordered, "at_start": sweep.at_start,
        "readings": {name: {"mean": rd.mean, "sem": rd.sem, "closest": rd.closest,
                            "widths": rd.widths, "ordered": rd.ordered,
                            "differences": rd.differences, "margins": rd.margins}
                     for name, rd in sweep.readings.items()}})
    return saved


def save_figA1(emb: MemoryEmbedding, out: Path) -> SavedFigure:
    return _save(figA1_pca(emb.embedding, emb.labels,
                           caption=f"Fig. A.1: 2-D PCA of {len(emb.embedding)} training "
                                   f"memories (a) all labels, (b) labels {emb.subset}",
                           subset=emb.subset, emb_subset=emb.embedding_subset,
                           labels_subset=emb.labels_subset, explained=emb.explained,
                           explained_subset=emb.explained_subset),
                 out, "figA1_pca")


# ------------------------------------------------------------- figures 6, 7, B.2
def save_fig6(scan: LatentSizeScan, exp: Experiment, prof: LatentSizeProfile,
              out: Path) -> SavedFigure:
    saved = _save(fig6_latent_size(np.arange(scan.steps + 1), scan.means, scan.sems,
                                   scan.cosines, label=LABEL,
                                   caption=f"Fig. 6: distance to the concept of '{LABEL}' "
                                           f"({scan.trials} trials, {exp.noise} p = {scan.p}) "
                                           f"and concept cosines, per Nz (best configuration "
                                           f"of the sweep, {prof.epochs} epochs)"),
                  out, "fig6_latent_size")
    write_json(out / "data" / "fig6_dips.json", {
        "dips": {str(k): v for k, v in scan.dips.items()},
        "offdiag": {str(k): v for k, v in scan.offdiag.items()},
        "first_nz_with_dip_from_then_on": scan.first_dip})
    return saved


def save_fig7(curve: ElboCurve, prof: LatentSizeProfile, out: Path) -> SavedFigure:
    lls = curve.test_ll
    return _save(fig7_elbo(curve.nz, curve.test_elbo,
                           caption=f"Fig. 7: best test ELBO per Nz over lr {list(prof.lr)} x "
                                   f"batch {list(prof.batch)}, {prof.epochs} epochs; IWAE "
                                   f"with k = {prof.ll_k} on {prof.ll_images} test images",
                           test_ll=lls if all(v is not None for v in lls) else None,
                           active_units=curve.active_units),
                 out, "fig7_elbo")


def save_figB2(attr: Attribution, out: Path) -> SavedFigure:
    tc = attr.course
    saved = _save(figB2_attribution(attr.probs.numpy(), np.arange(attr.steps + 1),
                                    tc.mean.numpy(), tc.sem.numpy(), attr.mean_kept.numpy(),
                                    attr.sem_kept.numpy(), label=LABEL,
                                    caption=f"Fig. B.2: CNN (test accuracy "
                                            f"{attr.classifier_accuracy:.2%}) on x(T = "
                                            f"{attr.steps}) of {attr.trials} trials from "
                                            f"corrupted '{LABEL}'s; {attr.n_kept} still read "
                                            f"as '{LABEL}'"),
                  out, "figB2_attribution")
    write_json(out / "data" / "figB2.json", {
        "classifier_test_accuracy": attr.classifier_accuracy, "kept": attr.n_kept,
        "trials": attr.trials, "dip_all": attr.dip_all, "dip_kept": attr.dip_kept})
    return saved
