"""Figures of the theme tables and of the agreement report (the ``figures`` rule).

One function per figure: it takes a table as read from its TSV (strings; see :func:`read_table`)
and returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it as PNG (300 dpi)
and SVG. Figures are sized for a journal column (3.5 in single, 7.2 in double), grow in height
with the number of rows, use no font smaller than 7 pt and only colour-blind-safe colours
(Okabe-Ito for categories, cividis for counts). Everything is built with the object API inside
:func:`figure_style`, never with pyplot, so no global matplotlib state is read or changed.

Determinism: every rcParam is fixed while a figure is built and saved (matplotlib's defaults
plus :data:`STYLE`, so a user's matplotlibrc changes nothing), one font (DejaVu Sans, shipped
with matplotlib), a fixed SVG hash salt and no dates or software versions in the metadata: the
same tables give the same PNG and SVG bytes on one machine. SVG text stays text (editable, and
searchable in the HTML report); a viewer without DejaVu Sans falls back to a narrower sans-serif.

Empty tables (no coded segments yet) give a figure that says so instead of an error.
"""

from __future__ import annotations

import csv
import logging
import textwrap
import threading
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Callable, Iterator, Mapping, ParamSpec, Sequence, TypeVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

LOGGER = logging.getLogger("qualflow")

SINGLE_COLUMN = 3.5  # inches
DOUBLE_COLUMN = 7.2
DPI = 300
FONT_SIZE = 7  # points: the smallest size most journals accept
#: Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "blue": "#0072B2", "orange": "#E69F00", "bluish_green": "#009E73", "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7", "sky_blue": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
}
#: Category colours in order; yellow last, it is hard to see on white.
CATEGORY_COLOURS = tuple(OKABE_ITO[name] for name in (
    "blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "black", "yellow",
))
#: Light (few) to dark (many); cividis was designed to read the same with colour-vision deficiency.
COUNT_COLOURMAP = "cividis_r"
#: Cells with no count are light grey, separated by white lines (masked cells would still show
#: their edges, so the grid is drawn in the background colour).
EMPTY_CELL = "#EFEFEF"
GRID_COLOUR = "white"
NO_CODED_SEGMENTS = "No coded segments"
NO_AGREEMENT = "No codes compared"
#: rcParams for every figure, on top of matplotlib's defaults, set in a context: a fixed font,
#: SVG text as text (journals ask for editable text) and a fixed SVG hash salt (stable IDs).
STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 1,
    "axes.titleweight": "bold",
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "legend.title_fontsize": FONT_SIZE,
    "legend.frameon": False,
    "figure.titlesize": FONT_SIZE + 1,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "hatch.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(CATEGORY_COLOURS)),
    "image.cmap": COUNT_COLOURMAP,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "qualflow",
    "svg.image_inline": True,
    "path.simplify": True,
    "text.hinting": "default",
    "text.hinting_factor": 8,
    "text.antialiased": True,
}
#: matplotlib's own defaults, less the keys that pick a backend or GUI (not drawing settings).
_DEFAULTS = {
    key: value for key, value in matplotlib.rcParamsDefault.items()
    if key not in {"backend", "backend_fallback", "interactive", "toolbar"} and not key.startswith("webagg.")
}
#: PNG: no "Software" chunk (it names the matplotlib version). SVG: no date, no creator.
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
#: rcParams are process-wide and jobs may run as threads of one Snakemake process (see
#: scripts/jobs.py): figures are built and saved one at a time.
_STYLE_LOCK = threading.RLock()

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def figure_style() -> Iterator[None]:
    """The qualflow figure style (matplotlib's defaults and :data:`STYLE`), for the block only."""
    with _STYLE_LOCK, matplotlib.rc_context({**_DEFAULTS, **STYLE}):
        yield


def _styled(function: Callable[P, R]) -> Callable[P, R]:
    # Fonts and sizes are taken from rcParams when an artist is created, so the style must be in
    # force while the figure is built, not only while it is saved.
    @wraps(function)
    def styled(*args: P.args, **kwargs: P.kwargs) -> R:
        with figure_style():
            return function(*args, **kwargs)

    return styled


# ---------------------------------------------------------------------------------------------
# Reading tables and cells
# ---------------------------------------------------------------------------------------------


def read_table(path: str | Path) -> pd.DataFrame:
    """A TSV table of the themes or agreement stage, every cell as a string ('' when blank)."""
    return pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8",
    )


def numbers(cells: pd.Series | Sequence) -> np.ndarray:
    """Cells as floats; NaN for blank, suppressed ('<5') or otherwise non-numeric cells."""
    series = pd.Series(cells, dtype=object).astype(str).str.strip()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def suppression_threshold(cell: object) -> int | None:
    """k of a suppressed count ('<k'), None for a cell that is not suppressed."""
    text = str(cell).strip()
    if text.startswith("<") and text[1:].isdigit():
        return int(text[1:])
    return None


def wrap(label: str, width: int) -> str:
    """A label broken into lines of at most ``width`` characters (long words are kept whole)."""
    return textwrap.fill(str(label), width=width, break_long_words=False, break_on_hyphens=False) or str(label)


def _row_height(labels: Sequence[str], minimum: float = 0.18) -> float:
    """Inches per row so that the (wrapped) 7 pt labels of neighbouring rows never touch.

    Labels are centred on their rows, so two neighbours need half of each one's height.
    """
    lines = [label.count("\n") + 1 for label in labels] or [1]
    widest = max([(a + b) / 2 for a, b in zip(lines, lines[1:])] or lines)
    return max(minimum, 0.04 + widest * FONT_SIZE * 1.2 / 72)


def _height(inches: float) -> float:
    # Multiples of 1/4 in are exact in binary, so width x height x dpi is a whole number of
    # pixels and the PNG size is exactly figsize x 300.
    return float(np.ceil(inches * 4) / 4)


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, _height(height)), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.03, h_pad=0.03, wspace=0.02, hspace=0.02)
    return figure


def _text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on this cell colour (relative luminance)."""
    red, green, blue = (np.asarray(rgba[:3], dtype=float))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "black" if luminance > 0.45 else "white"


def _title(figure: Figure, title: str) -> None:
    # A figure title from the left edge: an axes title starts after the tick labels and long
    # ones would run off the right edge of a single column.
    figure.suptitle(title, x=0.01, ha="left", fontweight="bold")


def message_figure(title: str, message: str, width: float = SINGLE_COLUMN) -> Figure:
    """A figure with a title and one message, for tables with nothing to draw."""
    with figure_style():
        figure = _new_figure(width, 1.5)
        axes = figure.add_subplot()
        axes.set_axis_off()
        _title(figure, title)
        axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=FONT_SIZE + 2, color="#444444",
                  transform=axes.transAxes)
        return figure


# ---------------------------------------------------------------------------------------------
# Theme prevalence by group
# ---------------------------------------------------------------------------------------------


def hidden_mark(cell: object) -> str | None:
    """The mark of a suppressed cell ('<5', or 'x' for secondary suppression), None for a
    number or a blank."""
    text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell).strip()
    if not text or np.isfinite(numbers([text])[0]):
        return None
    return text


def _group_legend_label(group: str, size_cell: object) -> str:
    group = "All participants" if group == "all" else group
    size = "" if hidden_mark(size_cell) is None and pd.isna(size_cell) else str(size_cell).strip()
    if suppression_threshold(size) is not None:
        return f"{group} (n{size})"
    if hidden_mark(size) is not None:
        return f"{group} (n hidden)"
    return f"{group} (n={size})" if size else group


def _legend_columns(labels: Sequence[str], width: float) -> int:
    """2 columns when they fit in ``width`` inches (matplotlib fills a column, then the next), else 1."""
    half = int(np.ceil(len(labels) / 2))
    needed = _label_inches(labels[:half]) + _label_inches(labels[half:]) + 2 * 0.35 + 0.3
    return 2 if len(labels) > 1 and needed <= width else 1


#: How a suppressed cell is drawn: an outline in the group's colour, hatched by kind of mark.
PRIMARY_HATCH = "/////"
SECONDARY_HATCH = "xxxx"
#: Width (% of participants) of the stub drawn where nothing bounds the hidden share.
STUB = 3.0


@_styled
def prevalence_by_group(prevalence: pd.DataFrame, attribute: str) -> Figure:
    """Share of participants (%) with each theme, one bar per group of a participant attribute.

    Themes on the y axis in table order. Suppressed counts are hatched outlines annotated with
    their mark: '<k' spans the shares the hidden count allows (0 to (k-1)/n, when the group size
    n is shown); a secondary mark ('x', hidden only so that a '<k' cannot be worked out) is a
    short cross-hatched stub. The legend gives the group sizes and explains the marks.
    """
    title = "Theme prevalence" + ("" if attribute == "all" else f" by {attribute.replace('_', ' ')}")
    themes_only = prevalence[prevalence["level"] == "theme"]
    rows = themes_only[themes_only["attribute"] == attribute]
    if rows.empty and not themes_only.empty:
        return message_figure(title, f"No rows for participant attribute '{attribute}'")
    if rows.empty or _all_zero(rows["segments"]):
        return message_figure(title, NO_CODED_SEGMENTS)
    themes = list(dict.fromkeys(rows["theme_id"]))
    groups = list(dict.fromkeys(rows["group"]))
    theme_labels = {theme: wrap(label or theme, 22) for theme, label in zip(rows["theme_id"], rows["theme_label"])}
    labels = [theme_labels[theme] for theme in themes]
    bar = 0.14  # inches per bar: room for a 7 pt annotation
    row = max(_row_height(labels), bar * len(groups) + 0.1)
    figure = _new_figure(SINGLE_COLUMN, 0.75 + row * len(themes) + 0.14 * (len(groups) + 2))
    axes = figure.add_subplot()
    thickness = 0.8 / len(groups)
    thresholds: set[int] = set()
    secondary: set[str] = set()
    handles = []
    for g, group in enumerate(groups):
        colour = CATEGORY_COLOURS[g % len(CATEGORY_COLOURS)]
        cells = rows[rows["group"] == group].set_index("theme_id").reindex(themes)
        size = cells["group_participants"].dropna()
        handles.append(Patch(facecolor=colour, label=_group_legend_label(group, size.iloc[0] if len(size) else "")))
        # top to bottom: theme 0 at the top, group 0 the top bar of its theme
        positions = np.arange(len(themes)) + (g - (len(groups) - 1) / 2) * thickness
        shares = numbers(cells["participants_share"]) * 100
        sizes = numbers(cells["group_participants"])
        for y, share, count, group_size in zip(positions, shares, cells["participants"], sizes):
            if pd.isna(count):  # no row for this theme and group
                continue
            mark = hidden_mark(count)
            if mark is None:
                if np.isnan(share) and group_size > 0:
                    share = 100 * float(numbers([count])[0]) / group_size
                value = 0.0 if np.isnan(share) else float(share)
                axes.barh(y, value, height=thickness * 0.92, color=colour, edgecolor=colour, linewidth=0.4)
                axes.text(value + 1, y, str(count).strip(), va="center", ha="left", fontsize=FONT_SIZE)
                continue
            k = suppression_threshold(mark)
            if k is not None:
                thresholds.add(k)
                # the share lies somewhere in [0, (k-1)/n]: the outline spans that range; when the
                # group's size is hidden too, nothing bounds it and a stub marks the cell
                known = np.isfinite(group_size) and group_size > 0
                upper = min(100 * (k - 1) / group_size, 100.0) if known else STUB
                hatch = PRIMARY_HATCH
            else:
                secondary.add(mark)
                upper, hatch = STUB, SECONDARY_HATCH
            axes.barh(y, upper, height=thickness * 0.92, facecolor="white", edgecolor=colour, hatch=hatch,
                      linewidth=0.6)
            axes.text(upper + 1, y, mark, va="center", ha="left", fontsize=FONT_SIZE)
    for k in sorted(thresholds):
        handles.append(Patch(facecolor="white", edgecolor="#444444", hatch=PRIMARY_HATCH, linewidth=0.6,
                             label=f"<{k}: 1\u2013{k - 1} participants, or a group under {k}"))
    for mark in sorted(secondary):
        handles.append(Patch(facecolor="white", edgecolor="#444444", hatch=SECONDARY_HATCH, linewidth=0.6,
                             label=f"{mark}: hidden so that no <{max(thresholds, default='k')} can be worked out"))
    axes.set_yticks(np.arange(len(themes)), labels)
    axes.set_ylim(len(themes) - 0.5, -0.5)
    axes.set_xlim(0, 100)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.set_xlabel("Participants with the theme (%)")
    axes.set_ylabel("Theme")
    axes.tick_params(axis="y", length=0)
    for text in axes.get_yticklabels():
        text.set_linespacing(1.0)
    _title(figure, title)
    # the count labels of full bars go past 100 %: keep them in the layout, not clipped
    for text in axes.texts:
        text.set_clip_on(False)
    names = [handle.get_label() for handle in handles]
    figure.legend(handles=handles, loc="outside lower center", ncols=_legend_columns(names, SINGLE_COLUMN - 0.1),
                  handlelength=1.4, columnspacing=1.0, handletextpad=0.5)
    return figure


def _all_zero(cells: pd.Series) -> bool:
    """True when every count is a literal 0 (suppressed cells are not known to be zero)."""
    if any(hidden_mark(cell) is not None for cell in cells):
        return False
    return bool(np.nan_to_num(numbers(cells)).sum() == 0)


# ---------------------------------------------------------------------------------------------
# Heatmaps
# ---------------------------------------------------------------------------------------------


def _count_norm(values: np.ndarray) -> Normalize:
    # Zero cells are drawn grey (EMPTY_CELL), so the colour scale starts at 1.
    top = np.nanmax(values) if values.size and np.isfinite(values).any() else 1.0
    return Normalize(vmin=1.0, vmax=max(2.0, float(top)))


def _cell_points(figure: Figure, axes: Axes, n_columns: int, n_rows: int) -> tuple[float, float]:
    """Width and height of one heatmap cell in points, after layout."""
    figure.draw_without_rendering()
    box = axes.get_window_extent()
    return box.width / figure.dpi * 72 / max(1, n_columns), box.height / figure.dpi * 72 / max(1, n_rows)


def _annotate(axes: Axes, values: np.ndarray, shown: np.ndarray, colours: np.ndarray, style: str = "normal") -> None:
    for (r, c), value in np.ndenumerate(values):
        if shown[r, c]:
            # inside its cell: left out of the layout, which would otherwise measure every number
            axes.text(c, r, f"{int(value)}", ha="center", va="center", fontsize=FONT_SIZE, fontstyle=style,
                      color=_text_colour(colours[r, c]), in_layout=False)


def _fits(cell_width: float, cell_height: float, values: np.ndarray) -> bool:
    digits = len(str(int(np.nanmax(values)))) if values.size and np.isfinite(values).any() else 1
    # a 7 pt digit of DejaVu Sans is ~4.5 pt wide
    return cell_width >= digits * 4.5 + 4 and cell_height >= FONT_SIZE + 2.5


def _grid(axes: Axes, mask: np.ndarray, colour: str = EMPTY_CELL) -> None:
    """Cells of one colour where ``mask`` is true (under the coloured counts: the zeros)."""
    base = np.ma.masked_array(np.zeros(mask.shape), mask=~mask)
    axes.pcolormesh(
        np.arange(mask.shape[1] + 1) - 0.5, np.arange(mask.shape[0] + 1) - 0.5, base,
        cmap=matplotlib.colors.ListedColormap([colour]), edgecolors=GRID_COLOUR, linewidth=0.8,
    )


def _heatmap(axes: Axes, values: np.ndarray, mask: np.ndarray, norm: Normalize) -> QuadMesh:
    """Coloured cells where ``mask`` and the value is above zero; returns the mesh (for a colour bar)."""
    coloured = np.ma.masked_array(values, mask=~mask | ~(values > 0))
    return axes.pcolormesh(
        np.arange(values.shape[1] + 1) - 0.5, np.arange(values.shape[0] + 1) - 0.5, coloured,
        cmap=COUNT_COLOURMAP, norm=norm, edgecolors=GRID_COLOUR, linewidth=0.8,
    )


def _colour_bar(figure: Figure, mesh: QuadMesh, axes: Axes, label: str) -> None:
    """A colour bar of whole counts beside the heatmap, at most ~2.2 in long."""
    bar = figure.colorbar(mesh, ax=axes, shrink=min(1.0, 2.2 / max(figure.get_figheight() - 1.2, 0.5)),
                          aspect=18, pad=0.02)
    bar.set_label(label)
    bar.locator = MaxNLocator(integer=True, nbins=5)
    bar.update_ticks()
    bar.outline.set_linewidth(0.5)


def _code_order(codes: pd.DataFrame, theme_order: Sequence[str]) -> pd.DataFrame:
    """Rows grouped by theme: themes in ``theme_order`` then by first appearance; codes in table order."""
    order = list(dict.fromkeys([*theme_order, *codes["theme_id"]]))
    rank = {theme: r for r, theme in enumerate(order)}
    return codes.assign(_rank=codes["theme_id"].map(rank)).sort_values("_rank", kind="stable").drop(columns="_rank")


@_styled
def code_by_participant(matrix: pd.DataFrame, themes: Mapping[str, str] | None = None) -> Figure:
    """Heatmap of coded segments, codes (grouped by theme) x participants, counts annotated when
    the cells are large enough. ``themes``: theme ID -> label, in the order to draw them."""
    title = "Coded segments by code and participant"
    participants = [column for column in matrix.columns if column not in ("theme_id", "code_id", "code_label")]
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
    code_labels = [wrap(label or code, 34) for label, code in zip(ordered["code_label"], ordered["code_id"])]
    grid = np.zeros((len(rows), len(participants)))
    mask = np.zeros(grid.shape, dtype=bool)
    for r, (_, index) in enumerate(rows):
        if index is not None:
            grid[r] = values[index]
            mask[r] = True
    row = _row_height(code_labels)
    headers = [themes.get(theme, theme) for theme, index in rows if index is None]
    width = _heatmap_width(code_labels, len(participants), headers)
    figure = _new_figure(width, 1.05 + row * len(rows))
    axes = figure.add_subplot()
    norm = _count_norm(values)
    _grid(axes, mask)
    mesh = _heatmap(axes, grid, mask, norm)
    ticks = [r for r, (_, index) in enumerate(rows) if index is not None]
    axes.set_yticks(ticks, [code_labels[rows[r][1]] for r in ticks])
    for r, (theme, index) in enumerate(rows):
        if index is None:  # low in its row: it heads the codes below
            axes.text(-0.45, r + 0.15, themes.get(theme, theme), ha="left", va="center", fontweight="bold",
                      fontsize=FONT_SIZE)
    axes.set_xticks(np.arange(len(participants)), participants, rotation=90)
    axes.set_xlim(-0.5, len(participants) - 0.5)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_xlabel("Participant")
    axes.set_ylabel("Code")
    _title(figure, title)
    _colour_bar(figure, mesh, axes, "Coded segments\n(grey: none)")
    cell_width, cell_height = _cell_points(figure, axes, len(participants), len(rows))
    if _fits(cell_width, cell_height, values):
        colours = mesh.cmap(norm(grid))
        _annotate(axes, grid, mask & (grid > 0), colours)
    return figure


def _label_inches(labels: Sequence[str]) -> float:
    """Rough width of the longest line of these labels at 7 pt (DejaVu Sans: ~0.55 em a character)."""
    return max((len(line) for label in labels for line in label.split("\n")), default=4) * FONT_SIZE * 0.55 / 72


def _heatmap_width(labels: Sequence[str], n_columns: int, headers: Sequence[str] = ()) -> float:
    """Single column when labels, cells (>= 0.22 in; wide enough for the bold theme headers
    written across them) and colour bar fit in 3.5 in, else double."""
    cells = max(n_columns * 0.22, _label_inches(headers) * 1.1 if headers else 0.0)
    needed = _label_inches(labels) + 0.45 + cells + 0.8
    return SINGLE_COLUMN if needed <= SINGLE_COLUMN else DOUBLE_COLUMN


@_styled
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
    row = _row_height(names, minimum=0.2)
    label_inches = _label_inches(names)
    side = label_inches + 0.25 + 0.7  # tick labels, then colour bar and its label
    width = SINGLE_COLUMN if side + n * row <= SINGLE_COLUMN else DOUBLE_COLUMN
    cell = min(0.32, (width - side) / n)
    numbered = cell < row  # too many codes for names on both axes: number the columns
    if numbered:
        names = [f"{wrap(labels.get(code, code), 22)} ({i})" for i, code in enumerate(codes, start=1)]
        label_inches = _label_inches(names)
        cell = (width - label_inches - 0.95) / n
    x_label_inches = 0.15 if numbered else label_inches
    figure = _new_figure(width, 0.75 + n * max(cell, row if numbered else cell) + x_label_inches)
    axes = figure.add_subplot()
    off_diagonal = values[lower]
    norm = _count_norm(off_diagonal if off_diagonal.size else values)
    _grid(axes, lower)
    mesh = _heatmap(axes, values, lower, norm)
    for i in range(n):  # the code's own count: outlined, so it is not read as a pair
        axes.add_patch(Rectangle((i - 0.44, i - 0.44), 0.88, 0.88, facecolor="white", edgecolor="#555555",
                                 linewidth=0.6))
    if not numbered:
        axes.set_aspect("equal")
    axes.set_xticks(np.arange(n), [str(i) for i in range(1, n + 1)] if numbered else names,
                    rotation=0 if numbered else 90)
    axes.set_yticks(np.arange(n), names)
    for text in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
        text.set_linespacing(1.0)
    axes.set_xlim(-0.5, n - 0.5)
    axes.set_ylim(n - 0.5, -0.5)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    _title(figure, title)
    what_singular = what[:-1] if what.endswith("s") else what
    axes.set_xlabel(f"Outlined diagonal: {what} with the code")
    _colour_bar(figure, mesh, axes, f"{what_singular.capitalize()}s with both codes\n(grey: none)")
    cell_width, cell_height = _cell_points(figure, axes, n, n)
    if _fits(cell_width, cell_height, values):
        _annotate(axes, values, lower & (values > 0), mesh.cmap(norm(values)))
        _annotate(axes, values, diagonal, np.ones(values.shape + (4,)), style="italic")
    return figure


# ---------------------------------------------------------------------------------------------
# Agreement per code
# ---------------------------------------------------------------------------------------------


def agreement_status(alpha: float, minimum: float, firm: float) -> str:
    """'firm' (alpha >= firm), 'tentative' (minimum <= alpha < firm), 'low' or 'undefined'."""
    if not np.isfinite(alpha):
        return "undefined"
    if alpha >= firm:
        return "firm"
    return "tentative" if alpha >= minimum else "low"


#: Krippendorff (Content Analysis, 2004): rely on data with alpha >= 0.8; alpha >= 0.667 allows tentative
#: conclusions only.
MINIMUM_ALPHA = 0.667
FIRM_ALPHA = 0.8
#: Colour and marker per status: shape repeats the colour's message for greyscale print.
STATUS_STYLE = {
    "firm": (OKABE_ITO["bluish_green"], "o"),
    "tentative": (OKABE_ITO["orange"], "s"),
    "low": (OKABE_ITO["vermillion"], "v"),
}


@_styled
def agreement_by_code(by_code: pd.DataFrame, minimum: float = MINIMUM_ALPHA, firm: float = FIRM_ALPHA) -> Figure:
    """Krippendorff's alpha per code with its bootstrap confidence interval, best code first;
    reference lines at ``minimum`` and ``firm``; codes with undefined alpha marked as such."""
    title = "Inter-coder agreement per code"
    if by_code.empty:
        return message_figure(title, NO_AGREEMENT)
    alpha = numbers(by_code["krippendorff_alpha"])
    low = numbers(by_code["krippendorff_alpha_low"]) if "krippendorff_alpha_low" in by_code else np.full(alpha.shape, np.nan)
    high = numbers(by_code["krippendorff_alpha_high"]) if "krippendorff_alpha_high" in by_code else np.full(alpha.shape, np.nan)
    labels = [
        wrap(label or code, 30)
        for label, code in zip(by_code.get("code_label", by_code["code_id"]), by_code["code_id"])
    ]
    # best first, undefined last; ties by code ID so the order never depends on the input order
    order = sorted(range(len(alpha)), key=lambda i: (not np.isfinite(alpha[i]), -np.nan_to_num(alpha[i]), by_code["code_id"].iloc[i]))
    firm = max(firm, minimum)
    row = _row_height([labels[i] for i in order])
    figure = _new_figure(SINGLE_COLUMN, 1.3 + row * len(order))
    axes = figure.add_subplot()
    lows = [v for v in [*low, *alpha] if np.isfinite(v)]
    left = min(0.0, np.floor(min(lows, default=0.0) * 10) / 10)
    used = set()
    for y, i in enumerate(order):
        status = agreement_status(alpha[i], minimum, firm)
        used.add(status)
        if status == "undefined":
            axes.text(left + 0.02, y, "\u03b1 undefined (no variation)", va="center", ha="left", fontstyle="italic",
                      color="#444444", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            continue
        colour, marker = STATUS_STYLE[status]
        if np.isfinite(low[i]) and np.isfinite(high[i]):
            axes.plot([low[i], high[i]], [y, y], color=colour, linewidth=1.2, solid_capstyle="butt")
        axes.plot([alpha[i]], [y], marker=marker, color=colour, markersize=4, linestyle="none",
                  markeredgecolor="white", markeredgewidth=0.4)
    axes.axvline(minimum, color="#555555", linestyle="--", linewidth=0.7, zorder=0)
    if firm > minimum:
        axes.axvline(firm, color="#555555", linestyle=":", linewidth=0.9, zorder=0)
    axes.set_yticks(np.arange(len(order)), [labels[i] for i in order])
    for text in axes.get_yticklabels():
        text.set_linespacing(1.0)
    axes.set_ylim(len(order) - 0.5, -0.5)
    axes.set_xlim(left, 1.02)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axes.tick_params(axis="y", length=0)
    axes.grid(axis="y", color="#EEEEEE", linewidth=0.5, zorder=0)
    axes.set_axisbelow(True)
    axes.set_xlabel("Krippendorff's \u03b1")
    axes.set_ylabel("Code")
    _title(figure, title)
    names = {
        "firm": f"\u03b1 \u2265 {firm:g}", "tentative": f"{minimum:g} \u2264 \u03b1 < {firm:g}",
        "low": f"\u03b1 < {minimum:g}",
    }
    handles = [
        Line2D([], [], color=STATUS_STYLE[s][0], marker=STATUS_STYLE[s][1], markersize=4, linewidth=1.2, label=names[s])
        for s in ("firm", "tentative", "low") if s in used
    ]
    handles.append(Line2D([], [], color="#777777", linewidth=1.2, label="bootstrap confidence interval"))
    handles.append(Line2D([], [], color="#555555", linestyle="--", linewidth=0.7, label=f"minimum {minimum:g}"))
    if firm > minimum:
        handles.append(Line2D([], [], color="#555555", linestyle=":", linewidth=0.9, label=f"firm {firm:g}"))
    figure.legend(handles=handles, loc="outside lower center", ncols=2, handlelength=1.8, columnspacing=1.0)
    return figure


# ---------------------------------------------------------------------------------------------
# Saturation
# ---------------------------------------------------------------------------------------------


def trailing_without_new_codes(new_codes: Sequence[float]) -> int:
    """How many of the last interviews added no new code."""
    count = 0
    for value in reversed(list(new_codes)):
        if value != 0:
            break
        count += 1
    return count


@_styled
def saturation(table: pd.DataFrame, total_codes: int | None = None) -> Figure:
    """New codes per added interview (bars, in interview order) and the cumulative number of
    codes (line); ``total_codes`` (the codebook's size) is drawn as a reference line."""
    title = "Saturation: new codes per interview"
    if table.empty:
        return message_figure(title, NO_CODED_SEGMENTS)
    ordered = table.assign(_order=numbers(table["order"])).sort_values("_order", kind="stable")
    new = np.nan_to_num(numbers(ordered["new_codes"]))
    cumulative = np.nan_to_num(numbers(ordered["cumulative_codes"]))
    if cumulative.max(initial=0) == 0:
        return message_figure(title, NO_CODED_SEGMENTS)
    ticks = [
        transcript if not participant or participant == transcript else f"{transcript} ({participant})"
        for transcript, participant in zip(ordered["transcript_id"], ordered.get("participant_id", ordered["transcript_id"]))
    ]
    n = len(ticks)
    width = SINGLE_COLUMN if n <= 20 else DOUBLE_COLUMN
    label_inches = _label_inches(ticks)
    figure = _new_figure(width, 2.4 + label_inches)
    axes = figure.add_subplot()
    x = np.arange(n)
    axes.bar(x, new, width=0.7, color=OKABE_ITO["sky_blue"], edgecolor=OKABE_ITO["blue"], linewidth=0.5,
             label="New codes", zorder=2)
    axes.plot(x, cumulative, color=OKABE_ITO["vermillion"], marker="o", markersize=3, linewidth=1.2,
              label="Cumulative codes", zorder=3)
    top = max(cumulative.max(), total_codes or 0)
    if total_codes:
        axes.axhline(total_codes, color="#555555", linestyle=":", linewidth=0.9, zorder=1,
                     label=f"Codebook ({total_codes} codes)")
    # a rotated 7 pt label needs ~0.13 in: beyond ~22 (single) or ~50 (double column) labels,
    # label every k-th interview
    step = max(1, int(np.ceil(n / (22 if width == SINGLE_COLUMN else 50))))
    axes.set_xticks(x[::step], ticks[::step], rotation=90)
    axes.set_xlim(-0.6, n - 0.4)
    axes.set_ylim(0, top * 1.08 + 0.5)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    axes.set_xlabel("Interview (in order added)")
    axes.set_ylabel("Codes")
    _title(figure, title)
    quiet = trailing_without_new_codes(new)
    # the run of interviews without new codes is what a reader looks for: it heads the legend
    note = f"No new codes in the last {quiet} interview{'s' if quiet > 1 else ''}" if quiet and quiet < n else None
    legend = figure.legend(loc="outside lower center", ncols=3, handlelength=1.6, columnspacing=1.0, title=note)
    legend.get_title().set_fontstyle("italic")
    return figure


# ---------------------------------------------------------------------------------------------
# Saving and the rule
# ---------------------------------------------------------------------------------------------


def save_figure(figure: Figure, stem: Path) -> list[Path]:
    """Write ``{stem}.png`` (300 dpi) and ``{stem}.svg``, byte-identical for the same figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    with figure_style():
        figure.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)
        figure.savefig(svg, format="svg", metadata=SVG_METADATA)
    return [png, svg]


#: Keys of the ``tables`` given to :func:`figures_job`.
TABLE_KEYS = ("prevalence", "code_by_participant", "cooccurrence_segments", "cooccurrence_participants",
              "saturation", "agreement")


def figure_stems(attributes: Sequence[str], agreement: bool, participants_cooccurrence: bool = False) -> list[str]:
    """Names (without .png/.svg) of the figures :func:`figures_job` writes, in writing order."""
    stems = [f"prevalence_by_{attribute}" for attribute in attributes]
    stems += ["code_by_participant", "cooccurrence_segments"]
    if participants_cooccurrence:
        stems.append("cooccurrence_participants")
    stems.append("saturation")
    if agreement:
        stems.append("agreement_by_code")
    return stems


def figures_job(
    tables: Mapping[str, str | None], codebook_path: str, attributes: list[str], output_folder: str, log: str,
    minimum_alpha: float | None,
) -> None:
    """The ``figures`` rule: every figure of the given tables, as PNG and SVG in ``output_folder``.

    ``tables``: path per key of :data:`TABLE_KEYS`; a missing or None table gives no figure (so
    ``agreement: None`` means no agreement figure).
    """
    from scripts.codebook import load_codebook
    from scripts.jobs import job_log

    unknown = sorted(set(tables) - set(TABLE_KEYS))
    if unknown:
        raise ValueError(f"unknown figure tables {unknown}; expected some of {TABLE_KEYS}")
    folder = Path(output_folder)
    with job_log(log) as logger:
        codebook = load_codebook(codebook_path)
        theme_labels = {theme.id: theme.label for theme in codebook.themes}
        code_labels = {code.id: code.label for code in codebook.codes}
        read = {key: read_table(path) for key, path in tables.items() if path}
        planned: list[tuple[str, Callable[[], Figure]]] = []
        if "prevalence" in read:
            prevalence = read["prevalence"]
            for attribute in attributes:
                if not prevalence.empty and attribute not in set(prevalence["attribute"]):
                    logger.warning(
                        "%s: no rows for participant attribute '%s', so its figure only says so. Check the "
                        "attribute names in config.yaml against the columns of participants.csv",
                        tables["prevalence"], attribute,
                    )
                planned.append((f"prevalence_by_{attribute}", lambda a=attribute: prevalence_by_group(prevalence, a)))
        if "code_by_participant" in read:
            planned.append(("code_by_participant", lambda: code_by_participant(read["code_by_participant"], theme_labels)))
        for what in ("segments", "participants"):
            if f"cooccurrence_{what}" in read:
                planned.append((f"cooccurrence_{what}",
                                lambda w=what: cooccurrence(read[f"cooccurrence_{w}"], code_labels, w)))
        if "saturation" in read:
            planned.append(("saturation", lambda: saturation(read["saturation"], len(codebook.codes))))
        if "agreement" in read:
            minimum = MINIMUM_ALPHA if minimum_alpha is None else float(minimum_alpha)
            planned.append(("agreement_by_code", lambda: agreement_by_code(read["agreement"], minimum=minimum)))
        for stem, build in planned:
            figure = build()
            written = save_figure(figure, folder / stem)
            width, height = figure.get_size_inches()
            logger.info("%s (%.2f x %.2f in)", ", ".join(str(path) for path in written), width, height)
        logger.info("%d figures written to %s", len(planned), folder)
