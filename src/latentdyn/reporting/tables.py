"""Tables of result rows: CSV files (floats to 6 significant figures) and HTML tables
for the report."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any, Sequence

from latentdyn.io import write_text


def rows_csv(rows: Sequence[dict]) -> str:
    """CSV text of dict rows; columns in order of first appearance."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def write_rows_csv(path: str | Path, rows: Sequence[dict]) -> Path:
    """Write :func:`rows_csv` atomically to ``path``; return ``path``."""
    write_text(path, rows_csv(rows))
    return Path(path)


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An escaped HTML table (floats to 4 significant figures)."""
    def cell(v):
        if isinstance(v, float):
            return html.escape(f"{v:.4g}")
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f'<table class="settings"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
