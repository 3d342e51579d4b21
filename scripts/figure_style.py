"""The style every qualflow figure is drawn in, what the figures share to read their tables and
lay themselves out, and how a figure is saved.

Figures are sized for a journal column (3.5 in single, 7.2 in double), grow in height with the
number of rows, use no font smaller than 7 pt and only colour-blind-safe colours (Okabe-Ito for
categories, cividis for counts). Everything is built with the object API inside
:func:`figure_style`, never with pyplot, so no global matplotlib state is read or changed.

Determinism: every rcParam is fixed while a figure is built and saved (matplotlib's defaults
plus :data:`STYLE`, so a user's matplotlibrc changes nothing), one font (DejaVu Sans, shipped
with matplotlib), a fixed SVG hash salt and no dates or software versions in the metadata: the
same tables give the same PNG and SVG bytes on one machine. SVG text stays text (editable, and
searchable in the HTML report); a viewer without DejaVu Sans falls back to a narrower sans-serif.
"""

from __future__ import annotations

import csv
import textwrap
import threading
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Callable, Iterator, ParamSpec, Sequence, TypeVar

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SINGLE_COLUMN = 3.5  # inches
DOUBLE_COLUMN = 7.2
DPI = 300
FONT_SIZE = 7  # points: the smallest size most journals accept
#: Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
#: Category colours in order; yellow last, it is hard to see on white.
CATEGORY_COLOURS = tuple(
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "reddish_purple",
        "sky_blue",
        "black",
        "yellow",
    )
)
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
    key: value
    for key, value in matplotlib.rcParamsDefault.items()
    if key not in {"backend", "backend_fallback", "interactive", "toolbar"}
    and not key.startswith("webagg.")
}
#: PNG: no "Software" chunk (it names the matplotlib version). SVG: no date, no creator.
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
#: rcParams are process-wide and jobs may run as threads of one Snakemake process (see
#: scripts/workers.py): figures are built and saved one at a time.
_STYLE_LOCK = threading.RLock()

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def figure_style() -> Iterator[None]:
    """The qualflow figure style (matplotlib's defaults and :data:`STYLE`), for the block only."""
    with _STYLE_LOCK, matplotlib.rc_context({**_DEFAULTS, **STYLE}):
        yield


def styled(function: Callable[P, R]) -> Callable[P, R]:
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
        path,
        sep="\t",
        dtype=str,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
        encoding="utf-8",
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
    return textwrap.fill(
        str(label), width=width, break_long_words=False, break_on_hyphens=False
    ) or str(label)


def row_height(labels: Sequence[str], minimum: float = 0.18) -> float:
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


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, _height(height)), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.03, h_pad=0.03, wspace=0.02, hspace=0.02)
    return figure


def figure_title(figure: Figure, title: str) -> None:
    # A figure title from the left edge: an axes title starts after the tick labels and long
    # ones would run off the right edge of a single column.
    figure.suptitle(title, x=0.01, ha="left", fontweight="bold")


def message_figure(title: str, message: str, width: float = SINGLE_COLUMN) -> Figure:
    """A figure with a title and one message, for tables with nothing to draw."""
    with figure_style():
        figure = new_figure(width, 1.5)
        axes = figure.add_subplot()
        axes.set_axis_off()
        figure_title(figure, title)
        axes.text(
            0.5,
            0.5,
            message,
            ha="center",
            va="center",
            fontsize=FONT_SIZE + 2,
            color="#444444",
            transform=axes.transAxes,
        )
        return figure


def widest_label_inches(labels: Sequence[str]) -> float:
    """Rough width of the longest line of these labels at 7 pt (DejaVu Sans: ~0.55 em a character)."""
    return (
        max((len(line) for label in labels for line in label.split("\n")), default=4)
        * FONT_SIZE
        * 0.55
        / 72
    )


def save_figure(figure: Figure, stem: Path) -> list[Path]:
    """Write ``{stem}.png`` (300 dpi) and ``{stem}.svg``, byte-identical for the same figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    with figure_style():
        figure.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)
        figure.savefig(svg, format="svg", metadata=SVG_METADATA)
    return [png, svg]
