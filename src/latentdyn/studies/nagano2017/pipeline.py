"""``prepare`` and the stages of ``reproduce nagano2017``.

Every option is checked and every input loaded in :func:`prepare`, before anything is
written; :func:`run_stages` then runs, in this order: the VAE(s), then per training seed
its hierarchy, the experiments of figures 1, 2, 3, 4 and A.1 and the bootstraps of
C1-C5, then (unless ``latent_size=False``) the sweep and, per seed, the experiments of
figures 6, 7 and B.2 and the bootstraps of C6-C8. The figures, the attractors section
and the report are drawn from the results afterwards (:mod:`.report`).

With ``n_seeds = N`` (``--seeds N``) the study trains N VAEs with seeds SEED, …,
SEED+N-1 (together, as one batched ensemble, when more than one needs training), runs
every experiment on each (with that seed's trials), scores each seed's claims and
combines them (:func:`~latentdyn.studies.common.combine_seeds`): the verdict is the
majority of the seeds', each seed's verdict beside it; values and figures are the
first seed's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from latentdyn.analysis.distances import dip_power
from latentdyn.errors import ConfigError
from latentdyn.studies.common import backend_of, default_dataset
from latentdyn.studies.models import GivenModel
from latentdyn.studies.nagano2017 import claims as C
from latentdyn.studies.nagano2017 import latent_size as L
from latentdyn.studies.nagano2017 import resampling as B
from latentdyn.studies.nagano2017 import stages as S
from latentdyn.studies.nagano2017.models import model_folders, needs_training, vaes_stage
from latentdyn.studies.nagano2017.params import (
    Params,
    check_given,
    check_shared,
    model_properties,
    vae_config,
)
from latentdyn.studies.nagano2017.profiles import PROFILES, Profile
from latentdyn.train.beside import Beside


@dataclass
class Setup:
    """The checked options and loaded inputs of one run."""

    params: Params
    prof: Profile  # with the overrides of --epochs, --trials and --steps
    data: Any  # the loaded Dataset
    device: Any
    config: Any  # the TrainConfig of the VAE trained when no model is given
    given: GivenModel | None  # the --model VAE, loaded
    settings: dict
    data_record: dict
    seeds: list = field(default_factory=list)  # the training seeds (--seeds N)
    backend: dict = field(default_factory=dict)  # run_sweep's backend options (--backend)
    nz: int = 100  # of the VAE the experiments run on (the --model run's, when given)
    model_epochs: int | None = None  # the epochs it was trained (None: not known)

    def experiment(self, seed: int) -> S.Experiment:
        p = self.params
        return S.experiment(self.data, self.prof, p.noise, p.mode, seed)


def _with_overrides(prof: Profile, p: Params) -> Profile:
    overrides = {k: v for k, v in dict(epochs=p.epochs, steps=p.steps).items()
                 if v is not None}
    if p.trials is not None:
        overrides.update(trials_fig2=p.trials, trials_fig4=p.trials)
    for k, v in overrides.items():
        least = 2 if k.startswith("trials") else 0
        if not isinstance(v, int) or v < least:
            raise ConfigError(f"{k} must be an integer >= {least}")
    return replace(prof, **overrides)


def _settings(prof: Profile, p: Params, dataset: str, device, seeds: list,
              model_run: str | None, model: dict) -> dict:
    """The manifest's config: the profile's settings, with what the model is (``model``:
    nz, epochs, hidden of the VAE the experiments run on, the --model run's when given)."""
    settings = {"profile": prof.name, **prof.settings(), "dataset": dataset, "noise": p.noise,
                "mode": p.mode, "nz": model["nz"], "epochs": model["epochs"],
                "hidden": model["hidden"], "seed": p.seed, "seeds": seeds,
                "model_run": model_run, "device": str(device),
                "latent_size_study": p.latent_size}
    if p.latent_size:
        settings["latent_size"] = asdict(prof.latent_size)
    return settings


def prepare(p: Params) -> Setup:
    """Check every option, load the data and the ``--model``; write nothing. The
    backend options (where the latent-size sweep trains) are checked here, before
    anything is trained."""
    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset
    from latentdyn.dynamics import MODES
    from latentdyn.studies.models import check_fits, check_given_data, given_model
    from latentdyn.sweep import check_backend

    prof, seeds = check_shared(p, PROFILES)
    backend = backend_of(p)
    check_backend(**backend, device=str(p.device))
    if p.mode not in MODES:
        raise ConfigError(f"unknown dynamics mode {p.mode!r}; choose from {', '.join(MODES)}")
    prof = _with_overrides(prof, p)
    dev = resolve_device(p.device)
    given, model = None, None
    if p.given:  # every property of the model from its run; a contradicting option: refused
        given = given_model(p.model, dev, source=p)
        model = model_properties(given)
        check_given(p, model, given.path)
    dataset = p.dataset or (model or {}).get("dataset") or default_dataset(p.profile,
                                                                           p.data_dir)
    config = vae_config(p, prof.epochs, dataset, dev)
    if model is None:
        model = {"nz": config.nz, "epochs": config.epochs, "hidden": config.hidden}
    data = load_dataset(dataset, p.data_dir)
    if given is not None:
        check_fits(given.model, data, f"the model {given.path}")
        check_given_data(given, data)
    settings = _settings(prof, p, dataset, dev, seeds, p.model_run(given), model)
    record = {"dataset": data.name, "checksums": data.checksums()}
    return Setup(p, prof, data, dev, config, given, settings, record, seeds, backend,
                 model["nz"] if model["nz"] is not None else config.nz, model["epochs"])


# ------------------------------------------------------------------- the results
@dataclass
class HierarchyResults:
    """Figures 1-4 and A.1 of one training seed, and the bootstraps of C1-C5."""

    model: GivenModel
    experiment: S.Experiment
    hierarchy: Any
    sequence: S.CorruptedSequence | None  # the first seed's only (drawn)
    courses: S.ConceptCourses
    geometry: S.ConceptGeometry
    sweep: Any  # analysis.trials.NoiseSweep
    embedding: S.MemoryEmbedding | None  # the first seed's only (drawn)
    resamples: B.Resamples | None = None
    seed: int = 0


@dataclass
class LatentSizeResults:
    """Figures 6, 7 and B.2 of one training seed, and the power of the dip test at the
    kept count."""

    experiment: S.Experiment
    sweep: L.LatentSizeSweep
    scan: L.LatentSizeScan
    elbo: L.ElboCurve
    attribution: L.Attribution
    power: float | None = None
    classifier: Any = None


@dataclass
class Results:
    """The first seed's results (its figures, values and verdicts) and every seed's
    claims (C1-C5, and C6-C8 with the latent-size study)."""

    main: HierarchyResults
    latent_size: LatentSizeResults | None
    cards: list
    seeds: list


# ------------------------------------------------------------------- the stages
def hierarchy_stages(r, s: Setup, trained: GivenModel, seed: int,
                     first: bool = True) -> HierarchyResults:
    """The hierarchy of ``trained``, the experiments of figures 1-4 (and, for the
    ``first`` seed, Fig. 1's sequence and Fig. A.1) and the bootstraps of C1-C5."""
    prof, model, progress = s.prof, trained.model, r.progress and first
    exp = s.experiment(seed)
    with r.stage("hierarchy", None if first else f"seed {seed}: the experiments"):
        hier = S.hierarchy_stage(model, exp)
        logvars = S.logvars_stage(model, exp)
    seq = emb = None
    if first:
        with r.stage("fig1"):
            seq = S.sequence_stage(model, hier, exp, prof.p_fig2, s.device)
    with r.stage("fig2"):
        courses = S.courses_stage(model, hier, exp, prof.trials_fig2, prof.p_fig2, progress)
    with r.stage("fig3"):
        geometry = S.geometry_stage(hier, s.nz, logvars, seed)
    with r.stage("fig4"):
        sweep = S.stages_stage(model, hier, exp, prof.ps, prof.trials_fig4, progress)
    if first:
        with r.stage("figA1"):
            emb = S.embedding_stage(hier, exp, prof.pca_points)
    with r.stage("resampling"):
        res = hierarchy_resamples(hier, courses, sweep, prof.resamples, seed)
    return HierarchyResults(trained, exp, hier, seq, courses, geometry, sweep, emb, res, seed)


def hierarchy_resamples(hier, courses: S.ConceptCourses, sweep, n: int, seed: int) -> B.Resamples:
    """The bootstraps of C1-C5."""
    dists = [courses.courses[c].distances.numpy() for c in courses.classes]
    return B.Resamples(
        B.dip_bootstrap(dists, n, seed),
        B.geometry_bootstrap(hier.memories.numpy(), hier.labels.numpy(), n, seed),
        {name: B.stages_bootstrap(rd, n, seed) for name, rd in sweep.readings.items()}, n=n)


def one_thread_sweep(s: Setup) -> bool:
    """Whether each point of the latent-size sweep trains on one thread (``--overlap``,
    the default, on a CPU with two or more threads, one training seed, the local
    backend): beside the VAE while it trains (:func:`sweep_beside`), otherwise in as
    many worker processes as there are threads. Small-Nz points round differently on
    one thread than on two, in the last digits (docs/benchmarks.md); this way a run's
    sweep is the same whether or not its VAE was trained in the same call."""
    p = s.params
    return bool(p.overlap and p.latent_size and len(s.seeds) == 1
                and s.device.type == "cpu" and torch.get_num_threads() >= 2
                and s.backend.get("backend", "local") == "local")


def _sweep_args(r, s: Setup, **backend) -> tuple[tuple, dict]:
    p = s.params
    return ((r.folder / "sweep", s.data, s.prof.latent_size),
            dict(data_dir=p.data_dir, seed=p.seed, device=s.device, seeds=s.seeds,
                 backend={**s.backend, **backend}))


def sweep_beside(r, s: Setup) -> Beside | None:
    """The latent-size sweep trained in a child process on one thread beside the VAE,
    which trains here on the other threads (:func:`one_thread_sweep`), when the VAE is
    trained here; None otherwise. The sweep stage then finds the sweep finished in
    ``sweep/`` (or resumes what the child left)."""
    if not (one_thread_sweep(s) and s.given is None
            and needs_training([s.config], model_folders(r.folder, s.seeds))):
        return None
    args, kwargs = _sweep_args(r, s)
    return Beside(L.sweep_stage, args, {**kwargs, "progress": False}, threads=1)


def sweep_stage(r, s: Setup) -> L.LatentSizeSweep:
    """The sweep over Nz (x lr x batch, x the training seeds), in ``sweep/``."""
    one = one_thread_sweep(s)
    args, kwargs = _sweep_args(r, s, **({"workers": torch.get_num_threads()} if one else {}))
    with r.stage("sweep", "latent-size sweep"):
        sweep = L.sweep_stage(*args, **kwargs, progress=r.progress)
    r.record(latent_size={"sweep_grid": sweep.grid})
    return sweep


def classifier_stage(r, s: Setup):
    """The CNN of Fig. B.2 (one for every seed: it judges, it is not under test)."""
    p, lp = s.params, s.prof.latent_size
    clf = L.classifier_stage(r.folder / "classifier", s.data, data_dir=p.data_dir,
                             epochs=lp.classifier_epochs, seed=p.seed, device=s.device,
                             progress=r.progress)
    r.record(classifier_accuracy=clf.test_accuracy)
    return clf


def latent_size_stages(r, s: Setup, main: HierarchyResults, sweep: L.LatentSizeSweep,
                       clf=None) -> LatentSizeResults:
    """Figures 6, 7 and B.2 for the seed of ``main`` (Fig. B.2 on the main model, as in
    the paper; ``clf``: its CNN, trained here when None) and the bootstraps of C6-C8
    (added to ``main.resamples``)."""
    lp, p, seed = s.prof.latent_size, s.prof.p_fig2, main.seed
    exp = replace(s.experiment(seed), steps=lp.steps)
    sweep = sweep.for_seed(seed)
    with r.stage("fig6"):
        scan = L.scan_stage(sweep, exp, lp.trials, p, s.device)
    with r.stage("fig7"):
        elbo = L.elbo_stage(sweep, lp, s.data, s.device, seed)
    with r.stage("figB2"):
        if clf is None:
            clf = classifier_stage(r, s)
        attr = L.attribution_stage(main.model.model, main.hierarchy, clf, exp, lp.trials, p,
                                   s.device)
    with r.stage("resampling"):
        n, d = s.prof.resamples, attr.course.distances
        main.resamples.latent_size = B.latent_size_bootstrap(scan.distances, n, seed)
        main.resamples.elbo = B.elbo_bootstrap(elbo.per_image, elbo.nz, n, seed)
        main.resamples.attribution = B.attribution_bootstrap(d.numpy(), attr.kept.numpy(), n,
                                                             seed)
        power = dip_power(d, attr.n_kept, draws=C.POWER_DRAWS, seed=seed + B.SEEDS["C8"]) \
            if attr.n_kept >= 2 else None
    return LatentSizeResults(exp, sweep, scan, elbo, attr, power, clf)


def run_stages(r, s: Setup) -> Results:
    """Every seed's stages: the first seed's results, and every seed's claims."""
    beside = sweep_beside(r, s)
    if beside is None:
        models = vaes_stage(r, s.given, s.config, s.seeds, s.data, s.device)
    else:
        r.log("the latent-size sweep trains on one thread beside the VAE")
        with beside:
            models = vaes_stage(r, s.given, s.config, s.seeds, s.data, s.device,
                                callbacks=[beside.callback])
            waiting = None if beside.poll() else "waiting for the latent-size sweep beside it"
            with r.stage("sweep", waiting):  # the time the sweep takes after the VAE
                beside.wait()
        r.record(sweep_beside=beside.record())
    sweep = clf = None
    results, cards = [], []
    for i, (seed, trained) in enumerate(zip(s.seeds, models)):
        main = hierarchy_stages(r, s, trained, seed, first=i == 0)
        extra = None
        if s.params.latent_size:
            if sweep is None:
                sweep = sweep_stage(r, s)
            extra = latent_size_stages(r, s, main, sweep, clf)
            clf = extra.classifier
            if main.sequence is not None:
                main.sequence.readings = S.sequence_readings(main.sequence, clf, s.device)
        results.append((main, extra))
        cards.append(C.seed_claims(main, extra))
    main, extra = results[0]
    return Results(main, extra, cards, s.seeds)


__all__ = ["HierarchyResults", "LatentSizeResults", "Results", "Setup", "prepare",
           "run_stages"]
