"""``latentdyn sweep``: train a grid of VAEs (Nz × lr × batch size × seed)."""

from __future__ import annotations

import click
from click.core import ParameterSource

from latentdyn.cli.train import build_config
from latentdyn.sweep.spec import GRID_FIELDS, SweepSpec, parse_list
from latentdyn.studies.common import BACKEND_KEYS
from latentdyn.train import read_config_file

_DEFAULTS = {"nz": "100", "lr": "5e-4", "batch_size": "100", "seed": "0"}


def backend_options(command):
    """``--backend``, ``--address``, ``--cpus-per-task``, ``--gpus-per-task`` and
    ``--retries``: the options of :class:`latentdyn.studies.common.Backend`, which every
    study that trains a sweep has too."""
    from latentdyn.studies.common import Backend
    from latentdyn.studies.params import click_options

    command.params.extend(click_options(Backend))
    return command


@click.command(context_settings={"show_default": True})
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="TOML/YAML/JSON file of options (lists allowed for nz, lr, batch-size, "
                   "seed); options given here override it.")
@click.option("--dataset", default="mnist-embedded",
              help="Dataset name (see `latentdyn data list`), or npz:PATH.")
@click.option("--data-dir", default=None, help="Folder with downloaded datasets.")
@click.option("--nz", default=_DEFAULTS["nz"], metavar="LIST",
              help="Latent units Nz, comma-separated, e.g. 2,5,10,14,20,50,100.")
@click.option("--hidden", type=int, default=1024, help="Hidden units of encoder and decoder.")
@click.option("--activation", default="tanh", help="Hidden activation.")
@click.option("--samples", type=int, default=2, help="Monte-Carlo samples L in the ELBO.")
@click.option("--epochs", type=int, default=100)
@click.option("--batch-size", "--batch", "batch_size", default=_DEFAULTS["batch_size"],
              metavar="LIST", help="Batch sizes, comma-separated, e.g. 50,100,200.")
@click.option("--lr", default=_DEFAULTS["lr"], metavar="LIST",
              help="Base learning rates, comma-separated (each stepped ×0.2 then ×0.1 at "
                   "the milestones).")
@click.option("--lr-milestones", default="0.5,0.8",
              help="Fractions of the epochs at which the learning rate steps down.")
@click.option("--seed", default=_DEFAULTS["seed"], metavar="LIST",
              help="Seeds, comma-separated.")
@click.option("--device", default="auto", help="cpu, cuda, or auto (cuda when present).")
@click.option("--checkpoint-every", type=int, default=1, help="Checkpoint every N epochs.")
@click.option("--eval-every", type=int, default=1, help="Test ELBO every N epochs.")
@click.option("--workers", type=int, default=None,
              help="Train independent groups in this many processes (threads split among "
                   "them); with --backend ray, split the groups into at least this many "
                   "tasks [default: 1; with --backend ray, one task per group].")
@click.option("--max-ensemble", type=int, default=None,
              help="Most models trained together in one batched computation "
                   "[default: every point of a shape; 1 trains one by one].")
@click.option("--ll-k", type=int, default=None,
              help="Importance samples per test image for the test log-likelihood in the "
                   "summary [default: 500 on CPU, 5000 on CUDA; 0 skips it].")
@click.option("--ll-images", type=int, default=None,
              help="Test images for the log-likelihood [default: all].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Sweep folder [default: sweeps/vae-<dataset>].")
@click.option("--overwrite", is_flag=True,
              help="Replace a different sweep (or the same one) already in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def sweep(ctx: click.Context, **params) -> None:
    """Train every point of a grid over Nz × lr × batch size × seed.

    Each point is an ordinary run folder under --out (e.g. nz14-lr0.001-bs100-seed0/,
    readable by latentdyn.load_run); summary.csv holds one row per point (final train and
    test ELBO, importance-weighted test log-likelihood, active units, wall time) and
    sweep.json the grid. Points of one shape (same Nz and batch size) are trained together
    in one batched computation, each exactly as `latentdyn train` would train it alone.
    Rerun the same command to resume: finished points are skipped, interrupted ones
    continue from their checkpoints. With --backend ray every group is one Ray task
    (same folders, same numbers); --out must then be on storage every node sees.
    """
    from latentdyn.manifest import invocation
    from latentdyn.sweep import format_summary, read_summary, run_sweep

    values = read_config_file(params["config"]) if params["config"] else {}
    if "batch" in values:
        values.setdefault("batch_size", values.pop("batch"))
    from_file = {k: values.pop(k) for k in GRID_FIELDS if k in values}
    shared = {k: v for k, v in params.items()
              if k not in (*GRID_FIELDS, *BACKEND_KEYS, "config")}
    base = build_config(ctx, shared, values)
    grid = {}
    for name in GRID_FIELDS:
        source = ctx.get_parameter_source(name)
        if source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            grid[name] = parse_list(params[name], name)
        elif name in from_file:
            grid[name] = parse_list(from_file[name], name)
        else:
            grid[name] = parse_list(_DEFAULTS[name], name)
    spec = SweepSpec(base=base, **grid)
    out = params["out"] or f"sweeps/vae-{base.dataset.replace(':', '_').replace('/', '_')}"
    path = run_sweep(spec, out, workers=params["workers"], max_ensemble=params["max_ensemble"],
                     ll_k=params["ll_k"], ll_images=params["ll_images"],
                     overwrite=params["overwrite"], progress=not params["quiet"],
                     argv=invocation(), **{k: params[k] for k in BACKEND_KEYS})
    click.echo(format_summary(read_summary(path)))
    click.echo(f"sweep written to {path.parent}; summary in {path}")


sweep = backend_options(sweep)
