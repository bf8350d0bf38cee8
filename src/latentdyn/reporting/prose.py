"""Numbers and lists written as prose for the reports: no Python values (``[2, 5]``,
``None``, ``{'train': 1636.29}``) in a sentence a reader meets."""

from __future__ import annotations

from typing import Iterable, Mapping


def listing(values: Iterable, none: str = "none") -> str:
    """``[2, 5, 10]`` as "2, 5 and 10"; ``none`` when empty."""
    items = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    if not items:
        return none
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def yes_no(value) -> str:
    """A truth value as "yes" or "no"."""
    return "yes" if bool(value) else "no"


def seconds(secs: float) -> str:
    """A duration: "1,636 s", "2.5 s", or minutes and hours past an hour."""
    secs = float(secs)
    if secs >= 3600:
        return f"{secs / 3600:.1f} h"
    return f"{secs:,.0f} s" if secs >= 10 else f"{secs:.1f} s"


def timings_text(timings: Mapping[str, float]) -> str:
    """Stage timings as "Stage timings: train 1,636 s, figures 2.5 s."."""
    if not timings:
        return "Stage timings: none recorded."
    return "Stage timings: " + ", ".join(f"{name} {seconds(s)}"
                                         for name, s in dict(timings).items()) + "."
