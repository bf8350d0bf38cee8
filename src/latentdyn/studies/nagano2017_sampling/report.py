"""The report of the study: its figures and data (drawn by :mod:`.outputs` from the
first seed's results) and report.html: its intro, the three readings explained, one
section per figure with what paper 002 found and what this run found in each reading,
and the notes."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from latentdyn.analysis.sampling import READINGS
from latentdyn.figures import SavedFigure
from latentdyn.reporting.claims import Claim
from latentdyn.reporting.prose import timings_text
from latentdyn.reporting.report import Section, write_report
from latentdyn.studies.nagano2017_sampling import outputs as O
from latentdyn.studies.nagano2017_sampling.profiles import LABEL, PROFILES, Profile
from latentdyn.studies.nagano2017_sampling.stages import (
    ConceptReadings,
    SampledSequence,
    StageSweep,
)

TITLE = ("Nagano, Karakida & Okada (JSAI 2017): concept formation by the sampling "
         "dynamics — reproduction")
INTRO = (
    "Paper 002 runs repeated inference by sampling, x(t+1) ~ p(x|z(t)), z(t+1) ~ "
    "q(z|x(t+1)), from corrupted training images of a VAE (1024 tanh hidden units, 100 "
    "latent units, MNIST) and measures the distance of the latent state to the concepts "
    "(the mean memory of each digit), to the own memory and to the abstract concept.\n\n"
    "A sample z ~ q(z|x) = N(mu(x), diag sigma^2(x)) lies from any point xi at "
    "E||z - xi||^2 = ||mu(x) - xi||^2 + sum_u sigma_u^2(x): the squared distance of a "
    "sample carries a noise floor sum_u sigma_u^2 that does not depend on where the chain "
    "is. Every distance is therefore read three ways, and every claim is scored on each "
    "(the scorecard's ids end in the reading): raw = ||z(t) - xi||, the distance of the "
    "sample, the paper's literal quantity; mean = ||mu(x(t)) - xi||, the distance of the "
    "posterior mean of the sampled state x(t); corrected = ||z(t) - xi||^2 - "
    "sum_u sigma_u^2(x(t)), the squared raw distance minus the floor of the same step "
    "(squared units; its expectation given x(t) is the square of the mean reading). The "
    "floor is subtracted from the squared distance, never from the distance.")


def readings_section(res: ConceptReadings, sweep: StageSweep) -> Section:
    """The noise floor in numbers."""
    floor0 = [float(res.floor[c][0]) for c in res.classes]
    raw0 = [float(res.courses["raw"][c].mean[0]) for c in res.classes]
    share = sum(f / r ** 2 for f, r in zip(floor0, raw0)) / len(raw0)
    return Section(
        "The three readings and the noise floor", None,
        "E||z - xi||^2 = ||mu - xi||^2 + sum_u sigma_u^2 for a sample z of N(mu, diag "
        "sigma^2): the floor is the mean squared distance of a sample from its own "
        "posterior mean.",
        "the distance of the sample z(t) (no correction for its noise).",
        f"root-mean-square posterior standard deviation sqrt(mean sum_u sigma_u^2 / Nz) = "
        f"{res.rms_sigma:.3f}; at t = 0 the floor is {min(floor0):.2f}-{max(floor0):.2f} "
        f"(squared units) against a mean squared raw distance of about "
        f"{min(raw0) ** 2:.1f}-{max(raw0) ** 2:.1f}, i.e. {share:.0%} of it on average. "
        "Mean floor per noise level of Fig. 3: "
        + ", ".join(f"{p:g}: {f:.2f}" for p, f in zip(sweep.ps, sweep.floor)) + ".")


def _per_reading(text) -> str:
    return "; ".join(f"{r}: {text(r)}" for r in READINGS) + "."


def sections(figs: Mapping[str, SavedFigure], seq: SampledSequence, res: ConceptReadings,
             sweep: StageSweep) -> list[Section]:
    f2a, f2b, f3 = figs["fig2a"], figs["fig2b"], figs["fig3"]
    n = len(res.classes)
    path = ", ".join(f"t={t}: {a:.2f} / {b:.2f}" for t, a, b in
                     zip(seq.steps, seq.raw, seq.mean))
    return [
        readings_section(res, sweep),
        Section("Fig. 2a: a sampled chain from a corrupted '6'", f2a.png, f2a.caption,
                "the model reconstructs a noise-free '6', which approaches the concept of "
                "'6' and then turns into a distorted image of its own.",
                f"distance of this chain to the concept of '{LABEL}' (raw / posterior mean): "
                f"{path}.", data=f2a.csv),
        Section("Fig. 2b: distance to the concept of every digit", f2b.png, f2b.caption,
                "for every digit the activity approaches its concept fast, then leaves it "
                "slowly (500 trials).",
                "labels with a dip (S1) / fast approach, slow escape (S2): " + _per_reading(
                    lambda r: f"{res.count(r, 'has_dip')} / {res.count(r, 'fast_slow')} "
                              f"of {n}, t* = " + ", ".join(
                                  str(res.courses[r][c].dip["t_star"]) for c in res.classes)),
                data=f2b.csv),
        Section("Escape into a memory", None,
                "at T, each trial's distance to its nearest training memory against its "
                "distance to its concept (margin = to concept - to memory); the nearest "
                "memory is the one nearest to the posterior mean mu(x(T)), so that the "
                "sampling noise does not pick it (issue 19).",
                "after the concept, the activity escapes into a memory (abstract, Fig. 2a).",
                "labels closer to a memory than to the concept at T (S3) / already at t* / "
                "at T with the memory chosen by the noisy sample (the rule before issue 19): "
                + _per_reading(lambda r: f"{res.count(r, 'holds')} / "
                                         f"{res.count(r, 'holds_at_t_star')} / "
                                         f"{res.count(r, 'holds_old')} of {n}")),
        Section("Fig. 3: stages of the hierarchy against the noise", f3.png, f3.caption,
                f"stage I (low noise) closest to the own memory of '{LABEL}', stage II "
                "to its concept, stage III to the abstract concept.",
                "stages: " + _per_reading(lambda r: " → ".join(
                    f"{lv} [{a:g}, {b:g}]" for lv, a, b in sweep.readings[r].stages)
                    + f" (ordered in {sweep.readings[r].boot.ordered:.0%} of resamples)"),
                data=f3.csv),
    ]


def notes(prof: Profile, dataset: str, model_path: str, timings: Mapping[str, float],
          settings: Mapping | None = None) -> list[str]:
    """The model (as its run says, from ``settings``), the timings and every reduction
    from the paper's settings."""
    from latentdyn.studies.nagano2017.report import model_note

    given = bool(settings and settings.get("model_run"))
    out = [model_note(model_path, settings), timings_text(timings),
           "What paper 002 adds over paper 001: the sampling form of the dynamics (eqs. "
           "2-3) instead of the deterministic means, with 500 trials per digit; the claims "
           "are those of 001's Fig. 2 and Fig. 4 read on sampled chains. This study "
           "separates the chain's position (mu(x(t))) from the sampling noise "
           "(sum_u sigma_u^2).",
           "Trials start from the training images and noise of the nagano2017 study for "
           "the same seed, so the raw reading equals `reproduce nagano2017 --mode "
           "sampling` for the same model, trials and T."]
    if prof.name == "quick":
        trained = (f"the given VAE was trained for {settings.get('epochs')} epochs (by its run)"
                   if given else f"the VAE is trained for {prof.epochs} epochs (paper profile: "
                   f"{PROFILES['paper'].epochs})")
        out.append(f"Quick profile: {trained}; trials and T are the paper's.")
    if dataset == "mnist-embedded":
        out.append("Data: the embedded MNIST subset (first 10 000 training images, full "
                   "test set), not the paper's 60 000 training images.")
    return out


def write(out: Path, settings: Mapping, sections_: Sequence[Section], claims: Sequence[Claim],
          notes_: Sequence[str]) -> Path:
    return write_report(out / "report.html", TITLE, INTRO, settings, sections_, claims, notes_)


def report(run, s, results, claims: Sequence[Claim]) -> None:
    """Figures 2a, 2b and 3 of the first seed, report.html, and the noise floor in the
    manifest."""
    first, out, prof = results.first, run.out, s.prof
    exp = first.experiment
    caption = O.settings_caption(exp, prof.p_fig2, s.nz, s.data.name)
    figs = {"fig2a": O.save_fig2a(first.sequence, out, caption),
            "fig2b": O.save_fig2b(first.readings, exp, out, caption),
            "fig3": O.save_fig3(first.sweep, exp, out)}
    write(out, s.settings, sections(figs, first.sequence, first.readings, first.sweep),
          claims, notes(prof, s.data.name, results.model.path, run.timings, s.settings))
    run.record(model_run=results.model.path, seeds=s.seeds,
               noise_floor={"rms_sigma": first.readings.rms_sigma,
                            "fig3_mean_floor": first.sweep.floor})
