"""Heatmap figures of the theme tables: coded segments by code and participant, and how often
two codes occur together. Counts are coloured (cividis), cells without any are light grey, and
each cell shows its count where the cells are large enough.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from scripts.figure_style import (
    COUNT_COLOURMAP,
    DOUBLE_COLUMN,
    EMPTY_CELL,
    FONT_SIZE,
    GRID_COLOUR,
    NO_CODED_SEGMENTS,
    SINGLE_COLUMN,
    figure_title,
    message_figure,
    new_figure,
    numbers,
    row_height,
    styled,
    widest_label_inches,
    wrap,
)


def _count_norm(values: np.ndarray) -> Normalize:
    # Zero cells are drawn grey (EMPTY_CELL), so the colour scale starts at 1.
    top = np.nanmax(values) if values.size and np.isfinite(values).any() else 1.0
    return Normalize(vmin=1.0, vmax=max(2.0, float(top)))


def _cell_points(figure: Figure, axes: Axes, n_columns: int, n_rows: int) -> tuple[float, float]:
    """Width and height of one heatmap cell in points, after layout."""
    figure.draw_without_rendering()
    box = axes.get_window_extent()
    return box.width / figure.dpi * 72 / max(1, n_columns), box.height / figure.dpi * 72 / max(
        1, n_rows
    )


def _text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on this cell colour (relative luminance)."""
    red, green, blue = np.asarray(rgba[:3], dtype=float)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "black" if luminance > 0.45 else "white"


def _annotate(
    axes: Axes, values: np.ndarray, shown: np.ndarray, colours: np.ndarray, style: str = "normal"
) -> None:
    for (r, c), value in np.ndenumerate(values):
        if shown[r, c]:
            # inside its cell: left out of the layout, which would otherwise measure every number
            axes.text(
                c,
                r,
                f"{int(value)}",
                ha="center",
                va="center",
                fontsize=FONT_SIZE,
                fontstyle=style,
                color=_text_colour(colours[r, c]),
                in_layout=False,
            )


def _fits(cell_width: float, cell_height: float, values: np.ndarray) -> bool:
    digits = len(str(int(np.nanmax(values)))) if values.size and np.isfinite(values).any() else 1
    # a 7 pt digit of DejaVu Sans is ~4.5 pt wide
    return cell_width >= digits * 4.5 + 4 and cell_height >= FONT_SIZE + 2.5


def _grid(axes: Axes, mask: np.ndarray, colour: str = EMPTY_CELL) -> None:
    """Cells of one colour where ``mask`` is true (under the coloured counts: the zeros)."""
    base = np.ma.masked_array(np.zeros(mask.shape), mask=~mask)
    axes.pcolormesh(
        np.arange(mask.shape[1] + 1) - 0.5,
        np.arange(mask.shape[0] + 1) - 0.5,
        base,
        cmap=matplotlib.colors.ListedColormap([colour]),
        edgecolors=GRID_COLOUR,
        linewidth=0.8,
    )


def _heatmap(axes: Axes, values: np.ndarray, mask: np.ndarray, norm: Normalize) -> QuadMesh:
    """Coloured cells where ``mask`` and the value is above zero; returns the mesh (for a colour bar)."""
    coloured = np.ma.masked_array(values, mask=~mask | ~(values > 0))
    return axes.pcolormesh(
        np.arange(values.shape[1] + 1) - 0.5,
        np.arange(values.shape[0] + 1) - 0.5,
        coloured,
        cmap=COUNT_COLOURMAP,
        norm=norm,
        edgecolors=GRID_COLOUR,
        linewidth=0.8,
    )


def _colour_bar(figure: Figure, mesh: QuadMesh, axes: Axes, label: str) -> None:
    """A colour bar of whole counts beside the heatmap, at most ~2.2 in long."""
    bar = figure.colorbar(
        mesh,
        ax=axes,
        shrink=min(1.0, 2.2 / max(figure.get_figheight() - 1.2, 0.5)),
        aspect=18,
        pad=0.02,
    )
    bar.set_label(label)
    bar.locator = MaxNLocator(integer=True, nbins=5)
    bar.update_ticks()
    bar.outline.set_linewidth(0.5)


def _code_order(codes: pd.DataFrame, theme_order: Sequence[str]) -> pd.DataFrame:
    """Rows grouped by theme: themes in ``theme_order`` then by first appearance; codes in table order."""
    order = list(dict.fromkeys([*theme_order, *codes["theme_id"]]))
    rank = {theme: r for r, theme in enumerate(order)}
    return (
        codes.assign(_rank=codes["theme_id"].map(rank))
        .sort_values("_rank", kind="stable")
        .drop(columns="_rank")
    )


@styled
def code_by_participant(matrix: pd.DataFrame, themes: Mapping[str, str] | None = None) -> Figure:
    """Heatmap of coded segments, codes (grouped by theme) x participants, counts annotated when
    the cells are large enough. ``themes``: theme ID -> label, in the order to draw them."""
    title = "Coded segments by code and participant"
    participants = [
        column for column in matrix.columns if column not in ("theme_id", "code_id", "code_label")
    ]
    if matrix.empty or not participants:
        return message_figure(title, NO_CODED_SEGMENTS)
    themes = dict(themes or {})
    ordered = _code_order(matrix, list(themes))
    values = np.nan_to_num(np.column_stack([numbers(ordered[p]) for p in participants]))
    if values.sum() == 0:
        return message_figure(title, NO_CODED_SEGMENTS)
    # a blank header row above each theme's codes, carrying the theme's label
    rows: list[tuple[str, int | None]] = []
    previous = None
    for index, theme in enumerate(ordered["theme_id"]):
        if theme != previous:
            rows.append((theme, None))
            previous = theme
        rows.append((theme, index))
    code_labels = [
        wrap(label or code, 34) for label, code in zip(ordered["code_label"], ordered["code_id"])
    ]
    grid = np.zeros((len(rows), len(participants)))
    mask = np.zeros(grid.shape, dtype=bool)
    for r, (_, index) in enumerate(rows):
        if index is not None:
            grid[r] = values[index]
            mask[r] = True
    row = row_height(code_labels)
    headers = [themes.get(theme, theme) for theme, index in rows if index is None]
    width = _heatmap_width(code_labels, len(participants), headers)
    figure = new_figure(width, 1.05 + row * len(rows))
    axes = figure.add_subplot()
    norm = _count_norm(values)
    _grid(axes, mask)
    mesh = _heatmap(axes, grid, mask, norm)
    ticks = [r for r, (_, index) in enumerate(rows) if index is not None]
    axes.set_yticks(ticks, [code_labels[rows[r][1]] for r in ticks])
    for r, (theme, index) in enumerate(rows):
        if index is None:  # low in its row: it heads the codes below
            axes.text(
                -0.45,
                r + 0.15,
                themes.get(theme, theme),
                ha="left",
                va="center",
                fontweight="bold",
                fontsize=FONT_SIZE,
            )
    axes.set_xticks(np.arange(len(participants)), participants, rotation=90)
    axes.set_xlim(-0.5, len(participants) - 0.5)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_xlabel("Participant")
    axes.set_ylabel("Code")
    figure_title(figure, title)
    _colour_bar(figure, mesh, axes, "Coded segments\n(grey: none)")
    cell_width, cell_height = _cell_points(figure, axes, len(participants), len(rows))
    if _fits(cell_width, cell_height, values):
        colours = mesh.cmap(norm(grid))
        _annotate(axes, grid, mask & (grid > 0), colours)
    return figure


def _heatmap_width(labels: Sequence[str], n_columns: int, headers: Sequence[str] = ()) -> float:
    """Single column when labels, cells (>= 0.22 in; wide enough for the bold theme headers
    written across them) and colour bar fit in 3.5 in, else double."""
    cells = max(n_columns * 0.22, widest_label_inches(headers) * 1.1 if headers else 0.0)
    needed = widest_label_inches(labels) + 0.45 + cells + 0.8
    return SINGLE_COLUMN if needed <= SINGLE_COLUMN else DOUBLE_COLUMN


@styled
def cooccurrence(matrix: pd.DataFrame, labels: Mapping[str, str], what: str = "segments") -> Figure:
    """Lower-triangle heatmap of how often two codes occur together (in the same ``what``:
    segments or participants); the diagonal (outlined) is each code's own count."""
    title = f"Code co-occurrence ({what})"
    codes = list(matrix["code_id"]) if "code_id" in matrix.columns else []
    if not codes:
        return message_figure(title, NO_CODED_SEGMENTS)
    values = np.nan_to_num(np.column_stack([numbers(matrix[code]) for code in codes]))
    if values.sum() == 0:
        return message_figure(title, NO_CODED_SEGMENTS)
    n = len(codes)
    names = [wrap(labels.get(code, code), 22) for code in codes]
    lower = np.tril(np.ones((n, n), dtype=bool), k=-1)
    diagonal = np.eye(n, dtype=bool)
    row = row_height(names, minimum=0.2)
    label_inches = widest_label_inches(names)
    side = label_inches + 0.25 + 0.7  # tick labels, then colour bar and its label
    width = SINGLE_COLUMN if side + n * row <= SINGLE_COLUMN else DOUBLE_COLUMN
    cell = min(0.32, (width - side) / n)
    numbered = cell < row  # too many codes for names on both axes: number the columns
    if numbered:
        names = [
            f"{wrap(labels.get(code, code), 22)} ({i})" for i, code in enumerate(codes, start=1)
        ]
        label_inches = widest_label_inches(names)
        cell = (width - label_inches - 0.95) / n
    x_label_inches = 0.15 if numbered else label_inches
    figure = new_figure(width, 0.75 + n * max(cell, row if numbered else cell) + x_label_inches)
    axes = figure.add_subplot()
    off_diagonal = values[lower]
    norm = _count_norm(off_diagonal if off_diagonal.size else values)
    _grid(axes, lower)
    mesh = _heatmap(axes, values, lower, norm)
    for i in range(n):  # the code's own count: outlined, so it is not read as a pair
        axes.add_patch(
            Rectangle(
                (i - 0.44, i - 0.44),
                0.88,
                0.88,
                facecolor="white",
                edgecolor="#555555",
                linewidth=0.6,
            )
        )
    if not numbered:
        axes.set_aspect("equal")
    axes.set_xticks(
        np.arange(n),
        [str(i) for i in range(1, n + 1)] if numbered else names,
        rotation=0 if numbered else 90,
    )
    axes.set_yticks(np.arange(n), names)
    for text in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
        text.set_linespacing(1.0)
    axes.set_xlim(-0.5, n - 0.5)
    axes.set_ylim(n - 0.5, -0.5)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    figure_title(figure, title)
    what_singular = what[:-1] if what.endswith("s") else what
    axes.set_xlabel(f"Outlined diagonal: {what} with the code")
    _colour_bar(figure, mesh, axes, f"{what_singular.capitalize()}s with both codes\n(grey: none)")
    cell_width, cell_height = _cell_points(figure, axes, n, n)
    if _fits(cell_width, cell_height, values):
        _annotate(axes, values, lower & (values > 0), mesh.cmap(norm(values)))
        _annotate(axes, values, diagonal, np.ones(values.shape + (4,)), style="italic")
    return figure
