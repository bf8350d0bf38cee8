"""``latentdyn reproduce nagano2017-sampling``: the click command over :func:`run`."""

from __future__ import annotations

import click

from latentdyn.data.corruption import NOISE_KINDS
from latentdyn.studies.nagano2017_sampling.pipeline import DEFAULT_OUT, run
from latentdyn.studies.study import common_options, profile_option, seeds_option


@click.command(context_settings={"show_default": True})
@profile_option()
@click.option("--dataset", default=None,
              help="Data set [default: mnist-embedded; paper profile: mnist when present].")
@click.option("--data-dir", default=None)
@click.option("--model", "model_run", default=None, type=click.Path(file_okay=False),
              help="Use this trained VAE run (or a `reproduce nagano2017` result folder, "
                   "whose model/ it uses) instead of training one.")
@click.option("--noise", default="swap", help=f"Corruption: {', '.join(NOISE_KINDS)}.")
@click.option("--nz", type=int, default=100, help="Latent units of the VAE it trains.")
@click.option("--epochs", type=int, default=None, help="Override the profile's epochs.")
@click.option("--trials", type=int, default=None,
              help="Override the trials per digit (Fig. 2b) and per noise level (Fig. 3).")
@click.option("--steps", type=int, default=None, help="Override T.")
@seeds_option()
@common_options(DEFAULT_OUT)
def command(profile, dataset, data_dir, model_run, noise, nz, epochs, trials, steps, n_seeds,
            out, seed, device, overwrite, quiet):
    """Figures 2a, 2b and 3 of Nagano, Karakida & Okada (JSAI 2017, paper 002): the
    sampling dynamics x(t+1) ~ p(x|z(t)), z(t+1) ~ q(z|x(t+1)), every distance read
    three ways (the sample, the posterior mean, the sample minus its noise floor),
    claims S1-S4 scored on each reading, and a self-contained report.html."""
    run(profile, out, dataset=dataset, data_dir=data_dir, model_run=model_run, noise=noise,
        nz=nz, seed=seed, epochs=epochs, trials=trials, steps=steps, device=device,
        progress=not quiet, overwrite=overwrite, n_seeds=n_seeds)
