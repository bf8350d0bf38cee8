"""Denoising rows (:func:`latentdyn.analysis.denoising.compare_denoising`) as tables:
CSV, and per noise kind a methods × levels pivot in Markdown and HTML."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Sequence

from latentdyn.analysis.denoising import pivot, table_columns


def markdown_table(rows: Sequence[dict]) -> str:
    """One Markdown table per noise kind: methods × levels, cells 'accuracy / PSNR'."""
    out = ["# Denoising across model families", "",
           "Cells: classifier accuracy (%) / mean PSNR (dB) against the clean image.", ""]
    ref = [r for r in rows if r["family"] == "clean"]
    if ref:
        acc = ref[0]["accuracy"]
        out += [f"Clean test images: classifier accuracy "
                f"{'—' if math.isnan(acc) else f'{100 * acc:.1f} %'} (n = {ref[0]['n']}).", ""]
    for noise in [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]:
        levels, methods = pivot(rows, noise)
        out += [f"## {noise}", "", "| method | " + " | ".join(f"p = {p:g}" for p in levels) + " |",
                "|---|" + "---|" * len(levels)]
        for name, by_level in methods:
            cells = []
            for p in levels:
                r = by_level.get(p)
                if r is None:
                    cells.append("")
                    continue
                acc = "—" if math.isnan(r["accuracy"]) else f"{100 * r['accuracy']:.1f}"
                cells.append(f"{acc} / {r['psnr']:.2f}")
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def html_tables(rows: Sequence[dict]) -> str:
    """The Markdown tables as HTML (for the report), best accuracy per column in bold."""
    parts = []
    for noise in [k for k in dict.fromkeys(r["noise"] for r in rows) if k != "none"]:
        levels, methods = pivot(rows, noise)
        best = {}
        for p in levels:
            accs = [m[p]["accuracy"] for _, m in methods if p in m and m[p]["family"] != "input"
                    and not math.isnan(m[p]["accuracy"])]
            best[p] = max(accs) if accs else None
        head = "".join(f"<th>p = {p:g}</th>" for p in levels)
        body = []
        for name, by_level in methods:
            cells = []
            for p in levels:
                r = by_level.get(p)
                if r is None:
                    cells.append("<td></td>")
                    continue
                acc = "—" if math.isnan(r["accuracy"]) else f"{100 * r['accuracy']:.1f} %"
                if best[p] is not None and r["accuracy"] == best[p] and r["family"] != "input":
                    acc = f"<b>{acc}</b>"
                cells.append(f"<td>{acc} / {r['psnr']:.2f} dB</td>")
            body.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
        parts.append(f"<h3>{html.escape(noise)}</h3><table><thead><tr><th>method</th>{head}"
                     f"</tr></thead><tbody>{''.join(body)}</tbody></table>")
    return "".join(parts)


def write_tables(rows: Sequence[dict], out_dir: str | Path,
                 stem: str = "denoise") -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.md`` into ``out_dir`` atomically."""
    from latentdyn.figures.save import write_csv
    from latentdyn.io import write_text

    out_dir = Path(out_dir)
    csv_path = write_csv(out_dir / f"{stem}.csv", table_columns(rows))
    md_path = out_dir / f"{stem}.md"
    write_text(md_path, markdown_table(rows))
    return csv_path, md_path


