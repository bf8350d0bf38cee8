"""``latentdyn reproduce STUDY``: one command per published study."""

import click

from latentdyn.cli import LazyGroup
from latentdyn.studies import STUDIES


@click.group(cls=LazyGroup, commands=STUDIES)
def reproduce() -> None:
    """Reproduce a published study: train, run the experiments, and write figures,
    data, a claims scorecard and a self-contained report.html."""
