"""The one shape of every study and analysis command, and the driver that runs it.

A study is a :class:`Study`: a frozen ``Params`` dataclass (its options, declared with
:func:`~latentdyn.studies.params.param`), and four functions::

    prepare(params) -> setup            # check every option, load every input; write nothing
    stages(run, setup) -> results       # the stages, each returning a typed result
    claims(results) -> [Claim, ...]     # optional: the scorecard, rules fixed in code
    report(run, setup, results, claims) # optional: report.html, figures, data into run.out

``setup`` is the study's own object; the driver reads three attributes of it:
``settings`` (a dict: what the manifest records, and what an output folder of other
settings is refused by), ``device`` and, if present, ``data_record`` (the manifest's
``data``: the data set's name and checksums).

:func:`execute` runs a study: ``prepare``, then one :class:`~latentdyn.studies.lifecycle.Run`
(lock, staging, manifest, all-or-nothing commit) around ``stages``, ``claims`` (written as
``claims.json`` and ``claims.md``) and ``report``, then the last words on the terminal.
:meth:`Study.command` builds the click command from ``Params``; :meth:`Study.run` is
the Python API (``run("smoke", "results/x", seed=1)``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from latentdyn.studies.lifecycle import Run, Target, folder_target
from latentdyn.studies.params import click_options, from_command_line, make_params


# the toy data of the examples: 18 training and 6 test images of 8 x 8 in 3 classes, and
# 40 + 20 in the 10 classes 0-9 (nagano2017 follows the label 6)
TOY = "synthetic:k=3,m=6,side=8,test=2"
TOY10 = "synthetic:k=10,m=4,side=8,test=2"


@dataclass(frozen=True)
class Study:
    """A study or analysis command, in the one shape the driver runs (module docstring).

    ``name``: its command line after ``latentdyn`` (``"reproduce nagano2017"``,
    ``"attractors"``); ``kind``: what its manifest calls it (default: ``name``);
    ``default_out``: the output folder when ``params.out`` is None; ``target``: where
    the result goes when it is not that folder (e.g. a set of files, or nothing);
    ``summary``: the lines printed on stdout at the end (default: the report's path and
    the verdict counts); ``positional``: the fields that positional arguments of
    :meth:`run` fill.
    """

    name: str
    params: type
    prepare: Callable[[Any], Any]
    stages: Callable[[Run, Any], Any]
    claims: Callable[[Any], Sequence] | None = None
    report: Callable[[Run, Any, Any, list], None] | None = None
    summary: Callable[[Any, Any, list, Target | None], str | None] | None = None
    target: Callable[[Any, Any], Target | None] | None = None
    kind: str | None = None
    default_out: str | None = None
    help: str = ""
    positional: tuple[str, ...] = ("profile", "out")
    example: tuple[str, ...] = ()
    context: dict = field(default_factory=lambda: {"show_default": True})

    @property
    def command_name(self) -> str:
        return self.name.split()[-1]

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The Python API: ``Params`` from keyword arguments (and positional ones, in
        the order of ``positional``), then :func:`execute`."""
        return execute(self, make_params(self.params, args, self.positional, **kwargs))

    def command(self) -> click.Command:
        """The click command: one option per command-line field of ``Params``."""

        def callback(**values: Any) -> None:
            execute(self, from_command_line(self.params, values))

        return click.Command(self.command_name, callback=callback,
                             params=click_options(self.params), help=self.help,
                             context_settings=dict(self.context))


def progress_of(params: Any) -> bool:
    """Whether a run shows progress: ``not params.quiet`` (or ``params.progress``)."""
    if hasattr(params, "quiet"):
        return not params.quiet
    return bool(getattr(params, "progress", True))


def execute(study: Study, params: Any) -> Any:
    """Run ``study`` with ``params``; return where its result went (the output folder,
    the first output file, or None when nothing was written)."""
    from latentdyn.reporting.claims import write_scorecard

    setup = study.prepare(params)
    target = _target(study, params, setup)
    progress = progress_of(params)
    with Run(target, study.kind or study.name, setup.settings, seed=getattr(params, "seed", None),
             device=setup.device, data=getattr(setup, "data_record", None), progress=progress,
             overwrite=bool(getattr(params, "overwrite", False))) as run:
        results = study.stages(run, setup)
        claims = list(study.claims(results)) if study.claims is not None else []
        if claims:
            write_scorecard(claims, run.out)
            run.record(claims={c.id: c.verdict for c in claims})
        if study.report is not None:
            study.report(run, setup, results, claims)
    if study.summary is not None:
        text = study.summary(setup, results, claims, target)
        if text:
            click.echo(text)
    elif target is not None:
        finish(target.folder, claims, progress)
    if target is None:
        return None
    return target.folder if target.files is None else target.folder / target.files[0]


def _target(study: Study, params: Any, setup: Any) -> Target | None:
    if study.target is not None:
        return study.target(params, setup)
    out = getattr(params, "out", None) or study.default_out
    return folder_target(Path(out))


def finish(out: str | Path, claims: Sequence, progress: bool = True,
           report: str = "report.html") -> None:
    """The last words of a reproduction: the scorecard table on stderr (with
    ``progress``) and one line on stdout naming the report and the verdict counts."""
    from latentdyn.reporting.claims import format_scorecard, summary_line

    if progress and claims:
        click.echo(format_scorecard(claims), err=True)
    line = f"report: {Path(out) / report}"
    if claims:
        line += f"; {summary_line(claims)}"
    click.echo(line)


@functools.lru_cache(maxsize=None)
def load_study(target: str) -> Study:
    """The :class:`Study` (or click command) named by a registry value ``module:attr``."""
    import importlib

    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["TOY", "TOY10", "Study", "execute", "finish", "load_study", "progress_of"]
