"""``latentdyn reproduce STUDY``: one command per published study."""

import click

from latentdyn.cli import LazyGroup

STUDIES = {
    "nagano2017": "latentdyn.reproduce.nagano2017:command",
    "serdega2020": "latentdyn.reproduce.serdega2020:command",
    "toledo2023": "latentdyn.reproduce.toledo2023:command",
}


@click.group(cls=LazyGroup, commands=STUDIES)
def reproduce() -> None:
    """Reproduce a published study: train, run the experiments, and write figures,
    data, a claims scorecard and a self-contained report.html."""
