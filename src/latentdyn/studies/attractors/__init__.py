"""``latentdyn attractors``: what the deterministic latent map F(z) = E_q[z | E_p[x | z]]
of a trained model is attracted to -- the fate of trajectories from clean and corrupted
training images, where they end relative to memories, concepts and the abstract
concept (each level capturing within a radius of its own, read against held-out test
images), the fixed points of F and their stability, and the share of training memories
at which F contracts or that are attractors -- with figures, CSV, JSON and a self-contained ``report.html``.

Two stages (the hierarchy of the training images; basins, stability and fixed points),
no claims; the result is a folder (``--out``, default ``<run>/attractors``).
:func:`run` takes a run folder or any model object offering ``encode``/``decode`` as
``model``. :func:`nagano_section` (from :mod:`.section`) builds the same analysis as a
section of another report (the ``reproduce nagano2017`` report).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.studies.attractors.section import (DEFAULT_PS, SUMMARY, Settings,
                                                  nagano_section)
from latentdyn.studies.common import Common, out_param
from latentdyn.studies.driver import Study
from latentdyn.studies.lifecycle import folder_target
from latentdyn.studies.models import MODEL_HELP, ModelSource
from latentdyn.studies.params import param

DEFAULT_P_TEXT = ",".join(f"{p:g}" for p in DEFAULT_PS)


def noise_levels(text) -> tuple:
    """``--p``: comma-separated noise levels (a tuple of numbers passes as it is)."""
    if not isinstance(text, str):
        return tuple(text)
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}") from None


@dataclass(frozen=True)
class Params(ModelSource, Common):
    model: Any = param(None, MODEL_HELP, required=True)
    classifier: str | None = param(None, "A classifier run that reads the digit of x(T) and of "
                                   "the fixed points.", path="dir")
    dataset: str | None = param(None, "Training images [default: the run's dataset].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    noise: str = param("swap", f"Corruption: {', '.join(NOISE_KINDS)}.")
    ps: Any = param(DEFAULT_P_TEXT, "Noise levels of the basins, comma-separated.", flag="--p",
                    parse=noise_levels)
    trials: int = param(100, "Trials per noise level.")
    label: int | None = param(None, "Start only from training images of this label [default: "
                              "all labels].")
    steps: int = param(80, "T, the steps of each trajectory.")
    memories: int = param(500, "Training memories at which the Jacobian is measured.")
    starts: int = param(1000, "Starts of the fixed-point search.")
    tol: float = param(1e-3, "Convergence tolerance, a fraction of the latent scale.")
    max_steps: int = param(500, "Iterations of the fixed-point search.")
    method: str = param("auto", "Stability: full Jacobians by rev, fwd (torch.func) or loop, "
                        "or matrix-free (Arnoldi on vector-Jacobian products); auto: rev up "
                        "to 512 latent units, matrix-free above.")
    out: str | None = out_param(None, "Output folder [default: <run>/attractors].")
    overwrite: bool = param(False, "Replace results already in --out.", group=1)


@dataclass
class Setup:
    params: Params
    analysis: Settings
    model: Any
    classifier: Any
    data: Any
    out: Path
    device: Any
    settings: dict
    data_record: dict


@dataclass
class Attractors:
    """The result: the hierarchy, the analysis, and the decoded fixed points (with the
    classifier's reading of them, when there is one)."""

    hierarchy: Any
    analysis: Any  # latentdyn.analysis.attractors.AttractorAnalysis
    images: Any
    digits: Any


def _load(p: Params, dev):
    """The model, the classifier and the data, every width checked."""
    from latentdyn.data import load_dataset
    from latentdyn.models.protocol import check_model
    from latentdyn.studies.models import check_fits, check_given_data, given_model

    given = given_model(p.model, dev, source=p)
    check_model(given.model)
    dataset = p.dataset or getattr(given.config, "dataset", None)
    if dataset is None:
        raise ConfigError("--dataset is needed for a model without a run folder")
    data = load_dataset(dataset, p.data_dir or getattr(given.config, "data_dir", None))
    check_given_data(given, data)
    where = p.model if isinstance(p.model, (str, Path)) else "the model"
    check_fits(given.model, data, f"the model of {where}")
    classifier = None
    if p.classifier is not None:
        classifier = given_model(p.classifier, dev, ("classifier",), "--classifier").model
        check_fits(classifier, data, f"the classifier of {p.classifier}")
    return given.model, data, classifier


def prepare(p: Params) -> Setup:
    """Every option, then the model, the classifier and the data; nothing is written."""
    from latentdyn.checks import resolve_device
    from latentdyn.io import refuse_existing
    from latentdyn.models.inference import latent_dim

    s = Settings(noise=p.noise, ps=noise_levels(p.ps), trials=p.trials, label=p.label,
                 steps=p.steps, memories=p.memories, starts=p.starts, tol=p.tol,
                 max_steps=p.max_steps, method=p.method, seed=p.seed).check()
    from_folder = isinstance(p.model, (str, Path))
    if p.out is None and not from_folder:
        raise ConfigError("--out is needed for a model without a run folder")
    out = Path(p.out) if p.out is not None else Path(p.model) / "attractors"
    dev = resolve_device(p.device)
    model, data, classifier = _load(p, dev)
    s.check_memory(latent_dim(model, data.train_images[:2]), data.dim)
    if s.label is not None and s.label not in set(data.train_labels.tolist()):
        raise ConfigError(f"--label {s.label} does not occur in {data.name}")
    refuse_existing([out / SUMMARY], p.overwrite)
    settings = {"model": str(p.model) if from_folder else type(model).__name__,
                "classifier": str(p.classifier) if p.classifier else None,
                "dataset": data.name, **asdict(s), "ps": list(s.ps), "device": str(dev)}
    return Setup(p, s, model, classifier, data, out, dev, settings,
                 {"dataset": data.name, "checksums": data.checksums()})


def stages(run, s: Setup) -> Attractors:
    """The hierarchy of the training images, then basins, stability and fixed points."""
    from latentdyn.analysis import build_hierarchy
    from latentdyn.io import refuse_existing
    from latentdyn.studies.attractors.section import analyse

    refuse_existing([run.folder / SUMMARY], s.params.overwrite)  # none written meanwhile
    with run.stage("hierarchy", "encoding the training images"):
        hier = build_hierarchy(s.model, s.data.train_images, s.data.train_labels)
    run.log("basins, stability and fixed points")
    res, images, digits = analyse(s.model, hier, s.data, s.analysis, s.classifier, s.device,
                                  timer=lambda name: run.stage(name))
    return Attractors(hier, res, images, digits)


def report(run, s: Setup, r: Attractors, claims) -> None:
    """Figures, data, ``attractors.json`` and ``report.html``."""
    from latentdyn.io import write_json
    from latentdyn.reporting.report import write_report
    from latentdyn.studies.attractors.section import (INTRO, caption_of, save_outputs,
                                                      sections, summary)

    with run.stage("outputs"):
        figs = save_outputs(r.analysis, r.images, r.digits, s.analysis, run.out,
                            caption_of(s.analysis, s.data.name))
        write_report(run.out / "report.html", "Attractors of repeated inference", INTRO,
                     s.settings, sections(r.analysis, figs, r.digits), [],
                     [f"Model: {s.settings['model']}.", f"Stage timings (s): {run.timings}."])
        numbers = summary(r.analysis, s.analysis, r.digits)
        write_json(run.out / SUMMARY, numbers)
    run.record(results={k: numbers[k] for k in ("contraction_share", "fixed_attractor_share",
                                                "fixed_point_attractor_share", "fixed_points",
                                                "fates", "ends", "held_out")})


STUDY = Study(
    example=("--model", "@vae", "--out", "att", "--p", "0,0.5", "--trials", "3", "--steps", "4",
             "--memories", "4", "--starts", "8", "--max-steps", "20", "--quiet", "--device",
             "cpu"),
    name="attractors", params=Params, prepare=prepare, stages=stages, report=report,
    target=lambda p, s: folder_target(s.out), kind="attractors", positional=("model", "out"),
    help="""Fates, basins, fixed points and local stability of the deterministic latent map
    F(z) = E_q[z | E_p[x | z]] of a trained model, measured against its memories,
    concepts and abstract concept; writes report.html, figures/, data/ and
    attractors.json into --out.""")
run = STUDY.run

__all__ = ["Attractors", "Params", "STUDY", "Settings", "nagano_section", "run"]
