"""``latentdyn reproduce serdega2020``: the click command over :func:`.runner.run`."""

from __future__ import annotations

import click

from latentdyn.errors import ConfigError
from latentdyn.reproduce.serdega2020.runner import DEFAULT_OUT, run
from latentdyn.reproduce.study import profile_option

PROFILE_HELP = ("quick (reduced; about 15 minutes on 2 CPU cores), paper (the paper's settings; "
                "hours, use a GPU) or smoke (toy size in seconds, for tests; not a "
                "reproduction).")


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0,1,2"`` -> ``[0, 1, 2]``; None or empty -> None (the profile's seeds)."""
    if not text:
        return None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, got {text!r}") from None


@click.command("serdega2020", context_settings={"show_default": True})
@profile_option(help=PROFILE_HELP)
@click.option("--out", default=DEFAULT_OUT, type=click.Path(file_okay=False),
              help="Output folder (runs are kept in OUT/runs and reused).")
@click.option("--dataset", "datasets", multiple=True,
              help="Data set(s) [quick: mnist-embedded; paper: mnist (else mnist-embedded) and "
                   "fashion-mnist when present].")
@click.option("--data-dir", default=None, help="Folder with downloaded data sets.")
@click.option("--seeds", default=None, help="Comma-separated training seeds [profile's].")
@click.option("--lam", type=float, default=None,
              help="λ of the regularised models of every family [profile's].")
@click.option("--device", default="auto", help="cpu, cuda, or auto.")
@click.option("--overwrite", is_flag=True, help="Replace results of another setting in --out.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def command(profile, out, datasets, data_dir, seeds, lam, device, overwrite, quiet) -> None:
    """Serdega & Kim (2020): MI maximisation for VAE codes, λ = 0 vs λ > 0."""
    run(profile, out, datasets=list(datasets) or None, seeds=parse_seeds(seeds), lam=lam,
        data_dir=data_dir, device=device, overwrite=overwrite, progress=not quiet)
