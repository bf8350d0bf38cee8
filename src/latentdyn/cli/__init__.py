"""The ``latentdyn`` command: a thin click layer over the plain-function API.

The commands that are not studies (data, train, sweep, classifier, explore) are
registered in :data:`_COMMANDS`; every study and analysis command is built by the
study driver from the registry :data:`latentdyn.studies.STUDIES`.
Every :class:`~latentdyn.errors.LatentdynError`, usage error and OS error (a full or
read-only disk, a name too long) becomes one line starting ``error:`` on stderr and
exit status 2, never a traceback. Anything else is a bug: one ``error: internal error``
line and status 1 (``LATENTDYN_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from latentdyn._version import __version__
from latentdyn.errors import LatentdynError
from latentdyn.manifest import invocation, set_invocation  # noqa: F401 (invocation: API)

# the commands that are not studies: name -> "module:attribute", imported when used;
# every study and analysis command comes from the registry latentdyn.studies.STUDIES
_COMMANDS = {
    "data": "latentdyn.cli.data:data",
    "train": "latentdyn.cli.train:train",
    "sweep": "latentdyn.cli.sweep:sweep",
    "classifier": "latentdyn.cli.classifier:classifier",
    "explore": "latentdyn.cli.explore:explore",
}


def _available(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


def _as_command(obj) -> click.Command:
    """A click command from a registry entry: a Study builds its own."""
    return obj if isinstance(obj, click.Command) else obj.command()


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used: the commands of
    ``commands`` (``name -> "module:attribute"``) and the studies registered under
    ``prefix`` (the top level: ``""``)."""

    def __init__(self, *args, commands: dict[str, str] | None = None, prefix: str = "",
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(commands or {})
        self.prefix = prefix

    def _studies(self) -> dict[str, str]:
        """Registered studies one word below this group: word -> full name."""
        from latentdyn.studies import STUDIES

        depth = len(self.prefix.split())
        out = {}
        for name in STUDIES:
            words = name.split()
            if words[:depth] == self.prefix.split() and len(words) > depth:
                out.setdefault(words[depth], " ".join(words[:depth + 1]))
        return out

    def list_commands(self, ctx):
        names = {n for n, t in self.lazy.items() if _available(t)} | set(self._studies())
        return sorted(names)

    def get_command(self, ctx, name):
        target = self.lazy.get(name)
        if target is not None:
            if not _available(target):
                return None
            module, attr = target.split(":")
            return getattr(importlib.import_module(module), attr)
        full = self._studies().get(name)
        if full is None:
            return None
        from latentdyn.studies import GROUPS, STUDIES

        if full in STUDIES:
            from latentdyn.studies.driver import load_study

            return _as_command(load_study(STUDIES[full]))
        return LazyGroup(name, prefix=full, help=GROUPS.get(full, ""))


@click.group(cls=LazyGroup, commands=_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="latentdyn")
def cli() -> None:
    """latentdyn: train generative models, run repeated inference, and measure how
    latent trajectories approach memories, concepts and the abstract concept."""


def main(argv: list[str] | None = None) -> int:
    set_invocation(["latentdyn", *(sys.argv[1:] if argv is None else argv)])
    try:
        cli.main(args=argv, prog_name="latentdyn", standalone_mode=False)
    except LatentdynError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.UsageError as exc:
        see = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {_one_line(exc.format_message())}{see}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except OSError as exc:  # a disk that is full, read-only, a name too long, ...
        click.echo(f"error: {_os_error(exc)}", err=True)
        return 2
    except MemoryError:
        click.echo("error: out of memory; choose smaller sizes", err=True)
        return 2
    except RuntimeError as exc:  # torch's allocators report exhaustion as RuntimeError
        if not _is_out_of_memory(exc):
            return _internal_error(exc)
        click.echo("error: out of memory (" + (str(exc).strip().splitlines() or [""])[0][:200]
                   + "); choose smaller sizes", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # a bug, not the user's input: status 1, and a way to see it
        return _internal_error(exc)
    return 0


def _is_out_of_memory(exc: RuntimeError) -> bool:
    text = str(exc)
    return any(s in text for s in ("can't allocate memory", "out of memory",
                                   "Cannot allocate memory"))


def _internal_error(exc: Exception) -> int:
    if os.environ.get("LATENTDYN_TRACEBACK"):
        raise exc
    first = (str(exc).strip().splitlines() or [""])[0]
    click.echo(f"error: internal error ({type(exc).__name__}: {first}); this is a bug in "
               "latentdyn, please report it (LATENTDYN_TRACEBACK=1 shows the traceback)",
               err=True)
    return 1


def _one_line(text: str) -> str:
    """A message of several lines (click's "Did you mean" hints) as one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _os_error(exc: OSError) -> str:
    """One line naming the path: ``PATH: reason``."""
    path = exc.filename if exc.filename is not None else exc.filename2
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{path}: {reason}" if path is not None else reason


def run() -> None:  # console-script entry point
    sys.exit(main())
