"""``latentdyn reproduce toledo2023``: latent spectral decomposition (LSD) in a GAN.

Toledo-Marín & Glazier, "Using deep LSD to build operators in GANs latent space with
meaning in real space" (PLoS ONE 2023; paper 004, abstract only; SPEC §3 gives the
method from the authors' public code).

The claims (thresholds fixed in code before any run, :mod:`.claims`):

* T1 -- 98 % of the data map to the label sub-space: the largest |c_i| of at least
  95 % of the test images falls on one of the K label quasi-eigenvectors, and that
  fraction lies at least 0.05 above what shuffled labels give (the centred reading, LSD
  accuracy and the true label's rank are reported beside it);
* T2 -- LSD denoises: keeping the 10 largest coefficients raises the judge's accuracy
  above that on the corrupted input by more than 2 paired standard errors, at the
  moderate level of every noise kind;
* T3 -- a rotation by π/2 in the plane of (ξ_i, ξ_j) turns digit i into digit j in at
  least half of all paths (every ordered pair i ≠ j);
* T4 -- the label quasi-eigenvectors map to the labels one-to-one: the judge reads
  G(s_k ξ_k) as k for every class k;
* T5 -- the quasi-eigenvectors span the latent space (orthonormal, reconstruct z).

Every claim carries a seeded bootstrap interval, the share of resamples in which its
rule holds and a null or reference value; with ``--seeds N`` the study trains N
independent sets of networks and each claim says how many of them reproduce it.

The study in the one shape of :mod:`latentdyn.studies.driver`: :class:`Params` (every
option), :func:`prepare` (checks them, loads the data and the given runs), the stages
(:mod:`.stages`; each returns a dataclass of results): the networks (:mod:`.models`):
a CNN classifier C (real labels), which labels latent vectors by C(G(z)) and trains the
encoder, as in the paper; the DCGAN G (100-d Gaussian latent); the encoder E, trained
with G and C frozen (reconstruction + 100·CE + KL/25); and a second CNN J of the same
architecture and another seed, the *judge*, which never takes part in training the GAN
or the encoder and reads every image the claims are measured on (the encoder is
trained to please C, so C's own readings of G(E(x)) are biased toward success); the
GAN's samples, the quasi-eigenvectors and the LSD of the test images (:mod:`.lsd`);
denoising by keeping the k largest coefficients (:mod:`.denoising`); rotations i → j
(:mod:`.rotations`); then the scorecard (:mod:`.claims`), and the files (:mod:`.outputs`)
and report (:mod:`.report`). Runs go to ``<out>/runs`` and are reused when the command
is repeated with the same settings (an interrupted one is resumed); ``--classifier``,
``--judge``, ``--gan`` and ``--encoder`` take finished runs instead. Profiles
(:mod:`.profiles`): ``quick`` (a few CPU minutes), ``paper`` (the paper's architecture;
hours) and ``smoke`` (toy size for the tests: seconds; not a reproduction).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.common import (PROFILE_NAMES, Reproduction, check_seed, default_dataset,
                                      get_profile, out_param, seed_list)
from latentdyn.studies.driver import Study
from latentdyn.studies.params import param
from latentdyn.studies.toledo2023 import claims, report, stages
from latentdyn.studies.toledo2023.models import GivenRuns, load_given
from latentdyn.studies.toledo2023.profiles import PROFILES, Profile

DEFAULT_OUT = "results/toledo2023"
KIND = "reproduce toledo2023"
PROFILE_HELP = ("quick: reduced (about 11 minutes on 2 shared CPU cores; every reduction is "
                "stated in the report); paper: the paper's architecture (hours; use a GPU); "
                "smoke: toy size in seconds, for tests (not a reproduction).")


def _run_param(help: str) -> Any:
    return param(None, help, path="dir")


@dataclass(frozen=True)
class Params(Reproduction):
    profile: str = param("quick", PROFILE_HELP, choices=PROFILE_NAMES, group=-1)
    out: str | None = out_param(DEFAULT_OUT)
    dataset: str | None = param(None, "Data set [quick: mnist-embedded; paper: mnist when "
                                "present].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    classifier: str | None = _run_param("A --model classifier run to use as C (labels "
                                        "latents, trains E).")
    judge: str | None = _run_param("A --model classifier run to use as the judge J (reads "
                                   "every image).")
    gan: str | None = _run_param("A --model gan run to use instead of training one.")
    encoder: str | None = _run_param("A --model gan-encoder run (holds its generator) "
                                     "instead of training one.")
    gan_epochs: int | None = param(None, "Override the profile's GAN epochs.")


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    params: Params
    profile: Profile
    data: Any  # the loaded Dataset
    seeds: list[int]  # the training seeds of --seeds N (the first is --seed)
    given: GivenRuns
    device: Any
    settings: dict  # the manifest's config
    data_record: dict


def prepare(p: Params) -> Setup:
    """Every option checked, the data set and the given runs loaded; nothing written.
    An encoder run holds its generator, so a ``--gan`` given with it is only recorded."""
    from latentdyn.checks import resolve_device

    prof = _profile(p.profile, p.gan_epochs)
    seeds = seed_list(check_seed(p.seed), p.n_seeds)
    data = _dataset(prof, p.dataset, p.data_dir)
    given_paths = {"classifier": p.classifier, "judge": p.judge, "gan": p.gan,
                   "encoder": p.encoder}
    if len(seeds) > 1 and any(given_paths.values()):
        raise ConfigError("--seeds N > 1 trains N independent sets of networks; it cannot be "
                          "combined with --classifier, --judge, --gan or --encoder")
    dev = resolve_device(p.device)
    given = load_given(given_paths, dev)
    prof = _as_given(prof, given, p.gan_epochs)
    nz = given.nz(prof.nz)
    if nz < data.num_classes:
        raise ConfigError(f"nz = {nz} is smaller than the {data.num_classes} classes; "
                          "LSD needs nz >= the number of labels")
    settings = {**prof.settings(), "nz": nz, "dataset": data.name, "seed": p.seed,
                "device": str(dev),
                "given_runs": {k: str(v) for k, v in given_paths.items() if v}}
    if given.properties:  # what the given runs are, from their configs (issue 19)
        settings["given_properties"] = dict(given.properties)
    if len(seeds) > 1:
        settings["seeds"] = seeds
    record = {"dataset": data.name, "checksums": data.checksums(),
              "train": len(data.train_labels), "test": len(data.test_labels)}
    return Setup(p, prof, data, seeds, given, dev, settings, record)


def _as_given(prof: Profile, given: GivenRuns, gan_epochs: int | None) -> Profile:
    """The profile with the given GAN's own epochs, batch size, learning rate and Nz (read
    from its run), so that nothing states the profile's for a GAN it did not train; one
    line for ``--gan-epochs`` that contradicts a given GAN (or comes with an encoder run,
    which holds its GAN)."""
    gan = given.properties.get("gan")
    if gan_epochs is not None and "encoder" in given.paths:
        raise ConfigError("--gan-epochs trains a GAN; --encoder gives one (inside the "
                          "encoder run): drop --gan-epochs")
    if gan is None:
        return prof
    if gan_epochs is not None and gan_epochs != gan["epochs"]:
        raise ConfigError(f"--gan {given.paths['gan']} contradicts --gan-epochs {gan_epochs} "
                          f"(the run has {gan['epochs']}); its properties are read from the "
                          "run: drop the option")
    return replace(prof, gan=replace(prof.gan, epochs=gan["epochs"], nz=gan["nz"],
                                     batch_size=gan["batch_size"], lr=gan["lr"]))


def _profile(name: str, gan_epochs: int | None) -> Profile:
    prof = get_profile(PROFILES, name)
    if gan_epochs is not None:
        if not isinstance(gan_epochs, int) or isinstance(gan_epochs, bool) or gan_epochs < 1:
            raise ConfigError(f"--gan-epochs must be a positive integer, got {gan_epochs!r}")
        prof = replace(prof, gan=replace(prof.gan, epochs=gan_epochs))
    return prof


def _dataset(prof: Profile, dataset: str | None, data_dir):
    from latentdyn.data import load_dataset

    data = load_dataset(dataset or prof.dataset or default_dataset(prof.name, data_dir),
                        data_dir)
    if data.num_classes < 2:
        raise ConfigError(f"{data.name}: LSD needs labelled data with at least two classes")
    return data


STUDY = Study(
    example=("--profile", "smoke", "--classifier", "@clf", "--judge", "@clf", "--encoder",
             "@encoder", "--quiet", "--device", "cpu"),
    name="reproduce toledo2023", params=Params, prepare=prepare, stages=stages.stages,
    claims=claims.claims, report=report.report, kind=KIND, default_out=DEFAULT_OUT,
    help="""Toledo-Marín & Glazier (2023): quasi-eigenvectors, LSD, denoising and rotations
    in a GAN's latent space, with the claims scorecard T1-T5 and a self-contained
    report.html. Trained runs are kept in OUT/runs and reused. With --seeds N, N
    independent sets of networks (seeds SEED … SEED+N-1; the further ones in
    OUT/runs/seed<S> and OUT/seeds/seed<S>) and, per claim, how many reproduce it.""")
run = STUDY.run

__all__ = ["DEFAULT_OUT", "PROFILES", "Params", "Profile", "STUDY", "Setup", "prepare", "run"]
