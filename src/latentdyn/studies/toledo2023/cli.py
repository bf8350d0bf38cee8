"""``latentdyn reproduce toledo2023``: the click command over :func:`run`."""

from __future__ import annotations

import click

from latentdyn.studies.study import common_options, profile_option, seeds_option
from latentdyn.studies.toledo2023.pipeline import DEFAULT_OUT, run

PROFILE_HELP = ("quick: reduced (about 11 minutes on 2 shared CPU cores; every reduction is "
                "stated in the report); paper: the paper's architecture (hours; use a GPU); "
                "smoke: toy size in seconds, for tests (not a reproduction).")


@click.command("toledo2023", context_settings={"show_default": True})
@profile_option(help=PROFILE_HELP)
@common_options(DEFAULT_OUT)
@click.option("--dataset", default=None,
              help="Data set [quick: mnist-embedded; paper: mnist when present].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--classifier", "classifier_run", default=None, type=click.Path(file_okay=False),
              help="A --model classifier run to use as C (labels latents, trains E).")
@click.option("--judge", "judge_run", default=None, type=click.Path(file_okay=False),
              help="A --model classifier run to use as the judge J (reads every image).")
@click.option("--gan", "gan_run", default=None, type=click.Path(file_okay=False),
              help="A --model gan run to use instead of training one.")
@click.option("--encoder", "encoder_run", default=None, type=click.Path(file_okay=False),
              help="A --model gan-encoder run (holds its generator) instead of training one.")
@click.option("--gan-epochs", type=int, default=None, help="Override the profile's GAN epochs.")
@seeds_option()
def command(profile, out, seed, device, overwrite, quiet, dataset, data_dir, classifier_run,
            judge_run, gan_run, encoder_run, gan_epochs, n_seeds) -> None:
    """Toledo-Marín & Glazier (2023): quasi-eigenvectors, LSD, denoising and rotations in
    a GAN's latent space, with the claims scorecard T1-T5 and a self-contained
    report.html. Trained runs are kept in OUT/runs and reused. With --seeds N, N
    independent sets of networks (seeds SEED … SEED+N-1; the further ones in
    OUT/runs/seed<S> and OUT/seeds/seed<S>) and, per claim, how many reproduce it."""
    run(profile, out, dataset=dataset, data_dir=data_dir, classifier_run=classifier_run,
        judge_run=judge_run, gan_run=gan_run, encoder_run=encoder_run, seed=seed,
        n_seeds=n_seeds, gan_epochs=gan_epochs, device=device, progress=not quiet,
        overwrite=overwrite)
