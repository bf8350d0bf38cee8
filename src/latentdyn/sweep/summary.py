"""``summary.csv``: one row per grid point, and a readable table of it.

Columns (ELBO and log-likelihood in nats per image, summed over pixels):

* ``point`` -- the run folder's name under the sweep folder;
* ``nz``, ``lr``, ``batch_size``, ``seed`` -- the grid point;
* ``status`` -- completed, diverged (NaN/inf loss; the last good checkpoint is kept),
  stopped (ended early, resumable) or pending;
* ``epochs`` -- epochs trained;
* ``train_elbo`` -- mean training ELBO of the last epoch (as in metrics.csv);
* ``test_elbo`` -- test ELBO after the last epoch;
* ``test_ll`` -- importance-weighted (IWAE) estimate of the test log-likelihood with
  ``ll_k`` samples per image over the first ``ll_images`` test images;
* ``active_units`` -- Burda et al. (2016): units whose E_q[z_u | x] varies by more
  than 0.01 over the training set (:func:`latentdyn.analysis.active_units`);
* ``wall_s`` -- training wall time of the run (its manifest's ``wall_time_s``; members
  of one ensemble trained together and share it);
* ``ensemble`` -- how many models were trained together with this one.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from latentdyn.errors import ConfigError
from latentdyn.io import write_text

COLUMNS = ("point", "nz", "lr", "batch_size", "seed", "status", "epochs", "train_elbo",
           "test_elbo", "test_ll", "ll_k", "ll_images", "active_units", "wall_s", "ensemble")
_INTS = {"nz", "batch_size", "seed", "epochs", "ll_k", "ll_images", "active_units", "ensemble"}
_FLOATS = {"lr", "train_elbo", "test_elbo", "test_ll", "wall_s"}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(value)
    return str(value)


def write_summary(path: str | Path, rows: list[dict]) -> Path:
    """Write ``rows`` (dicts with :data:`COLUMNS`) to ``path`` atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    write_text(path, buf.getvalue())
    return Path(path)


def read_summary(path: str | Path) -> list[dict]:
    """Rows of a sweep's ``summary.csv`` (``path`` may be the sweep folder) as dicts with
    typed values: ints, floats, and None for an empty cell (a metric not measured)."""
    path = Path(path)
    if path.is_dir():
        path = path / "summary.csv"
    if not path.is_file():
        raise ConfigError(f"{path}: no sweep summary there")
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "point" not in reader.fieldnames:
            raise ConfigError(f"{path}: not a sweep summary (no 'point' column)")
        for raw in reader:
            row = {}
            for key, text in raw.items():
                if key is None:
                    continue
                text = (text or "").strip()
                if text == "" and key != "point":
                    row[key] = None
                elif key in _INTS:
                    row[key] = int(float(text))
                elif key in _FLOATS:
                    row[key] = float(text)
                else:
                    row[key] = text
            rows.append(row)
    return rows


def best_by(rows: list[dict], group: str = "nz", metric: str = "test_elbo") -> dict:
    """For each value of ``group``, the completed row with the highest ``metric``
    (e.g. the best configuration per Nz, as in Fig. 7)."""
    best: dict = {}
    for row in rows:
        value = row.get(metric)
        if row.get("status") != "completed" or value is None or math.isnan(value):
            continue
        key = row[group]
        if key not in best or value > best[key][metric]:
            best[key] = row
    return dict(sorted(best.items()))


def format_summary(rows: list[dict]) -> str:
    """A fixed-width table of the summary; ``*`` marks the best test ELBO of each Nz."""
    winners = {id(r) for r in best_by(rows).values()}

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    header = ("point", "train ELBO", "test ELBO", "test LL", "AU", "wall s", "status")
    table = [header]
    for r in rows:
        table.append((
            ("* " if id(r) in winners else "  ") + r["point"],
            num(r.get("train_elbo"), ".2f"), num(r.get("test_elbo"), ".2f"),
            num(r.get("test_ll"), ".2f"), num(r.get("active_units"), "d"),
            num(r.get("wall_s"), ".1f"), r.get("status") or "-",
        ))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    ll = {(r.get("ll_k"), r.get("ll_images")) for r in rows if r.get("test_ll") is not None}
    notes = ["nats per image; * best test ELBO per Nz; AU: active units (Var E_q[z_u|x] > 0.01)"]
    if len(ll) == 1:
        k, n = ll.pop()
        notes.append(f"test LL: importance-weighted, k = {k} samples, {n} test images")
    return "\n".join(lines + notes)
