"""Transitional: the names of the old study scaffold, now in
:mod:`latentdyn.studies.common`, :mod:`latentdyn.studies.lifecycle` and
:mod:`latentdyn.studies.driver`. Removed once every study runs on the driver."""

from __future__ import annotations

import click

from latentdyn.studies.common import (MAX_SEEDS, PROFILE_HELP, PROFILE_NAMES,  # noqa: F401
                                      check_seed, combine_seeds, default_dataset,
                                      get_profile, guard_output, seed_list)
from latentdyn.studies.driver import finish  # noqa: F401
from latentdyn.studies.lifecycle import STAGING, Run, folder_target  # noqa: F401


class StudyRun(Run):
    """:class:`~latentdyn.studies.lifecycle.Run` of a folder result."""

    def __init__(self, out, kind, config, **kwargs):
        super().__init__(folder_target(out), kind, config, **kwargs)


# ------------------------------------------------------------------------ options
def seeds_option(default: int = 1):
    return click.option("--seeds", "n_seeds", type=int, default=default, show_default=True,
                        help="Train N models with seeds SEED, SEED+1, … and report per claim "
                             "how many of them reproduce it.")



def profile_option(default: str = "quick", help: str = PROFILE_HELP):
    return click.option("--profile", type=click.Choice(PROFILE_NAMES), default=default,
                        show_default=True, help=help)


def common_options(default_out: str):
    """``--out``, ``--seed``, ``--device``, ``--overwrite`` and ``--quiet``."""
    options = [
        click.option("--out", default=default_out, show_default=True,
                     type=click.Path(file_okay=False), help="Output folder."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--device", default="auto", show_default=True,
                     help="cpu, cuda, cuda:N, or auto."),
        click.option("--overwrite", is_flag=True,
                     help="Replace results of another setting in --out."),
        click.option("--quiet", is_flag=True, help="No progress output."),
    ]

    def decorate(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


