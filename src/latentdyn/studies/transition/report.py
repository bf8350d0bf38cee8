"""The outputs of ``latentdyn transition``: data/cells.csv (every snapshot cell),
transition.json (the times, ``alpha`` with its interval, ``prediction``), the phase
diagram, the collapse figure, the curves, and report.html that says in words what law
was found, how well it predicted, and where the paper's picture holds."""

from __future__ import annotations

import math
from pathlib import Path

from latentdyn.studies.transition import law as L

TITLE = "When repeated inference finds concepts, and when memories take over"


def intro(twins: bool) -> str:
    """What the report measures; the twin test named only when it ran (``twins``)."""
    twin_test = "and the twin test" if twins else "(the twin test not run: --twins adds it)"
    return ("One training run per data size, its weights saved at log-spaced optimiser "
            "steps (snapshots); at each snapshot the C1 dip by the selection-free rule, where "
            "the trajectories end (each level against its capture radius, the own-memory "
            "share against held-out images that have no memory of their own), the ELBO gap, "
            f"the active units, local stability {twin_test}. τ_concept: the first snapshot "
            f"with the dip for at least {L.CONCEPT_SHARE:.0%} of the labels; τ_mem: the "
            f"first at which memorisation (return share of training starts − held-out "
            f"starts) reaches {L.MEMORY_THRESHOLD}; both with {L.BOOT}-resample bootstrap "
            "intervals; the law τ ∝ n^α, and its prediction at the largest size made before "
            "that size was evaluated. Rules fixed in code (latentdyn.studies.transition.law).")


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "beyond the grid"
    return f"{v:.3g}"


def law_words(name: str, times: dict, laws: dict, checked: dict) -> list[str]:
    words = []
    for kind in ("concept", "memory"):
        tag = {"concept": "τ_concept", "memory": "τ_mem"}[kind]
        t = times[kind]
        listed = "; ".join(f"n = {n}: {_fmt(x.point)} [{_fmt(x.lo)}, {_fmt(x.hi)}]"
                           for n, x in sorted(t.items()))
        words.append(f"{name}: {tag} (steps, 95% interval) — {listed}.")
        law = laws[kind]
        if law.alpha is None:
            words.append(f"No law for {tag}: it lies inside the grid at {law.fitted} of "
                         f"{len(law.sizes)} sizes (two are needed for a fit).")
        else:
            words.append(f"{tag} ∝ n^α with α = {law.alpha:.2f} [{_fmt(law.lo)}, "
                         f"{_fmt(law.hi)}] (fitted on the {law.fitted} sizes inside the grid).")
        c = checked[kind]
        if c.get("possible"):
            m = c["measured"]
            words.append(f"Prediction for {tag} at n = {c['n']} from sizes "
                         f"{c['fitted_on']} (α = {c['alpha']:.2f}): {_fmt(c['tau'])} "
                         f"[{_fmt(c['lo'])}, {_fmt(c['hi'])}]; measured {_fmt(m['tau'])} "
                         f"[{_fmt(m['lo'])}, {_fmt(m['hi'])}]: {c['verdict']}.")
        else:
            words.append(f"{tag} at n = {c['n']}: {c['verdict']}.")
    return words


def picture_words(rows) -> str:
    done = [r for r in rows if r.get("step") is not None and r.get("dip_fraction") is not None]
    held = [r for r in done if r["dip_fraction"] >= L.CONCEPT_SHARE]
    if not held:
        return (f"The concept picture (C1 for at least {L.CONCEPT_SHARE:.0%} of labels) holds "
                f"at none of the {len(done)} snapshot cells.")
    where = ", ".join(f"n = {r['size']} at step {r['step']}" for r in held[:12])
    return (f"The concept picture holds at {len(held)} of {len(done)} snapshot cells: "
            f"{where}{' …' if len(held) > 12 else ''}.")


ENDS = ("own_memory", "other_memory", "own_concept", "other_concept", "abstract", "none")


def _of(rows, name: str) -> list:
    return [r for r in rows if f"{r['dataset']}|{r['nz']}" == name and r.get("step") is not None
            and r.get("end_none") is not None]


def phase_words(rows, name: str) -> str:
    """Per size, where most trajectories end, as runs of snapshots."""
    parts = []
    for n in sorted({r["size"] for r in _of(rows, name)}):
        cells = sorted((r for r in _of(rows, name) if r["size"] == n), key=lambda r: r["step"])
        runs: list = []
        for r in cells:
            end = max(ENDS, key=lambda e: r[f"end_{e}"]).replace("_", " ")
            if runs and runs[-1][0] == end:
                runs[-1][2] = r["step"]
            else:
                runs.append([end, r["step"], r["step"]])
        parts.append(f"n = {n}: " + " → ".join(
            f"{e} ({a}{'' if a == b else f'–{b}'})" for e, a, b in runs))
    return ("Where most trajectories end, per size (steps): " + "; ".join(parts) + "."
            if parts else "No snapshot was evaluated.")


def collapse_words(taus: dict, alpha) -> str:
    """τ_mem / n^α per size inside the grid: equal when the sizes collapse."""
    inside = {n: t.point for n, t in sorted(taus.items()) if math.isfinite(t.point)}
    if alpha is None or len(inside) < 2:
        return (f"τ_mem lies inside the grid at {len(inside)} size(s): no α to scale by; "
                "the curves are drawn against steps / n.")
    scaled = {n: v / n ** alpha for n, v in inside.items()}
    spread = max(scaled.values()) / min(scaled.values())
    return (f"τ_mem / n^α with α = {alpha:.2f}: " + ", ".join(
        f"n = {n}: {v:.3g}" for n, v in scaled.items())
        + f" (largest / smallest {spread:.2f}; 1 if the sizes collapse onto one curve; "
        "the snapshots are a factor of 2 apart, so τ itself is known to within 2×).")


def curve_words(rows, name: str) -> str:
    """The peak of the dip fraction, the last ELBO gap and memorisation, per size."""
    parts = []
    for n in sorted({r["size"] for r in _of(rows, name)}):
        cells = sorted((r for r in _of(rows, name) if r["size"] == n), key=lambda r: r["step"])
        peak = max(cells, key=lambda r: r["dip_fraction"] or 0)
        last = cells[-1]
        gap = last.get("elbo_gap")
        parts.append(f"n = {n}: the dip in {peak['dip_fraction'] or 0:.0%} of labels at step "
                     f"{peak['step']} (its peak), at step {last['step']} memorisation "
                     f"{last['memorisation'] or 0:.2f}"
                     + (f" and a train − test ELBO gap of {gap:.1f} nats" if gap is not None
                        else ""))
    return "; ".join(parts) + "." if parts else "No snapshot was evaluated."


def _listing(values) -> str:
    return ", ".join(str(v) for v in values)


def summary(results) -> dict:
    out = {}
    for name in results.times:
        out[name] = {
            "times": {k: {str(n): t.as_dict() for n, t in v.items()}
                      for k, v in results.times[name].items()},
            "alpha": {k: v.as_dict() for k, v in results.laws[name].items()},
            "prediction": results.predictions[name]}
    return out


def report(run, s, results, claims) -> None:
    from latentdyn.figures import save_figure, write_csv
    from latentdyn.io import write_json
    from latentdyn.reporting.report import Section, write_report
    from latentdyn.studies.transition import figures as F

    out: Path = run.out
    rows = results.rows
    with run.stage("report"):
        keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in rows[0], k))
        write_csv(out / "data" / "cells.csv", {k: [r.get(k) for r in rows] for k in keys})
        data = summary(results)
        first = next(iter(data.values()), {})
        write_json(out / "transition.json", {
            "alpha": first.get("alpha", {}).get("memory"),
            "prediction": first.get("prediction", {}).get("memory"),
            "by_setting": data, "grid": s.settings,
            "rules": {"concept_share": L.CONCEPT_SHARE,
                      "memory_threshold": L.MEMORY_THRESHOLD, "boot": L.BOOT}})
        sizes = sorted({m.n_train for m in s.plan.models})
        words, sections = [], []
        for name in results.times:
            words += law_words(name, results.times[name], results.laws[name],
                               results.predictions[name])
        words.append(picture_words(rows))
        grid = (f"Profile {s.prof.name}: data {_listing(s.settings['datasets_used'])}, sizes "
                f"{_listing(sizes)}, Nz {_listing(s.prof.nz)}, hidden {s.prof.hidden}, seeds "
                f"{_listing(s.prof.seeds)}, {s.prof.max_steps} optimiser steps at a constant "
                f"learning rate {s.prof.lr} (batch {s.prof.batch_size}), snapshots at steps "
                f"{_listing(s.steps)}; per "
                f"snapshot {s.prof.trials} trials per label at p = {s.prof.p_dip} "
                f"({s.prof.noises[0]}), T = {s.prof.steps}.")
        sections.append(Section("The law", None, grid, "—", "\n\n".join(words),
                                data=out / "data" / "cells.csv"))
        for name, t in results.times.items():
            alpha = results.laws[name]["memory"].alpha
            fig, cols = F.phase_diagram([r for r in rows if f"{r['dataset']}|{r['nz']}" == name],
                                        s.steps, sizes, t, f"{name}: each cell coloured by "
                                        "where most trajectories end; τ_concept and τ_mem "
                                        "with their 95% intervals.")
            tag = name.replace("|", "-nz").replace(":", "_").replace(",", "_").replace("=", "")
            saved = save_figure(fig, out / "figures", f"phase_{tag}", csv_columns=cols,
                                data_dir=out / "data")
            sections.append(Section(f"Phase diagram ({name})", saved.png, saved.caption, "—",
                                    phase_words(rows, name), data=saved.csv))
            fig, cols = F.collapse([r for r in rows if f"{r['dataset']}|{r['nz']}" == name],
                                   sizes, alpha, f"{name}: memorisation against steps / n^α "
                                   f"(α = {'%.2f' % alpha if alpha is not None else '1, no fit'}).")
            saved = save_figure(fig, out / "figures", f"collapse_{tag}", csv_columns=cols,
                                data_dir=out / "data")
            sections.append(Section(f"Collapse ({name})", saved.png, saved.caption, "—",
                                    collapse_words(t["memory"], alpha), data=saved.csv))
        fig, cols = F.curves(rows, sizes, "Each statistic over the snapshots, one line per size "
                             "(mean over seeds, Nz and data sets).")
        saved = save_figure(fig, out / "figures", "curves", csv_columns=cols,
                            data_dir=out / "data")
        sections.append(Section("Statistics over training", saved.png, saved.caption, "—",
                                " ".join(curve_words(rows, name) for name in results.times),
                                data=saved.csv))
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in dict(run.timings).items())
        write_report(out / "report.html", TITLE, intro(bool(s.twins)), s.settings, sections, [],
                     [*s.notes, f"Stage timings: {timings or 'none recorded'}."])
    run.record(backend=s.backend, cells=len(rows), alpha=first.get("alpha"))


__all__ = ["collapse_words", "curve_words", "law_words", "phase_words", "report", "summary"]
