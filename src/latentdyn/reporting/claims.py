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

How they are shown (the convention every study follows):

* ``interval``: ``(low, high)`` of the statistic in ``run_value`` (or of the number the
  rule thresholds, said in ``method``); shown as ``[low, high]`` with ``interval_level``.
* ``stability``: a share in [0, 1], shown as "holds in 87 %"; :func:`attach_bootstrap`
  fills ``interval``, ``interval_level``, ``stability`` and ``method`` from any object
  with ``interval``, ``level``, ``share(rule)`` and ``describe()`` (an
  :class:`latentdyn.analysis.uncertainty.Bootstrap`).
* ``null`` with ``null_name``: shown as "shuffled labels: 0.996"; a mapping of several
  references is shown as "name: value, ...".
* ``seeds``: as filled by :func:`latentdyn.studies.common.combine_seeds`, shown as
  "3 of 5 seeds (majority)": with several training seeds the verdict is the seeds'
  (the rule of ``seeds["rule"]``, fixed in code), and every seed's verdict, value,
  interval and stability is listed beside it (``seeds["per_seed"]``).
* ``point_mass``: every resample gave the statistic the same value (resampling trials
  or images of one fixed model cannot move a count like the active units); its
  interval and stability are marked "point mass" wherever they are shown: they say
  nothing about how sure the verdict is.
* ``boundary``: how far the statistic lies from the rule's boundary, a list of
  ``{"what", "distance", "unit"}`` (distance > 0: the rule holds by that much; < 0: it
  fails by that much; 0: on the edge), shown as "active units to the bound 28: -3 units".
* ``models``: what the verdict rests on ("one trained model (seed 0)", "one model per
  Nz"): resampling shows the spread over trials or images, never over training.
* ``sections``: ids or exact titles of :class:`latentdyn.reporting.report.Section` s;
  each such section of ``report.html`` shows this claim's verdict, and the claim's row
  in the scorecard links to it.

:func:`uncertainty_text` gives all of it as one line, for report sections and docs.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

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
    point_mass: bool = False  # every resample gave the same value (issue 19)
    boundary: list | None = None  # [{"what", "distance", "unit"}]: > 0 holds by, < 0 fails by
    models: str = ""  # what the verdict rests on, e.g. "one trained model (seed 0)"

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
        kw = {k: v for k, v in d.items() if k in names}
        if isinstance(kw.get("interval"), list):
            kw["interval"] = tuple(kw["interval"])
        if isinstance(kw.get("sections"), list):
            kw["sections"] = tuple(kw["sections"])
        return cls(**kw)

    def rests_on_one_model(self) -> bool:
        """Whether the verdict rests on one trained model (its ``models`` says so)."""
        return self.models.startswith("one ")

    def tests_section(self, section_id: str, title: str = "") -> bool:
        """Whether this claim names the section ``section_id`` (or ``title``)."""
        return any(s and s in (section_id, title) for s in self.sections)


def attach_bootstrap(claim: Claim, boot, rule: Callable[[Any], bool] | None = None,
                     method: str | None = None) -> Claim:
    """``claim`` with ``interval``, ``interval_level`` and ``method`` from ``boot`` (an
    :class:`~latentdyn.analysis.uncertainty.Bootstrap`) and, given the claim's ``rule``
    as a function of one resampled statistic, ``stability`` = ``boot.share(rule)``."""
    return replace(claim, interval=tuple(boot.interval), interval_level=float(boot.level),
                   stability=None if rule is None else float(boot.share(rule)),
                   method=method if method is not None else boot.describe())


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


# --------------------------------------------------------------- the new fields as text
def format_interval(claim: Claim, digits: int = 3) -> str:
    """``[low, high]`` of the claim's interval (``(point mass)`` after it when every
    resample gave the same value), or ``—``."""
    if claim.interval is None:
        return "—"
    low, high = claim.interval
    text = f"[{format_value(low, digits)}, {format_value(high, digits)}]"
    return text + " (point mass)" if claim.point_mass else text


def format_stability(claim: Claim) -> str:
    """The share of resamples in which the rule holds, as ``87 %`` (``(point mass)``
    after it when the resampled statistic never moved), or ``—``."""
    s = claim.stability
    if s is None or s != s:
        return "—"
    text = _percent(s)
    return text + " (point mass)" if claim.point_mass else text


def _percent(s) -> str:
    pct = 100 * float(s)
    text = f"{pct:.0f}"
    if text in ("0", "100") and 0 < float(s) < 1:  # never round a near miss to all or none
        text = f"{pct:.1f}" if 0.05 <= pct <= 99.95 else ("<0.1" if pct < 1 else ">99.9")
    return f"{text} %"


def format_null(claim: Claim, digits: int = 3) -> str:
    """``name: value`` of the claim's null or reference, or ``—``."""
    if claim.null is None:
        return "—"
    value = format_value(claim.null, digits)
    return f"{claim.null_name}: {value}" if claim.null_name else value


def format_seeds(claim: Claim) -> str:
    """``3 of 5 seeds`` (how many training seeds reproduce the claim, with the rule that
    turns them into the verdict when there is one: ``3 of 5 seeds (majority)``), or
    ``—``."""
    s = claim.seeds
    if not s:
        return "—"
    text = f"{s.get('reproduced', 0)} of {s.get('of', 0)} seeds"
    evaluated = s.get("evaluated")
    notes = []
    if evaluated is not None and evaluated != s.get("of"):
        notes.append(f"{s.get('of', 0) - evaluated} not evaluated")
    if s.get("rule"):
        notes.append(str(s["rule"]))
    return text + (f" ({', '.join(notes)})" if notes else "")


def format_boundary(claim: Claim, digits: int = 3) -> str:
    """How far the statistic lies from the rule's boundary, as ``what: +3 units``
    (> 0 holds by, < 0 fails by), or ``—``."""
    if not claim.boundary:
        return "—"
    parts = []
    for b in claim.boundary:
        d = b.get("distance")
        value = "n/a" if d is None or d != d else f"{float(d):+.{digits}g}"
        unit = f" {b['unit']}" if b.get("unit") else ""
        parts.append(f"{b.get('what', '')}: {value}{unit}")
    return "; ".join(parts)


def per_seed_text(claim: Claim) -> str:
    """Each training seed's verdict, value, interval and stability, as one line."""
    s = claim.seeds or {}
    rows = s.get("per_seed")
    if not rows:
        return ", ".join(f"{k}: {v}" for k, v in zip(s.get("seeds", []), s.get("verdicts", [])))
    out = []
    for r in rows:
        extra = [format_value(r.get("value"))]
        if r.get("interval") is not None:
            extra.append(f"[{', '.join(format_value(v, 3) for v in r['interval'])}]"
                         + (" point mass" if r.get("point_mass") else ""))
        if r.get("stability") is not None:
            extra.append(f"holds {_percent(r['stability'])}")
        out.append(f"{r.get('seed')}: {r.get('verdict')} ({', '.join(extra)})")
    return ", ".join(out)


def uncertainty_text(claim: Claim) -> str:
    """The claim's interval, stability, null and seeds as one line ("" when none)."""
    parts = []
    if claim.interval is not None:
        parts.append(f"{100 * claim.interval_level:g} % interval {format_interval(claim)}")
    if claim.stability is not None:
        parts.append(f"the rule holds in {format_stability(claim)} of resamples")
    if claim.null is not None:
        parts.append(f"null or reference {format_null(claim)}")
    if claim.seeds:
        parts.append(format_seeds(claim))
    if claim.boundary:
        parts.append(f"distance to the rule's boundary {format_boundary(claim)}")
    if claim.models:
        parts.append(f"rests on {claim.models}")
    return "; ".join(parts)


def _has(claims: Sequence[Claim], name: str) -> bool:
    return any(getattr(c, name) not in (None, "", (), {}) for c in claims)


def scorecard_markdown(claims: Sequence[Claim]) -> str:
    """``claims.md``: the table (with interval, stability, null, the distance to the
    rule's boundary, what the verdict rests on and, for several training seeds, the
    seeds that reproduce each claim) and the rules, with every seed's verdict."""
    seeds, boundary, models = (_has(claims, k) for k in ("seeds", "boundary", "models"))
    names = ["id", "claim", "statistic", "paper", "this run", "interval", "stability",
             "null / reference", *(["to the boundary"] if boundary else []),
             *(["rests on"] if models else []), *(["seeds"] if seeds else []), "verdict"]
    head = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    rows = []
    for c in claims:
        verdict = f"**{c.verdict}**" if c.reproduced is False else c.verdict
        cells = [c.id, c.claim, c.statistic, format_value(c.paper_value),
                 format_value(c.run_value), format_interval(c), format_stability(c),
                 format_null(c), *([format_boundary(c)] if boundary else []),
                 *([c.models or "—"] if models else []),
                 *([format_seeds(c)] if seeds else [])]
        rows.append("| " + " | ".join(_md(x) for x in cells) + f" | {verdict} |")
    rules = []
    for c in claims:
        line = f"- **{_md(c.id)}**: {_md(c.threshold)}"
        extra = [("reading", c.reading), ("details", c.details), ("method", c.method)]
        line += "".join(f" — {name}: {_md(v)}" for name, v in extra if v)
        if c.seeds and c.seeds.get("verdicts"):
            line += " — per seed: " + _md(per_seed_text(c))
        rules.append(line)
    level = next((c.interval_level for c in claims if c.interval is not None), 0.95)
    legend = (f"interval: {100 * level:g} % bootstrap interval of the statistic; stability: "
              "the share of bootstrap resamples in which the claim's rule holds (point mass: "
              "every resample gave the same value, so neither says how sure the verdict "
              "is); null / reference: what the statistic is compared with (what it would be "
              "by chance, or the model's own reference)")
    if boundary:
        legend += ("; to the boundary: how far the statistic lies from the rule's boundary "
                   "(> 0 holds by, < 0 fails by)")
    one = [c.id for c in claims if c.rests_on_one_model()]
    lines = ["# Claims scorecard", "", summary_line(claims) + ".", ""]
    if one:
        lines += [one_model_note(one), ""]
    return "\n".join([*lines, *head, *rows, "", legend + ".",
                      "", "## Rules (fixed in code before the run)", "", *rules, ""])


def one_model_note(ids: Sequence[str]) -> str:
    """The sentence that says which verdicts rest on one trained model."""
    return (f"Verdicts that rest on one trained model: {', '.join(ids)}. Their intervals "
            "resample trials or images of that model; how much another training seed "
            "would change them is not measured (run with --seeds N).")


def format_scorecard(claims: Sequence[Claim], width: int = 100) -> str:
    """The scorecard as an aligned plain-text table for the terminal: id, verdict, the
    seeds that reproduce it (with several seeds), this run's value, its interval and
    stability where the study measured them, and the claim (the paper's values and the
    rules are in ``claims.md``)."""
    cols = [("id", [c.id for c in claims], 6),
            ("verdict", [c.verdict for c in claims], 14)]
    if _has(claims, "seeds"):
        cols.append(("seeds", [f"{c.seeds.get('reproduced', 0)} of {c.seeds.get('of', 0)}"
                               if c.seeds else "—" for c in claims], 8))
    cols.append(("this run", [format_value(c.run_value) for c in claims], 24))
    mark = {True: "*", False: ""}  # point mass, said below the table
    if _has(claims, "interval"):
        cols.append(("interval", [format_interval(replace(c, point_mass=False))
                                  + (mark[c.point_mass] if c.interval is not None else "")
                                  for c in claims], 18))
    if _has(claims, "stability"):
        cols.append(("holds", [format_stability(replace(c, point_mass=False))
                               + (mark[c.point_mass] if c.stability is not None else "")
                               for c in claims], 6))
    cols = [(name, [_clip(v, n) for v in vals]) for name, vals, n in cols]
    widths = [max([len(name)] + [len(v) for v in vals]) for name, vals in cols]
    claim_width = max(20, width - sum(widths) - 2 * len(widths))
    lines = [f"Claims scorecard: {summary_line(claims)}"]
    header = "  ".join(name.ljust(w) for (name, _), w in zip(cols, widths)) + "  claim"
    lines += [header, "-" * min(width, len(header) + claim_width - 5)]
    for i, c in enumerate(claims):
        cells = "  ".join(vals[i].ljust(w) for (_, vals), w in zip(cols, widths))
        lines.append(f"{cells}  {_clip(c.claim, claim_width)}")
    one = [c.id for c in claims if c.rests_on_one_model()]
    if one:
        lines.append(_clip(f"One trained model behind: {', '.join(one)} (--seeds N "
                           "measures training's spread).", width))
    if any(c.point_mass for c in claims):
        lines.append(_clip("* point mass: every resample gave the same value (" + ", ".join(
            c.id for c in claims if c.point_mass) + ").", width))
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")
