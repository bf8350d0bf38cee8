"""``latentdyn lsd``: the latent spectral decomposition of a trained model (paper 004)."""

from __future__ import annotations

from pathlib import Path

import click

from latentdyn.errors import ConfigError


def load_model(path, device):
    """The model of a run folder (a seam the tests replace)."""
    from latentdyn.train.runs import load_run

    return load_run(path, device)


@click.command(context_settings={"show_default": True})
@click.option("--model", "model_path", required=True, type=click.Path(file_okay=False),
              help="Run folder of a model with encode/decode (GAN + encoder, VAE, ...).")
@click.option("--classifier", "classifier_path", required=True,
              type=click.Path(file_okay=False),
              help="Run folder of the classifier that labels decoded latents C(G(z)).")
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
@click.option("--progress/--no-progress", default=True)
def lsd(model_path, classifier_path, dataset, data_dir, out, max_per_class, prior_samples,
        train_images, test_images, batch_size, seed, device, progress) -> None:
    """Quasi-eigenvectors of a model's latent space, the fraction of test images whose
    largest LSD coefficient lies in the label sub-space, and the LSD accuracy.

    Writes basis.safetensors (the basis, class means, classes, counts), lsd.json (the
    summary) and manifest.json into --out.
    """
    from latentdyn.data import load_dataset
    from latentdyn.io import write_json
    from latentdyn.analysis.lsd import analyse, save_basis
    from latentdyn.reporting.manifest import Manifest, resolve_device

    dev = resolve_device(device)
    run = load_model(model_path, dev)
    clf = load_model(classifier_path, dev)
    model, classifier = run.model, clf.model
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise ConfigError(f"{model_path}: its model ({type(model).__name__}) lacks "
                          "encode()/decode(); LSD needs both (train the GAN's encoder first)")
    dataset = dataset or getattr(run.config, "dataset", None) or "mnist-embedded"
    data_dir = data_dir or getattr(run.config, "data_dir", None)
    ds = load_dataset(dataset, data_dir)
    for name, value in (("--train-images", train_images), ("--test-images", test_images)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    tr = slice(None, train_images)
    te = slice(None, test_images)
    out = Path(out) if out else Path(model_path) / "lsd"
    out.mkdir(parents=True, exist_ok=True)
    config = {"model": str(model_path), "classifier": str(classifier_path), "dataset": ds.name,
              "max_per_class": max_per_class, "prior_samples": prior_samples,
              "train_images": train_images, "test_images": test_images,
              "batch_size": batch_size,
              "orthonormalisation": "float64 Householder QR, signs fixed (= Gram-Schmidt), "
                                    "completed by pivoted Gram-Schmidt of e_1..e_nz",
              "classification": "argmax |c_i| over all nz coefficients"}
    manifest = Manifest(out / "manifest.json", kind="lsd", config=config, seed=seed, device=dev,
                        data={"dataset": ds.name, "checksums": ds.checksums()})
    manifest.write("running")
    try:
        basis, summary = analyse(
            model, classifier, ds.train_images[tr], ds.test_images[te], ds.test_labels[te],
            ds.train_labels[tr], n_prior=prior_samples, max_per_class=max_per_class,
            num_classes=max(ds.num_classes, 1), batch_size=batch_size, generator=seed,
            progress=progress)
        summary = {"model": str(model_path), "classifier": str(classifier_path),
                   "dataset": ds.name, **summary}
        save_basis(out / "basis.safetensors", basis, {"model": str(model_path),
                                                       "classifier": str(classifier_path)})
        write_json(out / "lsd.json", summary)
        manifest.update(outputs={"basis": "basis.safetensors", "summary": "lsd.json"})
        manifest.write("finished")
    except BaseException:
        manifest.write("failed")
        raise
    t = summary["test"]
    click.echo(f"label sub-space fraction {100 * t['label_subspace_fraction']:.1f} % "
               f"(paper: 98 %), LSD accuracy {100 * t['lsd_accuracy']:.1f} %, "
               f"mean rank of the true label {t['mean_rank']:.2f}, "
               f"n = {t['n']} test images")
    if basis.missing_classes:
        click.echo(f"warning: classes {basis.missing_classes} got no latent vectors", err=True)
    click.echo(f"wrote {out / 'basis.safetensors'} and {out / 'lsd.json'}")
