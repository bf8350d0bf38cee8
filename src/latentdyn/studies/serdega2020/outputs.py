"""The files of one family of serdega2020, written by the report: the data files
(``data/*.csv``) and figures (``figures/``, with their CSV), from its results and
measures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from latentdyn.figures.save import SavedFigure
from latentdyn.reporting.tables import write_rows_csv
from latentdyn.studies.serdega2020.family import FamilyResult
from latentdyn.studies.serdega2020.figures import (categorical_timecourse_figure,
                                                   concept_attraction_figure, mi_bar_figure,
                                                   training_curves_figure)
from latentdyn.studies.serdega2020.measures import Measures, mi_rows, summary_rows
from latentdyn.studies.serdega2020.profiles import Profile, lam_label, lam_tag


@dataclass
class FamilyFiles:
    """The files written for one family."""

    mi_codes: Path
    mi_per_code: SavedFigure
    summary: Path
    train_elbo: SavedFigure
    traversals: dict[tuple[float, str], SavedFigure]  # (λ, code) -> figure
    concept_attraction: SavedFigure
    distance_per_label: SavedFigure
    categorical_timecourse: SavedFigure | None  # None without a categorical code


def _save(fig, out: Path, stem: str, dpi: int) -> SavedFigure:
    from latentdyn.figures import save_figure

    return save_figure(fig, out / "figures", stem, data_dir=out / "data", dpi=dpi)


def write_family_files(fr: FamilyResult, m: Measures, profile: Profile,
                       out: Path) -> FamilyFiles:
    """Write every data file and figure of ``fr``."""
    tag, dpi, seed0 = fr.tag, profile.fig_dpi, fr.seeds[0]
    mi_codes = write_rows_csv(out / "data" / f"mi_codes_{tag}.csv", mi_rows(fr))
    note = (f"{fr.dataset}, {fr.family} model, {len(fr.seeds)} training seed(s) × "
            f"{profile.mi_fits} Q fits; prior codes; error bars: sd over fits and seeds")
    mi_fig = _save(mi_bar_figure(m.codes, m.chosen, m.stats,
                                 f"MI lower bound per code; {note}."),
                   out, f"mi_per_code_{tag}", dpi)
    summary = write_rows_csv(out / "data" / f"summary_{tag}.csv", summary_rows(fr))
    train_fig = _save(training_curves_figure(
        {lam: fr.models[lam][0].metrics for lam in fr.lams},
        f"Training ELBO per epoch (relaxed categories), seed {seed0}; {fr.dataset}, "
        f"{fr.family} model."), out, f"train_elbo_{tag}", dpi)
    return FamilyFiles(
        mi_codes=mi_codes, mi_per_code=mi_fig, summary=summary, train_elbo=train_fig,
        traversals=_traversal_figures(fr, out, dpi),
        concept_attraction=_attraction_figure(fr, profile, out),
        distance_per_label=_distance_figure(fr, out, dpi),
        categorical_timecourse=_timecourse_figure(fr, out, dpi))


def _traversal_figures(fr: FamilyResult, out: Path, dpi: int) -> dict:
    from latentdyn.figures import image_grid

    saved = {}
    for lam in fr.lams:
        for code, grid in fr.traversals[lam].items():
            what = ("categorical code: each column one category, each row one Gaussian code "
                    "drawn from the prior" if code == "cat" else
                    f"Gaussian unit {code}: each row a test image's code with {code} set to the "
                    "column's value")
            fig = image_grid(grid.images, caption=f"Traversal of {code}, {lam_label(lam)} "
                                                  f"(seed {fr.seeds[0]}); {what}.",
                             row_labels=grid.row_labels, col_labels=grid.col_labels)
            saved[lam, code] = _save(fig, out, f"traversal_{code}_{lam_tag(lam)}_{fr.tag}", dpi)
    return saved


def _attraction_figure(fr: FamilyResult, profile: Profile, out: Path):
    lam0 = fr.lams[0]
    fig = concept_attraction_figure(
        fr.dyn[lam0].t, {lam: fr.dyn[lam].rel_mean for lam in fr.lams},
        {lam: fr.dyn[lam].rel_sem for lam in fr.lams},
        caption=f"Concept attraction with and without the MI term: distance of the "
                f"continuous latent to the concept of the trial's label, relative to "
                f"t = 0, mean ± SEM over {len(fr.dyn[lam0].dips)} labels × up to "
                f"{profile.dyn_trials} corrupted test images ({profile.dyn_noise}, "
                f"p = {profile.dyn_p}); deterministic dynamics on the full latent "
                f"(hard category), seed {fr.seeds[0]}.")
    return _save(fig, out, f"concept_attraction_{fr.tag}", profile.fig_dpi)


def _distance_figure(fr: FamilyResult, out: Path, dpi: int):
    from latentdyn.figures import fig2_distance_curves

    lam1 = fr.lams[1]
    d = fr.dyn[lam1]
    fig = fig2_distance_curves(fr.dyn[fr.lams[0]].t,
                               {str(k): v for k, v in d.per_label_mean.items()},
                               {str(k): v for k, v in d.per_label_sem.items()},
                               caption=f"Distance to own concept per label, VMI VAE "
                                       f"{lam_label(lam1)}, seed {fr.seeds[0]} (continuous "
                                       "part).")
    return _save(fig, out, f"distance_per_label_{lam_tag(lam1)}_{fr.tag}", dpi)


def _timecourse_figure(fr: FamilyResult, out: Path, dpi: int):
    if fr.dyn[fr.lams[1]].same_cat is None:
        return None
    fig = categorical_timecourse_figure(
        fr.dyn[fr.lams[0]].t, {lam: fr.dyn[lam].same_cat for lam in fr.lams},
        {lam: fr.dyn[lam].cat_right for lam in fr.lams},
        caption="The categorical code's own time course during repeated inference: "
                "fraction of trials whose most likely category equals the one at "
                "t = 0, and whose category maps (majority over the training set) "
                "to the trial's true label.")
    return _save(fig, out, f"categorical_timecourse_{fr.tag}", dpi)
