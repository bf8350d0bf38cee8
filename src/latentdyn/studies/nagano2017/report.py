"""The report of the study: its figures and data (drawn by :mod:`.outputs` from the
first seed's results), the attractors section, ``data/resampling.json`` and
report.html: its intro, one section per figure, and the notes.

Each section has a stable id (``fig2``, ``fig3a``, …) that the claims name in
``Claim.sections``, so each figure shows the verdicts of the claims it tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from latentdyn.analysis.trials import NoiseSweep
from latentdyn.figures import SavedFigure
from latentdyn.io import write_json
from latentdyn.reporting.claims import Claim, one_model_note
from latentdyn.reporting.report import Section, write_report
from latentdyn.reporting.viewer import trajectory_viewer
from latentdyn.studies.nagano2017 import outputs as O
from latentdyn.studies.nagano2017.latent_size import Attribution, ElboCurve, LatentSizeScan
from latentdyn.studies.nagano2017.claims import SWEEP_MIN_EPOCHS
from latentdyn.studies.nagano2017.profiles import LABEL, PROFILES, Profile
from latentdyn.studies.nagano2017.stages import (
    ConceptCourses,
    ConceptGeometry,
    CorruptedSequence,
)

TITLE = ("Nagano, Karakida & Okada (2017): concept formation in repeated inference — "
         "reproduction")
INTRO = ("Repeated inference z(t) = E_q[z|x(t)], x(t+1) = E_p[x|z(t)] from corrupted training "
         "images of a VAE, measured against the hierarchy of memories, concepts and the "
         "abstract concept (figures 1-4, 6, 7, A.1 and B.2, claims C1-C8). Each claim shows "
         "a bootstrap interval of its statistic, the share of resamples in which its rule "
         "holds, and a null or reference where one exists.")


def _section(sid: str, title: str, saved: SavedFigure, paper: str, run: str) -> Section:
    return Section(title, saved.png, saved.caption, paper, run, data=saved.csv, id=sid)


def _stages(reading) -> str:
    return ", ".join(f"{w['level']} for p in [{w['p_start']:g}, {w['p_end']:g}] "
                     f"({w['points']} level{'s' if w['points'] > 1 else ''})"
                     for w in reading.widths)


def _fig1_section(saved: SavedFigure, sequence: CorruptedSequence | None) -> Section:
    """Fig. 1, with the interactive viewer of the same trial (its x(t) and its distances
    to its own memory, the concept and the abstract concept) below the still figure."""
    sec = _section("fig1", "Fig. 1: repeated inference from a corrupted '6'", saved,
                   "the VAE removes the noise in the first few steps, then drifts toward a "
                   "specific '6'.", "see the sequence: x(0) is the corrupted input.")
    if sequence is not None and sequence.distances:
        sec.extra_html = trajectory_viewer(
            sequence.frames, sequence.distances, steps=sequence.steps,
            labels=[f"corrupted '{LABEL}', p = {sequence.p:g}"],
            title="Fig. 1, interactive: step through x(t) with its distances")
    return sec


def hierarchy_sections(figs: Mapping[str, SavedFigure], courses: ConceptCourses,
                       geometry: ConceptGeometry, sweep: NoiseSweep,
                       sequence: CorruptedSequence | None = None) -> list[Section]:
    """The sections of figures 1-4 and A.1 (Fig. 1 with its viewer when ``sequence``
    is given)."""
    g, n = geometry, len(courses.classes)
    dip_txt = ", ".join(f"'{c}': t*={d['t_star']}, depth {100 * d.get('relative_depth', 0):.1f} "
                        "% of d(0)" for c, d in courses.dips.items())
    sens = ", ".join(f"{k}: {v}" for k, v in g.sensitivity.items())
    pcs = ", ".join(f"{k}: {v}" for k, v in g.pc_sensitivity.items())
    fig4 = "closest level per p: " + ", ".join(f"{p:g}: {c}" for p, c in
                                                zip(sweep.ps, sweep.closest)) + "."
    if sweep.readings:
        fig4 = (f"min over t >= 1: {_stages(sweep.readings['t>=1'])}; min over t >= 0: "
                f"{_stages(sweep.readings['t>=0'])}. Share of trials whose minimum distance "
                "to the abstract concept is at t = 0: "
                + ", ".join(f"{p:g}: {100 * v:.0f} %" for p, v in
                            zip(sweep.ps, sweep.at_start.get("abstract", []))) + ".")
    return [
        _fig1_section(figs["fig1"], sequence),
        _section("fig2", "Fig. 2: distance to the concept", figs["fig2"],
                 "for all labels the distance falls fast, then rises slowly (a dip).",
                 f"{courses.n_dip} of {n} labels show a significant dip ({dip_txt})."),
        _section("fig3a", "Fig. 3a: concepts", figs["fig3a"], "14 of 100 units active.",
                 f"{g.n_active} of {g.nz} units active (Var > 0.01); other criteria: {sens}."),
        _section("fig3b", "Fig. 3b: PCA of the memories", figs["fig3b"],
                 "14 dimensions explain all the variance, 9 explain 70 %.",
                 f"{g.dims_99} components reach 99 %, {g.dims_70} reach 70 %; components with "
                 f"variance {pcs}; participation ratio {g.participation_ratio:.1f}."),
        _section("fig3c", "Fig. 3c: cosine similarity of concepts", figs["fig3c"],
                 "off-diagonal cosines near zero (orthogonal concepts).",
                 f"mean |off-diagonal cosine| = {g.offdiagonal:.3f}; concepts with random "
                 f"directions in this model's geometry (C4's null): mean {g.null_mean:.3f}, "
                 f"5 % quantile {g.null_quantile:.3f}; random directions in the "
                 f"participation ratio ({g.participation_ratio:.1f} dimensions, issue 11's "
                 f"reference): {g.random_cosine:.3f}; concepts of shuffled labels (a check "
                 f"that labels carry structure, not a chance level): {g.shuffled_cosine:.3f}."),
        _section("fig4", "Fig. 4: stages of the hierarchy", figs["fig4"],
                 "stage I (low noise) closest to the own memory, stage II to the concept, "
                 "stage III (high noise) to the abstract concept.", fig4),
        _section("figA1", "Fig. A.1: PCA embedding of the memories", figs["figA1"],
                 "ten visible clusters.", "see the embedding."),
    ]


def latent_size_sections(figs: Mapping[str, SavedFigure], scan: LatentSizeScan,
                         curve: ElboCurve, attr: Attribution) -> list[Section]:
    """The sections of figures 6, 7 and B.2."""
    return [
        _section("fig6", "Fig. 6: latent size and the dip", figs["fig6"],
                 "no approach to the concept for Nz = 2, 5; approach from Nz ≈ 6; "
                 "orthogonality grows with Nz.",
                 f"dip for Nz = {scan.dip_nz}; from Nz = {scan.first_dip} on every larger Nz "
                 f"dips; Spearman rho(Nz, |off-diag| / its null's mean) = "
                 f"{scan.relative_rho:.2f} (of the raw |off-diag|: "
                 f"{scan.orthogonality_rho:.2f}, which random directions give too)."),
        _section("fig7", "Fig. 7: test ELBO against Nz", figs["fig7"],
                 "best near Nz = 14, flat beyond.",
                 f"best Nz = {curve.best_nz} (per-image ELBO, the mean of draws of z); "
                 f"Nz = 100 is {curve.gap:.2f} nats below the best; "
                 f"{curve.active_units} active units at Nz = "
                 f"{max(curve.nz) if curve.nz else '-'}."),
        _section("figB2", "Fig. B.2: digit attribution", figs["figB2"],
                 "193 of 300 trials end as '6'; both curves dip.",
                 f"{attr.n_kept} of {attr.trials} trials end as '{LABEL}'; dip in all trials: "
                 f"{attr.dip_all['has_dip']}, in kept trials: {attr.dip_kept['has_dip']}."),
    ]


def model_note(model_path: str, settings: Mapping | None) -> str:
    """The model, as its run says: Nz, the epochs it was trained, its hidden width."""
    if not settings:
        return f"Model: {model_path}."
    known = [f"{name} {settings[key]}" for name, key in (("Nz =", "nz"), ("epochs:", "epochs"),
                                                         ("hidden width", "hidden"))
             if settings.get(key) is not None]
    given = " (given with --model; its properties read from its run)" \
        if settings.get("model_run") else ""
    return f"Model: {model_path}{given}" + (f", {', '.join(known)}." if known else ".")


def notes(prof: Profile, dataset: str, model_path: str, timings: Mapping[str, float],
          seeds: Sequence[int] = (), settings: Mapping | None = None) -> list[str]:
    """What the reader needs to know about this run: the model (as its run says, from
    ``settings``), the timings, and every reduction from the paper's settings."""
    out = [model_note(model_path, settings), f"Stage timings (s): {dict(timings)}."]
    if len(seeds) > 1:
        out.append(f"Training seeds: {list(seeds)}, one VAE each (the latent-size sweep too); "
                   "every claim was scored on each; its verdict is the majority of the "
                   "seeds' (a rule fixed in code), each seed's verdict, value, interval and "
                   "share of resamples listed beside it. Figures and values are those of "
                   f"seed {seeds[0]}.")
    out.append(f"Intervals: percentile bootstrap, {prof.resamples} resamples per claim, "
               "seeded from the run's seed (trials, training images or test images, as each "
               "claim's method says).")
    paper, ls = PROFILES["paper"], prof.latent_size
    given = bool(settings and settings.get("model_run"))
    if prof.name == "quick":
        trained = (f"the given model was trained for {settings.get('epochs')} epochs (by its "
                   "run)" if given else
                   f"the model is trained for {prof.epochs} epochs (paper profile: "
                   f"{paper.epochs}; the length chosen by the convergence criterion of "
                   "latentdyn.studies.nagano2017.pilot)")
        out.append(
            f"Quick profile: {trained}, Fig. 4 uses {prof.trials_fig4} trials per noise "
            f"level (paper: {paper.trials_fig4}); the latent-size sweep trains {len(ls.nz)} Nz "
            f"for {ls.epochs} epochs with lr {list(ls.lr)} and batch {list(ls.batch)} (paper: "
            f"{paper.latent_size.epochs} epochs, lr {list(paper.latent_size.lr)} x batch "
            f"{list(paper.latent_size.batch)}); the CNN trains {ls.classifier_epochs} epochs; "
            f"the IWAE bound uses k = {ls.ll_k} on {ls.ll_images} test images.")
    if ls.epochs < SWEEP_MIN_EPOCHS:
        out.append(f"C6 and C7 are not evaluated: the latent-size sweep trains {ls.epochs} "
                   f"epochs, fewer than the {SWEEP_MIN_EPOCHS} at which the pilot's first phase "
                   "converged; its models have not pruned their units, and both claims are "
                   "about models that have. Their figures and numbers are shown as measured.")
    if dataset == "mnist-embedded":
        out.append("Data: the embedded MNIST subset (first 10 000 training images, full "
                   "test set), not the paper's 60 000 training images.")
    return out


def resampling_summary(claims: Sequence[Claim]) -> dict:
    """Per claim: statistic, interval, stability, null, method and seeds (for data/)."""
    keys = ("run_value", "interval", "interval_level", "stability", "point_mass", "null",
            "null_name", "boundary", "models", "method", "reading", "seeds", "verdict")
    return {c.id: {k: (c.verdict if k == "verdict" else getattr(c, k)) for k in keys}
            for c in claims}


def write(out: Path, settings: Mapping, sections: Sequence[Section], claims: Sequence[Claim],
          notes_: Sequence[str]) -> Path:
    """Write ``out/report.html``."""
    return write_report(out / "report.html", TITLE, INTRO, settings, sections, claims, notes_)


# ------------------------------------------------------------------- the report
def hierarchy_figures(main, prof: Profile, nz: int, dataset: str, out: Path) -> dict:
    """Figures 1-4 and A.1 of the first seed's :class:`~.pipeline.HierarchyResults`."""
    exp = main.experiment
    caption = O.settings_caption(exp, prof.p_fig2, nz, dataset)
    figs = {"fig1": O.save_fig1(main.sequence, out, caption),
            "fig2": O.save_fig2(main.courses, exp, out, caption)}
    figs["fig3a"], figs["fig3b"], figs["fig3c"] = O.save_fig3(main.geometry, out)
    figs["fig4"] = O.save_fig4(main.sweep, exp, prof.trials_fig4, out)
    figs["figA1"] = O.save_figA1(main.embedding, out)
    return figs


def latent_size_figures(extra, prof: Profile, out: Path) -> dict:
    """Figures 6, 7 and B.2 of the first seed's :class:`~.pipeline.LatentSizeResults`."""
    lp = prof.latent_size
    return {"fig6": O.save_fig6(extra.scan, extra.experiment, lp, out),
            "fig7": O.save_fig7(extra.elbo, lp, out),
            "figB2": O.save_figB2(extra.attribution, out)}


def attractor_sections(main, data, prof: Profile, noise: str, seed: int, out: Path,
                       device) -> list[Section]:
    """The attractors section (``latentdyn attractors`` on the first seed's model, with
    the study's noise, its noise levels of Fig. 4, T and seed): fates, basins, fixed
    points and local stability; its figures and data beside the study's."""
    from latentdyn.studies.attractors import Settings, nagano_section

    trials, memories, starts, max_steps = prof.attractors
    settings = Settings(noise=noise, ps=tuple(prof.ps), steps=prof.steps, trials=trials,
                        memories=memories, starts=starts, max_steps=max_steps,
                        seed=seed + 9000)
    sections, _ = nagano_section(main.model.model, main.hierarchy, data, out,
                                 settings=settings, device=device)
    return sections


def transition_section(config, n_train: int) -> list:
    """Where this model sits on the transition map (its size and optimiser steps), when
    a ``latentdyn transition`` result is present (results/transition)."""
    from latentdyn.studies.transition.placement import find_result, placement

    result = find_result()
    if config is None or result is None:
        return []
    steps = config.epochs * -(-n_train // config.batch_size)
    return [Section("Where this model sits on the transition map", None,
                    "From results/transition/transition.json (latentdyn transition).", "—",
                    placement(n_train, steps, result, config.dataset))]


def report(run, s, results, claims: Sequence[Claim]) -> None:
    """Figures, data, the attractors section, ``data/resampling.json`` and report.html."""
    p, main, extra, out = s.params, results.main, results.latent_size, run.out
    figs = hierarchy_figures(main, s.prof, s.nz, s.data.name, out)
    sections = hierarchy_sections(figs, main.courses, main.geometry, main.sweep,
                                  main.sequence)
    with run.stage("attractors"):
        sections += attractor_sections(main, s.data, s.prof, p.noise, p.seed, out, s.device)
    if extra is not None:
        figs.update(latent_size_figures(extra, s.prof, out))
        sections += latent_size_sections(figs, extra.scan, extra.elbo, extra.attribution)
    sections += transition_section(main.model.config, len(s.data.train_labels))
    write_json(out / "data" / "resampling.json", resampling_summary(claims))
    notes_ = notes(s.prof, s.data.name, main.model.path, run.timings, s.seeds, s.settings)
    one = [c.id for c in claims if c.rests_on_one_model()]
    if one:
        notes_.insert(1, one_model_note(one))
    write(out, s.settings, sections, claims, notes_)
    run.record(model_run=main.model.path, seeds=s.seeds)
