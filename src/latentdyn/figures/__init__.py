"""Publication figures for latentdyn (matplotlib, Agg, no pyplot).

Every figure function takes plain numpy arrays plus a ``caption`` (the run's
settings, drawn under the figure) and returns a :class:`matplotlib.figure.Figure`
with its own Agg canvas; the plotted numbers ride along with it, so::

    fig = fig3c_cosine(cos, labels=range(10), caption="Nz = 100, seed 0")
    saved = save_figure(fig, "out/figures", "fig3c_cosine", data_dir="out/data")
    saved.png, saved.pdf, saved.csv, saved.caption

Nothing here touches pyplot, the global backend or ``rcParams``: figures are safe to
build in notebooks and worker threads.
"""

from latentdyn.figures._style import FigureDataError, add_caption, figure_caption, figure_data
from latentdyn.figures.generic import curves, image_grid
from latentdyn.figures.nagano import fig1_sequence, fig2_distance_curves, fig4_stages
from latentdyn.figures.nagano_geometry import (
    components_needed,
    fig3a_concepts,
    fig3b_pca,
    fig3c_cosine,
    figA1_pca,
)
from latentdyn.figures.save import SavedFigure, read_csv, save_figure, write_csv

__all__ = [
    "FigureDataError",
    "SavedFigure",
    "add_caption",
    "components_needed",
    "curves",
    "fig1_sequence",
    "fig2_distance_curves",
    "fig3a_concepts",
    "fig3b_pca",
    "fig3c_cosine",
    "fig4_stages",
    "figA1_pca",
    "figure_caption",
    "figure_data",
    "image_grid",
    "read_csv",
    "save_figure",
    "write_csv",
]
