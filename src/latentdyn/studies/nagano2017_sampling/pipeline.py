"""The options, ``prepare`` and the stages of ``reproduce nagano2017-sampling``.

Its options are those of ``reproduce nagano2017`` that it shares
(:class:`~latentdyn.studies.nagano2017.HierarchyParams`: the data, the VAE, the
corruption, the sizes; checked by the same functions). Every option is checked and
every input loaded in :func:`prepare`, before anything is written; the stages then run:
the VAE(s) (trained as the nagano2017 study trains them, or the ``--model`` run), then
per training seed its hierarchy and the chains of figures 2a (the first seed only), 2b
and 3. The figures and the report are drawn from the results afterwards
(:mod:`.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from latentdyn.errors import ConfigError
from latentdyn.studies.common import default_dataset, out_param
from latentdyn.studies.models import MODEL_HELP, GivenModel
from latentdyn.studies.nagano2017 import (
    HierarchyParams,
    check_shared,
    hierarchy_stage,
    vae_config,
    vaes_stage,
)
from latentdyn.studies.nagano2017.params import check_given, model_properties
from latentdyn.studies.nagano2017_sampling import stages as S
from latentdyn.studies.nagano2017_sampling.profiles import LABEL, PROFILES, Profile
from latentdyn.studies.params import param

DEFAULT_OUT = "results/nagano2017-sampling"


@dataclass(frozen=True)
class Params(HierarchyParams):
    """Every option of ``reproduce nagano2017-sampling``: nagano2017's shared ones, with
    ``--model`` also taking a nagano2017 result folder."""

    out: str | None = out_param(DEFAULT_OUT)
    model: Any = param(None, "Use this VAE instead of training one: a VAE run (or a `reproduce "
                       "nagano2017` result folder, whose model/ it uses), or any other form "
                       "of --model with a Gaussian posterior: " + MODEL_HELP, group=-1)
    trials: int | None = param(None, "Override the trials per digit (Fig. 2b) and per noise "
                               "level (Fig. 3).", group=-1)


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    params: Params
    prof: Profile  # with the overrides of --epochs, --trials and --steps
    data: Any
    device: Any
    config: Any  # the TrainConfig of the VAE trained when no model is given
    given: GivenModel | None
    nz: int  # of the VAE the chains run on
    settings: dict
    data_record: dict
    seeds: list = field(default_factory=list)  # the training seeds (--seeds N)


def _with_overrides(prof: Profile, p: Params) -> Profile:
    for name, v, least in (("epochs", p.epochs, 0), ("trials", p.trials, 2),
                           ("steps", p.steps, 2)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < least):
            raise ConfigError(f"{name} must be an integer >= {least}, got {v!r}")
    overrides = {k: v for k, v in dict(epochs=p.epochs, steps=p.steps).items()
                 if v is not None}
    if p.trials is not None:
        overrides.update(trials_fig2b=p.trials, trials_fig3=p.trials)
    return replace(prof, **overrides)


def check_size(prof: Profile, nz: int) -> None:
    """Refuse, before any work, trials x steps whose arrays would not fit in memory: per
    chain z(t) and mu(t) (float32), and the nine float32 curves per noise level that Fig.
    3's bootstrap keeps (three readings x three levels), with a factor 2 of headroom."""
    from latentdyn.models.build import available_memory

    per_trial = (prof.steps + 1) * (2 * 4 * nz + 9 * 4 * len(prof.ps) + 8 * 12)
    need = 2 * max(prof.trials_fig2b, prof.trials_fig3) * per_trial
    if need > available_memory():
        raise ConfigError(f"{max(prof.trials_fig2b, prof.trials_fig3)} trials of {prof.steps} "
                          f"steps need about {need / 2**30:,.1f} GiB, more than is available; "
                          "choose fewer --trials or --steps")


def model_folder(model_run: str | Path) -> Path:
    """``--model``: a run folder, or a nagano2017 result holding one in ``model/``."""
    path = Path(model_run)
    if not (path / "config.json").is_file() and (path / "model" / "config.json").is_file():
        return path / "model"
    return path


def given_vae(spec, device, source=None) -> GivenModel:
    """The ``--model`` VAE: a run folder, a nagano2017 result, or a model object."""
    from latentdyn.studies.models import given_model

    if isinstance(spec, (str, Path)):
        spec = model_folder(spec)
    return given_model(spec, device, kinds=("vae",), source=source)


def check_vae(given: GivenModel, data) -> None:
    """One line when the ``--model`` VAE does not fit the data or has no Gaussian
    posterior."""
    from latentdyn.dynamics.sampling import gaussian_posterior
    from latentdyn.models.inference import inference_mode
    from latentdyn.models.protocol import model_device
    from latentdyn.studies.models import check_fits, check_given_data

    check_fits(given.model, data, f"the model {given.path}")
    check_given_data(given, data)
    with inference_mode(given.model):
        gaussian_posterior(given.model, data.train_images[:2].to(model_device(given.model)))


def prepare(p: Params) -> Setup:
    """Check every option, load the data and the ``--model``; write nothing."""
    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset

    prof, seeds = check_shared(p, PROFILES)
    prof = _with_overrides(prof, p)
    dev = resolve_device(p.device)
    given, model = None, None
    if p.given:  # every property of the model from its run; a contradicting option: refused
        given = given_vae(p.model, dev, p)
        model = model_properties(given)
        check_given(p, model, given.path)
    dataset = p.dataset or (model or {}).get("dataset") or default_dataset(p.profile,
                                                                           p.data_dir)
    config = vae_config(p, prof.epochs, dataset, dev)
    if model is None:
        model = {"nz": config.nz, "epochs": config.epochs, "hidden": config.hidden}
    data = load_dataset(dataset, p.data_dir)
    if not bool((data.train_labels == LABEL).any()):
        raise ConfigError(f"data set {data.name} has no training images of label {LABEL}, "
                          "the digit of figures 2a and 3")
    if given is not None:
        check_vae(given, data)
    nz = model["nz"] if model["nz"] is not None else given.model.nz
    check_size(prof, nz)
    settings = {"profile": prof.name, **prof.settings(), "dataset": dataset, "noise": p.noise,
                "mode": "sampling", "nz": nz, "epochs": model["epochs"],
                "hidden": model["hidden"], "seed": p.seed, "seeds": seeds,
                "model_run": p.model_run(given), "device": str(dev)}
    record = {"dataset": data.name, "checksums": data.checksums()}
    return Setup(p, prof, data, dev, config, given, nz, settings, record, seeds)


# ------------------------------------------------------------------- the stages
@dataclass
class SeedResults:
    """One seed's figures 2a (the first seed only), 2b and 3."""

    experiment: Any  # nagano2017's Experiment, in the sampling mode
    sequence: S.SampledSequence | None
    readings: S.ConceptReadings
    sweep: S.StageSweep


@dataclass
class Results:
    """The first seed's model and every seed's results (the first seed's drawn)."""

    model: GivenModel
    per_seed: list  # SeedResults, the first seed's first
    seeds: list

    @property
    def first(self) -> SeedResults:
        return self.per_seed[0]


def seed_stages(r, s: Setup, model, seed: int, first: bool = True) -> SeedResults:
    """One model's hierarchy and figures 2a (when ``first``), 2b and 3 (the stages of
    further seeds are named ``… seedK``)."""
    prof = s.prof
    tag = "" if first else f" seed{seed}"
    exp = S.experiment(s.data, prof.steps, s.params.noise, seed)
    with r.stage("hierarchy" + tag):
        hier = hierarchy_stage(model, exp)
    seq = None
    if first:
        with r.stage("fig2a"):
            seq = S.sequence_stage(model, hier, exp, prof.p_fig2, prof.frame_steps(), s.device)
    with r.stage("fig2b" + tag, f"fig 2b{tag}: chains for every digit"):
        res = S.courses_stage(model, hier, exp, prof.trials_fig2b, prof.p_fig2,
                              prof.resamples, s.device, r.progress)
    with r.stage("fig3" + tag, f"fig 3{tag}: chains for every noise level"):
        sweep = S.stages_stage(model, hier, exp, prof.ps, prof.trials_fig3, prof.resamples,
                               s.device, r.progress)
    return SeedResults(exp, seq, res, sweep)


def run_stages(r, s: Setup) -> Results:
    """The VAE of every seed, then each seed's stages."""
    models = vaes_stage(r, s.given, s.config, s.seeds, s.data, s.device)
    per_seed = [seed_stages(r, s, trained.model, seed, first=i == 0)
                for i, (seed, trained) in enumerate(zip(s.seeds, models))]
    return Results(models[0], per_seed, s.seeds)


__all__ = ["DEFAULT_OUT", "Params", "Results", "SeedResults", "Setup", "prepare",
           "run_stages"]
