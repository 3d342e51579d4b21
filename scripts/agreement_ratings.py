"""From a long table of ratings to the coders x units matrix the coefficients are computed on.

The table has one row per rating: ``unit,coder,value``. A missing rating is an absent row; a
blank value is also missing. Values are numbers or text labels, mapped to categories here
(:func:`build_ratings`), with every problem reported by the rows (and, for a CSV file, the
lines) where it is.

Category order: numbers sort numerically (``1`` and ``1.0`` are the same category); text labels
need ``--order`` for ``--level ordinal``; text labels are case-sensitive and stripped of
surrounding whitespace. ``--level interval|ratio`` needs numbers.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from scripts.agreement_coefficients import Level, category_scores, check_level
from scripts.errors import ConfigurationError, InputFormatError

if TYPE_CHECKING:  # pandas is imported lazily: the command line does not need it
    import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = ("unit", "coder", "value")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# label -> category markers used while mapping the value column
_MISSING = -1
_NOT_NUMERIC = -2
_NOT_IN_ORDER = -3
_NEEDS_ORDER = -4


@dataclass(frozen=True)
class Ratings:
    """A coders x units matrix of category codes.

    ``codes[c, u]`` is the index into ``categories`` of the value coder ``c`` gave unit ``u``,
    or -1 when missing. Only units with at least one rating and coders with at least one rating
    are kept. ``values`` holds the numeric value of each category (``None`` for text labels).
    """

    codes: np.ndarray
    categories: tuple[Any, ...]
    values: np.ndarray | None
    coders: tuple[str, ...]
    level: str

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @property
    def scores(self) -> np.ndarray | None:
        """Category scores used by weights and by interval/ratio alpha (ranks for ordinal)."""
        return category_scores(self.level, self.n_categories, self.values)


class _Rows:
    """Names data rows in messages: 1-based data rows and, for a CSV file, its physical lines."""

    def __init__(self, path: Path | None):
        self.path = path

    def lines(self, rows: Sequence[int]) -> list[int] | None:
        """Physical line numbers of 0-based data rows (CSV files only; only on error paths)."""
        if self.path is None:
            return None
        wanted = {int(r): None for r in rows}
        found: dict[int, int] = {}
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle)
                previous_end = 0
                data_row = -1  # -1 = header
                for record in reader:
                    start = previous_end + 1
                    previous_end = reader.line_num
                    if not record:
                        continue
                    if data_row in wanted:
                        found[data_row] = start
                        if len(found) == len(wanted):
                            break
                    data_row += 1
        except (OSError, UnicodeDecodeError, csv.Error):
            return None
        if len(found) != len(wanted):
            return None
        return [found[int(r)] for r in rows]

    def describe(self, rows: Sequence[int]) -> tuple[str, int | None]:
        """('rows 3 and 7 (lines 4 and 8)', line of the first row) for 0-based data rows."""
        rows = [int(r) for r in rows]
        numbers = [str(r + 1) for r in rows]
        word = "row" if len(rows) == 1 else "rows"
        text = f"data {word} {join_words(numbers)}"
        lines = self.lines(rows)
        if lines is not None:
            line_word = "line" if len(lines) == 1 else "lines"
            text += f" ({line_word} {join_words([str(n) for n in lines])})"
            return text, lines[0]
        return text, None


def join_words(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"`` (for messages)."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def relabel(codes: np.ndarray, remap: np.ndarray) -> np.ndarray:
    """``remap[codes]`` with code -1 (blank) kept as -1, in the smallest integer dtype."""
    remap = np.asarray(remap)
    low = min(int(remap.min(initial=0)), -1)
    high = int(remap.max(initial=0))
    dtype = np.int8 if (low >= -128 and high <= 127) else np.int64
    extended = np.append(remap, -1).astype(dtype)  # index -1 -> the appended -1
    return extended[np.asarray(codes)]


def clean_identifiers(labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Strip identifiers; blank -> -1; merge labels equal after stripping. Returns remap, uniques."""
    remap = np.empty(len(labels), dtype=np.int64)
    uniques: dict[str, int] = {}
    for i, label in enumerate(labels):
        text = "" if _is_missing(label) else str(label).strip()
        if text == "":
            remap[i] = -1
            continue
        remap[i] = uniques.setdefault(text, len(uniques))
    return remap, list(uniques)


def _is_missing(label: Any) -> bool:
    if label is None:
        return True
    if isinstance(label, (float, np.floating)):
        return math.isnan(label)
    return type(label).__name__ in ("NAType", "NaTType")  # pandas.NA / pandas.NaT


def _number(label: Any) -> float | None:
    if isinstance(label, (bool, np.bool_)):
        return None
    if isinstance(label, (int, float, np.integer, np.floating)):
        value = float(label)
        return value if math.isfinite(value) else None
    text = str(label).strip()
    return float(text) if _NUMBER.match(text) else None


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def parse_order(
    order: str | Sequence[str] | None, source: str | Path | None = None
) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; validates that labels are non-empty and unique."""
    if order is None:
        return None
    items = [str(s).strip() for s in (order.split(",") if isinstance(order, str) else order)]
    if any(s == "" for s in items):
        raise ConfigurationError(
            source,
            "--order contains an empty label",
            "List the labels separated by commas, e.g. --order low,mid,high",
        )
    if len(set(items)) != len(items):
        raise ConfigurationError(
            source, "--order lists a label more than once", "List every category exactly once"
        )
    return items


def _categorize(
    labels: Sequence[Any], level: str, order: list[str] | None, source: str | Path | None = None
) -> tuple[np.ndarray, tuple[Any, ...], np.ndarray | None]:
    """Map the distinct raw value labels to category codes (or to the markers above)."""
    cleaned: list[Any] = []
    for label in labels:
        if _is_missing(label) or (isinstance(label, str) and label.strip() == ""):
            cleaned.append(None)
        elif isinstance(label, str):
            cleaned.append(label.strip())
        else:
            cleaned.append(label)
    present = [c for c in cleaned if c is not None]
    numbers = [_number(c) for c in present]
    all_numeric = all(n is not None for n in numbers)
    remap = np.full(len(labels), _MISSING, dtype=np.int64)

    if order is not None and level in ("interval", "ratio"):
        raise ConfigurationError(
            source,
            f"--order cannot be used with --level {level}: distances come from the numeric values",
            "Drop --order, or use --level ordinal",
        )

    if order is not None:
        order_numbers = [_number(s) for s in order]
        if all_numeric and present:
            if any(n is None for n in order_numbers):
                raise ConfigurationError(
                    source,
                    "the values are numbers but --order lists labels that are not numbers",
                    "List the numeric values in --order, e.g. --order 3,2,1",
                )
            position = {n: i for i, n in enumerate(order_numbers)}
            if len(position) != len(order_numbers):
                raise ConfigurationError(
                    source,
                    "--order lists the same number twice",
                    "List every category exactly once",
                )
            for i, c in enumerate(cleaned):
                if c is not None:
                    remap[i] = position.get(_number(c), _NOT_IN_ORDER)
            categories = tuple(_json_number(n) for n in order_numbers)
            values = np.asarray(order_numbers, dtype=float)
        else:
            position = {s: i for i, s in enumerate(order)}
            for i, c in enumerate(cleaned):
                if c is not None:
                    remap[i] = position.get(str(c), _NOT_IN_ORDER)
            categories = tuple(order)
            values = None
        return remap, categories, values

    if all_numeric:
        distinct = sorted(set(n for n in numbers if n is not None))
        position = {n: i for i, n in enumerate(distinct)}
        for i, c in enumerate(cleaned):
            if c is not None:
                remap[i] = position[_number(c)]
        return remap, tuple(_json_number(n) for n in distinct), np.asarray(distinct, dtype=float)

    if level in ("interval", "ratio"):
        for i, c in enumerate(cleaned):
            if c is not None:
                remap[i] = _NOT_NUMERIC if _number(c) is None else _MISSING
        return remap, (), None  # always rejected: some value is not a number
    if level == "ordinal":
        for i, c in enumerate(cleaned):
            if c is not None:
                remap[i] = _NEEDS_ORDER if _number(c) is None else _MISSING
        return remap, (), None  # always rejected: text labels without --order
    distinct_text = sorted(set(str(c) for c in present))
    position = {s: i for i, s in enumerate(distinct_text)}
    for i, c in enumerate(cleaned):
        if c is not None:
            remap[i] = position[str(c)]
    return remap, tuple(distinct_text), None


def build_ratings(
    unit_codes: np.ndarray,
    coder_codes: np.ndarray,
    coder_labels: Sequence[Any],
    value_codes: np.ndarray,
    value_labels: Sequence[Any],
    *,
    level: str,
    order: list[str] | None = None,
    source: str | Path | None = None,
    source_is_csv: bool = False,
) -> Ratings:
    """Pivot factorized long data (one entry per row, -1 = blank) into a :class:`Ratings`.

    ``unit_codes`` index the units (any labels), ``coder_codes`` index ``coder_labels`` and
    ``value_codes`` index ``value_labels`` (the distinct raw values). Coder labels are stripped
    (blank = error); value labels are mapped to categories by :func:`_categorize`. ``source``
    names the input in messages; with ``source_is_csv`` the physical CSV lines are named too.
    Raises
    :class:`InputFormatError` naming the rows for blank units/coders, conflicting duplicate
    ratings, values that do not fit the level, and fewer than two coders.
    """
    rows = _Rows(Path(source) if (source is not None and source_is_csv) else None)
    unit_codes = np.asarray(unit_codes)
    coder_codes = np.asarray(coder_codes)
    value_codes = np.asarray(value_codes)

    coder_remap, coder_names = clean_identifiers(coder_labels)
    coder_codes = relabel(coder_codes, coder_remap)
    for name, column in (("unit", unit_codes), ("coder", coder_codes)):
        if column.size and column.min() < 0:
            where, line = rows.describe(np.flatnonzero(column < 0)[:1])
            raise InputFormatError(
                source,
                f"{where} has an empty {name}",
                f"Fill in the {name} or delete the row",
                line,
            )

    remap, categories, values = _categorize(value_labels, level, order, source)
    category = relabel(value_codes, remap)
    has_markers = bool(category.size) and int(category.min()) < _MISSING

    for marker, problem, fix in (
        (
            _NOT_NUMERIC,
            f"is not a number, but --level {level} needs numeric values",
            "Use --level nominal or ordinal for text labels, or correct the value",
        ),
        (
            _NOT_IN_ORDER,
            "has a value that --order does not list",
            "Add the value to --order or correct it",
        ),
        (
            _NEEDS_ORDER,
            "has a text label, and --level ordinal needs the order of text labels",
            "Give the order with --order, e.g. --order low,medium,high",
        ),
    ):
        bad = np.flatnonzero(category == marker) if has_markers else ()
        if len(bad):
            where, line = rows.describe(bad[:1])
            raise InputFormatError(source, f"the value in {where} {problem}", fix, line)

    n_categories = len(categories)
    dtype = np.int8 if n_categories < 127 else (np.int16 if n_categories < 32767 else np.int32)
    n_units_all = int(unit_codes.max()) + 1 if unit_codes.size else 0
    n_coders_all = len(coder_names)
    rated = category >= 0
    all_rated = bool(rated.all())
    u = unit_codes if all_rated else unit_codes[rated]
    c = coder_codes if all_rated else coder_codes[rated]
    v = (category if all_rated else category[rated]).astype(dtype, copy=False)
    flat = c.astype(np.int64) * n_units_all + u
    matrix = np.full((n_coders_all, n_units_all), -1, dtype=dtype)
    matrix.reshape(-1)[flat] = v
    filled = int(np.count_nonzero(matrix >= 0))
    if filled != v.size:  # the same coder rated the same unit more than once
        conflict = np.flatnonzero(matrix.reshape(-1)[flat] != v)
        if conflict.size:
            first = conflict[0]
            positions = np.arange(category.size) if all_rated else np.flatnonzero(rated)
            same = positions[flat == flat[first]]
            where, line = rows.describe(same[:5])
            raise InputFormatError(
                source,
                f"{where} give different values for the same unit and coder",
                "Keep one rating per coder and unit (delete or correct the other rows)",
                line,
            )

    has_rating = matrix >= 0
    coder_keep = has_rating.any(axis=1)
    unit_keep = has_rating.any(axis=0)
    if not unit_keep.all():
        matrix = matrix[:, unit_keep]
    if not coder_keep.all():
        matrix = matrix[coder_keep]
    coders = tuple(name for name, keep in zip(coder_names, coder_keep) if keep)
    if len(coders) < 2:
        raise InputFormatError(
            source,
            f"only {len(coders)} coder{'s' if len(coders) != 1 else ''} with ratings; agreement needs at least two",
            "Add the ratings of a second coder (column coder)",
        )
    return Ratings(codes=matrix, categories=categories, values=values, coders=coders, level=level)


def ratings_from_frame(
    frame: "pd.DataFrame",
    level: Level = "nominal",
    order: str | Sequence[str] | None = None,
    source: str | Path | None = None,
) -> Ratings:
    """A :class:`Ratings` matrix from a long DataFrame with columns unit, coder, value."""
    import pandas as pd

    check_level(level, None, source)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise InputFormatError(
            source,
            f"the ratings table has no column {join_words(missing)}",
            "Provide the columns unit, coder, value (one row per rating)",
        )
    units = frame["unit"]
    if units.dtype == object or pd.api.types.is_string_dtype(units):
        units = units.map(lambda x: x.strip() if isinstance(x, str) else x).replace("", None)
    unit_codes, _ = pd.factorize(units, use_na_sentinel=True)
    coder_codes, coder_labels = pd.factorize(frame["coder"], use_na_sentinel=True)
    value_codes, value_labels = pd.factorize(frame["value"], use_na_sentinel=True)
    return build_ratings(
        unit_codes,
        coder_codes,
        list(coder_labels),
        value_codes,
        list(value_labels),
        level=level,
        order=parse_order(order, source),
        source=source,
    )
