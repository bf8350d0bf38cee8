"""``latentdyn compare``: comparisons across model families (no paper has them).

Each comparison is a study package under :mod:`latentdyn.studies` and registers its
click command here; ``denoise`` is :mod:`latentdyn.studies.denoise`.
"""

from __future__ import annotations

import click

from latentdyn.cli import LazyGroup

# name -> "module:click command", imported only when the command is used
COMPARISONS = {"denoise": "latentdyn.studies.denoise:command"}


@click.group(cls=LazyGroup, commands=COMPARISONS)
def compare() -> None:
    """Compare model families on the same inputs."""
