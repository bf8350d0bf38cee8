"""``latentdyn conditions``: the conditions map -- where the phenomena of Nagano et al.
(2017) appear over the data set, training-set size, amount of training, Nz, noise kind
and dynamics mode (:mod:`latentdyn.studies.conditions`)."""

from __future__ import annotations

import click

from latentdyn.errors import ConfigError
from latentdyn.studies.conditions.profiles import AXES

PROFILE_HELP = ("quick: a reduced grid for 2 CPU cores (about 14 min quiet; the grid is "
                "stated in the report); full: every data set present, 3 seeds, the paper's "
                "trial counts (a GPU or a cluster); smoke: toy size in seconds, for tests.")


def _items(text: str | None, name: str, kind=str):
    if text is None:
        return None
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise ConfigError(f"--{name}: give a comma-separated list without empty elements")
    if kind is int:
        try:
            return [int(t) for t in items]
        except ValueError:
            raise ConfigError(f"--{name}: {text!r} is not a list of integers") from None
    return items


@click.command(context_settings={"show_default": True})
@click.option("--profile", type=click.Choice(("quick", "full", "smoke")), default="quick",
              help=PROFILE_HELP)
@click.option("--datasets", default=None, metavar="LIST",
              help="Data sets, comma-separated [default: the profile's, those present].")
@click.option("--data-dir", default=None)
@click.option("--sizes", default=None, metavar="LIST",
              help="Training-set sizes, e.g. 1000,3000,all (nested seeded subsets).")
@click.option("--training", "trainings", default=None, metavar="LIST",
              help="Amounts of training, e.g. epochs=20,steps=2000 (steps: equal optimiser "
                   "steps at every size).")
@click.option("--latent-sizes", "nz", default=None, metavar="LIST", help="Nz values, e.g. 5,14,100.")
@click.option("--seeds", default=None, metavar="LIST", help="Training seeds, e.g. 0,1,2.")
@click.option("--noises", default=None, metavar="LIST", help="Noise kinds, e.g. swap,flip,gaussian.")
@click.option("--modes", default=None, metavar="LIST", help="deterministic,sampling.")
@click.option("--trials", type=int, default=None, help="Trials per label (dip and fates).")
@click.option("--steps", type=int, default=None, help="T, the steps of each trajectory.")
@click.option("--rows", type=click.Choice(AXES), default=None, help="Heat-map rows [training].")
@click.option("--cols", type=click.Choice(AXES), default=None, help="Heat-map columns [size].")
@click.option("--facet", type=click.Choice(AXES), default=None,
              help="One heat-map panel per value of this axis [nz].")
@click.option("--workers", type=int, default=None,
              help="Train independent groups of a sweep in this many processes (with "
                   "--backend ray: at least this many tasks) [default: 1; ray: one task "
                   "per group].")
@click.option("--backend", type=click.Choice(["local", "ray"]), default=None,
              help="Where the sweeps train: local (this machine) or ray (a Ray cluster; "
                   "--out must be on storage every node sees) [default: local]. The cells "
                   "are evaluated here.")
@click.option("--address", default=None, metavar="auto|HOST:PORT",
              help="With --backend ray: the Ray cluster to join.")
@click.option("--cpus-per-task", type=float, default=None,
              help="With --backend ray: CPUs each training task reserves.")
@click.option("--gpus-per-task", type=float, default=None,
              help="With --backend ray: GPUs each training task reserves.")
@click.option("--retries", type=int, default=None,
              help="With --backend ray: restarts of a task whose worker died.")
@click.option("--out", default="results/conditions", type=click.Path(file_okay=False),
              help="Output folder (its sweeps/ and cells/ are reused by the next call).")
@click.option("--seed", type=int, default=0, help="Seed of the trials and noise.")
@click.option("--device", default="auto", help="cpu, cuda, cuda:N, or auto.")
@click.option("--overwrite", is_flag=True, help="Replace results of another setting in --out.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def conditions(profile, datasets, data_dir, sizes, trainings, nz, seeds, noises, modes, trials,
               steps, rows, cols, facet, workers, backend, address, cpus_per_task,
               gpus_per_task, retries, out, seed, device, overwrite, quiet):
    """A phase diagram of the 2017 paper's phenomena over the conditions that may decide
    them: heat maps (one per statistic over two axes), data/cells.csv (every cell), and a
    report.html that says in words where the paper's picture holds on the grid. Models
    are trained through the sweep engine (ensembles, resumable: rerun to continue)."""
    from latentdyn.studies.conditions import run

    run(profile, out, datasets=_items(datasets, "datasets"), sizes=_items(sizes, "sizes"),
        trainings=_items(trainings, "training"), nz=_items(nz, "latent-sizes", int),
        seeds=_items(seeds, "seeds", int), noises=_items(noises, "noises"),
        modes=_items(modes, "modes"), trials=trials, steps=steps, rows=rows, cols=cols,
        facet=facet, data_dir=data_dir, workers=workers, seed=seed, device=device,
        backend={"backend": backend, "address": address, "cpus_per_task": cpus_per_task,
                 "gpus_per_task": gpus_per_task, "retries": retries},
        overwrite=overwrite, progress=not quiet)
