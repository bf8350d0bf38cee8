"""The ``latentdyn`` command: a thin click layer over the plain-function API.

Each subcommand lives in its own module and is registered in :data:`_COMMANDS`.
Every :class:`~latentdyn.errors.LatentdynError` becomes one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from latentdyn import __version__
from latentdyn.errors import LatentdynError

# name -> "module:attribute"; imported lazily so `latentdyn --help` stays fast.
_COMMANDS = {
    "data": "latentdyn.cli.data:data",
    "train": "latentdyn.cli.train:train",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_COMMANDS)

    def get_command(self, ctx, name):
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="latentdyn")
def cli() -> None:
    """latentdyn: train generative models, run repeated inference, and measure how
    latent trajectories approach memories, concepts and the abstract concept."""


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="latentdyn", standalone_mode=False)
    except LatentdynError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:  # console-script entry point
    sys.exit(main())
