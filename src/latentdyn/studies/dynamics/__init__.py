"""``latentdyn dynamics``: repeated inference from corrupted training images for a
trained model, exported as NPZ with its analyses.

Two stages (the hierarchy of the training images; the trajectories at each noise
level), no claims. The result is four files beside each other: the trajectories
``X.npz`` (``--out``, default ``<run>/dynamics-<noise>.npz``), their summary ``X.json``,
the manifest ``X.manifest.json`` and the report ``X.html`` (:mod:`.page`; none with
``--report-trials 0``). :func:`run` takes a run folder or any model object offering
``encode``/``decode`` as ``model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.errors import ConfigError
from latentdyn.studies.common import Common
from latentdyn.studies.driver import Study
from latentdyn.studies.lifecycle import files_target
from latentdyn.studies.models import MODEL_HELP, ModelSource
from latentdyn.studies.params import param

LEVELS = ("memory", "concept", "abstract")


def noise_levels(text) -> list[float]:
    """``--p``: comma-separated noise levels in [0, 1] (a sequence of numbers passes)."""
    try:
        ps = [float(t) for t in text.split(",") if t.strip()] if isinstance(text, str) \
            else [float(t) for t in text]
    except (TypeError, ValueError):
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}") from None
    if not ps or any(not (0.0 <= p <= 1.0) for p in ps):
        raise ConfigError(f"--p expects comma-separated numbers in [0, 1], got {text!r}")
    return ps


@dataclass(frozen=True)
class Params(ModelSource, Common):
    model: Any = param(None, MODEL_HELP, required=True)
    dataset: str | None = param(None, "Training images [default: the run's dataset].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    noise: str = param("swap", f"Corruption: {', '.join(NOISE_KINDS)}.")
    ps: Any = param("0.1,0.2,0.4", "Noise levels, comma-separated.", flag="--p")
    trials: int = param(100, "Trials per noise level.")
    label: int | None = param(None, "Start only from training images of this label [default: "
                              "all labels].")
    steps: int = param(80, "T, the number of inference steps.")
    mode: str = param("deterministic", "deterministic or sampling.")
    report_trials: int = param(4, "Trials per noise level in the interactive viewer of the "
                               "report (X.html beside X.npz); 0 writes no report.")
    out: str | None = param(None, "Output NPZ [default: <run>/dynamics-<noise>.npz]; the "
                            "summary (.json) and manifest (.manifest.json) go beside it.",
                            path="file", group=1)
    overwrite: bool = param(False, "Replace results already at --out.", group=1)


@dataclass
class Setup:
    params: Params
    ps: list
    model: Any
    data: Any
    npz: Path
    device: Any
    settings: dict
    data_record: dict


@dataclass
class Dynamics:
    """The result: the hierarchy and the trajectories by noise level (the arrays of
    :func:`latentdyn.analysis.trials.trajectories_by_noise`, saved as ``X.npz``)."""

    hierarchy: Any
    trajectories: dict


def output_paths(out: Path) -> tuple[Path, Path, Path, Path]:
    """The NPZ, its JSON summary, its manifest and its report: four distinct files beside
    each other (``X.npz``, ``X.json``, ``X.manifest.json``, ``X.html``)."""
    if out.suffix.lower() != ".npz":
        raise ConfigError(f"--out {out}: the trajectories are an NPZ file; give a name ending "
                          "in .npz (the summary, manifest and report go beside it as .json, "
                          ".manifest.json and .html)")
    return out, out.with_suffix(".json"), out.with_suffix(".manifest.json"), \
        out.with_suffix(".html")


def _check(p: Params) -> list[float]:
    """Every option on its own (before any input is read); the noise levels."""
    from latentdyn.checks import check_count
    from latentdyn.dynamics import MODES

    ps = noise_levels(p.ps)
    if p.trials < 2:
        raise ConfigError(f"--trials must be at least 2, got {p.trials}")
    if p.steps < 0:
        raise ConfigError(f"--steps must be non-negative, got {p.steps}")
    check_count("--trials", p.trials, 2)
    check_count("--steps", p.steps, 0)
    if p.noise not in NOISE_KINDS:
        raise ConfigError(f"unknown noise {p.noise!r}; choose from {', '.join(NOISE_KINDS)}")
    if p.mode not in MODES:
        raise ConfigError(f"unknown --mode {p.mode!r}; choose from {', '.join(MODES)}")
    if p.report_trials < 0:
        raise ConfigError(f"--report-trials must be >= 0, got {p.report_trials}")
    return ps


def prepare(p: Params) -> Setup:
    """Every option, then the model and the data; nothing is written."""
    from latentdyn.checks import check_memory, resolve_device
    from latentdyn.data import load_dataset
    from latentdyn.studies.dynamics.page import check_report_size
    from latentdyn.studies.models import check_fits, check_given_data, given_model

    ps = _check(p)
    from_folder = isinstance(p.model, (str, Path))
    if p.out is None and not from_folder:
        raise ConfigError("--out is needed for a model without a run folder")
    npz = output_paths(Path(p.out) if p.out else Path(p.model) / f"dynamics-{p.noise}.npz")[0]
    dev = resolve_device(p.device)
    given = given_model(p.model, dev, source=p)
    model, config = given.model, given.config
    dataset = p.dataset or getattr(config, "dataset", None)
    if dataset is None:
        raise ConfigError("--dataset is needed for a model without a run folder")
    data = load_dataset(dataset, p.data_dir or getattr(config, "data_dir", None))
    check_fits(model, data, f"the model of {given.path}")
    check_given_data(given, data)
    if p.label is not None and p.label not in set(data.train_labels.tolist()):
        raise ConfigError(f"--label {p.label} does not occur in {data.name}")
    check_report_size(p.report_trials, p.trials, p.steps, data.dim)
    config_of = getattr(model, "config_dict", None)
    nz = int(getattr(model, "nz", 0) or (config_of() if callable(config_of) else {}).get("nz", 1)
             or 1)
    check_memory(4 * len(ps) * p.trials * (p.steps + 1) * (2 * nz + 4) + 8 * p.trials * data.dim,
                 f"{p.trials} trials of {p.steps} steps at {len(ps)} noise levels")
    settings = {"model": given.path, "dataset": data.name, "noise": p.noise, "ps": ps,
                "trials": p.trials, "label": p.label, "steps": p.steps, "mode": p.mode,
                "seed": p.seed}
    return Setup(p, ps, model, data, npz, dev, settings,
                 {"dataset": data.name, "checksums": data.checksums()})


def target(p: Params, s: Setup):
    """``X.npz``, ``X.json``, ``X.manifest.json`` and (with a report) ``X.html``."""
    npz, summary, manifest, page = output_paths(s.npz)
    files = (npz, summary, manifest) + ((page,) if p.report_trials else ())
    return files_target(*files, manifest=manifest)


def stages(run, s: Setup) -> Dynamics:
    """The hierarchy of the training images, then the trials at every noise level."""
    from tqdm.auto import tqdm

    from latentdyn.analysis import build_hierarchy
    from latentdyn.analysis.trials import trajectories_by_noise

    p, data = s.params, s.data
    with run.stage("hierarchy"):
        hier = build_hierarchy(s.model, data.train_images, data.train_labels)
    with run.stage("trajectories"):
        bar = tqdm(total=len(s.ps), desc="noise levels", disable=not run.progress)
        result = trajectories_by_noise(s.model, hier, data.train_images, data.train_labels,
                                       s.ps, p.trials, p.noise, p.steps, p.mode, p.seed,
                                       p.label, progress=lambda k, n: bar.update(),
                                       channels=data.channels)
        bar.close()
    return Dynamics(hier, result)


def summary_of(s: Setup, result: dict) -> dict:
    """``X.json``: the settings, the closest level and the mean min_t distances."""
    return {**s.settings, "closest": result["closest"].tolist(),
            **{f"min_{lv}_mean": result[f"min_{lv}_mean"].tolist() for lv in LEVELS}}


def report(run, s: Setup, r: Dynamics, claims) -> None:
    """The NPZ, its summary and (unless ``--report-trials 0``) the report page."""
    import numpy as np

    from latentdyn.io import write_json, write_text
    from latentdyn.studies.dynamics.page import report_page

    npz, summary_path, _, page_path = output_paths(s.npz)
    summary = summary_of(s, r.trajectories)
    names = {"trajectories": npz.name, "summary": summary_path.name}
    with run.stage("outputs"):
        page = report_page(s.model, r.hierarchy, s.data, r.trajectories, s.settings,
                           s.params.report_trials, names) if s.params.report_trials else None
        with open(run.out / npz.name, "wb") as fh:
            np.savez_compressed(fh, **r.trajectories)
        write_json(run.out / summary_path.name, summary)
        if page is not None:
            write_text(run.out / page_path.name, page)
            names["report"] = page_path.name
    run.record(outputs=names,
               results={k: v for k, v in summary.items() if k not in s.settings})


def summary(s: Setup, r: Dynamics, claims, target) -> str:
    """The table of closest levels and distances, and where the files went."""
    t = r.trajectories
    lines = ["p      closest   min_t ||z-memory||  ||z-concept||  ||z-abstract||"]
    for k, p in enumerate(s.ps):
        lines.append(f"{p:<6g} {t['closest'][k]:<9} {t['min_memory_mean'][k]:>18.3f}"
                     f" {t['min_concept_mean'][k]:>14.3f} {t['min_abstract_mean'][k]:>15.3f}")
    npz, summary_path, _, page = output_paths(s.npz)
    lines.append(f"trajectories written to {npz} (summary {summary_path.name}"
                 + (f", report {page.name})" if s.params.report_trials else ")"))
    return "\n".join(lines)


STUDY = Study(
    example=("--model", "@vae", "--trials", "3", "--steps", "3", "--out", "dyn.npz", "--quiet",
             "--device", "cpu"),
    name="dynamics", params=Params, prepare=prepare, stages=stages, report=report,
    summary=summary, target=target, kind="dynamics", positional=("model", "out"),
    help="""Run repeated inference for a trained model from corrupted training images and
    export the trajectories (NPZ) with distances to memories, concepts and the abstract
    concept, a JSON summary beside it, and a self-contained HTML report (X.html) whose
    viewer steps through x(t) and the distance curves of the first trials.""")
run = STUDY.run

__all__ = ["Dynamics", "Params", "STUDY", "output_paths", "run"]
