"""``latentdyn classifier``: train and evaluate the CNN digit classifier (SPEC §1, Fig. B.2).

``classifier train`` takes the options of ``latentdyn train`` (minus the VAE's shape
options) and writes an ordinary run folder (``latentdyn.load_run`` loads it);
``classifier eval`` prints a trained classifier's test accuracy.
"""

from __future__ import annotations

import copy
from pathlib import Path

import click
from click.core import ParameterSource

from latentdyn.cli.train import build_config, train as _train_command
from latentdyn.errors import ConfigError
from latentdyn.train import read_config_file, train as train_fn

# the Keras MNIST CNN recipe; epochs and batch from it, Adam at a constant 1e-3
KIND_DEFAULTS = {"model": "classifier", "epochs": 12, "batch_size": 128, "lr": 1e-3,
                 "lr_factors": [1.0], "lr_milestones": []}
_SKIP = {"model", "nz", "hidden", "activation", "samples"}  # the VAE's options
_CHANGED = {
    "epochs": dict(default=12),
    "batch_size": dict(default=128),
    "lr": dict(default=1e-3, help="Adam learning rate (constant unless --lr-milestones)."),
    "lr_milestones": dict(default="", show_default=False,
                          help="Fractions of the epochs at which the learning rate steps "
                               "×0.2 then ×0.1 (none by default)."),
    "options": dict(help="Architecture option (repeatable), e.g. --option num_classes=10, "
                         "conv1, conv2, dense, dropout_conv, dropout_dense, channels."),
    "eval_every": dict(help="Test accuracy every N epochs."),
    "out": dict(help="Run folder [default: runs/classifier-<dataset>-seed<seed>]."),
}


def _train_params() -> list[click.Parameter]:
    """The options of ``latentdyn train``, with the classifier's defaults."""
    params = []
    for p in _train_command.params:
        if p.name in _SKIP:
            continue
        p = copy.copy(p)
        for attr, value in _CHANGED.get(p.name, {}).items():
            setattr(p, attr, value)
        params.append(p)
    return params


def _default_out(config) -> str:
    return f"runs/classifier-{config.dataset.replace(':', '_').replace('/', '_')}-seed{config.seed}"


def _build(ctx: click.Context, params: dict, base: dict | None = None):
    base = dict(KIND_DEFAULTS if base is None else base)
    if ctx.get_parameter_source("lr_milestones") == ParameterSource.COMMANDLINE:
        # user-chosen steps use the usual factors: ×0.2, then ×0.1 of the base lr
        steps = len([t for t in params["lr_milestones"].split(",") if t.strip()])
        if steps <= 2:
            base["lr_factors"] = [1.0, 0.2, 0.1][:steps + 1]
        else:
            base.pop("lr_factors", None)
    config = build_config(ctx, params, base)
    if config.model != "classifier":
        raise ConfigError(f"`classifier train` trains classifiers, but the config asks for "
                          f"model {config.model!r}; use `latentdyn train` for that")
    return config


@click.group()
def classifier() -> None:
    """The CNN digit classifier of Fig. B.2 (conv-conv-pool-dropout-dense-dropout-softmax)."""


@click.command("train", context_settings={"show_default": True})
@click.pass_context
def train(ctx: click.Context, **params) -> None:
    """Train the classifier into a run folder (config.json, manifest.json, metrics.csv
    with train/test accuracy and loss, model.safetensors, checkpoint.safetensors)."""
    from latentdyn.manifest import invocation
    from latentdyn.checks import resolve_device
    from latentdyn.train.runs import read_manifest

    config = _build(ctx, params)
    out = Path(params["out"] or _default_out(config))
    if params["resume"] and not params["config"] and (out / "config.json").is_file():
        config = _build(ctx, params, read_config_file(out / "config.json"))
    resolve_device(config.device)  # one line for a device this machine lacks, before any file
    path = train_fn(config, out, resume=params["resume"], overwrite=params["overwrite"],
                    progress=not params["quiet"], argv=invocation())
    summary = ""
    final = read_manifest(path).get("final_metrics") or {}
    if isinstance(final, dict) and "test_acc" in final and "test_loss" in final:
        summary = (f" (test accuracy {100 * final['test_acc']:.2f} %, "
                   f"test loss {final['test_loss']:.4f})")
    click.echo(f"run written to {path}{summary}; metrics in {path / 'metrics.csv'}")


train.params = _train_params()
classifier.add_command(train)


@classifier.command("eval")
@click.option("--model", "run", required=True, type=click.Path(file_okay=False),
              help="A classifier run folder.")
@click.option("--dataset", default=None, help="Data set [default: the run's own].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, or auto.")
def evaluate(run: str, dataset: str | None, data_dir: str | None, split: str, device: str) -> None:
    """Print a trained classifier's accuracy on a data set's test (or train) images."""
    from latentdyn.data import load_dataset
    from latentdyn.models.inference import predict_labels
    from latentdyn.checks import resolve_device
    from latentdyn.train.runs import load_run, run_kind

    dev = resolve_device(device)  # before anything that touches the device
    path = Path(run)
    if (path / "config.json").is_file():
        kind = run_kind(path, "--model")
        if kind != "classifier":
            raise ConfigError(f"{path}: is a {kind!r} run, not a classifier (classifier eval "
                              "needs a run trained with --model classifier)")
    model, config = load_run(path, dev)
    data = load_dataset(dataset or config.dataset, data_dir or config.data_dir)
    data.require_dim(model.config.input_dim, f"the classifier of {path}")
    x = data.test_images if split == "test" else data.train_images
    y = data.test_labels if split == "test" else data.train_labels
    correct = int((predict_labels(model, x).cpu() == y).sum())
    n = int(y.numel())
    acc = correct / n if n else float("nan")
    click.echo(f"{split} accuracy of {path} on {data.name}: {100 * acc:.2f} % "
               f"({correct} of {n})")
