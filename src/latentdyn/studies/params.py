"""A study's parameters: one frozen dataclass, from which its command is built.

Every field of a study's ``Params`` is declared with :func:`param`: its default, its
help text and, where the command line spells it differently, its flag. The driver
turns the fields into click options (:func:`click_options`), in declaration order,
and the values the user gave back into a ``Params`` (:func:`from_command_line`); the
Python API builds the same ``Params`` from keyword arguments (:func:`make_params`).
A field whose default is ``None`` usually means "the profile's value".

Types come from the annotations: ``int``, ``float``, ``str``, ``bool`` (a flag, or
``--x/--no-x`` when ``flag`` says so), each optionally ``| None``. ``parse`` turns the
command line's text into the field's value (e.g. a comma-separated list); the Python
API passes the value itself.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

import click

from latentdyn.errors import ConfigError

_MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class Option:
    """How one field appears on the command line."""

    help: str = ""
    flag: str | tuple[str, ...] | None = None  # default: --field-name
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    parse: Callable[[str], Any] | None = None  # text -> value (the CLI only)
    path: str | None = None  # "dir" or "file": click checks the kind of an existing path
    exists: bool = False  # the path must exist
    multiple: bool = False  # repeatable; the value is a tuple
    required: bool = False
    show_default: bool | str = True
    cli: bool = True  # False: a Python-only parameter (e.g. a model object)
    group: int = 0  # options are listed by group, then in declaration order


def param(default: Any = None, help: str = "", **option: Any) -> Any:
    """A field of a study's ``Params``: ``nz: int = param(100, "Latent units.")``.
    ``option`` takes the fields of :class:`Option`."""
    meta = {"option": Option(help=help, **option)}
    if isinstance(default, (list, dict, set)):
        raise TypeError("a param default must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata=meta)


def fields_of(params_cls: type) -> list[dataclasses.Field]:
    """The fields of a ``Params`` class that carry an :class:`Option`, in order."""
    return [f for f in dataclasses.fields(params_cls) if "option" in f.metadata]


def _base_type(params_cls: type, f: dataclasses.Field) -> type:
    """``int`` for ``int | None``, ``tuple`` for ``tuple[int, ...]``, and so on."""
    hint = typing.get_type_hints(params_cls).get(f.name, str)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else str
    origin = typing.get_origin(hint)
    return origin if origin is not None else hint


def _flags(f: dataclasses.Field, opt: Option) -> list[str]:
    if opt.flag is None:
        return ["--" + f.name.replace("_", "-")]
    return [opt.flag] if isinstance(opt.flag, str) else list(opt.flag)


def click_options(params_cls: type) -> list[click.Option]:
    """The click options of every command-line field of ``params_cls``."""
    out = []
    for f in sorted(fields_of(params_cls), key=lambda f: f.metadata["option"].group):
        opt: Option = f.metadata["option"]
        if not opt.cli:
            continue
        kind = _base_type(params_cls, f)
        kw: dict[str, Any] = {"help": opt.help, "show_default": opt.show_default,
                              "required": opt.required, "multiple": opt.multiple}
        if opt.metavar:
            kw["metavar"] = opt.metavar
        if not opt.required:
            kw["default"] = () if opt.multiple else f.default
        flags = _flags(f, opt)
        if kind is bool and opt.parse is None:
            if "/" not in flags[0]:
                kw["is_flag"] = True
        elif opt.choices:
            kw["type"] = click.Choice(opt.choices)
        elif opt.path:
            kw["type"] = click.Path(file_okay=opt.path != "dir", dir_okay=opt.path != "file",
                                    exists=opt.exists)
        elif opt.parse is not None or kind in (tuple, list):
            kw["type"] = str
        elif kind in (int, float, str):
            kw["type"] = kind
        out.append(click.Option([f.name, *flags], **kw))
    return out


def from_command_line(params_cls: type, values: dict[str, Any], **extra: Any):
    """A ``Params`` from click's values: ``parse`` applied to the text of each field that
    has one, repeatable options as tuples; ``extra`` sets Python-only fields."""
    kwargs = {}
    for f in fields_of(params_cls):
        opt: Option = f.metadata["option"]
        if not opt.cli or f.name not in values:
            continue
        value = values[f.name]
        if opt.multiple:
            value = tuple(value or ())
        if opt.parse is not None and value is not None and not isinstance(value, bool):
            value = opt.parse(value)
        kwargs[f.name] = value
    return params_cls(**kwargs, **extra)


def make_params(params_cls: type, args: tuple = (), positional: tuple[str, ...] = (),
                **kwargs: Any):
    """A ``Params`` from the Python API: ``positional`` names the fields that
    positional ``args`` fill; an unknown keyword is one line naming the known ones."""
    if len(args) > len(positional):
        raise TypeError(f"at most {len(positional)} positional arguments "
                        f"({', '.join(positional)}), got {len(args)}")
    given = dict(zip(positional, args))
    clash = sorted(set(given) & set(kwargs))
    if clash:
        raise TypeError(f"{clash[0]} given twice")
    given.update(kwargs)
    names = {f.name for f in dataclasses.fields(params_cls)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; this study takes "
                          f"{', '.join(sorted(names))}")
    return params_cls(**given)


# ---------------------------------------------------------------- parsers for `parse`
def text_list(text: str, name: str = "the list") -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; an empty element or a repeated one is one line."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(not t for t in items):
        raise ConfigError(f"{name}: give a comma-separated list without empty elements")
    return items


def int_list(text: str, name: str = "the list") -> list[int]:
    try:
        return [int(t) for t in text_list(text, name)]
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a list of integers") from None


def float_list(text: str, name: str = "the list") -> list[float]:
    try:
        return [float(t) for t in text_list(text, name)]
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a list of numbers") from None


def listed(kind: Callable[[str, str], list], flag: str) -> Callable[[str], list]:
    """A ``parse`` for a comma-separated option: ``param(..., parse=listed(int_list,
    "--seeds"))``."""
    return lambda text: kind(text, flag)


__all__ = ["Option", "click_options", "fields_of", "float_list", "from_command_line",
           "int_list", "listed", "make_params", "param", "text_list"]
