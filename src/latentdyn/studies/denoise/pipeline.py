"""The denoising comparison end to end: :func:`run` checks every option and loads
every input (:func:`prepare`), then runs the stages inside a
:class:`~latentdyn.studies.study.StudyRun` -- the networks, the denoisers, the
comparison, the files -- and writes the report and ``summary.json``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentdyn.analysis.denoising import PSNR_MAX_DB
from latentdyn.errors import ConfigError
from latentdyn.studies.denoise import claims as claims_of
from latentdyn.studies.denoise import report
from latentdyn.studies.denoise.models import (Given, check_fits, check_trainable, load_given,
                                               networks)
from latentdyn.studies.denoise.outputs import write_outputs, write_summary
from latentdyn.studies.denoise.profiles import PROFILES, Profile
from latentdyn.studies.denoise.stages import comparison, denoisers
from latentdyn.studies.study import (StudyRun, check_seed, default_dataset, finish,
                                       get_profile, seed_list)

DEFAULT_OUT = "results/compare-denoise"
KIND = "compare-denoise"
CONVENTIONS = {"clip_outputs": [0.0, 1.0], "psnr_max_db": PSNR_MAX_DB, "ssim_window": 7,
               "vae_dynamics": "deterministic",
               "lsd_truncation": "k largest |c_i| over all nz coefficients"}


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    prof: Profile
    settings: dict  # the resolved comparison settings
    dataset: str
    data: Any  # the loaded Dataset
    data_dir: str | None
    device: Any
    given: Given
    seed: int
    batch_size: int
    gan_inference: bool
    given_only: bool
    config: dict  # the manifest's config
    seeds: list = None  # the training seeds of --seeds N (the first is ``seed``)


# ------------------------------------------------------------------------ settings
def _whole(name: str, v, least: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < least:
        raise ConfigError(f"{name} must be an integer >= {least}, got {v!r}")
    return v


def _check(s: dict) -> None:
    """Refuse in one line a setting the comparison cannot run with."""
    from latentdyn.data.corruption import NOISE_KINDS

    bad = [k for k in s["noises"] if k not in NOISE_KINDS]
    if bad or not s["noises"]:
        raise ConfigError(f"unknown or no noise kind(s) {bad}; choose from "
                          f"{', '.join(NOISE_KINDS)}")
    if not s["levels"] or any(not (math.isfinite(p) and 0.0 <= p <= 1.0) for p in s["levels"]):
        raise ConfigError(f"--levels: give noise levels in [0, 1], got {s['levels']}")
    for key, what in (("steps", "repeated-inference steps"), ("ks", "LSD k")):
        if not s[key] or s[key][0] < 1:
            raise ConfigError(f"{what} must be >= 1, got {s[key]}")
    _whole("--n-test", s["n_test"], 1)
    _whole("--examples", s["examples"], 0)
    _whole("n_prior", s["n_prior"], 0)
    _whole("max_per_class", s["max_per_class"], 1)
    if s["basis_images"] is not None:
        _whole("basis_images", s["basis_images"], 1)


def resolve(prof: Profile, **overrides) -> dict:
    """The profile's comparison settings with the non-``None`` ``overrides`` applied,
    checked (steps and ks sorted without repeats)."""
    s = prof.comparison()
    s.update({k: v for k, v in overrides.items() if v is not None})
    s["profile"] = prof.name
    try:
        for key in ("steps", "ks"):
            s[key] = sorted({int(v) for v in s[key]})
        s["levels"] = [float(v) for v in s["levels"]]
    except (TypeError, ValueError):
        raise ConfigError("steps and ks must be integers, levels numbers") from None
    s["noises"] = list(s["noises"])
    _check(s)
    return s


def prepare(profile: str, out: Path, *, specs: dict, given_only: bool, dataset, data_dir,
            seed, device, batch_size, gan_inference: bool, overwrite: bool,
            overrides: dict, n_seeds: int = 1) -> Setup:
    """Check every option, refuse an ``out`` of another setting, load the data set and
    the given runs and bases; write nothing."""
    import click

    from latentdyn.data import load_dataset
    from latentdyn.checks import resolve_device
    from latentdyn.studies.study import guard_output

    prof = get_profile(PROFILES, profile)
    seed = check_seed(seed)
    seeds = seed_list(check_seed(seed), n_seeds)
    if len(seeds) > 1 and (given_only or any(v is not None for v in specs.values())):
        raise ConfigError("--seeds N > 1 trains N independent sets of networks; it cannot be "
                          "combined with --vae, --gan, --classifier, --basis-* or --given-only")
    batch_size = _whole("--batch-size", batch_size, 1)
    s = resolve(prof, **overrides)
    dataset = dataset or prof.dataset or default_dataset(prof.name, data_dir)
    identity = {"profile": prof.name, "seed": seed, "dataset": dataset}
    if len(seeds) > 1:
        identity["seeds"] = seeds
    guard_output(out, identity, overwrite)
    dev = resolve_device(device)
    data = load_dataset(dataset, data_dir)
    given = load_given(specs, dev)
    check_fits(given, data)
    check_trainable(given, data, given_only)
    if given_only and not {"vae", "gan"} & set(given.models):
        click.echo("note: neither --vae nor --gan given; only the corrupted input is scored",
                   err=True)
    config = {**s, "dataset": dataset, "seed": seed, "batch_size": batch_size,
              "gan_inference": bool(gan_inference), "inputs": given.labels,
              "conventions": CONVENTIONS, "given_only": bool(given_only),
              "training": prof.training()}
    if len(seeds) > 1:
        config["seeds"] = seeds
    return Setup(prof, s, dataset, data, data_dir, dev, given, seed, batch_size,
                 bool(gan_inference), bool(given_only), config, seeds)


# ------------------------------------------------------------------------ the run
def run(profile: str = "quick", out: str | Path = DEFAULT_OUT, *, vae=None, gan=None,
        classifier=None, basis_vae=None, basis_gan=None, given_only: bool = False,
        dataset: str | None = None, data_dir: str | None = None, noises=None, levels=None,
        steps=None, ks=None, n_test: int | None = None, examples: int | None = None,
        basis_images: int | None = None, n_prior: int | None = None,
        max_per_class: int | None = None, gan_inference: bool = False, batch_size: int = 500,
        seed: int = 0, n_seeds: int = 1, device: str = "cpu", progress: bool = True,
        overwrite: bool = False, argv: list[str] | None = None) -> report.Results:
    """Run the comparison into ``out`` and return its :class:`~.report.Results`.

    ``vae``, ``gan`` (a run that offers encode/decode: the GAN's encoder), ``classifier``:
    run folders or model objects; a missing one is trained into ``out/runs`` (reused
    when finished with the same settings), or with ``given_only`` its families are
    skipped, which the report says. ``basis_vae`` / ``basis_gan``: LSD bases written by
    ``latentdyn lsd`` (else built here). ``noises`` ... ``max_per_class``: override the
    profile's comparison settings. ``n_seeds``: train that many independent sets of
    networks (seeds ``seed, seed + 1, …``; the further ones in ``runs/seed<s>`` and
    ``seeds/seed<s>``) and report per claim how many reproduce it; the report shows the
    first. Every option is checked and every input loaded before anything is written
    to ``out``.
    """
    import click

    out = Path(out)
    st = prepare(profile, out, specs={"vae": vae, "gan": gan, "classifier": classifier,
                                      "basis_vae": basis_vae, "basis_gan": basis_gan},
                 given_only=given_only, dataset=dataset, data_dir=data_dir, seed=seed,
                 device=device,
                 batch_size=batch_size, gan_inference=gan_inference, overwrite=overwrite,
                 overrides=dict(noises=noises, levels=levels, steps=steps, ks=ks,
                                n_test=n_test, examples=examples, basis_images=basis_images,
                                n_prior=n_prior, max_per_class=max_per_class),
                 n_seeds=n_seeds)
    facts = {"dataset": st.data.name, "checksums": st.data.checksums()}
    with StudyRun(out, KIND, st.config, seed=st.seed, device=st.device, data=facts, argv=argv,
                  progress=progress, overwrite=overwrite) as r:
        res, claims = _stages(r, st)
    for family, why in res.skipped.items():
        click.echo(f"skipped {family}: {why}", err=True)
    finish(out, claims, progress)
    return res


def _stages(r: StudyRun, st: Setup) -> tuple[report.Results, list]:
    """Every seed's stages (the first into ``r.out``, the others into
    ``seeds/seed<s>/``), then the scorecard with the seed counts, the first seed's
    files and report, ``summary.json`` and the manifest's fields."""
    from latentdyn.reporting.claims import write_scorecard
    from latentdyn.studies.study import combine_seeds

    out, s = r.out, st.settings
    per_seed, res = [], None
    for i, seed in enumerate(st.seeds):
        main = i == 0
        sub = out if main else out / "seeds" / f"seed{seed}"
        found, comp, nets, den = _one_seed(
            r, st, seed, sub, None if main else r.folder / "runs" / f"seed{seed}",
            "" if main else f"seed {seed}: ")
        per_seed.append(found)
        if main:
            with r.stage("outputs"):
                files = write_outputs(out, comp, s, st.data.name, seed)
            res = report.Results(out=out, settings=s, dataset=st.data.name, seed=seed,
                                 given=st.given, nets=nets, denoisers=den, comparison=comp,
                                 outputs=files, training=st.prof.training(),
                                 seeds=list(st.seeds))
        else:
            write_scorecard(found, sub)
            write_summary(sub, s, den.skipped, comp.rows)
    claims = combine_seeds(per_seed, st.seeds) if len(st.seeds) > 1 else per_seed[0]
    write_scorecard(claims, out)
    with r.stage("report"):
        report.write(res, claims)
        write_summary(out, s, res.denoisers.skipped, res.comparison.rows)
    r.record(skipped=res.denoisers.skipped, runs=res.nets.paths,
             outputs={k: str(v.relative_to(out)) for k, v in res.files().items()})
    return res, claims


def _one_seed(r: StudyRun, st: Setup, seed: int, out: Path, runs, prefix: str):
    """The networks, the denoisers, the comparison and the claims of one seed."""
    s = st.settings
    given = st.given if not prefix else type(st.given)()
    nets = networks(r, st.prof, st.data, st.data_dir, seed, st.device, given,
                    st.given_only, runs, prefix)
    with r.stage(f"{prefix}denoisers", f"{prefix}denoisers: the methods of every family, "
                                       "LSD bases"):
        den = denoisers(nets, given.bases, s, st.data, seed, out, st.gan_inference,
                        r.progress)
    with r.stage(f"{prefix}comparison",
                 f"{prefix}comparison: every method on the same corrupted images"):
        comp = comparison(den, nets.classifier, s, st.data, seed, st.batch_size,
                          r.progress)
    return claims_of.claims(comp, seed), comp, nets, den
