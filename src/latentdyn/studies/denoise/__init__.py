"""``latentdyn compare denoise``: denoising across model families (issue 6; SPEC §4).

The same corrupted test images are denoised by

(a) the VAE's repeated inference, x(t) after t steps (``vae-inference``),
(b) LSD truncation in the GAN's latent space (``lsd-gan``),
(c) LSD truncation in the VAE's latent space (``lsd-vae``),
(d) nothing: the corrupted input itself (``input``),

optionally (e) repeated inference through the GAN and its encoder (``gan-inference``),
scored by classifier accuracy and PSNR (and SSIM) against the clean image. This
comparison exists in none of the papers; its claims D1-D4 (:mod:`.claims`) state what
it tests -- each denoiser against the corrupted input, image by image, at the moderate
level -- with intervals over images, and with ``--seeds N`` how many of N independently
trained sets of networks reproduce each.

The study in the one shape of :mod:`latentdyn.studies.driver`: :class:`Params` (every
option), :func:`prepare` (checks them, loads the data set and the given networks and
bases), the stages (:mod:`.stages`, each returning a dataclass): the networks
(:mod:`.models`; the given runs ``--vae``, ``--gan``, ``--classifier``, and the missing
ones trained into ``<out>/runs`` -- the paper's VAE (``vae``), the CNN classifier
(``classifier``), the DCGAN (``gan``) and its encoder (``encoder``, the GAN of the
comparison) -- reused when the command is repeated with the same settings, resumed
when interrupted; with ``--given-only`` nothing is trained and the families of a
missing network are skipped, which the report says), the denoisers and the
comparison; then the scorecard (:mod:`.claims`) and the report (:mod:`.report`:
``denoise.csv`` / ``denoise.md``, the curves and the example grids (:mod:`.outputs`),
``summary.json`` and ``report.html``).

Conventions (recorded in every manifest): every denoiser output is clipped to [0, 1]
before it is scored; PSNR = 10 log10(1 / MSE) per image with the MSE floored at 1e-10
(at most 100 dB), averaged over images (± SEM); SSIM uses a uniform 7×7 window with
K1 = 0.01, K2 = 0.03. Each (noise, level) pair is corrupted once, from a seed derived
from (seed, noise, level) alone, and the same corrupted images go to every method.

Profiles (:mod:`.profiles`): ``quick`` (500 test images; networks trained in minutes
on a CPU), ``paper`` (all test images, the papers' networks; hours) and ``smoke`` (toy
size for tests: seconds; not a comparison to read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from latentdyn.analysis.denoising import PSNR_MAX_DB
from latentdyn.errors import ConfigError
from latentdyn.studies.common import (PROFILE_NAMES, Reproduction, check_seed, default_dataset,
                                      get_profile, out_param, seed_list)
from latentdyn.studies.denoise import claims, report, stages
from latentdyn.studies.denoise.models import (Given, check_fits, check_trainable, load_given)
from latentdyn.studies.denoise.profiles import PROFILES, Profile
from latentdyn.studies.driver import Study, finish
from latentdyn.studies.params import float_list, int_list, listed, param, text_list

DEFAULT_OUT = "results/compare-denoise"
KIND = "compare-denoise"
CONVENTIONS = {"clip_outputs": [0.0, 1.0], "psnr_max_db": PSNR_MAX_DB, "ssim_window": 7,
               "vae_dynamics": "deterministic",
               "lsd_truncation": "k largest |c_i| over all nz coefficients"}
PROFILE_HELP = ("quick: 500 test images, 3 levels, networks trained in minutes on a CPU; "
                "paper: all test images, 6 levels, the papers' networks (hours; use a GPU); "
                "smoke: toy size in seconds, for tests (not a comparison to read).")


@dataclass(frozen=True)
class Params(Reproduction):
    """Every option; ``vae``, ``gan`` and ``classifier`` also take model objects from
    Python (``basis_*`` a basis), and ``basis_images``, ``n_prior``, ``max_per_class``
    override the profile's LSD bases from Python only."""

    profile: str = param("quick", PROFILE_HELP, choices=PROFILE_NAMES, group=-1)
    out: str | None = out_param(DEFAULT_OUT)
    vae: Any = param(None, "VAE run folder (families a and c) [trained into OUT/runs/vae].",
                     path="dir")
    gan: Any = param(None, "GAN + encoder run folder (families b and e) [trained into "
                     "OUT/runs/gan and OUT/runs/encoder].", path="dir")
    classifier: Any = param(None, "Classifier run folder (accuracy, LSD bases) [trained into "
                            "OUT/runs/classifier].", path="dir")
    given_only: bool = param(False, "Train nothing: score only what is given, skipping the "
                             "other families.")
    basis_vae: Any = param(None, "LSD basis of the VAE from `latentdyn lsd` (else built here).",
                           path="any", exists=True)
    basis_gan: Any = param(None, "LSD basis of the GAN from `latentdyn lsd` (else built here).",
                           path="any", exists=True)
    noises: tuple | None = param(None, "Comma-separated noise kinds [profile: "
                                 "swap,flip,salt_pepper,gaussian].", flag="--noise",
                                 parse=listed(text_list, "--noise"))
    levels: tuple | None = param(None, "Comma-separated levels p (gaussian: the std) "
                                 "[profile].", parse=listed(float_list, "--levels"))
    steps: tuple | None = param(None, "Repeated-inference steps t, e.g. 1,5,20 [profile].",
                                parse=listed(int_list, "--steps"))
    ks: tuple | None = param(None, "LSD truncation sizes k, e.g. 1,2,3,4,10 [profile].",
                             parse=listed(int_list, "--ks"))
    n_test: int | None = param(None, "Test images used [profile].")
    examples: int | None = param(None, "Example images per noise kind in the report, 0 for "
                                 "none [profile].")
    gan_inference: bool = param(False, "Also score repeated inference through the GAN and "
                                "its encoder.", flag="--gan-inference/--no-gan-inference")
    dataset: str | None = param(None, "Data set [quick: mnist-embedded; paper: mnist when "
                                "present; smoke: synthetic].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    batch_size: int = param(500, "Images per batch of the comparison.")
    device: str = param("cpu", "cpu, cuda, cuda:N or auto.", group=1)
    progress: bool = param(True, "Progress output (--no-progress: as --quiet).",
                           flag="--progress/--no-progress", group=1)
    quiet: bool = param(False, "No progress output (as --no-progress).", group=1)
    basis_images: int | None = param(None, "LSD bases from the first N training images.",
                                     cli=False)
    n_prior: int | None = param(None, "Prior samples of the LSD bases.", cli=False)
    max_per_class: int | None = param(None, "Latents per class of the LSD bases.", cli=False)

    def __post_init__(self) -> None:
        # --no-progress and --quiet mean the same: either silences the run
        quiet = bool(self.quiet) or not self.progress
        object.__setattr__(self, "quiet", quiet)
        object.__setattr__(self, "progress", not quiet)


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    params: Params
    profile: Profile
    comparison: dict  # the resolved comparison settings (summary.json's)
    data: Any  # the loaded Dataset
    seeds: list[int]  # the training seeds of --seeds N (the first is --seed)
    given: Given
    device: Any
    settings: dict  # the manifest's config
    data_record: dict


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


# the flat training settings that describe each network (``Profile.training``)
_TRAINED_KEYS = {"vae": ("vae_",), "gan": ("nz", "gan_", "g_width", "d_width", "enc_", "e_",
                                          "rec_weight", "ce_weight", "kl_weight"),
                 "classifier": ("clf_",)}


def training_settings(prof: Profile, given: Given) -> dict:
    """The profile's training settings of the networks trained here: those of a network
    given as a run or an object are left out (its own are in ``given_properties``), so
    the manifest never states a profile's Nz or epochs for a model it did not train."""
    out = prof.training()
    for name in given.models:
        out = {k: v for k, v in out.items() if not k.startswith(_TRAINED_KEYS.get(name, ()))}
    return out


def prepare(p: Params) -> Setup:
    """Check every option, load the data set and the given runs and bases; write
    nothing."""
    import click

    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset

    prof = get_profile(PROFILES, p.profile)
    seeds = seed_list(check_seed(p.seed), p.n_seeds)
    specs = {"vae": p.vae, "gan": p.gan, "classifier": p.classifier,
             "basis_vae": p.basis_vae, "basis_gan": p.basis_gan}
    if len(seeds) > 1 and (p.given_only or any(v is not None for v in specs.values())):
        raise ConfigError("--seeds N > 1 trains N independent sets of networks; it cannot be "
                          "combined with --vae, --gan, --classifier, --basis-* or --given-only")
    _whole("--batch-size", p.batch_size, 1)
    s = resolve(prof, noises=p.noises, levels=p.levels, steps=p.steps, ks=p.ks,
                n_test=p.n_test, examples=p.examples, basis_images=p.basis_images,
                n_prior=p.n_prior, max_per_class=p.max_per_class)
    dataset = p.dataset or prof.dataset or default_dataset(prof.name, p.data_dir)
    dev = resolve_device(p.device)
    data = load_dataset(dataset, p.data_dir)
    given = load_given(specs, dev)
    check_fits(given, data)
    check_trainable(given, data, p.given_only)
    if p.given_only and not {"vae", "gan"} & set(given.models):
        click.echo("note: neither --vae nor --gan given; only the corrupted input is scored",
                   err=True)
    config = {**s, "dataset": dataset, "seed": p.seed, "batch_size": p.batch_size,
              "gan_inference": bool(p.gan_inference), "inputs": given.labels,
              "conventions": CONVENTIONS, "given_only": bool(p.given_only),
              "training": training_settings(prof, given)}
    if given.properties:  # what the given runs are, from their configs (issue 19)
        config["given_properties"] = dict(given.properties)
    if len(seeds) > 1:
        config["seeds"] = seeds
    return Setup(p, prof, s, data, seeds, given, dev, config,
                 {"dataset": data.name, "checksums": data.checksums()})


def summary(setup: Setup, results, claims, target) -> None:
    """The families skipped (on stderr, always), then the scorecard and the report's
    path."""
    import click

    for family, why in results.first.skipped.items():
        click.echo(f"skipped {family}: {why}", err=True)
    finish(target.folder, claims, setup.params.progress)


STUDY = Study(
    example=("--profile", "smoke", "--vae", "@vae", "--classifier", "@clf", "--given-only",
             "--quiet"),
    name="compare denoise", params=Params, prepare=prepare, stages=stages.stages,
    claims=claims.claims, report=report.report, summary=summary, kind=KIND,
    default_out=DEFAULT_OUT,
    help="""Denoise the same corrupted test images by (a) the VAE's repeated inference,
    (b) LSD truncation in the GAN, (c) LSD truncation in the VAE and (d) nothing;
    write a table (CSV + Markdown), figures, the scorecard D1-D4 (claims.json,
    claims.md), report.html and manifest.json. Networks not given are trained into
    OUT/runs and reused (--given-only: none); --seeds N trains N independent sets.""")
run = STUDY.run

__all__ = ["DEFAULT_OUT", "PROFILES", "Params", "Profile", "STUDY", "Setup", "prepare",
           "resolve", "run"]
