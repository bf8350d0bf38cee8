"""``latentdyn train``: train a model into a run folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from latentdyn.errors import ConfigError
from latentdyn.io import parse_json
from latentdyn.train import TrainConfig, read_config_file, train as train_fn

# CLI option name -> TrainConfig field
_FIELDS = {
    "model": "model", "dataset": "dataset", "data_dir": "data_dir", "nz": "nz",
    "hidden": "hidden", "activation": "activation", "samples": "n_samples",
    "epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "seed": "seed",
    "device": "device", "checkpoint_every": "checkpoint_every", "eval_every": "eval_every",
    "lr_milestones": "lr_milestones", "snapshots": "snapshots",
}


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"expected comma-separated numbers, got {text!r}") from None


def build_config(ctx: click.Context, params: dict, base: dict | None = None) -> TrainConfig:
    """Defaults < ``--config`` file (or ``base``) < options given on the command line."""
    values = dict(base or {})
    if params.get("config"):
        values.update(read_config_file(params["config"]))
    for opt, field in _FIELDS.items():
        if opt not in params:
            continue
        source = ctx.get_parameter_source(opt)
        if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT) or (
            field not in values and params[opt] is not None
        ):
            value = params[opt]
            if field == "lr_milestones":
                value = _floats(value)
            values[field] = value
    for item in params.get("options") or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            value = parse_json(raw)
        except ValueError:  # not JSON (or nested too deeply): the text itself
            value = raw
        values.setdefault("model_options", {})
        values["model_options"] = {**values["model_options"], key.strip(): value}
    try:
        return TrainConfig.from_dict(values).validate()
    except TypeError as exc:
        raise ConfigError(f"bad config: {exc}") from None


@click.command(context_settings={"show_default": True})
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="TOML/YAML/JSON file of options (a run's config.json works); "
                   "options given here override it.")
@click.option("--model", default="vae", help="Model kind.")
@click.option("--dataset", default="mnist-embedded",
              help="Dataset name (see `latentdyn data list`), or npz:PATH.")
@click.option("--data-dir", default=None, help="Folder with downloaded datasets.")
@click.option("--nz", type=int, default=100, help="Number of latent units Nz.")
@click.option("--hidden", type=int, default=1024, help="Hidden units of encoder and decoder.")
@click.option("--activation", default="tanh", help="Hidden activation.")
@click.option("--samples", type=int, default=2, help="Monte-Carlo samples L in the ELBO.")
@click.option("--epochs", type=int, default=100)
@click.option("--batch-size", type=int, default=100)
@click.option("--lr", type=float, default=5e-4,
              help="Base learning rate; stepped ×0.2 then ×0.1 at the milestones.")
@click.option("--lr-milestones", default="0.5,0.8",
              help="Fractions of the epochs at which the learning rate steps down.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Extra option of the model kind (repeatable), e.g. --option lam=0.01.")
@click.option("--seed", type=int, default=0)
@click.option("--device", default="auto", help="cpu, cuda, or auto (cuda when present).")
@click.option("--checkpoint-every", type=int, default=1, help="Checkpoint every N epochs.")
@click.option("--eval-every", type=int, default=1, help="Test ELBO every N epochs.")
@click.option("--snapshots", default=None, metavar="log|STEPS",
              help="Save the weights at these optimiser steps: log (1, 2, 4, ... and the "
                   "last step) or e.g. 100,1000,5000; load one as --model RUN@STEP.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run folder [default: runs/<model>-<dataset>-nz<Nz>-seed<seed>].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace a run already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def train(ctx: click.Context, **params) -> None:
    """Train a model (default: the VAE of Nagano et al. 2017) into a run folder.

    The folder gets config.json, manifest.json, metrics.csv (train and test ELBO per
    epoch, nats per image), model.safetensors and checkpoint.safetensors.
    """
    base = None
    if params["resume"] and params["out"] and not params["config"]:
        cfg = Path(params["out"]) / "config.json"
        if cfg.is_file():
            base = read_config_file(cfg)
    config = build_config(ctx, params, base)
    out = params["out"] or (
        f"runs/{config.model}-{config.dataset.replace(':', '_').replace('/', '_')}"
        f"-nz{config.nz}-seed{config.seed}"
    )
    path = train_fn(config, out, resume=params["resume"], overwrite=params["overwrite"],
                    progress=not params["quiet"], argv=["latentdyn", *sys.argv[1:]])
    metrics = path / "metrics.csv"
    summary = ""
    if (path / "manifest.json").is_file():
        final = json.loads((path / "manifest.json").read_text()).get("final_metrics") or {}
        if "test_elbo" in final:
            summary = f" (test ELBO {final['test_elbo']:.2f} nats/image)"
    click.echo(f"run written to {path}{summary}; metrics in {metrics}")
