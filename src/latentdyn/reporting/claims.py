"""The claims scorecard: each published claim, the statistic that tests it, the paper's
value, this run's value, and the verdict.

A claim's ``threshold`` is the rule, in words, fixed in code before any run; the verdict
is whatever that rule says about ``run_value`` — a failing claim is reported as failing.

Beside the statistic a claim carries how sure it is: ``interval`` (a confidence interval
of the statistic, e.g. a seeded bootstrap over trials or images, see
:mod:`latentdyn.analysis.uncertainty`), ``stability`` (the share of bootstrap
resamples in which the claim's rule holds), ``null`` (a null or reference value the
statistic must beat, named by ``null_name``), ``method`` (how these were computed),
``reading`` (which reading of the statistic the verdict uses, where there are several)
and, when a study ran with several seeds, ``seeds`` (``{"reproduced": k, "of": n}``).
``sections`` names the report sections (figures) whose findings the claim tests.
``reproduced=None`` means "not evaluated" (e.g. the run was too small to test it).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from latentdyn.io import write_json, write_text

REPRODUCED = "reproduced"
NOT_REPRODUCED = "NOT reproduced"
NOT_EVALUATED = "not evaluated"


@dataclass
class Claim:
    id: str
    claim: str
    statistic: str
    paper_value: Any
    threshold: str
    run_value: Any = None
    reproduced: bool | None = None
    details: str = ""
    interval: tuple | None = None  # (low, high) of the statistic
    interval_level: float = 0.95
    stability: float | None = None  # share of resamples in which the rule holds
    null: Any = None
    null_name: str = ""
    method: str = ""
    reading: str = ""
    seeds: dict | None = None  # {"reproduced": k, "of": n, ...} over training seeds
    sections: tuple = ()

    @property
    def verdict(self) -> str:
        """``"reproduced"``, ``"NOT reproduced"`` or ``"not evaluated"``."""
        if self.reproduced is None:
            return NOT_EVALUATED
        return REPRODUCED if self.reproduced else NOT_REPRODUCED

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Claim":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def summarise(claims: Sequence[Claim]) -> dict[str, int]:
    """Counts of each verdict."""
    return {
        "total": len(claims),
        "reproduced": sum(c.reproduced is True for c in claims),
        "not_reproduced": sum(c.reproduced is False for c in claims),
        "not_evaluated": sum(c.reproduced is None for c in claims),
    }


def summary_line(claims: Sequence[Claim]) -> str:
    s = summarise(claims)
    return (f"{s['reproduced']} of {s['total']} claims reproduced, "
            f"{s['not_reproduced']} not reproduced, {s['not_evaluated']} not evaluated")


def format_value(value: Any, digits: int = 4) -> str:
    """A value as short, readable text: floats to ``digits`` significant figures."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalars and arrays
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.{digits}g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v, digits)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v, digits) for v in value) + "]"
    return str(value)


def write_scorecard(claims: Iterable[Claim], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``claims.json`` and ``claims.md`` into ``out_dir`` (atomically); return both paths.

    ``claims.json``: ``{"summary": {...counts...}, "claims": [claim dicts with "verdict"]}``.
    """
    claims = list(claims)
    out_dir = Path(out_dir)
    json_path = out_dir / "claims.json"
    md_path = out_dir / "claims.md"
    write_json(json_path, {"summary": summarise(claims), "claims": [c.to_dict() for c in claims]})
    write_text(md_path, scorecard_markdown(claims))
    return json_path, md_path


def load_scorecard(path: str | os.PathLike) -> list[Claim]:
    """Read the claims back from a ``claims.json`` (or the folder holding it)."""
    import json

    path = Path(path)
    if path.is_dir():
        path = path / "claims.json"
    with open(path, encoding="utf-8") as fh:
        return [Claim.from_dict(d) for d in json.load(fh)["claims"]]


def scorecard_markdown(claims: Sequence[Claim]) -> str:
    head = ["| id | claim | statistic | paper | this run | verdict |",
            "|---|---|---|---|---|---|"]
    rows = []
    for c in claims:
        verdict = f"**{c.verdict}**" if c.reproduced is False else c.verdict
        rows.append("| " + " | ".join(_md(x) for x in (
            c.id, c.claim, c.statistic, format_value(c.paper_value),
            format_value(c.run_value))) + f" | {verdict} |")
    rules = [f"- **{_md(c.id)}**: {_md(c.threshold)}"
             + (f" — {_md(c.details)}" if c.details else "") for c in claims]
    return "\n".join([
        "# Claims scorecard", "", summary_line(claims) + ".", "", *head, *rows, "",
        "## Rules (fixed in code before the run)", "", *rules, "",
    ])


def format_scorecard(claims: Sequence[Claim], width: int = 100) -> str:
    """The scorecard as an aligned plain-text table for the terminal."""
    cols = [("id", [c.id for c in claims]),
            ("verdict", [c.verdict for c in claims]),
            ("paper", [format_value(c.paper_value) for c in claims]),
            ("this run", [format_value(c.run_value) for c in claims])]
    cols = [(name, [_clip(v, 24) for v in vals]) for name, vals in cols]
    widths = [max([len(name)] + [len(v) for v in vals]) for name, vals in cols]
    claim_width = max(20, width - sum(widths) - 2 * len(widths))
    lines = [f"Claims scorecard: {summary_line(claims)}"]
    header = "  ".join(name.ljust(w) for (name, _), w in zip(cols, widths)) + "  claim"
    lines += [header, "-" * min(width, len(header) + claim_width - 5)]
    for i, c in enumerate(claims):
        cells = "  ".join(vals[i].ljust(w) for (_, vals), w in zip(cols, widths))
        lines.append(f"{cells}  {_clip(c.claim, claim_width)}")
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
