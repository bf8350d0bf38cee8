"""Saving a figure: PNG + PDF beside each other, the plotted data as CSV, atomically."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from latentdyn.figures.style import DPI, FigureDataError, add_caption, figure_caption, figure_data
from latentdyn.io import write_bytes, write_text

# Matplotlib is not thread-safe (its mathtext parser in particular), so latentdyn
# renders one figure at a time; building figures needs no lock.
_RENDER_LOCK = threading.RLock()
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class SavedFigure:
    """Where :func:`save_figure` put things, and the caption it drew."""

    png: Path
    pdf: Path
    csv: Path | None
    caption: str


def save_figure(
    fig: Figure,
    out_dir: str | os.PathLike,
    stem: str,
    caption: str | None = None,
    csv_columns: Mapping[str, Any] | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    dpi: int = DPI,
) -> SavedFigure:
    """Write ``<out_dir>/<stem>.png`` and ``.pdf``, and ``<data_dir>/<stem>.csv``.

    ``caption``: drawn under the figure (replacing the one the figure function drew);
    ``None`` keeps the figure's own caption. ``csv_columns``: name -> 1-D array, ragged
    columns padded with empty cells; ``None`` uses the data the figure function
    attached (every plotted curve). ``data_dir`` defaults to ``<out_dir>/../data``.
    Every file is written to a temporary name and renamed into place.
    """
    if not _STEM.fullmatch(stem):
        raise FigureDataError(f"figure stem {stem!r} must be a plain file name")
    out_dir = Path(out_dir)
    data_dir = Path(data_dir) if data_dir is not None else out_dir.parent / "data"
    if caption is not None:
        add_caption(fig, caption)
    columns = figure_data(fig) if csv_columns is None else dict(csv_columns)

    png = out_dir / f"{stem}.png"
    pdf = out_dir / f"{stem}.pdf"
    # Lay the figure out once, then save both formats with that layout frozen
    # (constrained layout would otherwise run again on every draw).
    common = dict(bbox_inches="tight", pad_inches=0.08, facecolor="white")
    with _RENDER_LOCK:
        engine = fig.get_layout_engine()
        frozen = engine is not None and not isinstance(engine, PlaceHolderLayoutEngine)
        if frozen:
            engine.execute(fig)
            fig.set_layout_engine("none")
        try:
            # rendered in memory, then written atomically: a full disk is then one
            # OSError naming the file (matplotlib's PDF writer, failing half way, hid
            # it behind an error of its own clean-up)
            for path, fmt, extra in ((png, "png", {"dpi": dpi, "metadata": {"Software": None}}),
                                     (pdf, "pdf", {"metadata": {"CreationDate": None}})):
                buf = io.BytesIO()
                fig.savefig(buf, format=fmt, **extra, **common)
                write_bytes(path, buf.getvalue())
        finally:
            if frozen:
                fig.set_layout_engine(engine)

    csv_path = None
    if columns:
        csv_path = data_dir / f"{stem}.csv"
        write_csv(csv_path, columns)
    return SavedFigure(png=png, pdf=pdf, csv=csv_path, caption=figure_caption(fig))


def write_csv(path: str | os.PathLike, columns: Mapping[str, Any]) -> Path:
    """Write ``columns`` (name -> 1-D array or scalar) as CSV; pad ragged columns."""
    path = Path(path)
    text = csv_text(columns)
    write_text(path, text)
    return path


def csv_text(columns: Mapping[str, Any]) -> str:
    cols: list[tuple[str, list[str]]] = []
    for name, value in columns.items():
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1:
            raise FigureDataError(f"CSV column {name!r} must be 1-D, got shape {arr.shape}")
        cols.append((str(name), [_cell(v) for v in arr.tolist()]))
    n_rows = max((len(c) for _, c in cols), default=0)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([name for name, _ in cols])
    for i in range(n_rows):
        writer.writerow([c[i] if i < len(c) else "" for _, c in cols])
    return buf.getvalue()


def read_csv(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a CSV written by :func:`write_csv` back as name -> list of cells (padding dropped)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    out: dict[str, list[str]] = {}
    for j, name in enumerate(header):
        cells = [r[j] if j < len(r) else "" for r in body]
        while cells and cells[-1] == "":
            cells.pop()
        out[name] = cells
    return out


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return repr(v)  # shortest string that round-trips exactly
    return str(v)
