"""``latentdyn reproduce serdega2020``: the click command over :func:`.runner.run`."""

from __future__ import annotations

import click

from latentdyn.errors import ConfigError
from latentdyn.studies.serdega2020.runner import DEFAULT_OUT, run
from latentdyn.studies.study import profile_option

PROFILE_HELP = ("quick (reduced; about 15 minutes on 2 CPU cores), paper (the paper's settings; "
                "hours, use a GPU) or smoke (toy size in seconds, for tests; not a "
                "reproduction).")


def parse_seeds(text: str | None) -> int | list[int] | None:
    """``--seeds``: ``"3"`` -> 3 (three seeds from ``--seed``, as in every study);
    ``"0,4,7"`` (a comma makes it a list; ``"7,"`` is the one seed 7) -> ``[0, 4, 7]``;
    None or empty -> None (the profile's number of seeds from ``--seed``)."""
    if not text or not text.strip():
        return None
    try:
        if "," not in text:
            return int(text)
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects a count N or comma-separated seeds, got "
                          f"{text!r}") from None


@click.command("serdega2020", context_settings={"show_default": True})
@profile_option(help=PROFILE_HELP)
@click.option("--out", default=DEFAULT_OUT, type=click.Path(file_okay=False),
              help="Output folder (runs are kept in OUT/runs and reused).")
@click.option("--dataset", "datasets", multiple=True,
              help="Data set(s) [quick: mnist-embedded; paper: mnist (else mnist-embedded) and "
                   "fashion-mnist when present].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--seed", type=int, default=0, help="The first training seed.")
@click.option("--seeds", default=None,
              help="N: train N seeds SEED, SEED+1, …; or an explicit comma-separated list "
                   "such as 0,4,7 (one seed: 7,) [the profile's count: quick 2, paper 3].")
@click.option("--lam", type=float, default=None,
              help="λ of the regularised models of every family [profile's].")
@click.option("--device", default="auto", help="cpu, cuda, or auto.")
@click.option("--overwrite", is_flag=True, help="Replace results of another setting in --out.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def command(profile, out, datasets, data_dir, seed, seeds, lam, device, overwrite,
            quiet) -> None:
    """Serdega & Kim (2020): MI maximisation for VAE codes, λ = 0 vs λ > 0. The claims
    pool every training seed; each says how many seeds reproduce it on their own."""
    run(profile, out, datasets=list(datasets) or None, seed=seed, seeds=parse_seeds(seeds),
        lam=lam, data_dir=data_dir, device=device, overwrite=overwrite, progress=not quiet)
