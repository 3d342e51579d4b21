"""Figures of the theme tables and of the agreement report (rule ``theme_figures``).

One function per figure: it takes a table as read from its TSV (strings; see
:func:`scripts.figure_style.read_table`) and returns a :class:`matplotlib.figure.Figure`;
:func:`scripts.figure_style.save_figure` writes it as PNG (300 dpi) and SVG, in the style and with
the determinism scripts/figure_style.py describes. The heatmaps (codes by participant,
co-occurrence) are in scripts/figure_heatmaps.py; here are prevalence by group, agreement per
code and saturation, and the rule's job.

Empty tables (no coded segments yet) give a figure that says so instead of an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from scripts.codebook import load_codebook
from scripts.figure_heatmaps import code_by_participant, cooccurrence
from scripts.figure_style import (
    CATEGORY_COLOURS,
    DOUBLE_COLUMN,
    FONT_SIZE,
    NO_AGREEMENT,
    NO_CODED_SEGMENTS,
    OKABE_ITO,
    SINGLE_COLUMN,
    figure_title,
    message_figure,
    new_figure,
    numbers,
    read_table,
    row_height,
    save_figure,
    styled,
    suppression_threshold,
    widest_label_inches,
    wrap,
)
from scripts.rule_jobs import job_log, rule_job

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
    needed = (
        widest_label_inches(labels[:half]) + widest_label_inches(labels[half:]) + 2 * 0.35 + 0.3
    )
    return 2 if len(labels) > 1 and needed <= width else 1


#: How a suppressed cell is drawn: an outline in the group's colour, hatched by kind of mark.
PRIMARY_HATCH = "/////"
SECONDARY_HATCH = "xxxx"
#: Width (% of participants) of the stub drawn where nothing bounds the hidden share.
STUB = 3.0


@styled
def prevalence_by_group(prevalence: pd.DataFrame, attribute: str) -> Figure:
    """Share of participants (%) with each theme, one bar per group of a participant attribute.

    Themes on the y axis in table order. Suppressed counts are hatched outlines annotated with
    their mark: '<k' spans the shares the hidden count allows (0 to (k-1)/n, when the group size
    n is shown); a secondary mark ('x', hidden only so that a '<k' cannot be worked out) is a
    short cross-hatched stub. The legend gives the group sizes and explains the marks.
    """
    title = "Theme prevalence" + (
        "" if attribute == "all" else f" by {attribute.replace('_', ' ')}"
    )
    themes_only = prevalence[prevalence["level"] == "theme"]
    rows = themes_only[themes_only["attribute"] == attribute]
    if rows.empty and not themes_only.empty:
        return message_figure(title, f"No rows for participant attribute '{attribute}'")
    if rows.empty or _all_zero(rows["segments"]):
        return message_figure(title, NO_CODED_SEGMENTS)
    themes = list(dict.fromkeys(rows["theme_id"]))
    groups = list(dict.fromkeys(rows["group"]))
    theme_labels = {
        theme: wrap(label or theme, 22)
        for theme, label in zip(rows["theme_id"], rows["theme_label"])
    }
    labels = [theme_labels[theme] for theme in themes]
    bar = 0.14  # inches per bar: room for a 7 pt annotation
    row = max(row_height(labels), bar * len(groups) + 0.1)
    figure = new_figure(SINGLE_COLUMN, 0.75 + row * len(themes) + 0.14 * (len(groups) + 2))
    axes = figure.add_subplot()
    thickness = 0.8 / len(groups)
    thresholds: set[int] = set()
    secondary: set[str] = set()
    handles = []
    for g, group in enumerate(groups):
        colour = CATEGORY_COLOURS[g % len(CATEGORY_COLOURS)]
        cells = rows[rows["group"] == group].set_index("theme_id").reindex(themes)
        size = cells["group_participants"].dropna()
        handles.append(
            Patch(
                facecolor=colour,
                label=_group_legend_label(group, size.iloc[0] if len(size) else ""),
            )
        )
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
                axes.barh(
                    y, value, height=thickness * 0.92, color=colour, edgecolor=colour, linewidth=0.4
                )
                axes.text(
                    value + 1, y, str(count).strip(), va="center", ha="left", fontsize=FONT_SIZE
                )
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
            axes.barh(
                y,
                upper,
                height=thickness * 0.92,
                facecolor="white",
                edgecolor=colour,
                hatch=hatch,
                linewidth=0.6,
            )
            axes.text(upper + 1, y, mark, va="center", ha="left", fontsize=FONT_SIZE)
    for k in sorted(thresholds):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#444444",
                hatch=PRIMARY_HATCH,
                linewidth=0.6,
                label=f"<{k}: 1\u2013{k - 1} participants, or a group under {k}",
            )
        )
    for mark in sorted(secondary):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#444444",
                hatch=SECONDARY_HATCH,
                linewidth=0.6,
                label=f"{mark}: hidden so that no <{max(thresholds, default='k')} can be worked out",
            )
        )
    axes.set_yticks(np.arange(len(themes)), labels)
    axes.set_ylim(len(themes) - 0.5, -0.5)
    axes.set_xlim(0, 100)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.set_xlabel("Participants with the theme (%)")
    axes.set_ylabel("Theme")
    axes.tick_params(axis="y", length=0)
    for text in axes.get_yticklabels():
        text.set_linespacing(1.0)
    figure_title(figure, title)
    # the count labels of full bars go past 100 %: keep them in the layout, not clipped
    for text in axes.texts:
        text.set_clip_on(False)
    names = [handle.get_label() for handle in handles]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=_legend_columns(names, SINGLE_COLUMN - 0.1),
        handlelength=1.4,
        columnspacing=1.0,
        handletextpad=0.5,
    )
    return figure


def _all_zero(cells: pd.Series) -> bool:
    """True when every count is a literal 0 (suppressed cells are not known to be zero)."""
    if any(hidden_mark(cell) is not None for cell in cells):
        return False
    return bool(np.nan_to_num(numbers(cells)).sum() == 0)


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


@styled
def agreement_by_code(
    by_code: pd.DataFrame, minimum: float = MINIMUM_ALPHA, firm: float = FIRM_ALPHA
) -> Figure:
    """Krippendorff's alpha per code with its bootstrap confidence interval, best code first;
    reference lines at ``minimum`` and ``firm``; codes with undefined alpha marked as such."""
    title = "Inter-coder agreement per code"
    if by_code.empty:
        return message_figure(title, NO_AGREEMENT)
    alpha = numbers(by_code["krippendorff_alpha"])
    low = (
        numbers(by_code["krippendorff_alpha_low"])
        if "krippendorff_alpha_low" in by_code
        else np.full(alpha.shape, np.nan)
    )
    high = (
        numbers(by_code["krippendorff_alpha_high"])
        if "krippendorff_alpha_high" in by_code
        else np.full(alpha.shape, np.nan)
    )
    labels = [
        wrap(label or code, 30)
        for label, code in zip(by_code.get("code_label", by_code["code_id"]), by_code["code_id"])
    ]
    # best first, undefined last; ties by code ID so the order never depends on the input order
    order = sorted(
        range(len(alpha)),
        key=lambda i: (
            not np.isfinite(alpha[i]),
            -np.nan_to_num(alpha[i]),
            by_code["code_id"].iloc[i],
        ),
    )
    firm = max(firm, minimum)
    row = row_height([labels[i] for i in order])
    figure = new_figure(SINGLE_COLUMN, 1.3 + row * len(order))
    axes = figure.add_subplot()
    lows = [v for v in [*low, *alpha] if np.isfinite(v)]
    left = min(0.0, np.floor(min(lows, default=0.0) * 10) / 10)
    used = set()
    for y, i in enumerate(order):
        status = agreement_status(alpha[i], minimum, firm)
        used.add(status)
        if status == "undefined":
            axes.text(
                left + 0.02,
                y,
                "\u03b1 undefined (no variation)",
                va="center",
                ha="left",
                fontstyle="italic",
                color="#444444",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
            )
            continue
        colour, marker = STATUS_STYLE[status]
        if np.isfinite(low[i]) and np.isfinite(high[i]):
            axes.plot([low[i], high[i]], [y, y], color=colour, linewidth=1.2, solid_capstyle="butt")
        axes.plot(
            [alpha[i]],
            [y],
            marker=marker,
            color=colour,
            markersize=4,
            linestyle="none",
            markeredgecolor="white",
            markeredgewidth=0.4,
        )
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
    figure_title(figure, title)
    names = {
        "firm": f"\u03b1 \u2265 {firm:g}",
        "tentative": f"{minimum:g} \u2264 \u03b1 < {firm:g}",
        "low": f"\u03b1 < {minimum:g}",
    }
    handles = [
        Line2D(
            [],
            [],
            color=STATUS_STYLE[s][0],
            marker=STATUS_STYLE[s][1],
            markersize=4,
            linewidth=1.2,
            label=names[s],
        )
        for s in ("firm", "tentative", "low")
        if s in used
    ]
    handles.append(
        Line2D([], [], color="#777777", linewidth=1.2, label="bootstrap confidence interval")
    )
    handles.append(
        Line2D([], [], color="#555555", linestyle="--", linewidth=0.7, label=f"minimum {minimum:g}")
    )
    if firm > minimum:
        handles.append(
            Line2D([], [], color="#555555", linestyle=":", linewidth=0.9, label=f"firm {firm:g}")
        )
    figure.legend(
        handles=handles, loc="outside lower center", ncols=2, handlelength=1.8, columnspacing=1.0
    )
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


@styled
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
        transcript
        if not participant or participant == transcript
        else f"{transcript} ({participant})"
        for transcript, participant in zip(
            ordered["transcript_id"], ordered.get("participant_id", ordered["transcript_id"])
        )
    ]
    n = len(ticks)
    width = SINGLE_COLUMN if n <= 20 else DOUBLE_COLUMN
    label_inches = widest_label_inches(ticks)
    figure = new_figure(width, 2.4 + label_inches)
    axes = figure.add_subplot()
    x = np.arange(n)
    axes.bar(
        x,
        new,
        width=0.7,
        color=OKABE_ITO["sky_blue"],
        edgecolor=OKABE_ITO["blue"],
        linewidth=0.5,
        label="New codes",
        zorder=2,
    )
    axes.plot(
        x,
        cumulative,
        color=OKABE_ITO["vermillion"],
        marker="o",
        markersize=3,
        linewidth=1.2,
        label="Cumulative codes",
        zorder=3,
    )
    top = max(cumulative.max(), total_codes or 0)
    if total_codes:
        axes.axhline(
            total_codes,
            color="#555555",
            linestyle=":",
            linewidth=0.9,
            zorder=1,
            label=f"Codebook ({total_codes} codes)",
        )
    # a rotated 7 pt label needs ~0.13 in: beyond ~22 (single) or ~50 (double column) labels,
    # label every k-th interview
    step = max(1, int(np.ceil(n / (22 if width == SINGLE_COLUMN else 50))))
    axes.set_xticks(x[::step], ticks[::step], rotation=90)
    axes.set_xlim(-0.6, n - 0.4)
    axes.set_ylim(0, top * 1.08 + 0.5)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    axes.set_xlabel("Interview (in order added)")
    axes.set_ylabel("Codes")
    figure_title(figure, title)
    quiet = trailing_without_new_codes(new)
    # the run of interviews without new codes is what a reader looks for: it heads the legend
    note = (
        f"No new codes in the last {quiet} interview{'s' if quiet > 1 else ''}"
        if quiet and quiet < n
        else None
    )
    legend = figure.legend(
        loc="outside lower center", ncols=3, handlelength=1.6, columnspacing=1.0, title=note
    )
    legend.get_title().set_fontstyle("italic")
    return figure


#: Keys of the ``tables`` given to :func:`write_figures`.
TABLE_KEYS = (
    "prevalence",
    "code_by_participant",
    "cooccurrence_segments",
    "cooccurrence_participants",
    "saturation",
    "agreement",
)


def figure_stems(
    attributes: Sequence[str], agreement: bool, participants_cooccurrence: bool = False
) -> list[str]:
    """Names (without .png/.svg) of the figures :func:`write_figures` writes, in writing order."""
    stems = [f"prevalence_by_{attribute}" for attribute in attributes]
    stems += ["code_by_participant", "cooccurrence_segments"]
    if participants_cooccurrence:
        stems.append("cooccurrence_participants")
    stems.append("saturation")
    if agreement:
        stems.append("agreement_by_code")
    return stems


@rule_job
def theme_figures(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule ``theme_figures``: every figure of the input tables (each input but ``codebook``, named
    by :data:`TABLE_KEYS`) as PNG and SVG (outputs ``{figure}_png`` and ``{figure}_svg``, in one
    folder); params ``attributes`` (participants.attributes) and ``minimum_alpha`` (agreement)."""
    tables = {name: path for name, path in input.items() if name != "codebook"}
    folder = Path(next(iter(output.values()))).parent  # every figure goes to one folder
    write_figures(
        tables, input["codebook"], params["attributes"], str(folder), log, params["minimum_alpha"]
    )


def write_figures(
    tables: Mapping[str, str | None],
    codebook_path: str,
    attributes: list[str],
    output_folder: str,
    log: str,
    minimum_alpha: float | None,
) -> None:
    """Every figure of the given tables, as PNG and SVG in ``output_folder``.

    ``tables``: path per key of :data:`TABLE_KEYS`; a missing or None table gives no figure (so
    ``agreement: None`` means no agreement figure).
    """
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
                        tables["prevalence"],
                        attribute,
                    )
                planned.append(
                    (
                        f"prevalence_by_{attribute}",
                        lambda a=attribute: prevalence_by_group(prevalence, a),
                    )
                )
        if "code_by_participant" in read:
            planned.append(
                (
                    "code_by_participant",
                    lambda: code_by_participant(read["code_by_participant"], theme_labels),
                )
            )
        for what in ("segments", "participants"):
            if f"cooccurrence_{what}" in read:
                planned.append(
                    (
                        f"cooccurrence_{what}",
                        lambda w=what: cooccurrence(read[f"cooccurrence_{w}"], code_labels, w),
                    )
                )
        if "saturation" in read:
            planned.append(
                ("saturation", lambda: saturation(read["saturation"], len(codebook.codes)))
            )
        if "agreement" in read:
            minimum = MINIMUM_ALPHA if minimum_alpha is None else float(minimum_alpha)
            planned.append(
                ("agreement_by_code", lambda: agreement_by_code(read["agreement"], minimum=minimum))
            )
        for stem, build in planned:
            figure = build()
            written = save_figure(figure, folder / stem)
            width, height = figure.get_size_inches()
            logger.info(
                "%s (%.2f x %.2f in)", ", ".join(str(path) for path in written), width, height
            )
        logger.info("%d figures written to %s", len(planned), folder)
