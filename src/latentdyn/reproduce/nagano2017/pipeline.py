"""``run``: the nagano2017 study as one plain function.

Every option is checked and every input loaded in :func:`prepare`, before anything is
written; the stages then run inside a :class:`~latentdyn.reproduce.study.StudyRun`
(manifest ``running`` -> ``completed`` or ``failed``), in this order: the VAE, its
hierarchy, figures 1, 2, 3, 4 and A.1, then (unless ``latent_size=False``) the sweep
and figures 6, 7 and B.2; then the scorecard and the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from latentdyn.data import load_dataset
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics import MODES
from latentdyn.errors import ConfigError
from latentdyn.reporting.claims import Claim, write_scorecard
from latentdyn.reporting.manifest import resolve_device
from latentdyn.reproduce.nagano2017 import claims as C
from latentdyn.reproduce.nagano2017 import latent_size as L
from latentdyn.reproduce.nagano2017 import outputs as O
from latentdyn.reproduce.nagano2017 import report as R
from latentdyn.reproduce.nagano2017 import stages as S
from latentdyn.reproduce.nagano2017.profiles import PROFILES, Profile
from latentdyn.reproduce.study import (
    StudyRun,
    check_seed,
    default_dataset,
    finish,
    get_profile,
    guard_output,
)
from latentdyn.train import TrainConfig

DEFAULT_OUT = "results/nagano2017"
KIND = "reproduce nagano2017"


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    prof: Profile
    data: Any  # the loaded Dataset
    device: Any
    config: TrainConfig  # of the VAE trained when no model is given
    given: S.TrainedModel | None  # the --model run, loaded
    settings: dict
    noise: str
    mode: str
    nz: int
    seed: int
    data_dir: str | None
    latent_size: bool
    progress: bool


def _with_overrides(prof: Profile, epochs, trials, steps) -> Profile:
    overrides = {k: v for k, v in dict(epochs=epochs, steps=steps).items() if v is not None}
    if trials is not None:
        overrides.update(trials_fig2=trials, trials_fig4=trials)
    for k, v in overrides.items():
        least = 2 if k.startswith("trials") else 0
        if not isinstance(v, int) or v < least:
            raise ConfigError(f"{k} must be an integer >= {least}")
    return replace(prof, **overrides)


def _settings(prof: Profile, dataset: str, noise, mode, nz, seed, model_run, device,
              latent_size: bool) -> dict:
    settings = {"profile": prof.name, **prof.settings(), "dataset": dataset, "noise": noise,
                "mode": mode, "nz": nz, "seed": seed, "model_run": model_run,
                "device": str(device), "latent_size_study": latent_size}
    if latent_size:
        settings["latent_size"] = asdict(prof.latent_size)
    return settings


def _check_model(given: S.TrainedModel, data) -> None:
    config_dict = getattr(given.model, "config_dict", None)
    expected = config_dict().get("input_dim", data.dim) if callable(config_dict) else data.dim
    if data.dim != expected:
        raise ConfigError(f"data set {data.name} has {data.dim} values per image but the model "
                          f"{given.path} takes {expected}")


def prepare(profile: str, out: Path, *, dataset, data_dir, model_run, noise, mode, nz, seed,
            epochs, trials, steps, device, progress, overwrite, latent_size) -> Setup:
    """Check every option, refuse an ``out`` of another setting, load the data and the
    ``model_run``; write nothing."""
    prof = get_profile(PROFILES, profile)
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown dynamics mode {mode!r}; choose from {', '.join(MODES)}")
    check_seed(seed)
    prof = _with_overrides(prof, epochs, trials, steps)
    dataset = dataset or default_dataset(profile, data_dir)
    guard_output(out, {"profile": profile, "seed": seed, "dataset": dataset}, overwrite)
    dev = resolve_device(device)
    config = TrainConfig(dataset=dataset, data_dir=data_dir, nz=nz, epochs=prof.epochs,
                         seed=seed, device=str(dev))
    config.validate()
    settings = _settings(prof, dataset, noise, mode, nz, seed, model_run, dev, latent_size)
    data = load_dataset(dataset, data_dir)
    given = S.given_model(model_run, dev) if model_run else None
    if given is not None:
        _check_model(given, data)
    return Setup(prof, data, dev, config, given, settings, noise, mode, nz, seed, data_dir,
                 latent_size, progress)


# ------------------------------------------------------------------- the stages
@dataclass
class HierarchyResults:
    """Figures 1-4 and A.1."""

    model: S.TrainedModel
    hierarchy: Any
    sequence: S.CorruptedSequence
    courses: S.ConceptCourses
    geometry: S.ConceptGeometry
    sweep: Any  # analysis.trials.NoiseSweep
    embedding: S.MemoryEmbedding


@dataclass
class LatentSizeResults:
    """Figures 6, 7 and B.2."""

    sweep: L.LatentSizeSweep
    scan: L.LatentSizeScan
    elbo: L.ElboCurve
    attribution: L.Attribution


def hierarchy_stages(r: StudyRun, s: Setup, figs: dict) -> HierarchyResults:
    """The VAE, its hierarchy, and figures 1-4 and A.1 (saved into ``figs``)."""
    prof, out = s.prof, r.out
    with r.stage("train", None if s.given else "training the VAE"):
        trained = s.given or S.train_model(s.config, r.folder / "model", s.device, s.progress)
    exp = S.experiment(s.data, prof, s.noise, s.mode, s.seed)
    with r.stage("hierarchy"):
        hier = S.hierarchy_stage(trained.model, exp)
    caption = O.settings_caption(exp, prof.p_fig2, s.nz, s.data.name)
    with r.stage("fig1"):
        seq = S.sequence_stage(trained.model, hier, exp, prof.p_fig2, s.device)
        figs["fig1"] = O.save_fig1(seq, out, caption)
    with r.stage("fig2"):
        courses = S.courses_stage(trained.model, hier, exp, prof.trials_fig2, prof.p_fig2,
                                  s.progress)
        figs["fig2"] = O.save_fig2(courses, exp, out, caption)
    with r.stage("fig3"):
        geometry = S.geometry_stage(hier, s.nz)
        figs["fig3a"], figs["fig3b"], figs["fig3c"] = O.save_fig3(geometry, out)
    with r.stage("fig4"):
        sweep = S.stages_stage(trained.model, hier, exp, prof.ps, prof.trials_fig4, s.progress)
        figs["fig4"] = O.save_fig4(sweep, exp, prof.trials_fig4, out)
    with r.stage("figA1"):
        emb = S.embedding_stage(hier, exp, prof.pca_points)
        figs["figA1"] = O.save_figA1(emb, out)
    return HierarchyResults(trained, hier, seq, courses, geometry, sweep, emb)


def latent_size_stages(r: StudyRun, s: Setup, main: HierarchyResults,
                       figs: dict) -> LatentSizeResults:
    """The sweep over Nz and figures 6, 7 and B.2 (saved into ``figs``); Fig. B.2 runs
    on the main model, as in the paper."""
    lp, out, p = s.prof.latent_size, r.out, s.prof.p_fig2
    exp = replace(S.experiment(s.data, s.prof, s.noise, s.mode, s.seed), steps=lp.steps)
    with r.stage("sweep", "latent-size sweep"):
        sweep = L.sweep_stage(r.folder / "sweep", s.data, lp, data_dir=s.data_dir, seed=s.seed,
                              device=s.device, progress=s.progress)
    with r.stage("fig6"):
        scan = L.scan_stage(sweep, exp, lp.trials, p, s.device)
        figs["fig6"] = O.save_fig6(scan, exp, lp, out)
    with r.stage("fig7"):
        elbo = L.elbo_stage(sweep, lp)
        figs["fig7"] = O.save_fig7(elbo, lp, out)
    with r.stage("figB2"):
        clf = L.classifier_stage(r.folder / "classifier", s.data, data_dir=s.data_dir,
                                 epochs=lp.classifier_epochs, seed=s.seed, device=s.device,
                                 progress=s.progress)
        attr = L.attribution_stage(main.model.model, main.hierarchy, clf, exp, lp.trials, p,
                                   s.device)
        figs["figB2"] = O.save_figB2(attr, out)
    r.record(latent_size={"sweep_grid": sweep.grid,
                          "classifier_accuracy": clf.test_accuracy})
    return LatentSizeResults(sweep, scan, elbo, attr)


def scorecard_and_report(r: StudyRun, s: Setup, main: HierarchyResults,
                         extra: LatentSizeResults | None, figs: dict) -> list[Claim]:
    """Claims C1-C5 (and C6-C8), claims.json and report.html."""
    claims = C.hierarchy_claims(main.courses, main.geometry, main.sweep)
    sections = R.hierarchy_sections(figs, main.courses, main.geometry, main.sweep)
    if extra is not None:
        claims += C.latent_size_claims(extra.scan, extra.elbo, extra.attribution)
        sections += R.latent_size_sections(figs, extra.scan, extra.elbo, extra.attribution)
    write_scorecard(claims, r.out)
    R.write(r.out, s.settings, sections, claims,
            R.notes(s.prof, s.data.name, main.model.path, r.timings))
    r.record(claims={c.id: c.verdict for c in claims}, model_run=main.model.path)
    return claims


def run(
    profile: str = "quick",
    out: str | Path = DEFAULT_OUT,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    model_run: str | None = None,
    noise: str = "swap",
    mode: str = "deterministic",
    nz: int = 100,
    seed: int = 0,
    epochs: int | None = None,
    trials: int | None = None,
    steps: int | None = None,
    device: str = "auto",
    progress: bool = True,
    overwrite: bool = False,
    latent_size: bool = True,
) -> Path:
    """Reproduce figures 1-4, 6, 7, A.1 and B.2 and claims C1-C8 into ``out``; return
    ``out``. ``latent_size=False`` skips the latent-size study (figures 6, 7, B.2).
    ``epochs``, ``trials`` and ``steps`` override the profile's (``trials``: of
    figures 2 and 4)."""
    out = Path(out)
    s = prepare(profile, out, dataset=dataset, data_dir=data_dir, model_run=model_run,
                noise=noise, mode=mode, nz=nz, seed=seed, epochs=epochs, trials=trials,
                steps=steps, device=device, progress=progress, overwrite=overwrite,
                latent_size=latent_size)
    figs: dict = {}
    data_info = {"dataset": s.data.name, "checksums": s.data.checksums()}
    with StudyRun(out, KIND, s.settings, seed=seed, device=s.device, data=data_info,
                  progress=progress, overwrite=overwrite) as r:
        main = hierarchy_stages(r, s, figs)
        extra = latent_size_stages(r, s, main, figs) if latent_size else None
        claims = scorecard_and_report(r, s, main, extra, figs)
    finish(out, claims, progress)
    return out
