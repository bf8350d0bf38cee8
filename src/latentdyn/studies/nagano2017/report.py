"""The report of the study: its figures and data (drawn by :mod:`.outputs` from the
first seed's results), the attractors section, ``data/resampling.json`` and
report.html: its intro, one section per figure, and the notes.

Each section has a stable id (``fig2``, ``fig3a``, …) that the claims name in
``Claim.sections``, so each figure shows the verdicts of the claims it tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from latentdyn.analysis.trials import NoiseSweep
from latentdyn.figures import SavedFigure
from latentdyn.io import write_json
from latentdyn.reporting.claims import Claim, one_model_note
from latentdyn.reporting.prose import listing, timings_text, yes_no
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


def fig1_found(seq: CorruptedSequence) -> str:
    """What the one trial of Fig. 1 did, from its numbers: how x(t)'s intensity and its
    likeness to the decoded concept change, and which level z(T) ends closest to."""
    frames = seq.frames.reshape(len(seq.frames), -1).astype(float)
    concept = np.asarray(seq.concept_image, float).reshape(-1)
    steps = list(seq.steps)
    intensity = frames.mean(1)
    likeness = [float(np.corrcoef(f, concept)[0, 1]) if f.std() > 0 else float("nan")
                for f in frames]
    picks = sorted({0, min(range(len(steps)), key=lambda k: abs(steps[k] - 5)), len(steps) - 1})
    trend = ", ".join(f"{intensity[k]:.3f} at t = {steps[k]}" for k in picks)
    kept = intensity[-1] / intensity[0] if intensity[0] > 0 else float("nan")
    text = (f"x(t)'s mean intensity is {trend} ({100 * kept:.0f} % of the corrupted input's); "
            f"its correlation with the decoded concept of '{LABEL}' goes from "
            f"{likeness[0]:.2f} at t = 0 to {likeness[-1]:.2f} at t = {steps[-1]}.")
    readings = getattr(seq, "readings", None)
    if readings:
        text += (" The classifier reads " + ", ".join(
            f"'{d}' ({pr:.2f}) at t = {t}" for t, (d, pr) in sorted(readings.items()))
            + (f"; the paper's picture is a '{LABEL}' throughout." if any(
                d != LABEL for d, _ in readings.values()) else "."))
    if seq.distances:
        end = {name: float(d[-1]) for name, d in seq.distances.items()}
        closest = min(end, key=end.get)
        text += (f" At t = {steps[-1]} z(t) is closest to the {closest} (distances: "
                 + ", ".join(f"{n} {v:.2f}" for n, v in end.items()) + ").")
    return text


def fig2_found(courses: ConceptCourses) -> str:
    """Which labels dip significantly (they count for C1), with t* and depth, and which
    do not."""
    dips, n = courses.dips, len(courses.classes)
    yes = [c for c, d in dips.items() if d["has_dip"]]
    no = [c for c, d in dips.items() if not d["has_dip"]]
    shown = ", ".join(f"'{c}' (t* = {dips[c]['t_star']}, depth "
                      f"{100 * dips[c].get('relative_depth', 0):.1f} % of d(0))" for c in yes)
    text = f"{len(yes)} of {n} labels show a significant dip"
    text += f": {shown}" if yes else ""
    if no:
        text += "; no significant dip for " + listing([f"'{c}'" for c in no])
    return text + "."


def figA1_found(emb) -> str:
    """How well the 2-D embedding separates the labels: the share of memories whose
    nearest label centre on the map is their own, against the largest label's share."""
    if emb is None:
        return "the embedding was not computed in this run."
    pts, labels = np.asarray(emb.embedding, float), np.asarray(emb.labels)
    classes = np.unique(labels)
    centres = np.stack([pts[labels == c].mean(0) for c in classes])
    nearest = classes[((pts[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)]
    share = float((nearest == labels).mean())
    chance = max(float((labels == c).mean()) for c in classes)
    ex = sum(float(v) for v in emb.explained[:2])
    return (f"on the 2-D map (explaining {100 * ex:.0f} % of the memories' variance) "
            f"{100 * share:.0f} % of {len(labels)} memories lie nearest to their own label's "
            f"centre (the largest label alone: {100 * chance:.0f} %).")


def _fig1_section(saved: SavedFigure, sequence: CorruptedSequence | None) -> Section:
    """Fig. 1, with the interactive viewer of the same trial (its x(t) and its distances
    to its own memory, the concept and the abstract concept) below the still figure."""
    sec = _section("fig1", "Fig. 1: repeated inference from a corrupted '6'", saved,
                   "the VAE removes the noise in the first few steps, then drifts toward a "
                   "specific '6'.", fig1_found(sequence) if sequence is not None else
                   "the sequence was not computed in this run.")
    if sequence is not None and sequence.distances:
        frames = np.asarray(sequence.frames)  # (S, *image_shape): grey or channels first
        sec.extra_html = trajectory_viewer(
            frames.reshape(len(frames), -1), sequence.distances, steps=sequence.steps,
            labels=[f"corrupted '{LABEL}', p = {sequence.p:g}"], image_shape=frames.shape[1:],
            title="Fig. 1, interactive: step through x(t) with its distances")
    return sec


def hierarchy_sections(figs: Mapping[str, SavedFigure], courses: ConceptCourses,
                       geometry: ConceptGeometry, sweep: NoiseSweep,
                       sequence: CorruptedSequence | None = None,
                       embedding=None) -> list[Section]:
    """The sections of figures 1-4 and A.1 (Fig. 1 with its viewer when ``sequence``
    is given)."""
    g = geometry
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
                 fig2_found(courses)),
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
                 "ten visible clusters.", figA1_found(embedding)),
    ]


def latent_size_sections(figs: Mapping[str, SavedFigure], scan: LatentSizeScan,
                         curve: ElboCurve, attr: Attribution) -> list[Section]:
    """The sections of figures 6, 7 and B.2."""
    return [
        _section("fig6", "Fig. 6: latent size and the dip", figs["fig6"],
                 "no approach to the concept for Nz = 2, 5; approach from Nz ≈ 6; "
                 "orthogonality grows with Nz.",
                 (f"dip for Nz = {listing(scan.dip_nz)}; " if scan.dip_nz else "no Nz dips; ")
                 + (f"from Nz = {scan.first_dip} on every larger Nz dips; "
                    if scan.first_dip is not None else "")
                 + f"Spearman rho(Nz, |off-diag| / its null's mean) = "
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
                 f"{attr.n_kept} of {attr.trials} trials end as '{LABEL}'; a dip in all trials: "
                 f"{yes_no(attr.dip_all['has_dip'])}, in the trials kept: "
                 f"{yes_no(attr.dip_kept['has_dip'])}."),
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
    out = [model_note(model_path, settings), timings_text(timings)]
    if len(seeds) > 1:
        out.append(f"Training seeds: {listing(list(seeds))}, one VAE each (the latent-size sweep too); "
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
            f"({listing(list(ls.nz))}) for {ls.epochs} epochs with lr {listing(list(ls.lr))} "
            f"and batch {listing(list(ls.batch))} (paper: {len(paper.latent_size.nz)} Nz for "
            f"{paper.latent_size.epochs} epochs, lr {listing(list(paper.latent_size.lr))} x "
            f"batch {listing(list(paper.latent_size.batch))}); the CNN trains {ls.classifier_epochs} epochs; "
            f"the IWAE bound uses k = {ls.ll_k} on {ls.ll_images} test images.")
    if prof.name == "smoke":
        out.append(f"Smoke profile: {prof.epochs} training epochs (paper: {paper.epochs}), "
                   f"{prof.trials_fig2} trials per label for Fig. 2 (paper: "
                   f"{paper.trials_fig2}), {prof.trials_fig4} per noise level for Fig. 4 "
                   f"(paper: {paper.trials_fig4}), T = {prof.steps} (paper: {paper.steps}); "
                   f"the latent-size sweep trains Nz = {listing(list(ls.nz))} for {ls.epochs} "
                   "epoch(s).")
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
                                  main.sequence, main.embedding)
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
