"""Publication figures for latentdyn (matplotlib, Agg, no pyplot).

Every figure function takes plain numpy arrays plus a ``caption`` (the run's
settings, drawn under the figure) and returns a :class:`matplotlib.figure.Figure`
with its own Agg canvas; the plotted numbers ride along with it, so::

    fig = fig2_distance_curves(t, means, sems, caption="Nz = 100, seed 0")
    saved = save_figure(fig, "out/figures", "fig2_distance", data_dir="out/data")
    saved.png, saved.pdf, saved.csv, saved.caption

Nothing here touches pyplot, the global backend or ``rcParams``: figures are safe to
build in notebooks and worker threads. What one study alone draws lives in that study's
package (e.g. ``latentdyn.studies.nagano2017.figures``); here are the helpers and the
figures several studies share.
"""

from latentdyn.figures.style import FigureDataError, add_caption, figure_caption, figure_data
from latentdyn.figures.generic import curves, image_grid
from latentdyn.figures.nagano import fig2_distance_curves
from latentdyn.figures.save import SavedFigure, read_csv, save_figure, write_csv

__all__ = [
    "FigureDataError",
    "SavedFigure",
    "add_caption",
    "curves",
    "fig2_distance_curves",
    "figure_caption",
    "figure_data",
    "image_grid",
    "read_csv",
    "save_figure",
    "write_csv",
]
