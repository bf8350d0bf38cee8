"""The top of a report page: the banner (the profile and what it means, the model, the
data and the reductions) and the compact claims scorecard (one line per claim, linked
to the claim in detail and to the sections that test it)."""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

from latentdyn.reporting.claims import Claim, format_value, summarise

BANNER_NOTES = ("Model:", "Data:", "Models:", "Quick profile:", "Smoke profile:",
                "Reductions:", "Profile:")
PROFILE_WORDS = {
    "smoke": "a toy run: tiny models, few trials and steps, made to check that the pipeline "
             "runs. Its verdicts say nothing about the paper's claims.",
    "quick": "the paper's settings reduced to run in hours on a CPU (the reductions are "
             "listed here); read each verdict with them in mind.",
    "paper": "the paper's settings.",
}


def banner_html(settings: Mapping[str, Any], lines: Sequence[str]) -> str:
    """The banner: the profile (what it means), then the model, data and reductions."""
    profile = settings.get("profile")
    items = list(lines)
    if not any(str(x).startswith(("Model", "Models")) for x in items):
        model = settings.get("model_run") or settings.get("model")
        if model:
            items.insert(0, f"Model: {_value(model)}.")
    if not any(str(x).startswith("Data") for x in items):
        data = settings.get("dataset") or settings.get("datasets")
        if data:
            items.append(f"Data: {_value(data)}.")
    if profile is None and not items:
        return ""
    head = ""
    if profile is not None:
        words = PROFILE_WORDS.get(str(profile), "")
        head = (f'<p><b>Profile: {_e(profile)}</b>' + (f" — {_e(words)}" if words else "")
                + "</p>")
    cls = f"banner {_e(profile)}" if profile in PROFILE_WORDS else "banner"
    body = "".join(f"<li>{_e_br(x)}</li>" for x in items)
    return f'<div id="banner" class="{cls}">{head}' + (f"<ul>{body}</ul>" if body else "") \
        + "</div>"


def scorecard_html(claims: Sequence[Claim], tested_in: Mapping[str, list]) -> str:
    """One line per claim: its verdict, value against the paper's, and its sections."""
    rows = []
    for c in claims:
        cls = _CLS[c.reproduced]
        text = str(c.claim)
        short = text if len(text) <= 90 else text[:87].rstrip() + "…"
        where = ", ".join(f'<a href="#{_e(a)}">{_e(_short_title(t))}</a>'
                          for a, t in tested_in.get(c.id, []))
        rows.append(
            f'<tr class="card {cls}"><td class="id">'
            f'<a href="#claim-{_e(c.id)}">{_e(c.id)}</a></td>'
            f'<td title="{_e(text)}">{_e(short)}</td>'
            f"<td>{_e(format_value(c.run_value))} <span class=\"muted\">(paper "
            f"{_e(format_value(c.paper_value))})</span></td>"
            f'<td class="verdict"><span class="v {cls}">{_e(c.verdict)}</span></td>'
            f"<td>{where}</td></tr>")
    return ('<section id="claims"><h2>Claims scorecard</h2>'
            f'<p class="verdicts">{_badges(claims)}</p>'
            '<table class="card"><thead><tr><th>id</th><th>claim</th><th>this run</th>'
            '<th>verdict</th><th>figure</th></tr></thead><tbody>' + "".join(rows)
            + '</tbody></table><p class="legend">Each id links to the claim in detail '
            "(interval, share of resamples, null, seeds, rule); each figure to its section."
            "</p></section>")


def _short_title(title: str) -> str:
    return str(title).split(":")[0] if ":" in str(title) else str(title)


_CLS = {True: "ok", False: "fail", None: "na"}


def _value(v: Any) -> str:
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return format_value(v, digits=6)


def _badges(claims: Sequence[Claim]) -> str:
    s = summarise(claims)
    return (f'<span class="v ok">{s["reproduced"]} reproduced</span> '
            f'<span class="v fail">{s["not_reproduced"]} NOT reproduced</span> '
            f'<span class="v na">{s["not_evaluated"]} not evaluated</span>')


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _e_br(text: Any) -> str:
    return _e(text).replace("\n", "<br>")
