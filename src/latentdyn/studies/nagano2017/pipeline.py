"""``run``: the nagano2017 study as one plain function.

Every option is checked and every input loaded in :func:`prepare`, before anything is
written; the stages then run inside a :class:`~latentdyn.studies.study.StudyRun`
(manifest ``running`` -> ``completed`` or ``failed``), in this order: the VAE(s), then
per training seed its hierarchy, figures 1, 2, 3, 4 and A.1 and the bootstraps of
C1-C5, then (unless ``latent_size=False``) the sweep and, per seed, figures 6, 7 and
B.2 and the bootstraps of C6-C8; then the scorecard and the report.

With ``seeds = N`` (``--seeds N``) the study trains N VAEs with seeds SEED, …,
SEED+N-1 (together, as one batched ensemble, when more than one needs training), runs
every experiment on each (with that seed's trials), scores each seed's claims and
combines them (:func:`~latentdyn.studies.study.combine_seeds`): the verdict, values
and figures are the first seed's, and each claim says how many seeds reproduce it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from latentdyn.data import load_dataset
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.dynamics import MODES
from latentdyn.analysis.distances import dip_power
from latentdyn.errors import ConfigError
from latentdyn.io import write_json
from latentdyn.reporting.claims import Claim, write_scorecard
from latentdyn.checks import resolve_device
from latentdyn.studies.nagano2017 import claims as C
from latentdyn.studies.nagano2017 import latent_size as L
from latentdyn.studies.nagano2017 import outputs as O
from latentdyn.studies.nagano2017 import report as R
from latentdyn.studies.nagano2017 import resampling as B
from latentdyn.studies.nagano2017 import stages as S
from latentdyn.studies.nagano2017.models import model_folders, train_models
from latentdyn.studies.nagano2017.profiles import PROFILES, Profile
from latentdyn.sweep import check_backend
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
    seeds: list = field(default_factory=list)  # the training seeds (--seeds N)
    backend: dict = field(default_factory=dict)  # run_sweep's backend options (--backend)

    def config_for(self, seed: int) -> TrainConfig:
        return replace(self.config, seed=seed)


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
              latent_size: bool, seeds: list) -> dict:
    settings = {"profile": prof.name, **prof.settings(), "dataset": dataset, "noise": noise,
                "mode": mode, "nz": nz, "seed": seed, "seeds": seeds, "model_run": model_run,
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
            epochs, trials, steps, device, progress, overwrite, latent_size,
            n_seeds: int = 1, backend: dict | None = None) -> Setup:
    """Check every option, refuse an ``out`` of another setting, load the data and the
    ``model_run``; write nothing. ``backend``: where the latent-size sweep trains
    (:func:`latentdyn.sweep.run_sweep`'s ``backend``, ``address``, ``cpus_per_task``,
    ``gpus_per_task``, ``retries``), checked here, before anything is trained."""
    prof = get_profile(PROFILES, profile)
    backend = {k: v for k, v in (backend or {}).items() if v is not None}
    check_backend(**backend, device=str(device))
    seeds = seed_list(check_seed(seed), n_seeds)
    if model_run and len(seeds) > 1:
        raise ConfigError("--seeds N trains N models; --model gives one (drop one of them)")
    if noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if mode not in MODES:
        raise ConfigError(f"unknown dynamics mode {mode!r}; choose from {', '.join(MODES)}")
    prof = _with_overrides(prof, epochs, trials, steps)
    dataset = dataset or default_dataset(profile, data_dir)
    guard_output(out, {"profile": profile, "seed": seed, "dataset": dataset}, overwrite)
    dev = resolve_device(device)
    config = TrainConfig(dataset=dataset, data_dir=data_dir, nz=nz, epochs=prof.epochs,
                         seed=seed, device=str(dev))
    config.validate()
    settings = _settings(prof, dataset, noise, mode, nz, seed, model_run, dev, latent_size,
                         seeds)
    data = load_dataset(dataset, data_dir)
    given = S.given_model(model_run, dev) if model_run else None
    if given is not None:
        _check_model(given, data)
    return Setup(prof, data, dev, config, given, settings, noise, mode, nz, seed, data_dir,
                 latent_size, progress, seeds, backend)


# ------------------------------------------------------------------- the stages
@dataclass
class HierarchyResults:
    """Figures 1-4 and A.1 of one training seed, and the bootstraps of C1-C5."""

    model: S.TrainedModel
    hierarchy: Any
    sequence: S.CorruptedSequence | None
    courses: S.ConceptCourses
    geometry: S.ConceptGeometry
    sweep: Any  # analysis.trials.NoiseSweep
    embedding: S.MemoryEmbedding | None
    resamples: B.Resamples | None = None
    seed: int = 0


@dataclass
class LatentSizeResults:
    """Figures 6, 7 and B.2 of one training seed, and the power of the dip test at the
    kept count."""

    sweep: L.LatentSizeSweep
    scan: L.LatentSizeScan
    elbo: L.ElboCurve
    attribution: L.Attribution
    power: float | None = None
    classifier: Any = None


def hierarchy_stages(r: StudyRun, s: Setup, figs: dict, trained: S.TrainedModel | None = None,
                     seed: int | None = None, draw: bool = True) -> HierarchyResults:
    """The VAE, its hierarchy, figures 1-4 and A.1 (saved into ``figs`` when ``draw``) and
    the bootstraps of C1-C5, for training seed ``seed`` (default: the run's)."""
    prof, out = s.prof, r.out
    seed = s.seed if seed is None else seed
    if trained is None:
        with r.stage("train", None if s.given else "training the VAE"):
            trained = s.given or S.train_model(s.config_for(seed), r.folder / "model",
                                               s.device, s.progress)
    model = trained.model
    exp = S.experiment(s.data, prof, s.noise, s.mode, seed)
    with r.stage("hierarchy", None if draw else f"seed {seed}: the experiments"):
        hier = S.hierarchy_stage(model, exp)
        logvars = S.logvars_stage(model, exp)
    caption = O.settings_caption(exp, prof.p_fig2, s.nz, s.data.name)
    seq = emb = None
    if draw:
        with r.stage("fig1"):
            seq = S.sequence_stage(model, hier, exp, prof.p_fig2, s.device)
            figs["fig1"] = O.save_fig1(seq, out, caption)
    with r.stage("fig2"):
        courses = S.courses_stage(model, hier, exp, prof.trials_fig2, prof.p_fig2,
                                  s.progress and draw)
    with r.stage("fig3"):
        geometry = S.geometry_stage(hier, s.nz, logvars, seed)
    with r.stage("fig4"):
        sweep = S.stages_stage(model, hier, exp, prof.ps, prof.trials_fig4, s.progress and draw)
    if draw:
        figs["fig2"] = O.save_fig2(courses, exp, out, caption)
        figs["fig3a"], figs["fig3b"], figs["fig3c"] = O.save_fig3(geometry, out)
        figs["fig4"] = O.save_fig4(sweep, exp, prof.trials_fig4, out)
        with r.stage("figA1"):
            emb = S.embedding_stage(hier, exp, prof.pca_points)
            figs["figA1"] = O.save_figA1(emb, out)
    with r.stage("resampling"):
        res = hierarchy_resamples(hier, courses, sweep, prof.resamples, seed)
    return HierarchyResults(trained, hier, seq, courses, geometry, sweep, emb, res, seed)


def hierarchy_resamples(hier, courses: S.ConceptCourses, sweep, n: int, seed: int) -> B.Resamples:
    """The bootstraps of C1-C5."""
    dists = [courses.courses[c].distances.numpy() for c in courses.classes]
    return B.Resamples(
        B.dip_bootstrap(dists, n, seed),
        B.geometry_bootstrap(hier.memories.numpy(), hier.labels.numpy(), n, seed),
        {name: B.stages_bootstrap(rd, n, seed) for name, rd in sweep.readings.items()}, n=n)


def latent_size_stages(r: StudyRun, s: Setup, main: HierarchyResults, figs: dict,
                       sweep: L.LatentSizeSweep | None = None, clf=None,
                       draw: bool = True) -> LatentSizeResults:
    """The sweep over Nz and figures 6, 7 and B.2 (saved into ``figs`` when ``draw``) for
    the seed of ``main``; Fig. B.2 runs on the main model, as in the paper."""
    lp, out, p, seed = s.prof.latent_size, r.out, s.prof.p_fig2, main.seed
    exp = replace(S.experiment(s.data, s.prof, s.noise, s.mode, seed), steps=lp.steps)
    if sweep is None:
        with r.stage("sweep", "latent-size sweep"):
            sweep = L.sweep_stage(r.folder / "sweep", s.data, lp, data_dir=s.data_dir,
                                  seed=s.seed, device=s.device, progress=s.progress,
                                  seeds=s.seeds, backend=s.backend)
        r.record(latent_size={"sweep_grid": sweep.grid})
    sweep = sweep.for_seed(seed)
    with r.stage("fig6"):
        scan = L.scan_stage(sweep, exp, lp.trials, p, s.device)
    with r.stage("fig7"):
        elbo = L.elbo_stage(sweep, lp, s.data, s.device, seed)
    with r.stage("figB2"):
        if clf is None:
            clf = classifier(r, s)
        attr = L.attribution_stage(main.model.model, main.hierarchy, clf, exp, lp.trials, p,
                                   s.device)
    if draw:
        figs["fig6"] = O.save_fig6(scan, exp, lp, out)
        figs["fig7"] = O.save_fig7(elbo, lp, out)
        figs["figB2"] = O.save_figB2(attr, out)
    with r.stage("resampling"):
        n, d = s.prof.resamples, attr.course.distances
        main.resamples.latent_size = B.latent_size_bootstrap(scan.distances, n, seed)
        main.resamples.elbo = B.elbo_bootstrap(elbo.per_image, elbo.nz, n, seed)
        main.resamples.attribution = B.attribution_bootstrap(d.numpy(), attr.kept.numpy(), n,
                                                             seed)
        power = dip_power(d, attr.n_kept, draws=C.POWER_DRAWS, seed=seed + B.SEEDS["C8"]) \
            if attr.n_kept >= 2 else None
    return LatentSizeResults(sweep, scan, elbo, attr, power, clf)


def classifier(r: StudyRun, s: Setup):
    """The CNN of Fig. B.2 (one for every seed: it judges, it is not under test)."""
    lp = s.prof.latent_size
    clf = L.classifier_stage(r.folder / "classifier", s.data, data_dir=s.data_dir,
                             epochs=lp.classifier_epochs, seed=s.seed, device=s.device,
                             progress=s.progress)
    r.record(classifier_accuracy=clf.test_accuracy)
    return clf


def seed_claims(main: HierarchyResults, extra: LatentSizeResults | None) -> list[Claim]:
    """C1-C5 (and C6-C8) of one seed."""
    claims = C.hierarchy_claims(main.courses, main.geometry, main.sweep, main.resamples)
    if extra is not None:
        claims += C.latent_size_claims(extra.scan, extra.elbo, extra.attribution,
                                       main.resamples, extra.power)
    return claims


def attractor_sections(r: StudyRun, s: Setup, main: HierarchyResults) -> list:
    """The attractors section (``latentdyn attractors`` on the first seed's model, with
    the study's noise, T and seed): fates, basins, fixed points and local stability;
    its figures and data beside the study's."""
    from latentdyn.studies.attractors import Settings, nagano_section

    trials, memories, starts, max_steps = s.prof.attractors
    settings = Settings(noise=s.noise, steps=s.prof.steps, trials=trials, memories=memories,
                        starts=starts, max_steps=max_steps, seed=s.seed + 9000)
    extra, _ = nagano_section(main.model.model, main.hierarchy, s.data, r.out,
                              settings=settings, device=s.device)
    return extra


def scorecard_and_report(r: StudyRun, s: Setup, main: HierarchyResults,
                         extra: LatentSizeResults | None, figs: dict,
                         per_seed: list | None = None) -> list[Claim]:
    """Claims C1-C5 (and C6-C8), combined over the seeds of ``per_seed`` (lists of
    claims, the first seed's first), claims.json and report.html."""
    claims = seed_claims(main, extra)
    if per_seed and len(per_seed) > 1:
        claims = combine_seeds([claims, *per_seed[1:]], s.seeds)
    sections = R.hierarchy_sections(figs, main.courses, main.geometry, main.sweep,
                                    main.sequence)
    with r.stage("attractors"):
        sections += attractor_sections(r, s, main)
    if extra is not None:
        sections += R.latent_size_sections(figs, extra.scan, extra.elbo, extra.attribution)
    write_scorecard(claims, r.out)
    write_json(r.out / "data" / "resampling.json", R.resampling_summary(claims))
    R.write(r.out, s.settings, sections, claims,
            R.notes(s.prof, s.data.name, main.model.path, r.timings, s.seeds))
    r.record(claims={c.id: c.verdict for c in claims}, model_run=main.model.path,
             seeds=s.seeds)
    return claims


def all_seeds(r: StudyRun, s: Setup, figs: dict) -> tuple:
    """Every seed's stages; the first seed's results, and every seed's claims."""
    with r.stage("train", None if s.given else f"training {len(s.seeds)} VAE(s)"):
        models = [s.given] if s.given else train_models(
            [s.config_for(k) for k in s.seeds], model_folders(r.folder, s.seeds), s.device,
            s.progress, s.data)
    sweep = clf = None
    results, cards = [], []
    for i, (seed, trained) in enumerate(zip(s.seeds, models)):
        main = hierarchy_stages(r, s, figs, trained, seed, draw=i == 0)
        extra = None
        if s.latent_size:
            extra = latent_size_stages(r, s, main, figs, sweep, clf, draw=i == 0)
            sweep, clf = extra.sweep, extra.classifier
        results.append((main, extra))
        cards.append(seed_claims(main, extra))
    return results[0], cards


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
    n_seeds: int = 1,
    backend: dict | None = None,
) -> Path:
    """Reproduce figures 1-4, 6, 7, A.1 and B.2 and claims C1-C8 into ``out``; return
    ``out``. ``latent_size=False`` skips the latent-size study (figures 6, 7, B.2).
    ``epochs``, ``trials`` and ``steps`` override the profile's (``trials``: of
    figures 2 and 4). ``n_seeds``: train that many VAEs (seeds ``seed`` …) and count per
    claim how many reproduce it. ``backend``: where the latent-size sweep trains, e.g.
    ``{"backend": "ray", "address": "auto"}`` (the options of
    :func:`latentdyn.sweep.run_sweep`; the numbers do not depend on it)."""
    out = Path(out)
    s = prepare(profile, out, dataset=dataset, data_dir=data_dir, model_run=model_run,
                noise=noise, mode=mode, nz=nz, seed=seed, epochs=epochs, trials=trials,
                steps=steps, device=device, progress=progress, overwrite=overwrite,
                latent_size=latent_size, n_seeds=n_seeds, backend=backend)
    figs: dict = {}
    data_info = {"dataset": s.data.name, "checksums": s.data.checksums()}
    with StudyRun(out, KIND, s.settings, seed=seed, device=s.device, data=data_info,
                  progress=progress, overwrite=overwrite) as r:
        (main, extra), cards = all_seeds(r, s, figs)
        claims = scorecard_and_report(r, s, main, extra, figs, cards)
    finish(out, claims, progress)
    return out
