"""``latentdyn compare``: comparisons across model families (no paper has them).

Each comparison is a study package under :mod:`latentdyn.reproduce` and registers its
click command here; ``denoise`` is :mod:`latentdyn.reproduce.denoise`.
"""

from __future__ import annotations

import click

from latentdyn.cli import LazyGroup

# name -> "module:click command", imported only when the command is used
COMPARISONS = {"denoise": "latentdyn.reproduce.denoise:command"}


@click.group(cls=LazyGroup, commands=COMPARISONS)
def compare() -> None:
    """Compare model families on the same inputs."""
