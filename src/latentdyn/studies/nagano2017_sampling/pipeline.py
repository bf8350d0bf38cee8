"""``run``: the nagano2017-sampling study as one plain function.

Every option is checked and every input loaded in :func:`prepare`, before anything is
written; the stages then run inside a :class:`~latentdyn.studies.study.StudyRun`
(manifest ``running`` -> ``completed`` or ``failed``): the VAE (trained as the
nagano2017 study trains it, or the ``--model`` run), its hierarchy, figures 2a, 2b and
3; then the scorecard and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from latentdyn.data import load_dataset
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics.sampling import gaussian_posterior
from latentdyn.errors import ConfigError
from latentdyn.models.inference import inference_mode
from latentdyn.models.protocol import model_device
from latentdyn.reporting.claims import write_scorecard
from latentdyn.checks import resolve_device
from latentdyn.studies.nagano2017 import stages as N
from latentdyn.studies.nagano2017_sampling import claims as C
from latentdyn.studies.nagano2017_sampling import outputs as O
from latentdyn.studies.nagano2017_sampling import report as R
from latentdyn.studies.nagano2017_sampling import stages as S
from latentdyn.studies.nagano2017_sampling.profiles import LABEL, PROFILES, Profile
from latentdyn.studies.study import (
    StudyRun,
    check_seed,
    combine_seeds,
    default_dataset,
    finish,
    get_profile,
    guard_output,
    seed_list,
)
from latentdyn.train import TrainConfig
from latentdyn.train.runs import load_run_of_kind

DEFAULT_OUT = "results/nagano2017-sampling"
KIND = "reproduce nagano2017-sampling"


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    prof: Profile
    data: Any
    device: Any
    config: TrainConfig
    given: N.TrainedModel | None
    settings: dict
    noise: str
    nz: int
    seed: int
    progress: bool
    seeds: list = field(default_factory=list)  # the training seeds (--seeds N)


def _with_overrides(prof: Profile, epochs, trials, steps) -> Profile:
    for name, v, least in (("epochs", epochs, 0), ("trials", trials, 2), ("steps", steps, 2)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < least):
            raise ConfigError(f"{name} must be an integer >= {least}, got {v!r}")
    overrides = {k: v for k, v in dict(epochs=epochs, steps=steps).items() if v is not None}
    if trials is not None:
        overrides.update(trials_fig2b=trials, trials_fig3=trials)
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


def given_model(model_run, data, device) -> N.TrainedModel:
    """The ``--model`` VAE, checked against the data and for its Gaussian posterior."""
    path = model_folder(model_run)
    model, _ = load_run_of_kind(path, "vae", "--model", device)
    expected = model.config_dict().get("input_dim", data.dim)
    if data.dim != expected:
        raise ConfigError(f"data set {data.name} has {data.dim} values per image but the "
                          f"model {path} takes {expected}")
    with inference_mode(model):
        gaussian_posterior(model, data.train_images[:2].to(model_device(model)))
    return N.TrainedModel(model, str(path))


def prepare(profile: str, out: Path, *, dataset, data_dir, model_run, noise, nz, seed,
            epochs, trials, steps, device, progress, overwrite, n_seeds: int = 1) -> Setup:
    """Check every option, refuse an ``out`` of another setting, load the data and the
    ``model_run``; write nothing."""
    prof = get_profile(PROFILES, profile)
    seeds = seed_list(check_seed(seed), n_seeds)
    if model_run and len(seeds) > 1:
        raise ConfigError("--seeds N trains N models; --model gives one (drop one of them)")
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    check_seed(seed)
    prof = _with_overrides(prof, epochs, trials, steps)
    dataset = dataset or default_dataset(profile, data_dir)
    guard_output(out, {"profile": profile, "seed": seed, "dataset": dataset}, overwrite)
    dev = resolve_device(device)
    config = TrainConfig(dataset=dataset, data_dir=data_dir, nz=nz, epochs=prof.epochs,
                         seed=seed, device=str(dev))
    config.validate()
    data = load_dataset(dataset, data_dir)
    if not bool((data.train_labels == LABEL).any()):
        raise ConfigError(f"data set {data.name} has no training images of label {LABEL}, "
                          "the digit of figures 2a and 3")
    given = given_model(model_run, data, dev) if model_run else None
    if given is not None:
        nz = given.model.nz
    check_size(prof, nz)
    settings = {"profile": prof.name, **prof.settings(), "dataset": dataset, "noise": noise,
                "mode": "sampling", "nz": nz, "seed": seed, "seeds": seeds,
                "model_run": model_run, "device": str(dev)}
    return Setup(prof, data, dev, config, given, settings, noise, nz, seed, progress, seeds)


def models(r: StudyRun, s: Setup) -> list:
    """The VAE of every training seed: the ``--model`` run, or trained as the
    nagano2017 study trains them (several seeds together, as one ensemble)."""
    from latentdyn.studies.nagano2017.models import model_folders, train_models

    with r.stage("train", None if s.given else f"training {len(s.seeds)} VAE(s)"):
        if s.given:
            return [s.given]
        return train_models([replace(s.config, seed=k) for k in s.seeds],
                            model_folders(r.folder, s.seeds), s.device, s.progress, s.data)


def stages(r: StudyRun, s: Setup, figs: dict, model, seed: int, draw: bool = True):
    """One model's hierarchy and figures 2a, 2b and 3 (saved into ``figs`` when
    ``draw``; the stages of further seeds are named ``… seedK``)."""
    prof, out = s.prof, r.out
    tag = "" if draw else f" seed{seed}"
    exp = S.experiment(s.data, prof.steps, s.noise, seed)
    with r.stage("hierarchy" + tag):
        hier = N.hierarchy_stage(model, exp)
    caption = O.settings_caption(exp, prof.p_fig2, s.nz, s.data.name)
    seq = None
    if draw:
        with r.stage("fig2a"):
            seq = S.sequence_stage(model, hier, exp, prof.p_fig2, prof.frame_steps(), s.device)
            figs["fig2a"] = O.save_fig2a(seq, out, caption)
    with r.stage("fig2b" + tag, f"fig 2b{tag}: chains for every digit"):
        res = S.courses_stage(model, hier, exp, prof.trials_fig2b, prof.p_fig2,
                              prof.resamples, s.device, s.progress)
        if draw:
            figs["fig2b"] = O.save_fig2b(res, exp, out, caption)
    with r.stage("fig3" + tag, f"fig 3{tag}: chains for every noise level"):
        sweep = S.stages_stage(model, hier, exp, prof.ps, prof.trials_fig3, prof.resamples,
                               s.device, s.progress)
        if draw:
            figs["fig3"] = O.save_fig3(sweep, exp, out)
    return seq, res, sweep


def run(
    profile: str = "quick",
    out: str | Path = DEFAULT_OUT,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    model_run: str | None = None,
    noise: str = "swap",
    nz: int = 100,
    seed: int = 0,
    epochs: int | None = None,
    trials: int | None = None,
    steps: int | None = None,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    n_seeds: int = 1,
) -> Path:
    """Reproduce figures 2a, 2b and 3 of paper 002 and claims S1-S4 (each in the three
    readings) into ``out``; return ``out``. ``trials`` overrides both figures' trials.
    ``n_seeds``: train that many VAEs (seeds ``seed`` …) and count per claim how many
    reproduce it (values and figures are the first seed's)."""
    out = Path(out)
    s = prepare(profile, out, dataset=dataset, data_dir=data_dir, model_run=model_run,
                noise=noise, nz=nz, seed=seed, epochs=epochs, trials=trials, steps=steps,
                device=device, progress=progress, overwrite=overwrite, n_seeds=n_seeds)
    figs: dict = {}
    data_info = {"dataset": s.data.name, "checksums": s.data.checksums()}
    with StudyRun(out, KIND, s.settings, seed=seed, device=s.device, data=data_info,
                  progress=progress, overwrite=overwrite) as r:
        trained = models(r, s)
        results = [stages(r, s, figs, model.model, seed_i, draw=i == 0)
                   for i, (seed_i, model) in enumerate(zip(s.seeds, trained))]
        cards = [C.all_claims(res_i, sweep_i) for _, res_i, sweep_i in results]
        seq, res, sweep = results[0]
        trained = trained[0]
        claims = cards[0] if len(cards) == 1 else combine_seeds(cards, s.seeds)
        write_scorecard(claims, r.out)
        R.write(r.out, s.settings, R.sections(figs, seq, res, sweep), claims,
                R.notes(s.prof, s.data.name, trained.path, r.timings))
        r.record(claims={c.id: c.verdict for c in claims}, model_run=trained.path,
                 seeds=s.seeds,
                 noise_floor={"rms_sigma": res.rms_sigma, "fig3_mean_floor": sweep.floor})
    finish(out, claims, progress)
    return out
