"""``latentdyn reproduce nagano2017``: the click command over :func:`run`."""

from __future__ import annotations

import click

from latentdyn.cli.sweep import backend_kwargs, backend_options
from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.studies.nagano2017.pipeline import DEFAULT_OUT, run
from latentdyn.studies.study import common_options, profile_option, seeds_option


@click.command(context_settings={"show_default": True})
@profile_option()
@click.option("--dataset", default=None,
              help="Data set [default: mnist-embedded; paper profile: mnist when present].")
@click.option("--data-dir", default=None)
@click.option("--model", "model_run", default=None, type=click.Path(file_okay=False),
              help="Use this trained run instead of training one.")
@click.option("--noise", default="swap", help=f"Corruption: {', '.join(NOISE_KINDS)}.")
@click.option("--mode", default="deterministic", help="Dynamics: deterministic or sampling.")
@click.option("--nz", type=int, default=100)
@click.option("--epochs", type=int, default=None, help="Override the profile's epochs.")
@click.option("--trials", type=int, default=None, help="Override the trials per condition.")
@click.option("--steps", type=int, default=None, help="Override T.")
@click.option("--latent-size/--no-latent-size", default=True,
              help="Run the latent-size study (figures 6, 7, B.2; claims C6-C8).")
@seeds_option()
@backend_options
@common_options(DEFAULT_OUT)
def command(profile, dataset, data_dir, model_run, noise, mode, nz, epochs, trials, steps,
            latent_size, n_seeds, out, seed, device, overwrite, quiet, **backend):
    """Figures 1-4, 6, 7, A.1 and B.2 of Nagano et al. (2017) with the claims scorecard
    C1-C8 and a self-contained report.html. --backend ray trains the latent-size sweep
    on a Ray cluster (docs/scaling.md); the numbers do not depend on the backend."""
    run(profile, out, dataset=dataset, data_dir=data_dir, model_run=model_run, noise=noise,
        mode=mode, nz=nz, seed=seed, epochs=epochs, trials=trials, steps=steps, device=device,
        progress=not quiet, overwrite=overwrite, latent_size=latent_size, n_seeds=n_seeds,
        backend=backend_kwargs(backend))
