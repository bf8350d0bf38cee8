"""``latentdyn mi``: the MI lower bound of a trained model's latent codes."""

from __future__ import annotations

from pathlib import Path

import click

from latentdyn.errors import ConfigError


def _input_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) else None


@click.command(context_settings={"show_default": True})
@click.option("--model", "run", required=True, type=click.Path(file_okay=False),
              help="Run folder of a trained model (any kind offering encode/decode).")
@click.option("--codes", default="all",
              help="Codes to evaluate: 'all', or e.g. 'cat,0,1' (Gaussian unit indices, "
                   "ranges 0-3, and 'cat' for the categorical unit).")
@click.option("--source", type=click.Choice(["prior", "posterior"]), default="prior",
              help="Draw the codes from the prior (exact entropies) or from q(z|x) of data "
                   "images (aggregate-posterior entropies).")
@click.option("--fits", "n_fits", type=int, default=3, help="Repeated Q fits (seeds).")
@click.option("--steps", type=int, default=1000, help="Adam steps per Q fit.")
@click.option("--batch-size", type=int, default=128)
@click.option("--n-train", type=int, default=10000, help="Decodings Q trains on, per fit.")
@click.option("--n-test", type=int, default=2000, help="Held-out decodings for the bound.")
@click.option("--q-arch", type=click.Choice(["fc", "conv"]), default="fc",
              help="Q's network (conv needs square images with a side divisible by 4).")
@click.option("--q-hidden", type=int, default=256)
@click.option("--lr", type=float, default=1e-3, help="Q's Adam learning rate.")
@click.option("--seed", type=int, default=0, help="Fit i uses seed + i.")
@click.option("--dataset", default=None,
              help="Images for --source posterior [default: the run's data set].")
@click.option("--data-dir", default=None)
@click.option("--device", default="auto", help="cpu, cuda, or auto.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the result as JSON to this file.")
@click.option("--overwrite", is_flag=True, help="Replace a file already at --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def mi(run, codes, source, n_fits, steps, batch_size, n_train, n_test, q_arch, q_hidden, lr,
       seed, dataset, data_dir, device, out, overwrite, quiet) -> None:
    """Estimate I(c; x̃) ≥ H(c) − E[−log Q(c|x̃)] for codes of a FIXED model.

    The model is frozen; a fresh Q is trained on its decodings and the bound is H(c)
    minus Q's cross-entropy on held-out decodings, per code, mean ± sd over --fits
    fits. Prints a table (nats); --out writes JSON.
    """
    from latentdyn.analysis.mi import estimate_mi
    from latentdyn.checks import check_count, check_memory
    from latentdyn.cli import invocation
    from latentdyn.studies.study import check_seed
    from latentdyn.io import folder_lock, refuse_existing, write_json
    from latentdyn.manifest import versions
    from latentdyn.checks import resolve_device
    from latentdyn.train.runs import load_run

    # every option, then every input, before the output is touched
    for name, value in (("--fits", n_fits), ("--steps", steps), ("--batch-size", batch_size),
                        ("--n-train", n_train), ("--n-test", n_test), ("--q-hidden", q_hidden)):
        if value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}")
        check_count(name, value)
    check_count("--q-hidden", q_hidden, high=1 << 16)
    check_seed(seed, "--seed")
    if not lr > 0:
        raise ConfigError(f"--lr must be positive, got {lr}")
    out = Path(out) if out else None
    if out is not None:
        refuse_existing([out], overwrite)
    dev = resolve_device(device)
    model, config = load_run(run, device=dev)
    images = None
    if source == "posterior" or not any(
            isinstance(getattr(model, a, None), int) for a in ("n_gauss", "nz")):
        from latentdyn.data import load_dataset

        name = dataset or config.dataset
        ds = load_dataset(name, data_dir or config.data_dir)
        ds.require_dim(_input_dim(model), f"the model of {run}")
        images = ds.test_images
    # the decodings Q learns from, held in memory: (n_train + n_test) images per fit
    check_memory(4 * (n_train + n_test) * (2 * _input_dim(model) + 64), "the decoded pairs")
    result = estimate_mi(model, images, codes, source=source, n_fits=n_fits, steps=steps,
                         batch_size=batch_size, n_train=n_train, n_test=n_test, q_arch=q_arch,
                         q_hidden=q_hidden, lr=lr, seed=seed, device=dev, progress=not quiet)
    if out is not None:
        with folder_lock(out.parent):  # only now, with the result computed, write it
            refuse_existing([out], overwrite)  # none written meanwhile by another process
            write_json(out, {"run": str(run), "model": config.model, "command": invocation(),
                             "versions": versions(), **result.to_dict()})
    click.echo(f"MI lower bound of {run} (model {config.model})")
    click.echo(result.table())
    if out is not None:
        click.echo(f"written to {out}")
