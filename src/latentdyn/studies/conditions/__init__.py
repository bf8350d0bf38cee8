"""``latentdyn conditions``: a phase diagram of the phenomena of Nagano et al. (2017)
over the data set, the training-set size, the amount of training, Nz, the noise kind and
the dynamics mode (the conditions map).

* :mod:`.profiles` -- the grids (``quick``, ``full``, ``smoke``) and the axes;
* :mod:`.inputs` -- ``prepare``: every option checked, the data sets loaded, the grid
  planned, before anything is written;
* :mod:`.grid` -- the models a grid needs, their training subsets, one sweep per
  (data set, size, epochs) through :func:`latentdyn.sweep.run_sweep`;
* :mod:`.evaluate` -- the statistics of a model and of a cell;
* :mod:`.stages` -- the stages ``train`` and ``evaluate`` (cached, resumable);
* :mod:`.report`, :mod:`.figures` -- cells.csv, the heat maps, the findings in words,
  report.html.

No claims: the map says in words where the paper's picture holds, cell by cell.
From Python: ``run("smoke", "results/x", sizes=[20, "all"], nz=[2, 3])`` (the list
options take lists; the command line takes comma-separated text).
"""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.common import Backend, Common
from latentdyn.studies.conditions import report, stages  # the modules (not their functions)
from latentdyn.studies.conditions.inputs import Setup, prepare
from latentdyn.studies.conditions.profiles import AXES, PROFILES, Profile
from latentdyn.studies.conditions.stages import Evaluated, Results, Trained
from latentdyn.studies.driver import Study
from latentdyn.studies.params import int_list, listed, param, text_list

DEFAULT_OUT = "results/conditions"
KIND = "conditions"
PROFILE_HELP = ("quick: a reduced grid for 2 CPU cores (about 14 min quiet; the grid is "
                "stated in the report); full: every data set present, 3 seeds, the paper's "
                "trial counts (a GPU or a cluster); smoke: toy size in seconds, for tests.")


@dataclass(frozen=True)
class Grid:
    """The options that replace a value of the profile (None: the profile's), and
    ``--workers``."""

    datasets: tuple[str, ...] | None = param(
        None, "Data sets, comma-separated [default: the profile's, those present].",
        metavar="LIST", parse=listed(text_list, "--datasets"))
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    sizes: tuple | None = param(
        None, "Training-set sizes, e.g. 1000,3000,all (nested seeded subsets).",
        metavar="LIST", parse=listed(text_list, "--sizes"))
    trainings: tuple[str, ...] | None = param(
        None, "Amounts of training, e.g. epochs=20,steps=2000 (steps: equal optimiser steps "
        "at every size).", flag="--training", metavar="LIST",
        parse=listed(text_list, "--training"))
    nz: tuple[int, ...] | None = param(None, "Nz values, e.g. 5,14,100.", flag="--latent-sizes",
                                       metavar="LIST", parse=listed(int_list, "--latent-sizes"))
    seeds: tuple[int, ...] | None = param(None, "Training seeds, e.g. 0,1,2.", metavar="LIST",
                                          parse=listed(int_list, "--seeds"))
    noises: tuple[str, ...] | None = param(None, "Noise kinds, e.g. swap,flip,gaussian.",
                                           metavar="LIST", parse=listed(text_list, "--noises"))
    modes: tuple[str, ...] | None = param(None, "deterministic,sampling.", metavar="LIST",
                                          parse=listed(text_list, "--modes"))
    trials: int | None = param(None, "Trials per label (dip and fates).")
    steps: int | None = param(None, "T, the steps of each trajectory.")
    rows: str | None = param(None, "Heat-map rows [training].", choices=AXES)
    cols: str | None = param(None, "Heat-map columns [size].", choices=AXES)
    facet: str | None = param(None, "One heat-map panel per value of this axis [nz].",
                              choices=AXES)
    workers: int | None = param(
        None, "Train independent groups of a sweep in this many processes (with --backend "
        "ray: at least this many tasks) [default: 1; ray: one task per group].")


@dataclass(frozen=True)
class Params(Common, Backend, Grid):
    """Every option of ``latentdyn conditions`` (listed: the profile, the grid, the
    backend of the sweeps, the common options)."""

    profile: str = param("quick", PROFILE_HELP, choices=tuple(PROFILES), group=-1)
    out: str | None = param(DEFAULT_OUT, "Output folder (its sweeps/ and cells/ are reused "
                            "by the next call).", path="dir", group=1)
    seed: int = param(0, "Seed of the trials and noise.", group=1)


STUDY = Study(
    example=("--profile", "smoke", "--quiet", "--device", "cpu"),
    name="conditions", params=Params, prepare=prepare, stages=stages.stages,
    report=report.report,
    kind=KIND, default_out=DEFAULT_OUT,
    help="""A phase diagram of the 2017 paper's phenomena over the conditions that may
    decide them: heat maps (one per statistic over two axes), data/cells.csv (every cell),
    and a report.html that says in words where the paper's picture holds on the grid.
    Models are trained through the sweep engine (ensembles, resumable: rerun to
    continue; --backend ray trains them on a cluster, the cells are evaluated here).""")
run = STUDY.run

__all__ = ["AXES", "DEFAULT_OUT", "Evaluated", "PROFILES", "Params", "Profile", "Results",
           "STUDY", "Setup", "Trained", "prepare", "run"]
