"""General figures shared by all studies: curves with error bands, image grids."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from latentdyn.figures.style import (
    CMAP_IMAGE,
    FONT_SMALL,
    FONT_TITLE,
    FULL_WIDTH,
    FigureDataError,
    add_caption,
    as_1d,
    attach_data,
    check_keys,
    curve_colour,
    finish_axes,
    new_figure,
    plain,
)


def curves(
    x: Any,
    ys: Mapping[str, Any],
    yerr: Mapping[str, Any] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    caption: str = "",
    *,
    err_style: str = "band",
    xscale: str = "linear",
    yscale: str = "linear",
    markers: bool = False,
    colours: Mapping[str, str] | None = None,
    width: float = 5.0,
    height: float = 3.2,
) -> Figure:
    """Curves ``ys[name]`` against ``x`` (one array, or a dict name -> x), with optional
    ``yerr[name]`` drawn as a shaded band (``err_style="band"``) or error bars
    (``"bars"``). Axis scales are matplotlib's (``"linear"``, ``"log"``, ``"symlog"``)."""
    if not ys:
        raise FigureDataError("curves() needs at least one curve")
    if err_style not in ("band", "bars"):
        raise FigureDataError(f"err_style must be 'band' or 'bars', not {err_style!r}")
    yerr = dict(yerr or {})
    per_curve_x = isinstance(x, Mapping)
    if per_curve_x:
        check_keys("x", x.keys(), ys.keys())
    unknown = [k for k in yerr if k not in ys]
    if unknown:
        raise FigureDataError(f"yerr has entries {unknown} with no matching curve")

    fig = new_figure(width, height)
    ax = fig.add_subplot()
    columns: dict[str, np.ndarray] = {}
    if not per_curve_x:
        shared_x = as_1d("x", x)
        columns["x"] = shared_x
    for i, (name, y) in enumerate(ys.items()):
        xi = as_1d(f"x[{name!r}]", x[name]) if per_curve_x else shared_x
        yi = as_1d(f"ys[{name!r}]", y, len(xi)).astype(float)
        colour = (colours or {}).get(name, curve_colour(i))
        marker = "o" if markers else None
        if per_curve_x:
            columns[f"x_{name}"] = xi
        columns[str(name)] = yi
        if name in yerr:
            ei = as_1d(f"yerr[{name!r}]", yerr[name], len(xi)).astype(float)
            columns[f"{name}_err"] = ei
            if err_style == "band":
                ax.fill_between(xi, yi - ei, yi + ei, color=colour, alpha=0.22, linewidth=0)
                ax.plot(xi, yi, color=colour, lw=1.4, marker=marker, ms=3.5, label=plain(name))
            else:
                ax.errorbar(xi, yi, yerr=ei, color=colour, lw=1.2, marker=marker or "o", ms=3.5,
                            capsize=2.5, elinewidth=0.9, label=plain(name))
        else:
            ax.plot(xi, yi, color=colour, lw=1.4, marker=marker, ms=3.5, label=plain(name))
    ax.set_xscale(xscale)
    ax.set_yscale(yscale)
    if xscale == "log" and not per_curve_x and len(np.unique(shared_x)) <= 12:
        # few x values on a log axis (e.g. Nz = 2, 5, 10, 20, 100): label them plainly
        ax.set_xticks(np.unique(shared_x), [_num(v) for v in np.unique(shared_x)])
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    handles, names = ax.get_legend_handles_labels()
    if yerr and err_style == "band":
        handles.append(Line2D([], [], color="#999999", lw=6, alpha=0.4))
        names.append("± error (shaded)")
    ax.legend(handles, names, frameon=False, loc="best")
    finish_axes(ax, grid=True)
    add_caption(fig, caption)
    attach_data(fig, columns)
    return fig


def mosaic(images: np.ndarray, gap: int = 2, fill: float = np.nan,
           gap_y: int | None = None) -> np.ndarray:
    """Tile ``images`` (R, C, H, W[, 3]) into one array, ``gap`` pixels between columns
    and ``gap_y`` (default ``gap``) between rows, the gaps filled with ``fill``."""
    gap_y = gap if gap_y is None else gap_y
    r, c, h, w = images.shape[:4]
    shape = (r * (h + gap_y) - gap_y, c * (w + gap) - gap) + images.shape[4:]
    out = np.full(shape, fill, dtype=float)
    for i in range(r):
        for j in range(c):
            y, x = i * (h + gap_y), j * (w + gap)
            out[y:y + h, x:x + w] = images[i, j]
    return out


def _grid_images(arr: np.ndarray) -> np.ndarray:
    """(R, C, H, W) or (R, C, H, W, 3), from any of the shapes :func:`image_grid` takes."""
    from latentdyn.data.images import display_images

    if arr.ndim == 5 and arr.shape[-1] != 3 and arr.shape[2] <= 4:
        arr = display_images(arr.reshape(*arr.shape[:2], -1), arr.shape[2:])
    if arr.ndim not in (4, 5) or (arr.ndim == 5 and arr.shape[-1] != 3):
        raise FigureDataError(f"images must be (R, C, H, W), (R, C, H, W, 3) or (R, C, K, H, "
                              f"W), got {arr.shape}")
    return arr


def image_stack(images: Any, what: str = "images") -> np.ndarray:
    """A stack of images to show: ``(S, H, W)`` grey, ``(S, H, W, 3)`` RGB, or
    ``(S, C, H, W)`` channels first as data sets hold them (``C`` ≤ 4, unfolded by
    :func:`latentdyn.data.images.display_images`); returned as ``(S, H, W)`` or
    ``(S, H, W, 3)``. One image (no ``S``) goes through as a stack of one:
    ``image_stack(x[None])[0]``."""
    arr = np.asarray(images, dtype=float)
    if arr.ndim == 4 and arr.shape[-1] != 3 and 1 <= arr.shape[1] <= 4:
        arr = _grid_images(arr[None])[0]
    if arr.ndim != 3 and not (arr.ndim == 4 and arr.shape[-1] == 3):
        raise FigureDataError(f"{what} must be (S, H, W), (S, H, W, 3) or (S, C, H, W), got "
                              f"{arr.shape}")
    return arr


def show_images(ax, tiled: np.ndarray, cmap: str = CMAP_IMAGE, vmin: float = 0.0,
                vmax: float = 1.0) -> None:
    """``imshow`` of tiled images: ``(H, W)`` grey through ``cmap``, or ``(H, W, 3)`` RGB
    clipped to [0, 1]; NaN (the gaps of :func:`mosaic`) white in both."""
    if tiled.ndim == 3:
        ax.imshow(np.nan_to_num(np.clip(tiled, 0, 1), nan=1.0), interpolation="nearest")
    else:
        colormap = mpl.colormaps[cmap].with_extremes(bad="white")
        ax.imshow(tiled, cmap=colormap, vmin=vmin, vmax=vmax, interpolation="nearest")


def pixel_columns(shape: Sequence[int]) -> dict[str, np.ndarray]:
    """CSV columns naming each value of an image of ``shape`` (``(H, W)`` or ``(H, W,
    3)``) in the order of ``image.reshape(-1)``: ``pixel_row``, ``pixel_col`` (and
    ``channel`` 0-2 for RGB)."""
    h, w = shape[:2]
    k = int(np.prod(shape[2:], dtype=int))
    columns = {"pixel_row": np.repeat(np.arange(h), w * k),
               "pixel_col": np.tile(np.repeat(np.arange(w), k), h)}
    if len(shape) == 3:
        columns["channel"] = np.tile(np.arange(k), h * w)
    return columns


MIN_CAPTIONED_WIDTH = 4.0  # inches: the narrowest figure that carries a caption


def image_grid(
    images: Any,
    caption: str = "",
    row_labels: Sequence[Any] | None = None,
    col_labels: Sequence[Any] | None = None,
    *,
    title: str | None = None,
    row_title: str | None = None,
    col_title: str | None = None,
    cmap: str = CMAP_IMAGE,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cell: float = 0.55,
) -> Figure:
    """A grid of images (R, C, H, W) — grey — or (R, C, H, W, 3) — RGB in [0, 1] — or
    (R, C, K, H, W) with K channels first, as data sets hold them (``Dataset.image_shape``;
    shown by :func:`latentdyn.data.images.display_images`), such as latent traversals or
    denoising rows; labels name the rows and columns."""
    arr = _grid_images(np.asarray(images, dtype=float))
    r, c, h, w = arr.shape[:4]
    if row_labels is not None and len(row_labels) != r:
        raise FigureDataError(f"{len(row_labels)} row labels for {r} rows")
    if col_labels is not None and len(col_labels) != c:
        raise FigureDataError(f"{len(col_labels)} column labels for {c} columns")
    gap = max(1, round(0.08 * max(h, w)))
    tiled = mosaic(arr, gap=gap, fill=np.nan)

    margin = (0.7 if row_labels is not None else 0.15) + (0.3 if row_title else 0)
    images_width = min(FULL_WIDTH * 1.4, c * cell + margin) - margin
    # a grid of one or two images keeps its size; the figure is wide enough for its
    # caption to read as lines, not as a column of words
    width = max(images_width + margin, MIN_CAPTIONED_WIDTH if caption else 0.0)
    height = images_width * tiled.shape[0] / tiled.shape[1]
    height += (0.35 if col_labels is not None else 0.1) + (0.3 if title else 0)
    height += 0.3 if col_title else 0
    fig = new_figure(width, max(height, 1.2))
    ax = fig.add_subplot()
    show_images(ax, tiled, cmap, vmin, vmax)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0, labelsize=FONT_SMALL)
    centres_r = [i * (h + gap) + (h - 1) / 2 for i in range(r)]
    centres_c = [j * (w + gap) + (w - 1) / 2 for j in range(c)]
    ax.set_yticks(centres_r if row_labels is not None else [])
    if row_labels is not None:
        ax.set_yticklabels([plain(x) for x in row_labels])
    ax.set_xticks(centres_c if col_labels is not None else [])
    if col_labels is not None:
        ax.set_xticklabels([plain(x) for x in col_labels])
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
    if row_title:
        ax.set_ylabel(row_title)
    if col_title:
        ax.set_xlabel(col_title)
    if title:
        ax.set_title(title, fontsize=FONT_TITLE)
    finish_axes(ax, spines=True)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    add_caption(fig, caption)

    columns: dict[str, np.ndarray] = {}
    if row_labels is not None:
        columns["row_label"] = np.asarray([str(x) for x in row_labels])
    if col_labels is not None:
        columns["col_label"] = np.asarray([str(x) for x in col_labels])
    for i in range(r):
        for j in range(c):
            columns[f"r{i}_c{j}"] = arr[i, j].reshape(-1)
    attach_data(fig, columns)
    return fig


def _num(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"
