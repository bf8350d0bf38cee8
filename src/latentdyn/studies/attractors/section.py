"""The attractor analysis of a model and its hierarchy (``latentdyn attractors``): the
analysis itself, its figures, CSV and JSON, and its report sections -- and
:func:`nagano_section`, the same analysis as a section of another report (the
``reproduce nagano2017`` report).

:class:`Settings` holds every option of the analysis; :func:`analyse` runs it;
:func:`save_outputs` writes its figures (``figures/attractor_*``) and data
(``data/attractor_*.csv``, ``data/attractors.json``); :func:`sections` reads them as
report sections.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from latentdyn.analysis.capture import OLD_QUANTILE
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError

DEFAULT_PS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
SUMMARY = "attractors.json"
MAX_IMAGES = 20  # decoded fixed points drawn
LIMIT = 10**6  # the largest count any option takes (memory is checked as well)
ANCHORS = ("Radhakrishnan, Belkin & Uhler (PNAS 2020) test whether training samples are "
           "attractors of an over-parameterised autoencoder (spectral radius of the "
           "Jacobian < 1 at a fixed point); Fumero et al. (ICLR 2026) read memorisation and "
           "generalisation from the attractors of E∘D as a vector field. Neither relates "
           "them to memories, concepts and an abstract concept.")


@dataclass(frozen=True)
class Settings:
    """Every option of the analysis (recorded in the manifest)."""

    noise: str = "swap"
    ps: tuple = DEFAULT_PS
    trials: int = 100
    label: int | None = None
    steps: int = 80
    memories: int = 500
    starts: int = 1000
    tol: float = 1e-3
    max_steps: int = 500
    method: str = "auto"
    seed: int = 0

    def check_memory(self, nz: int, dim: int) -> None:
        """Refuse, before any work, trajectories that would not fit in memory."""
        from latentdyn.models.build import available_memory

        need = 4 * self.trials * ((self.steps + 1) * nz + 2 * dim)
        if need > available_memory() // 2:
            raise ConfigError(f"--trials {self.trials} x --steps {self.steps} needs about "
                              f"{need / 1e9:.1f} GB per noise level; choose smaller sizes")

    def check(self) -> "Settings":
        from latentdyn.dynamics.attractors import STABILITY_METHODS
        from latentdyn.studies.common import check_seed

        if self.noise not in NOISE_KINDS:
            raise ConfigError(f"unknown noise {self.noise!r}; choose from {', '.join(NOISE_KINDS)}")
        if not self.ps or any(not 0 <= p <= 1 for p in self.ps):
            raise ConfigError(f"--p expects noise levels in [0, 1], got {list(self.ps)}")
        if list(self.ps) != sorted(set(self.ps)):
            raise ConfigError("--p must list increasing, distinct noise levels")
        for name, least in (("trials", 2), ("steps", 1), ("memories", 1), ("starts", 1),
                            ("max_steps", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not least <= v <= LIMIT:
                raise ConfigError(f"--{name.replace('_', '-')} must be an integer in "
                                  f"[{least}, {LIMIT}], got {v!r}")
        if not 0 < self.tol < 1:
            raise ConfigError(f"--tol must lie in (0, 1), a fraction of the latent scale, "
                              f"got {self.tol}")
        if self.method not in STABILITY_METHODS:
            raise ConfigError(f"unknown --method {self.method!r}; choose from "
                              f"{', '.join(STABILITY_METHODS)}")
        check_seed(self.seed, "--seed")
        return self


def _held_out(data):
    """The test images, the baseline of the capture rule (None when the set has none)."""
    x = getattr(data, "test_images", None)
    return x.reshape(x.shape[0], -1) if x is not None and x.shape[0] else None


def analyse(model, hier, data, s: Settings, classifier=None, device=None, timer=None):
    """The analysis of :func:`run` on a model and its hierarchy, and the decoded fixed
    points (and the classifier's reading of them)."""
    from latentdyn.analysis.attractors import analyse_attractors
    from latentdyn.models.inference import decode_all, predict_labels

    res = analyse_attractors(model, hier, data.train_images, data.train_labels, ps=s.ps,
                             trials=s.trials, noise=s.noise, steps=s.steps, label=s.label,
                             memories=s.memories, starts=s.starts, tol=s.tol,
                             max_steps=s.max_steps, method=s.method, seed=s.seed,
                             classifier=classifier, held_out=_held_out(data),
                             device=device, timer=timer)
    images = digits = None
    if res.fixed.n:
        order = torch.argsort(res.fixed.fixed.basin, descending=True, stable=True)
        x = decode_all(model, res.fixed.fixed.points[order[:MAX_IMAGES]])
        images = x.reshape(x.shape[0], *data.image_shape).numpy() \
            if x.shape[1] == data.dim else None
        if classifier is not None:
            digits = predict_labels(classifier, decode_all(model, res.fixed.fixed.points))
    return res, images, digits


# ----------------------------------------------------------------- outputs
def summary(res, s: Settings, digits=None) -> dict:
    """The numbers of the analysis (attractors.json). Where issue 19 changed a rule the
    old reading stands beside the new one (``*_old_rule``)."""
    b, st, fp = res.basins, res.stability, res.fixed
    held = res.held_out
    return {
        "latent_scale": res.scale.scale, "capture": res.scale.capture.to_dict(),
        "capture_radius": res.scale.radius, "capture_radius_old_rule": res.scale.old_radius,
        "tolerance": res.tol, "ps": b.ps, "fates": b.fate_shares(),
        "converged_old_rule": b.converged_old(), "ends": b.end_shares(),
        "ends_old_rule": b.end_shares_old(), "own_memory_chance": b.own_memory_chance(),
        "held_out": None if held is None else {"images": held.n, "levels": held.shares,
                                               "levels_old_rule": held.shares_old},
        "mean_convergence_step": b.mean_steps(), "digit_kept": b.digit_kept(),
        "memories_measured": int(st.memory_index.numel()),
        "contraction_share": st.contraction_share, "memory_fixed_share": st.fixed_share,
        "fixed_attractor_share": st.fixed_attractor_share,
        "memories_at_attracting_fixed_point": res.memories_at_attractors,
        "memory_radius_median": float(st.memory_radius.median()),
        "concept_radius": st.concept_radius.tolist(), "abstract_radius": st.abstract_radius,
        "fixed_points": fp.n, "stable_fixed_points": int(fp.fixed.stable.sum()),
        "fixed_point_attractor_share": fp.attractor_share,
        "fixed_point_levels": fp.level_counts(), "fixed_points_by_level": fp.by_level(),
        "fixed_point_levels_old_rule": fp.level_counts(old=True), "starts": res.start_counts,
        "starts_reaching_a_fixed_point": int((fp.fixed.assignment >= 0).sum()),
        "fixed_point_digits": None if digits is None else digits.tolist(),
        # where they are (the explorer marks them on its map: latentdyn explore --attractors)
        "fixed_point_list": [{"z": fp.fixed.points[i].tolist(), "stable": bool(fp.fixed.stable[i]),
                              "basin": int(fp.fixed.basin[i]), "radius": float(fp.fixed.radius[i])}
                             for i in range(fp.n)],
        "settings": asdict(s),
    }


def _trial_columns(res) -> dict:
    cols: dict[str, list] = {k: [] for k in ("p", "label", "memory_index", "fate", "step",
                                             "period", "end", "end_old_rule", "d_own_memory",
                                             "d_own_concept", "d_abstract", "digit")}
    for lv in res.basins.levels:
        n = lv.labels.numel()
        cols["p"] += [lv.p] * n
        cols["label"] += lv.labels.tolist()
        cols["memory_index"] += lv.memory_index.tolist()
        cols["fate"] += lv.fates.names()
        cols["step"] += lv.fates.step.tolist()
        cols["period"] += lv.fates.period.tolist()
        cols["end"] += lv.ends.names()
        cols["end_old_rule"] += lv.ends_old.names() if lv.ends_old is not None else [""] * n
        cols["d_own_memory"] += lv.ends.d_own_memory.tolist()
        cols["d_own_concept"] += lv.ends.d_own_concept.tolist()
        cols["d_abstract"] += lv.ends.nearest.d_abstract.tolist()
        cols["digit"] += lv.digit.tolist() if lv.digit is not None else [""] * n
    return cols


def _fixed_columns(res, digits) -> dict:
    fp, near = res.fixed.fixed, res.fixed.nearest
    return {"index": np.arange(fp.n), "residual": fp.residual.numpy(),
            "radius": fp.radius.numpy(), "stable": fp.stable.numpy(),
            "basin": fp.basin.numpy(), "nearest": np.asarray(near.names(), dtype=object),
            "nearest_old_rule": np.asarray(res.fixed.nearest_old.names()
                                           if res.fixed.nearest_old is not None
                                           else [""] * fp.n, dtype=object),
            "nearest_memory": near.memory.numpy(), "d_memory": near.d_memory.numpy(),
            "nearest_concept": near.concept.numpy(), "d_concept": near.d_concept.numpy(),
            "d_abstract": near.d_abstract.numpy(),
            "digit": digits.numpy() if digits is not None else np.full(fp.n, "", object)}


def save_outputs(res, images, digits, s: Settings, out: Path, caption: str) -> dict:
    """Figures (``out/figures``), CSV and JSON (``out/data``); returns name -> saved."""
    from latentdyn.figures import image_grid, save_figure, write_csv
    from latentdyn.studies.attractors.figures import (basins_by_noise, fates_by_noise,
                                                    stability_histogram)
    from latentdyn.dynamics.attractors.fates import REST_STEPS
    from latentdyn.io import write_json

    b, st, fp = res.basins, res.stability, res.fixed.fixed
    figs, data = {}, out / "data"

    def save(fig, stem):
        return save_figure(fig, out / "figures", stem, data_dir=data)

    figs["fates"] = save(fates_by_noise(b.ps, b.fate_shares(), b.mean_steps(), caption=(
        f"Fate of {b.trials} trajectories per noise level (T = {b.steps}); converged: "
        f"within {res.tol:.3g} of z(T) over the last {REST_STEPS} steps; {caption}")),
        "attractor_fates")
    figs["basins"] = save(basins_by_noise(b.ps, b.end_shares(), b.digit_kept(), caption=(
        f"The level of the hierarchy that captures z(T), each level within its own radius "
        f"(the {res.scale.quantile:g} quantile of its distances to the memories: memory "
        f"{res.scale.radius:.3g}, abstract {res.scale.capture.abstract:.3g}); none: no level "
        f"captures it{_held_text(res)}; {caption}")), "attractor_basins")
    markers = {"concepts": st.concept_radius.numpy(), "abstract": [st.abstract_radius]}
    if fp.n:
        markers["fixed points"] = fp.radius.numpy()
    figs["stability"] = save(stability_histogram(st.memory_radius.numpy(), markers, caption=(
        f"Spectral radius of J_F at {st.memory_index.numel()} training memories ({st.fixed_share:.0%} "
        f"of them fixed points: elsewhere ρ < 1 is a local contraction, not an attractor), "
        f"the concepts, the abstract concept and the fixed points; {caption}")),
        "attractor_stability")
    if images is not None:
        k = images.shape[0]
        cols = min(10, k)
        grid = np.full((-(-k // cols), cols, *images.shape[1:]), np.nan)
        grid.reshape(-1, *images.shape[1:])[:k] = images
        figs["fixed_points"] = save(image_grid(grid, caption=(
            f"Decoded fixed points, largest basin first ({k} of {fp.n}); {caption}")),
            "attractor_fixed_points")
    write_csv(data / "attractor_trials.csv", _trial_columns(res))
    write_csv(data / "attractor_memories.csv", {
        "memory_index": st.memory_index.numpy(), "label": st.memory_label.numpy(),
        "radius": st.memory_radius.numpy(), "residual": st.memory_residual.numpy()})
    write_csv(data / "attractor_fixed_points.csv", _fixed_columns(res, digits))
    write_json(data / SUMMARY, summary(res, s, digits))
    return figs


def _pc(values) -> str:
    return ", ".join(f"{v:.0%}" for v in values)


def _held_text(res) -> str:
    h = res.held_out
    if h is None:
        return ""
    return (f"; held-out test encodings captured: memory {h.shares['memory']:.0%}, concept "
            f"{h.shares['concept']:.0%}, abstract {h.shares['abstract']:.0%}")


def _basins_text(res) -> str:
    b = res.basins
    e, old = b.end_shares(), b.end_shares_old()
    text = (f"captured by their own memory {_pc(e['own_memory'])} (expected by chance "
            f"{_pc(b.own_memory_chance())}), by another memory {_pc(e['other_memory'])}, by "
            f"their own concept {_pc(e['own_concept'])}, another concept "
            f"{_pc(e['other_concept'])}, the abstract concept {_pc(e['abstract'])}, none "
            f"{_pc(e['none'])} (p = {', '.join(f'{p:g}' for p in b.ps)}); each level "
            f"captures within the {res.scale.quantile:g} quantile of its own distances to "
            f"the memories (memory: {res.scale.radius:.3g} of a latent scale of "
            f"{res.scale.scale:.3g}).")
    h = res.held_out
    if h is not None:
        text += (f" Held-out test images, which have no memory of their own, are captured "
                 f"by a memory at {h.shares['memory']:.0%}, a concept {h.shares['concept']:.0%}, "
                 f"the abstract concept {h.shares['abstract']:.0%}: a share of trial ends "
                 f"says something only above these rates.")
    if old is not None:
        text += (f" The rule before issue 19 (nearest of all points, none beyond "
                 f"{res.scale.old_radius:.3g}, the {OLD_QUANTILE:g} quantile of the "
                 f"nearest-other-memory distance) gave another memory {_pc(old['other_memory'])}"
                 + (f" and called {h.shares_old['memory']:.0%} of held-out encodings "
                    f"\"memory\"" if h is not None else "")
                 + "; that reading carried no information.")
    return text


def _fixed_text(fp, digits) -> str:
    by = fp.by_level()
    text = (f"{fp.n} fixed points ({int(fp.fixed.stable.sum())} attracting, ρ < 1) from "
            f"{fp.n_starts} starts; captured by: " + ", ".join(
                f"{lv} {v['n']} ({v['attracting']} attracting)" for lv, v in by.items())
            + "; by the rule before issue 19: " + ", ".join(
                f"{k} {v}" for k, v in fp.level_counts(old=True).items()) + ".")
    if digits is not None:
        read = torch.bincount(digits).tolist() if digits.numel() else []
        text += " The classifier reads them as: " + ", ".join(
            f"'{d}' {c}" for d, c in enumerate(read) if c) + "."
    return text


def sections(res, figs: dict, digits=None) -> list:
    """The report sections of the analysis."""
    from latentdyn.reporting.report import Section

    b, st, fp = res.basins, res.stability, res.fixed
    f = b.fate_shares()
    ps = ", ".join(f"{p:g}" for p in b.ps)
    out = [
        Section("Attractors: fate of trajectories", figs["fates"].png, figs["fates"].caption,
                "Nagano et al.: trajectories approach the concept, then drift slowly away; "
                "the paper does not ask whether they come to rest.",
                f"at p = {ps}: converged {_pc(f['converged'])} (at rest over the last steps; "
                f"by the rule before issue 19, last step below tol: {_pc(b.converged_old())}); "
                f"drifting {_pc(f['drifting'])}; cycling {_pc(f['cycling'])}; unsettled "
                f"{_pc(f['unsettled'])}.", data=figs["fates"].csv),
        Section("Attractors: basins over noise levels", figs["basins"].png,
                figs["basins"].caption,
                "Nagano et al., Fig. 4: low noise stays near the own memory, moderate noise "
                "nearest the concept, high noise the abstract concept (minimum over t).",
                _basins_text(res), data=figs["basins"].csv),
        Section("Attractors: local stability of the latent map", figs["stability"].png,
                figs["stability"].caption, ANCHORS,
                f"the map contracts (ρ < 1) at {st.contraction_share:.0%} of "
                f"{st.memory_index.numel()} memories: a local contraction, not attraction, "
                f"since only {st.fixed_share:.0%} of them are fixed points; "
                f"{st.fixed_attractor_share:.0%} are fixed points with ρ < 1 (attractors), and "
                f"{res.memories_at_attractors:.0%} have an attracting fixed point within the "
                f"memory capture radius. Concepts: median ρ "
                f"{float(st.concept_radius.median()):.3f}; abstract concept: "
                f"{st.abstract_radius:.3f}.", data=figs["stability"].csv),
    ]
    fig = figs.get("fixed_points")
    out.append(Section("Attractors: fixed points", fig.png if fig else None,
                       fig.caption if fig else "No fixed point was found.",
                       "—", _fixed_text(fp, digits), data=fig.csv if fig else None))
    return out


def nagano_section(model, hierarchy, data, out, *, settings: Settings | None = None,
                   classifier=None, device=None, caption: str = "") -> tuple[list, list]:
    """The attractors section of another report (``reproduce nagano2017``): runs the
    analysis on ``model`` and its ``hierarchy`` (of ``data``'s training images), writes
    its figures into ``out/figures`` and its CSV and JSON into ``out/data``, and returns
    (report sections, files written)."""
    s = (settings or Settings()).check()
    res, images, digits = analyse(model, hierarchy, data, s, classifier, device)
    figs = save_outputs(res, images, digits, s, Path(out), caption or caption_of(s, data.name))
    files = [p for f in figs.values() for p in (f.png, f.pdf, f.csv) if p is not None]
    files += [Path(out) / "data" / n for n in ("attractor_trials.csv",
                                               "attractor_memories.csv",
                                               "attractor_fixed_points.csv", SUMMARY)]
    return sections(res, figs, digits), files


def caption_of(s: Settings, dataset: str) -> str:
    """The settings every figure's caption states."""
    return (f"{s.noise} noise, deterministic dynamics, T = {s.steps}, tol = {s.tol:g} of the "
            f"latent scale, {dataset}, seed {s.seed}")


INTRO = ("The deterministic latent map F(z) = E_q[z | E_p[x | z]] of the model: the fate of "
         "trajectories from corrupted training images (converged, cycling, drifting, "
         "unsettled), which level of the hierarchy -- a memory, a concept, the abstract "
         "concept -- captures where they end, each level within a radius of its own and "
         "read against the rate at which it captures held-out test images, the Jacobian of F "
         "at memories, concepts, the abstract concept and the fixed points, and the fixed "
         "points themselves. Distances and tolerances are in latent units; the tolerance is a "
         "fraction of the latent scale, the RMS distance of the memories from the abstract "
         "concept.\n\n" + ANCHORS)

__all__ = ["ANCHORS", "DEFAULT_PS", "INTRO", "SUMMARY", "Settings", "analyse", "caption_of",
           "nagano_section", "save_outputs", "sections", "summary"]
