"""One self-contained HTML page per reproduction.

Figures are embedded as base64 ``data:`` URIs and the CSS is inline, so the page can
be mailed or archived alone: no external resources, and no JavaScript except the
inline script of an interactive trajectory viewer (:mod:`latentdyn.reporting.viewer`)
that a section may carry in ``extra_html``. All text is escaped; only :class:`RawHTML` values and ``Section.extra_html`` pass through as HTML.

The page opens with a banner (the profile -- a smoke run says it is a toy run --, its
reductions, the model and the data), a compact scorecard (one line per claim, linked
to its row in "Claims in detail" and to the sections that test it) and a table of
contents; then the figures (a figure taller than :data:`FOLD_PX` is folded in a
``<details>``; its caption, already drawn in the PNG, is not printed again), the
claims in detail (statistic, interval, stability, null, seeds, verdict), the settings
and the notes. A figure's section shows the
verdicts of the claims that test it: those whose ``Claim.sections`` names the section's
``id`` or its exact ``title``, and those listed in ``Section.claims``; each claim's row
in the scorecard links to those sections, and each section's verdict to its row.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from latentdyn._version import __version__
from latentdyn.reporting.claims import (
    Claim,
    format_interval,
    format_null,
    format_seeds,
    format_stability,
    format_value,
    summary_line,
    uncertainty_text,
)
from latentdyn.io import write_text
from latentdyn.reporting.summary import BANNER_NOTES, banner_html, scorecard_html
from latentdyn.reporting.viewer import static_text

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".svg": "image/svg+xml", ".gif": "image/gif"}


class RawHTML(str):
    """A string that :func:`write_report` inserts as HTML, unescaped (trusted input only)."""


@dataclass
class Section:
    """One figure of the report.

    ``figure``: a PNG (or a PDF with a PNG beside it); ``None`` for a text-only section.
    ``data``: the figure's CSV, offered as an embedded download when small enough.
    ``extra_html``: trusted HTML appended to the section as is.
    ``id``: the section's anchor (default ``fig-N``, its place on the page); a claim
    names the section by this id or by its exact title in ``Claim.sections``.
    ``claims``: ids of further claims this section tests.
    """

    title: str
    figure: Path | None
    caption: str
    paper_found: str
    run_found: str
    extra_html: str = ""
    data: Path | None = None
    id: str = ""
    claims: tuple = ()

    def anchor(self, i: int) -> str:
        """The HTML id of the section, ``i``-th on the page."""
        return self.id or f"fig-{i}"


def claims_of(section: Section, i: int, claims: Sequence[Claim]) -> list[Claim]:
    """The claims the ``i``-th section tests, in scorecard order."""
    return [c for c in claims if c.id in section.claims
            or c.tests_section(section.anchor(i), section.title)]


def write_report(
    path: str | os.PathLike,
    title: str,
    intro_html_or_text: str,
    settings: Mapping[str, Any],
    sections: Sequence[Section],
    claims: Sequence[Claim],
    notes: Iterable[str] = (),
    *,
    generated_at: _dt.datetime | None = None,
    max_data_bytes: int = 2_000_000,
    banner: Sequence[str] | None = None,
) -> Path:
    """Write the report to ``path`` atomically and return ``path``.

    ``intro_html_or_text``: plain text (escaped; blank lines separate paragraphs) or a
    :class:`RawHTML`. ``settings``: name -> value, nested mappings flattened to dotted
    names (put the profile and every reduced setting here). CSV files larger than
    ``max_data_bytes`` are named, not embedded. ``banner``: lines for the banner at the
    top (the model, the data, the reductions); by default the notes that begin with
    one of :data:`BANNER_NOTES` (moved there from the notes) and the settings' profile,
    model and data set.
    """
    path = Path(path)
    page = render_report(title, intro_html_or_text, settings, sections, claims, notes,
                         generated_at=generated_at, max_data_bytes=max_data_bytes,
                         banner=banner)
    write_text(path, page)
    return path


def render_report(
    title: str,
    intro_html_or_text: str,
    settings: Mapping[str, Any],
    sections: Sequence[Section],
    claims: Sequence[Claim],
    notes: Iterable[str] = (),
    *,
    generated_at: _dt.datetime | None = None,
    max_data_bytes: int = 2_000_000,
    banner: Sequence[str] | None = None,
) -> str:
    """The report page as a string (see :func:`write_report`)."""
    when = generated_at or _dt.datetime.now(_dt.timezone.utc)
    notes = [str(n) for n in notes if str(n).strip()]
    if banner is None:
        banner = [n for n in notes if n.startswith(BANNER_NOTES)]
        notes = [n for n in notes if not n.startswith(BANNER_NOTES)]
    _check_anchors(sections)
    toc = ['<li><a href="#claims">Claims scorecard</a></li>'] if claims else []
    toc += [f'<li><a href="#{_e(s.anchor(i))}">{_e(s.title)}</a></li>'
            for i, s in enumerate(sections, 1)]
    if claims:
        toc.append('<li><a href="#claims-detail">Claims in detail</a></li>')
    toc.append('<li><a href="#settings">Settings</a></li>')
    if notes:
        toc.append('<li><a href="#notes">Notes</a></li>')
    tested_in = {c.id: [(s.anchor(i), s.title) for i, s in enumerate(sections, 1)
                        if c in claims_of(s, i, claims)] for c in claims}

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{static_text('report.css')}</style>",
        "</head><body><main>",
        f"<h1>{_e(title)}</h1>",
        banner_html(settings, banner),
        f'<div class="intro">{_text_block(intro_html_or_text)}</div>',
        scorecard_html(claims, tested_in) if claims else "",
        f'<nav id="contents"><h2>Contents</h2><ol>{"".join(toc)}</ol></nav>',
    ]
    for i, sec in enumerate(sections, 1):
        parts.append(_section(i, sec, max_data_bytes, claims_of(sec, i, claims)))
    if claims:
        parts += ['<section id="claims-detail"><h2>Claims in detail</h2>',
                  f"<p>{_e(summary_line(claims))}. Each rule was fixed in code before the "
                  "run.</p>", _claims_table(claims, tested_in),
                  f'<p class="legend">{_e(_LEGEND)}</p></section>']
    parts += ['<section id="settings"><h2>Settings</h2>', _settings_table(settings),
              "</section>"]
    if notes:
        parts.append('<section id="notes"><h2>Notes</h2><ul>'
                     + "".join(f"<li>{_e_br(n)}</li>" for n in notes) + "</ul></section>")
    stamp = when.strftime("%Y-%m-%d %H:%M:%S %Z")
    parts.append(
        f"<footer>latentdyn {_e(__version__)} · generated {_e(stamp)}"
        f" · Python {_e(platform.python_version())} on {_e(platform.system())}</footer>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(p for p in parts if p)


_LEGEND = ("interval: the bootstrap interval of the statistic (over trials or images, "
           "seeded); holds: the share of bootstrap resamples in which the claim's rule "
           "holds; null / reference: what the statistic is compared with; seeds: how many "
           "independently trained models reproduce the claim.")
_RESERVED = {"claims", "claims-detail", "contents", "banner", "settings", "notes"}
FOLD_PX = 900  # a figure taller than this (in its PNG's pixels) is folded
def _check_anchors(sections: Sequence[Section]) -> None:
    from latentdyn.errors import ConfigError

    seen: set[str] = set()
    for i, sec in enumerate(sections, 1):
        a = sec.anchor(i)
        if a in seen or a in _RESERVED or (sec.id and a.startswith("claim-")):
            raise ConfigError(f"report section id {a!r} is used twice or reserved")
        seen.add(a)


# ----------------------------------------------------------------------------- parts
def _section(i: int, sec: Section, max_data_bytes: int, tested: Sequence[Claim] = ()) -> str:
    out = [f'<section id="{_e(sec.anchor(i))}" class="figure"><h2>{_e(sec.title)}</h2>']
    if sec.figure is not None:
        out.append(_figure(Path(sec.figure), sec.caption))
    elif sec.caption:
        out.append(f'<p class="caption">{_e_br(sec.caption)}</p>')
    found = [(who, text) for who, text in (("The paper found:", sec.paper_found),
                                           ("This run found:", sec.run_found))
             if str(text).strip() not in _EMPTY]
    if found:
        out.append('<div class="findings">' + "".join(
            f'<p><span class="who">{who}</span> {_e_br(text)}</p>' for who, text in found)
            + "</div>")
    if tested:
        out.append(_tested_here(tested))
    if sec.data is not None:
        out.append(_data_link(Path(sec.data), max_data_bytes))
    if sec.extra_html:
        out.append(f'<div class="extra">{sec.extra_html}</div>')
    out.append("</section>")
    return "\n".join(out)


_EMPTY = ("", "-", "—", "n/a")


def _tested_here(claims: Sequence[Claim]) -> str:
    """The verdicts of the claims a section tests, each linked to its scorecard row."""
    items = []
    for c in claims:
        cls = _CLS[c.reproduced]
        more = uncertainty_text(c)
        items.append(
            f'<li><span class="v {cls}">{_e(c.verdict)}</span> '
            f'<a href="#claim-{_e(c.id)}"><b>{_e(c.id)}</b></a> {_e(c.claim)}: '
            f"{_e(c.statistic)} = {_e(format_value(c.run_value))} "
            f"(paper: {_e(format_value(c.paper_value))}; rule: {_e(c.threshold)})"
            + (f'<div class="rule">{_e(more)}</div>' if more else "") + "</li>")
    return f'<div class="tested"><p>Claims tested here:</p><ul>{"".join(items)}</ul></div>'


def _figure(path: Path, caption: str) -> str:
    """The figure embedded; its caption (drawn in the image) only as the image's alt
    text, or printed when the image is missing. A tall figure is folded."""
    image = path
    if path.suffix.lower() not in _MIME and path.with_suffix(".png").exists():
        image = path.with_suffix(".png")  # e.g. a PDF with its PNG beside it
    mime = _MIME.get(image.suffix.lower())
    if mime is None or not image.is_file():
        why = "not found" if not image.exists() else "not an image the page can embed"
        cap = f"<figcaption>{_e_br(caption)}</figcaption>" if caption else ""
        return (f'<figure><p class="missing">Figure {_e(path.name)}: {why}.</p>{cap}</figure>')
    raw = image.read_bytes()
    b64 = base64.b64encode(raw).decode("ascii")
    alt = _e(caption or path.stem)
    tag = f'<figure><img src="data:{mime};base64,{b64}" alt="{alt}"></figure>'
    size = png_size(raw) if mime == "image/png" else None
    if size and size[1] > FOLD_PX:
        return (f'<details class="fold"><summary>Show the figure ({size[0]} × {size[1]} px, '
                f"folded for its length)</summary>{tag}</details>")
    return tag


def png_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None for anything else."""
    if raw[:8] != b"\x89PNG\r\n\x1a\n" or len(raw) < 24:
        return None
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def _data_link(path: Path, max_bytes: int) -> str:
    if not path.is_file():
        return f'<p class="data missing">Data {_e(path.name)}: not found.</p>'
    size = path.stat().st_size
    if size > max_bytes:
        return (f'<p class="data">Plotted data: <code>{_e(path.name)}</code> '
                f"({size / 1e6:.1f} MB, beside this report's figures; not embedded).</p>")
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<p class="data">Plotted data: <a download="{_e(path.name)}" '
            f'href="data:text/csv;base64,{b64}">{_e(path.name)}</a> ({size / 1e3:.1f} kB)</p>')


def _settings_table(settings: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_setting(v))}</td></tr>"
                   for k, v in _flatten(settings))
    return f'<table class="settings"><tbody>{rows}</tbody></table>' if rows else \
        "<p>No settings recorded.</p>"


_CLS = {True: "ok", False: "fail", None: "na"}


def _claims_table(claims: Sequence[Claim], tested_in: Mapping[str, list] | None = None) -> str:
    seeds = any(c.seeds for c in claims)
    head = ("<thead><tr><th>id</th><th>claim</th><th>statistic</th><th>paper</th>"
            "<th>this run</th><th>interval</th><th>holds</th><th>null / reference</th>"
            + ("<th>seeds</th>" if seeds else "") + "<th>verdict</th></tr></thead>")
    rows = []
    for c in claims:
        cls = _CLS[c.reproduced]
        notes = [("reading", c.reading), ("details", c.details), ("method", c.method)]
        if c.seeds and c.seeds.get("verdicts"):
            notes.append(("per seed", ", ".join(
                f"{s}: {v}" for s, v in zip(c.seeds.get("seeds", []), c.seeds["verdicts"]))))
        extra = f'<div class="rule">rule: {_e_br(c.threshold)}</div>' if c.threshold else ""
        more = "".join(f'<div class="rule">{name}: {_e_br(v)}</div>' for name, v in notes if v)
        if more:  # collapsed (a plain <details>: no script), so the scorecard stays short
            extra += f'<details class="more"><summary>details</summary>{more}</details>'
        links = (tested_in or {}).get(c.id, [])
        if links:
            extra += '<div class="rule">tested in: ' + ", ".join(
                f'<a href="#{_e(a)}">{_e(t)}</a>' for a, t in links) + "</div>"
        interval = format_interval(c)
        if c.interval is not None:
            interval += f" ({100 * c.interval_level:g} %)"
        rows.append(
            f'<tr id="claim-{_e(c.id)}" class="{cls}"><td class="id">{_e(c.id)}</td>'
            f"<td>{_e_br(c.claim)}{extra}</td>"
            f"<td>{_e_br(c.statistic)}</td><td>{_e(format_value(c.paper_value))}</td>"
            f"<td>{_e(format_value(c.run_value))}</td><td>{_e(interval)}</td>"
            f"<td>{_e(format_stability(c))}</td><td>{_e(format_null(c))}</td>"
            + (f"<td>{_e(format_seeds(c))}</td>" if seeds else "")
            + f'<td class="verdict"><span class="v {cls}">{_e(c.verdict)}</span></td></tr>'
        )
    return f'<table class="claims">{head}<tbody>{"".join(rows)}</tbody></table>'


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.extend(_flatten(v, key + "."))
        else:
            out.append((key, v))
    return out


def _setting(v: Any) -> str:
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return str(v)
    return format_value(v, digits=6)


def _text_block(text: str) -> str:
    if isinstance(text, RawHTML):
        return str(text)
    paras = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return "".join(f"<p>{_e_br(p)}</p>" for p in paras)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _e_br(text: Any) -> str:
    return _e(text).replace("\n", "<br>")
