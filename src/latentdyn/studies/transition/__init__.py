"""``latentdyn transition``: when repeated inference finds concepts, and when memories
take over -- the training-time × data-size map and its law (issue 20).

Built on the conditions map's engine (:mod:`latentdyn.studies.conditions`: its grid,
its sweeps through :func:`latentdyn.sweep.run_sweep`, its nested subsets), with the
training axis as snapshots of one run per (data set, size, Nz, seed):

* :mod:`.profiles` -- the grids (``quick``, ``full``, ``smoke``);
* :mod:`.measure` -- the statistics of one snapshot (the dip, where trajectories end
  against the held-out baseline, ELBO gap, active units, local stability);
* :mod:`.law` -- τ_concept and τ_mem with bootstrap intervals, the law τ ∝ n^α and the
  prediction checked at the largest size (rules fixed in code);
* :mod:`.stages` -- train, evaluate (cached per snapshot; the prediction is computed
  and recorded before the largest size is evaluated), the twin test;
* :mod:`.report` -- cells.csv, the phase diagram, the collapse figure, the curves,
  transition.json and report.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentdyn.studies.common import Backend, Common
from latentdyn.studies.driver import Study
from latentdyn.studies.params import int_list, listed, param, text_list
from latentdyn.studies.transition import report, stages  # the modules
from latentdyn.studies.transition.inputs import prepare
from latentdyn.studies.transition.profiles import PROFILES, Profile

DEFAULT_OUT = "results/transition"
PROFILE_HELP = ("quick: mnist-embedded at 100, 200, 400 and 800 images, 32 768 steps, for 2 "
                "CPU cores (about 14 min; the grid is stated in the report); full: both data "
                "sets to 60 000 images, Nz 14 and 100, 3 seeds (a GPU or a Ray cluster); "
                "smoke: toy size in seconds, for tests.")


@dataclass(frozen=True)
class Params(Common, Backend):
    """Every option of ``latentdyn transition``."""

    profile: str = param("quick", PROFILE_HELP, choices=tuple(PROFILES), group=-1)
    out: str | None = param(DEFAULT_OUT, "Output folder (its sweeps/ and cells/ are reused "
                            "by the next call).", path="dir", group=1)
    seed: int = param(0, "Seed of the trials and noise.", group=1)
    datasets: tuple[str, ...] | None = param(
        None, "Data sets, comma-separated [default: the profile's, those present].",
        metavar="LIST", parse=listed(text_list, "--datasets"))
    data_dir: str | None = param(None, "Folder with downloaded data sets.")
    sizes: tuple | None = param(None, "Training-set sizes, ascending (nested subsets); the "
                                "largest is predicted before it is evaluated.",
                                metavar="LIST", parse=listed(text_list, "--sizes"))
    nz: tuple[int, ...] | None = param(None, "Nz values.", flag="--latent-sizes",
                                       metavar="LIST", parse=listed(int_list, "--latent-sizes"))
    seeds: tuple[int, ...] | None = param(None, "Training seeds.", metavar="LIST",
                                          parse=listed(int_list, "--seeds"))
    max_steps: int | None = param(None, "Optimiser steps of every model (snapshots at 16, "
                                  "32, ... up to it).", flag="--training-steps")
    trials: int | None = param(None, "Trials per label at each snapshot.")
    twins: bool = param(False, "Train each model's twin on the next n images and run "
                        "the twin test (twice the training; the full and smoke profiles do, "
                        "quick does not).")
    no_twins: bool = param(False, "Train no twins and run no twin test (half the "
                           "training).")
    workers: int | None = param(None, "Train independent groups of a sweep in this many "
                                "processes [default: 1].")


STUDY = Study(
    example=("--profile", "smoke", "--quiet", "--device", "cpu"),
    name="transition", params=Params, prepare=prepare, stages=stages.stages,
    report=report.report,
    kind="transition", default_out=DEFAULT_OUT,
    help="""When repeated inference finds concepts, and when memories take over: per
    snapshot of one training run per data size, the C1 dip, where trajectories end (own
    memory against held-out images, concepts, the abstract concept), the ELBO gap, the
    twin test; the times tau_concept and tau_mem with bootstrap intervals, the law
    tau ~ n^alpha with the prediction at the largest size made before it is evaluated;
    a phase diagram, a collapse figure, data/cells.csv and report.html.""")


run = STUDY.run

__all__ = ["DEFAULT_OUT", "PROFILES", "Params", "Profile", "STUDY", "run"]
