"""``latentdyn lsd``: the latent spectral decomposition of a trained model (paper 004)."""

from __future__ import annotations

from pathlib import Path

import click

from latentdyn.errors import ConfigError


OUTPUTS = ("basis.safetensors", "lsd.json", "manifest.json")


def load_model(path, device, kind: str | None = None, option: str = "--model"):
    """The model of a run folder, of model ``kind`` when given (``option`` names what
    asked for it); a seam the tests replace."""
    from latentdyn.train.runs import load_run, load_run_of_kind

    if kind is not None:
        return load_run_of_kind(path, kind, option, device)
    return load_run(path, device)


def _input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


def _check_options(max_per_class, prior_samples, train_images, test_images, batch_size, seed):
    from latentdyn.checks import check_count

    for name, value in (("--max-per-class", max_per_class), ("--batch-size", batch_size)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
        check_count(name, value)
    if prior_samples < 0:
        raise ConfigError(f"--prior-samples must be >= 0, got {prior_samples}")
    check_count("--prior-samples", prior_samples, low=0)
    for name, value in (("--train-images", train_images), ("--test-images", test_images)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    if not 0 <= seed < 2**64:
        raise ConfigError(f"--seed must be an integer in [0, 2**64), got {seed}")


@click.command(context_settings={"show_default": True})
@click.option("--model", "model_path", required=True, type=click.Path(file_okay=False),
              help="Run folder of a model with encode/decode (GAN + encoder, VAE, ...).")
@click.option("--classifier", "classifier_path", required=True,
              type=click.Path(file_okay=False),
              help="Run folder of the classifier (latentdyn train --model classifier) that "
                   "labels decoded latents C(G(z)).")
@click.option("--dataset", default=None,
              help="Data set (default: the model run's own).")
@click.option("--data-dir", default=None, help="Folder with downloaded datasets.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Output folder (default: <model run>/lsd).")
@click.option("--max-per-class", type=int, default=5000,
              help="Latent vectors averaged per class.")
@click.option("--prior-samples", type=int, default=20000,
              help="At most this many z ~ N(0, I) after the training images.")
@click.option("--train-images", type=int, default=None,
              help="Use only the first N training images (default: all).")
@click.option("--test-images", type=int, default=None,
              help="Use only the first N test images (default: all).")
@click.option("--batch-size", type=int, default=1000)
@click.option("--seed", type=int, default=0, help="Seed of the prior samples.")
@click.option("--device", default="cpu", help="cpu, cuda, cuda:N or auto.")
@click.option("--overwrite", is_flag=True, help="Replace the results already in --out.")
@click.option("--progress/--no-progress", default=True)
def lsd(model_path, classifier_path, dataset, data_dir, out, max_per_class, prior_samples,
        train_images, test_images, batch_size, seed, device, overwrite, progress) -> None:
    """Quasi-eigenvectors of a model's latent space, the fraction of test images whose
    largest LSD coefficient lies in the label sub-space, and the LSD accuracy.

    Writes basis.safetensors (the basis, class means, classes, counts), lsd.json (the
    summary) and manifest.json into --out, once the analysis has succeeded; results
    already there are kept unless --overwrite.
    """
    from latentdyn.analysis.lsd import analyse, save_basis
    from latentdyn.manifest import invocation
    from latentdyn.data import load_dataset
    from latentdyn.io import folder_lock, refuse_existing, write_json
    from latentdyn.manifest import Manifest
    from latentdyn.checks import resolve_device

    # every option, then every input, before any output is touched
    _check_options(max_per_class, prior_samples, train_images, test_images, batch_size, seed)
    dev = resolve_device(device)
    run = load_model(model_path, dev)
    clf = load_model(classifier_path, dev, kind="classifier", option="--classifier")
    model, classifier = run.model, clf.model
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise ConfigError(f"{model_path}: its model ({type(model).__name__}) lacks "
                          "encode()/decode(); LSD needs both (train the GAN's encoder first)")
    model_dim, clf_dim = _input_dim(model), _input_dim(classifier)
    if model_dim is not None and clf_dim is not None and model_dim != clf_dim:
        raise ConfigError(f"{classifier_path}: the classifier takes images of {clf_dim} values "
                          f"but the model of {model_path} makes {model_dim}")
    dataset = dataset or getattr(run.config, "dataset", None) or "mnist-embedded"
    data_dir = data_dir or getattr(run.config, "data_dir", None)
    ds = load_dataset(dataset, data_dir)
    ds.require_dim(model_dim, f"the model of {model_path}")
    ds.require_dim(clf_dim, f"the classifier of {classifier_path}")
    tr = slice(None, train_images)
    te = slice(None, test_images)
    out = Path(out) if out else Path(model_path) / "lsd"
    outputs = [out / name for name in OUTPUTS]
    refuse_existing(outputs, overwrite)
    config = {"model": str(model_path), "classifier": str(classifier_path), "dataset": ds.name,
              "max_per_class": max_per_class, "prior_samples": prior_samples,
              "train_images": train_images, "test_images": test_images,
              "batch_size": batch_size,
              "orthonormalisation": "float64 Householder QR, signs fixed (= Gram-Schmidt), "
                                    "completed by pivoted Gram-Schmidt of e_1..e_nz",
              "classification": "argmax |c_i| over all nz coefficients"}
    manifest = Manifest(out / "manifest.json", kind="lsd", config=config, seed=seed, device=dev,
                        data={"dataset": ds.name, "checksums": ds.checksums()},
                        argv=invocation())
    basis, summary = analyse(
        model, classifier, ds.train_images[tr], ds.test_images[te], ds.test_labels[te],
        ds.train_labels[tr], n_prior=prior_samples, max_per_class=max_per_class,
        num_classes=max(ds.num_classes, 1), batch_size=batch_size, generator=seed,
        progress=progress)
    summary = {"model": str(model_path), "classifier": str(classifier_path),
               "dataset": ds.name, **summary}
    with folder_lock(out):  # only now, with everything computed, write them all
        refuse_existing(outputs, overwrite)  # none written meanwhile by another process
        save_basis(outputs[0], basis, {"model": str(model_path),
                                       "classifier": str(classifier_path)})
        write_json(outputs[1], summary)
        manifest.update(outputs={"basis": OUTPUTS[0], "summary": OUTPUTS[1]})
        manifest.write("completed")
    t = summary["test"]
    click.echo(f"label sub-space fraction {100 * t['label_subspace_fraction']:.1f} % "
               f"(paper: 98 %), LSD accuracy {100 * t['lsd_accuracy']:.1f} %, "
               f"mean rank of the true label {t['mean_rank']:.2f}, "
               f"n = {t['n']} test images")
    if basis.missing_classes:
        click.echo(f"warning: classes {basis.missing_classes} got no latent vectors", err=True)
    click.echo(f"wrote {outputs[0]} and {outputs[1]}")
