"""Helpers shared by the tests that run the command line in-process."""

from __future__ import annotations

from latentdyn.cli import main


def cli(*args) -> int:
    """``latentdyn ARGS`` in this process; its exit status."""
    return main([str(a) for a in args])


def one_error_line(capsys) -> str:
    """What the command printed on stderr, asserted to be one ``error:`` line without a
    traceback."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err, err
    return err
