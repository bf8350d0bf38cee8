"""``latentdyn lsd``: the latent spectral decomposition of a trained model (paper 004):
quasi-eigenvectors of its latent space (:func:`latentdyn.analysis.lsd.analyse`), the
fraction of test images whose largest LSD coefficient lies in the label sub-space, and
the LSD accuracy.

One stage, no claims. The result is three files in ``--out`` (default
``<model run>/lsd``): ``basis.safetensors`` (the basis, class means, classes, counts),
``lsd.json`` (the summary) and ``manifest.json``. :func:`run` takes a run folder or
any model object offering ``encode``/``decode`` as ``model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from latentdyn.errors import ConfigError
from latentdyn.studies.driver import Study
from latentdyn.studies.lifecycle import files_target
from latentdyn.studies.models import MODEL_HELP, ModelSource
from latentdyn.studies.params import param

OUTPUTS = ("basis.safetensors", "lsd.json", "manifest.json")


@dataclass(frozen=True)
class Params(ModelSource):
    model: Any = param(None, MODEL_HELP, required=True)
    classifier: str | None = param(None, "Run folder of the classifier (latentdyn train "
                                   "--model classifier) that labels decoded latents C(G(z)).",
                                   path="dir", required=True)
    dataset: str | None = param(None, "Data set [default: the model run's own].")
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    out: str | None = param(None, "Output folder [default: <model run>/lsd].", path="dir")
    max_per_class: int = param(5000, "Latent vectors averaged per class.")
    prior_samples: int = param(20000, "At most this many z ~ N(0, I) after the training "
                               "images.")
    train_images: int | None = param(None, "Use only the first N training images [default: "
                                     "all].")
    test_images: int | None = param(None, "Use only the first N test images [default: all].")
    batch_size: int = param(1000, "Images (and latents) per batch.")
    seed: int = param(0, "Seed of the prior samples.")
    device: str = param("cpu", "cpu, cuda, cuda:N or auto.")
    overwrite: bool = param(False, "Replace the results already in --out.")
    progress: bool = param(True, "Progress bars.", flag="--progress/--no-progress")


@dataclass
class Setup:
    params: Params
    model: Any
    classifier: Any
    data: Any
    out: Path
    device: Any
    settings: dict
    data_record: dict


@dataclass
class LSD:
    """The result: the basis (:class:`latentdyn.analysis.lsd.Basis`) and the summary."""

    basis: Any
    summary: dict


def _check(p: Params) -> None:
    from latentdyn.checks import check_count

    for name, value in (("--max-per-class", p.max_per_class), ("--batch-size", p.batch_size)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
        check_count(name, value)
    if p.prior_samples < 0:
        raise ConfigError(f"--prior-samples must be >= 0, got {p.prior_samples}")
    check_count("--prior-samples", p.prior_samples, low=0)
    for name, value in (("--train-images", p.train_images), ("--test-images", p.test_images)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if not 0 <= p.seed < 2**64:
        raise ConfigError(f"--seed must be an integer in [0, 2**64), got {p.seed}")


def prepare(p: Params) -> Setup:
    """Every option, then the model, the classifier and the data; nothing is written."""
    from latentdyn.checks import resolve_device
    from latentdyn.data import load_dataset
    from latentdyn.studies.models import check_fits, check_given_data, given_model, input_dim

    _check(p)
    dev = resolve_device(p.device)
    given = given_model(p.model, dev, source=p)
    clf = given_model(p.classifier, dev, ("classifier",), "--classifier")
    model, classifier = given.model, clf.model
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise ConfigError(f"{given.path}: its model ({type(model).__name__}) lacks "
                          "encode()/decode(); LSD needs both (train the GAN's encoder first)")
    model_dim, clf_dim = input_dim(model), input_dim(classifier)
    if model_dim is not None and clf_dim is not None and model_dim != clf_dim:
        raise ConfigError(f"{clf.path}: the classifier takes images of {clf_dim} values "
                          f"but the model of {given.path} makes {model_dim}")
    dataset = p.dataset or getattr(given.config, "dataset", None) or "mnist-embedded"
    data = load_dataset(dataset, p.data_dir or getattr(given.config, "data_dir", None))
    check_fits(model, data, f"the model of {given.path}")
    check_given_data(given, data)
    check_fits(classifier, data, f"the classifier of {clf.path}")
    if p.out is None and not isinstance(p.model, (str, Path)):
        raise ConfigError("--out is needed for a model without a run folder")
    out = Path(p.out) if p.out else Path(p.model) / "lsd"
    settings = {"model": given.path, "classifier": clf.path, "dataset": data.name,
                "max_per_class": p.max_per_class, "prior_samples": p.prior_samples,
                "train_images": p.train_images, "test_images": p.test_images,
                "batch_size": p.batch_size,
                "orthonormalisation": "float64 Householder QR, signs fixed (= Gram-Schmidt), "
                                      "completed by pivoted Gram-Schmidt of e_1..e_nz",
                "classification": "argmax |c_i| over all nz coefficients"}
    return Setup(p, model, classifier, data, out, dev, settings,
                 {"dataset": data.name, "checksums": data.checksums()})


def stages(run, s: Setup) -> LSD:
    """One stage: the basis from the latents, and the test images read in it."""
    from latentdyn.analysis.lsd import analyse

    p, ds = s.params, s.data
    tr, te = slice(None, p.train_images), slice(None, p.test_images)
    with run.stage("lsd"):
        basis, summary = analyse(
            s.model, s.classifier, ds.train_images[tr], ds.test_images[te],
            ds.test_labels[te], ds.train_labels[tr], n_prior=p.prior_samples,
            max_per_class=p.max_per_class, num_classes=max(ds.num_classes, 1),
            batch_size=p.batch_size, generator=p.seed, progress=p.progress)
    return LSD(basis, {"model": s.settings["model"], "classifier": s.settings["classifier"],
                       "dataset": ds.name, **summary})


def report(run, s: Setup, r: LSD, claims) -> None:
    """``basis.safetensors`` and ``lsd.json``."""
    from latentdyn.analysis.lsd import save_basis
    from latentdyn.io import write_json

    save_basis(run.out / OUTPUTS[0], r.basis, {"model": s.settings["model"],
                                               "classifier": s.settings["classifier"]})
    write_json(run.out / OUTPUTS[1], r.summary)
    run.record(outputs={"basis": OUTPUTS[0], "summary": OUTPUTS[1]})


def summary(s: Setup, r: LSD, claims, target) -> str:
    """The label sub-space fraction and the LSD accuracy; where the files went."""
    t = r.summary["test"]
    click.echo(f"label sub-space fraction {100 * t['label_subspace_fraction']:.1f} % "
               f"(paper: 98 %), LSD accuracy {100 * t['lsd_accuracy']:.1f} %, "
               f"mean rank of the true label {t['mean_rank']:.2f}, "
               f"n = {t['n']} test images")
    if r.basis.missing_classes:
        click.echo(f"warning: classes {r.basis.missing_classes} got no latent vectors", err=True)
    return f"wrote {s.out / OUTPUTS[0]} and {s.out / OUTPUTS[1]}"


STUDY = Study(
    example=("--model", "@vae", "--classifier", "@clf", "--prior-samples", "20", "--out", "lsd",
             "--no-progress"),
    name="lsd", params=Params, prepare=prepare, stages=stages, report=report,
    summary=summary, kind="lsd", positional=("model", "classifier", "out"),
    target=lambda p, s: files_target(*(s.out / n for n in OUTPUTS),
                                     manifest=s.out / OUTPUTS[2]),
    help="""Quasi-eigenvectors of a model's latent space, the fraction of test images
    whose largest LSD coefficient lies in the label sub-space, and the LSD accuracy.

    Writes basis.safetensors (the basis, class means, classes, counts), lsd.json (the
    summary) and manifest.json into --out, once the analysis has succeeded; results
    already there are kept unless --overwrite.""")
run = STUDY.run

__all__ = ["LSD", "OUTPUTS", "Params", "STUDY", "run"]
