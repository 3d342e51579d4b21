"""Inter-coder agreement for coded qualitative data (the "ratings engine").

Input is a long table with one row per rating: ``unit,coder,value``. A missing rating is an
absent row; a blank value is also missing. Values are numbers or text labels.

Command line::

    python scripts/agreement.py --ratings ratings.csv --level nominal --json
        [--weights linear|quadratic] [--order a,b,c]

The coefficients and their definitions are in scripts/agreement_coefficients.py, the mapping of
a long table's values to categories in scripts/agreement_ratings.py and the reading of a ratings
file in scripts/agreement_ratings_file.py; here are the entry points (a ratings matrix, a
DataFrame, a coders x units matrix, a CSV file) and the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import TYPE_CHECKING, Any, Sequence  # noqa: E402

import numpy as np  # noqa: E402

from scripts.agreement_coefficients import (  # noqa: E402
    LEVELS,
    WEIGHTS,
    Level,
    Weights,
    check_level,
    coefficients,
)
from scripts.agreement_ratings import Ratings, ratings_from_frame  # noqa: E402
from scripts.agreement_ratings_file import read_ratings  # noqa: E402
from scripts.errors import ConfigurationError, QualflowError  # noqa: E402

if TYPE_CHECKING:  # pandas is imported lazily: the command line does not need it
    import pandas as pd


@dataclass(frozen=True)
class AgreementResult:
    """All agreement figures for one ratings table (``None`` = undefined or not requested)."""

    level: str
    weights: str | None
    n_units: int
    n_units_pairable: int
    n_units_complete: int
    n_coders: int
    n_categories: int
    categories: tuple[Any, ...]
    coders: tuple[str, ...]
    percent_agreement: float | None
    percent_agreement_pairable: float | None
    krippendorff_alpha: float | None
    cohen_kappa: float | None
    scott_pi: float | None
    fleiss_kappa: float | None
    conger_kappa: float | None
    gwet_ac1: float | None
    brennan_prediger: float | None
    percent_agreement_weighted: float | None
    cohen_kappa_weighted: float | None
    scott_pi_weighted: float | None
    fleiss_kappa_weighted: float | None
    conger_kappa_weighted: float | None
    gwet_ac2: float | None
    brennan_prediger_weighted: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (lists instead of tuples, floats as Python floats)."""
        out = asdict(self)
        out["categories"] = list(self.categories)
        out["coders"] = list(self.coders)
        return out


def agreement(ratings: Ratings, weights: Weights | None = None) -> AgreementResult:
    """All coefficients for a :class:`Ratings` matrix (alpha via the krippendorff package)."""
    check_level(ratings.level, weights)
    codes = ratings.codes
    figures = coefficients(
        codes,
        ratings.n_categories,
        level=ratings.level,
        values=ratings.values,
        weights=weights,
        alpha_backend="krippendorff",
    )
    rated = codes >= 0
    per_unit = rated.sum(axis=0)
    return AgreementResult(
        level=ratings.level,
        weights=weights,
        n_units=int(codes.shape[1]),
        n_units_pairable=int(np.count_nonzero(per_unit >= 2)),
        n_units_complete=int(np.count_nonzero(per_unit == codes.shape[0])),
        n_coders=int(codes.shape[0]),
        n_categories=ratings.n_categories,
        categories=tuple(ratings.categories),
        coders=tuple(ratings.coders),
        **figures,
    )


def agreement_from_frame(
    frame: "pd.DataFrame",
    level: Level = "nominal",
    weights: Weights | None = None,
    order: str | Sequence[str] | None = None,
    source: str | Path | None = None,
) -> AgreementResult:
    """All coefficients for a long DataFrame with columns unit, coder, value."""
    check_level(level, weights, source)
    return agreement(ratings_from_frame(frame, level, order, source), weights)


def agreement_from_matrix(
    matrix: Sequence[Sequence[Any]] | np.ndarray,
    level: Level = "nominal",
    weights: Weights | None = None,
    order: str | Sequence[str] | None = None,
) -> AgreementResult:
    """All coefficients for a coders x units matrix (rows are coders; None/NaN = missing)."""
    import pandas as pd

    array = np.asarray(matrix, dtype=object)
    if array.ndim != 2:
        raise ConfigurationError(
            None,
            "the ratings matrix must be two-dimensional (coders x units)",
            "Pass one row per coder",
        )
    n_coders, n_units = array.shape
    frame = pd.DataFrame(
        {
            "unit": np.tile(np.arange(n_units), n_coders),
            "coder": np.repeat([f"coder{i + 1}" for i in range(n_coders)], n_units),
            "value": array.reshape(-1),
        }
    )
    return agreement_from_frame(frame, level, weights, order)


def agreement_from_csv(
    path: str | Path,
    level: Level = "nominal",
    weights: Weights | None = None,
    order: str | Sequence[str] | None = None,
) -> AgreementResult:
    """All coefficients for a long CSV file (header unit,coder,value)."""
    check_level(level, weights, path)
    return agreement(read_ratings(path, level, order), weights)


def to_json(result: AgreementResult) -> str:
    """Sorted keys, plain JSON numbers, null for undefined values."""

    def clean(value: Any) -> Any:
        if isinstance(value, (float, np.floating)):
            return float(value) if math.isfinite(value) else None
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    payload = {key: clean(value) for key, value in result.to_dict().items()}
    return json.dumps(payload, sort_keys=True, allow_nan=False)


def _format_text(result: AgreementResult) -> str:
    data = result.to_dict()
    width = max(len(key) for key in data)
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, float):
            value = f"{value:.4f}"
        elif value is None:
            value = "-"
        lines.append(f"{key:<{width}}  {value}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Inter-coder agreement from a long ratings CSV (unit,coder,value)."
    )
    parser.add_argument("--ratings", required=True, help="CSV with header unit,coder,value")
    parser.add_argument("--level", required=True, choices=LEVELS, help="level of measurement")
    parser.add_argument(
        "--weights",
        choices=WEIGHTS,
        default=None,
        help="weighted coefficients for ordered categories (not with --level nominal)",
    )
    parser.add_argument(
        "--order",
        default=None,
        help="comma-separated category order (and full category set), e.g. low,mid,high",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (sorted keys)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (2 for input/configuration errors)."""
    args = build_parser().parse_args(argv)
    try:
        result = agreement_from_csv(args.ratings, args.level, args.weights, args.order)
    except QualflowError as exc:
        message = " ".join(str(exc).split())
        print(message, file=sys.stderr)
        return 2
    print(to_json(result) if args.json else _format_text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
