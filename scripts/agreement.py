"""Inter-coder agreement for coded qualitative data (the "ratings engine").

Input is a long table with one row per rating: ``unit,coder,value``. A missing rating is an
absent row; a blank value is also missing. Values are numbers or text labels.

Command line::

    python scripts/agreement.py --ratings ratings.csv --level nominal --json
        [--weights linear|quadratic] [--order a,b,c]

Definitions (all coefficients are computed from the same coders x units matrix):

* ``n_units``: units with at least one (non-missing) rating. Units that appear only with blank
  values are not counted. ``n_units_pairable``: units with two or more ratings (the only units
  that carry information about agreement). ``n_units_complete``: units rated by every coder.
  ``n_coders``: coders with at least one rating.
* ``percent_agreement``: Gwet's definition (irrCAC ``pa.coeff.raw``): for every unit with two or
  more ratings, agreeing coder pairs / all coder pairs of the unit, averaged over those units.
* ``percent_agreement_pairable``: Krippendorff's definition: sum of the diagonal of the
  coincidence matrix / number of pairable values.
* ``krippendorff_alpha``: computed by the ``krippendorff`` package (value counts of the
  pairable units, value domain and level always passed explicitly). For very large inputs
  (``n_pairable_units * n_categories**2`` above ``_PACKAGE_ALPHA_MAX_CELLS``, where the package
  would allocate several (units x categories x categories) arrays) the identical numpy
  formula :func:`krippendorff_alpha_from_counts` is used instead.
* Chance-corrected coefficients with missing data follow Gwet (2014), Handbook of Inter-Rater
  Reliability, 4th ed., as implemented in irrCAC (``fleiss.kappa.raw``, ``conger.kappa.raw``,
  ``gwet.ac1.raw``, ``bp.coeff.raw``): percent agreement ``p_a`` over the units with two or more
  ratings; chance agreement from all rated units (``pi_k`` = mean over rated units of the share
  of the unit's ratings in category k) or, for Conger, from each coder's own ratings.
  ``scott_pi`` (two coders only) is Fleiss' formula with two coders, so it equals
  ``fleiss_kappa`` there. ``cohen_kappa`` (two coders only) uses the units both coders rated,
  as scikit-learn's ``cohen_kappa_score`` does (same numbers, see the tests);
  ``conger_kappa`` is Gwet's generalisation of Cohen's kappa that keeps units with a missing
  rating.
* Number of categories ``q`` (matters for Brennan-Prediger and Gwet's AC1): the categories listed
  in ``--order`` when given (so unused categories count), otherwise the categories observed.
* Weights (``--weights linear|quadratic``, irrCAC's definitions ``1-|x_k-x_l|/(x_max-x_min)`` and
  ``1-(x_k-x_l)^2/(x_max-x_min)^2``) need ordered categories: with ``--level ordinal`` the scores
  ``x`` are the ranks of the categories (as in scikit-learn's weighted kappa), with
  ``interval``/``ratio`` they are the numeric values (as in irrCAC). They are refused with
  ``--level nominal``. The unweighted coefficients keep their names; the weighted ones are
  ``percent_agreement_weighted``, ``cohen_kappa_weighted``, ``scott_pi_weighted``,
  ``fleiss_kappa_weighted``, ``conger_kappa_weighted``, ``gwet_ac2`` and
  ``brennan_prediger_weighted`` (null when no weights are requested).
* Undefined values are ``None`` (JSON null): no pairable unit, a chance agreement of 1 (e.g. a
  single category), Cohen/Scott with other than two coders.

Category order: numbers sort numerically (``1`` and ``1.0`` are the same category); text labels
need ``--order`` for ``--level ordinal``; text labels are case-sensitive and stripped of
surrounding whitespace. ``--level interval|ratio`` needs numbers.

The computational core (:func:`category_counts`, :func:`coefficients` and the per-coefficient
functions) works on a coders x units integer matrix (``-1`` = missing) or a units x categories
count matrix, is vectorised with numpy (no Python loop over units) and is meant to be called
many times when bootstrapping.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.errors import ConfigurationError, InputFormatError, QualflowError  # noqa: E402

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import TYPE_CHECKING, Any, Literal, Sequence  # noqa: E402

import numpy as np  # noqa: E402

if TYPE_CHECKING:  # pandas is imported lazily: the command line does not need it
    import pandas as pd

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"]

LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS: tuple[str, ...] = ("linear", "quadratic")
REQUIRED_COLUMNS: tuple[str, ...] = ("unit", "coder", "value")

#: Above this many (pairable units x categories x categories) cells, Krippendorff's alpha is
#: computed with the numpy formula instead of the krippendorff package (memory).
_PACKAGE_ALPHA_MAX_CELLS = 20_000_000
_UNDEFINED_TOL = 1e-12
#: Files up to this size are read with the csv module (importing pyarrow costs ~0.2 s).
_SMALL_FILE_BYTES = 1_000_000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# label -> category markers used while mapping the value column
_MISSING = -1
_NOT_NUMERIC = -2
_NOT_IN_ORDER = -3
_NEEDS_ORDER = -4


# ---------------------------------------------------------------------------------------------
# Data containers
# ---------------------------------------------------------------------------------------------


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
        return _scores(self.level, self.n_categories, self.values)


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


# ---------------------------------------------------------------------------------------------
# Numeric core (bootstrap-friendly: numpy only, no loop over units)
# ---------------------------------------------------------------------------------------------


def category_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Units x categories matrix: how many coders put unit u in category k.

    ``codes`` is a coders x units integer matrix with -1 for missing ratings.
    """
    codes = np.asarray(codes)
    n_coders, n_units = codes.shape
    if n_categories <= 32:  # few categories: compare row by row (loops over coders x categories)
        by_category = np.zeros((n_categories, n_units), dtype=np.int32)
        for k in range(n_categories):
            for row in codes:
                by_category[k] += row == k
        return np.ascontiguousarray(by_category.T)
    width = n_categories + 1  # column 0 collects the missing ratings
    base = np.arange(n_units, dtype=np.int64) * width + 1
    counts = np.zeros(n_units * width, dtype=np.int64)
    for row in codes:  # loop over coders, not units
        counts += np.bincount(base + row, minlength=n_units * width)
    return counts.reshape(n_units, width)[:, 1:]


def coder_category_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Coders x categories matrix: how many units coder c put in category k."""
    codes = np.asarray(codes)
    out = np.zeros((codes.shape[0], n_categories), dtype=np.int64)
    for g, row in enumerate(codes):  # loop over coders, not units
        out[g] = np.bincount(row.astype(np.int64) + 1, minlength=n_categories + 1)[1:]
    return out


def weight_matrix(
    n_categories: int, weights: str | None = None, scores: np.ndarray | None = None
) -> np.ndarray:
    """Agreement weights (irrCAC): identity, linear or quadratic on the category ``scores``.

    ``scores`` defaults to the ranks 0..q-1.
    """
    if weights is None:
        return np.eye(n_categories)
    if weights not in WEIGHTS:
        raise ConfigurationError(
            None, f"unknown weights '{weights}'", f"Use one of: {', '.join(WEIGHTS)}"
        )
    x = np.arange(n_categories, dtype=float) if scores is None else np.asarray(scores, float)
    if n_categories < 2:
        return np.ones((n_categories, n_categories))
    span = x.max() - x.min()
    diff = np.abs(x[:, None] - x[None, :]) / span
    return 1.0 - (diff if weights == "linear" else diff**2)


def _is_identity(w: np.ndarray | None) -> bool:
    return w is None or (w.shape[0] == w.shape[1] and np.array_equal(w, np.eye(w.shape[0])))


def _chance_corrected(pa: float | None, pe: float | None) -> float | None:
    if pa is None or pe is None or not math.isfinite(pe) or 1.0 - pe <= _UNDEFINED_TOL:
        return None
    return float((pa - pe) / (1.0 - pe))


class _Tally:
    """Intermediate sums of a units x categories count matrix, shared between coefficients."""

    def __init__(self, counts: np.ndarray):
        counts = np.asarray(counts)
        self.q = int(counts.shape[1])
        r = counts.sum(axis=1)
        pairable = r >= 2
        self.n_pairable = int(np.count_nonzero(pairable))
        if self.n_pairable == r.shape[0]:
            self.c = counts.astype(float)
            self.r = r.astype(float)
        else:
            self.c = counts[pairable].astype(float)
            self.r = r[pairable].astype(float)
        rated = r > 0
        if rated.all():
            self.pi = (counts / r[:, None].astype(float)).mean(axis=0)
        elif rated.any():
            self.pi = (counts[rated] / r[rated, None].astype(float)).mean(axis=0)
        else:
            self.pi = None
        self._same: np.ndarray | None = None

    def same_pairs(self) -> np.ndarray:
        """Per pairable unit: sum_k n_uk (n_uk - 1), the ordered agreeing pairs."""
        if self._same is None:
            self._same = (self.c * (self.c - 1.0)).sum(axis=1)
        return self._same

    def pa(self, w: np.ndarray | None = None) -> float | None:
        """Gwet's (weighted) percent agreement over the units with two or more ratings."""
        if self.n_pairable == 0:
            return None
        if _is_identity(w):
            agree = self.same_pairs()
        else:
            agree = (self.c * (self.c @ w.T - 1.0)).sum(axis=1)
        return float(np.mean(agree / (self.r * (self.r - 1.0))))

    def pa_pairable(self) -> float | None:
        """Krippendorff's percent agreement: trace of the coincidence matrix / pairable values."""
        if self.n_pairable == 0:
            return None
        return float((self.same_pairs() / (self.r - 1.0)).sum() / self.r.sum())

    def coincidences(self) -> np.ndarray:
        """Krippendorff's coincidence matrix o_kl."""
        cw = self.c / (self.r - 1.0)[:, None]
        return cw.T @ self.c - np.diag(cw.sum(axis=0))


def _identity_if_none(w: np.ndarray | None, q: int) -> np.ndarray:
    return np.eye(q) if w is None else np.asarray(w, dtype=float)


def percent_agreement(counts: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Gwet's percent agreement (irrCAC ``pa.coeff.raw``) from a units x categories count matrix.

    For each unit with r >= 2 ratings: sum_k n_k (n_k* - 1) / (r (r - 1)) with n_k* = sum_l w_kl n_l
    (n_k* = n_k unweighted), averaged over those units.
    """
    return _Tally(counts).pa(w)


def percent_agreement_pairable(counts: np.ndarray) -> float | None:
    """Krippendorff's percent agreement: trace of the coincidence matrix / pairable values."""
    return _Tally(counts).pa_pairable()


def _fleiss(t: _Tally, w: np.ndarray | None) -> float | None:
    if t.pi is None:
        return None
    pe = float(t.pi @ _identity_if_none(w, t.q) @ t.pi)
    return _chance_corrected(t.pa(w), pe)


def _ac1(t: _Tally, w: np.ndarray | None) -> float | None:
    if t.pi is None or t.q < 2:
        return None
    w_sum = float(t.q if w is None else np.sum(w))
    pe = w_sum * float((t.pi * (1.0 - t.pi)).sum()) / (t.q * (t.q - 1))
    return _chance_corrected(t.pa(w), pe)


def _bp(t: _Tally, w: np.ndarray | None) -> float | None:
    if t.q < 2:
        return None
    w_sum = float(t.q if w is None else np.sum(w))
    return _chance_corrected(t.pa(w), w_sum / t.q**2)


def _conger(t: _Tally, classif: np.ndarray, w: np.ndarray | None) -> float | None:
    classif = np.asarray(classif, dtype=float)
    n_coders = classif.shape[0]
    ng = classif.sum(axis=1)
    if n_coders < 2 or (ng == 0).any():
        return None
    p = classif / ng[:, None]
    p_mean = p.mean(axis=0)
    s2 = (p.T @ p - n_coders * np.outer(p_mean, p_mean)) / (n_coders - 1)
    pe = float((_identity_if_none(w, t.q) * (np.outer(p_mean, p_mean) - s2 / n_coders)).sum())
    return _chance_corrected(t.pa(w), pe)


def fleiss_kappa(counts: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Fleiss' kappa with a varying number of raters per unit (irrCAC ``fleiss.kappa.raw``).

    p_e = sum_kl w_kl pi_k pi_l, pi_k = mean over the rated units of n_uk / r_u.
    """
    return _fleiss(_Tally(counts), w)


def gwet_ac1(counts: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Gwet's AC1, or AC2 with weights (irrCAC ``gwet.ac1.raw``). Undefined when q < 2.

    p_e = sum(w) / (q (q - 1)) * sum_k pi_k (1 - pi_k).
    """
    return _ac1(_Tally(counts), w)


def brennan_prediger(counts: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Brennan-Prediger coefficient (irrCAC ``bp.coeff.raw``): p_e = sum(w) / q^2."""
    return _bp(_Tally(counts), w)


def conger_kappa(codes: np.ndarray, n_categories: int, w: np.ndarray | None = None) -> float | None:
    """Conger's kappa (irrCAC ``conger.kappa.raw``) from a coders x units code matrix.

    p_e = sum_kl w_kl (pbar_k pbar_l - s2_kl / r), p_gk = share of coder g's ratings in k,
    pbar_k = mean_g p_gk, s2_kl = sample covariance of p_gk and p_gl over the r coders.
    """
    codes = np.asarray(codes)
    t = _Tally(category_counts(codes, n_categories))
    return _conger(t, coder_category_counts(codes, n_categories), w)


def cohen_table(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """q x q contingency table of two coders over the units both rated (rows: first coder)."""
    a, b = np.asarray(codes)[:2]
    both = (a >= 0) & (b >= 0)
    flat = a[both].astype(np.int64) * n_categories + b[both]
    return np.bincount(flat, minlength=n_categories**2).reshape(n_categories, n_categories)


def cohen_kappa_from_table(table: np.ndarray, w: np.ndarray | None = None) -> float | None:
    """Cohen's (weighted) kappa from a q x q contingency table (same result as scikit-learn)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        return None
    p = table / n
    w = _identity_if_none(w, table.shape[0])
    pa = float((w * p).sum())
    pe = float((w * np.outer(p.sum(axis=1), p.sum(axis=0))).sum())
    return _chance_corrected(pa, pe)


def cohen_kappa(codes: np.ndarray, n_categories: int, w: np.ndarray | None = None) -> float | None:
    """Cohen's kappa for exactly two coders over the units both rated; ``None`` otherwise."""
    codes = np.asarray(codes)
    if codes.shape[0] != 2:
        return None
    return cohen_kappa_from_table(cohen_table(codes, n_categories), w)


def scott_pi(codes: np.ndarray, n_categories: int, w: np.ndarray | None = None) -> float | None:
    """Scott's pi for exactly two coders (Fleiss' formula, Gwet's missing-data treatment)."""
    codes = np.asarray(codes)
    if codes.shape[0] != 2:
        return None
    return fleiss_kappa(category_counts(codes, n_categories), w)


def alpha_distances(level: str, n_v: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Krippendorff's squared difference functions (as in the krippendorff package).

    ``n_v`` are the pairable values per category (category order = the order of the scale);
    ``values`` the numeric category values (needed for interval and ratio).
    """
    n_v = np.asarray(n_v, dtype=float)
    q = len(n_v)
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        idx = np.arange(q)
        lo = np.minimum(idx[:, None], idx[None, :])
        hi = np.maximum(idx[:, None], idx[None, :])
        cum = np.concatenate([[0.0], np.cumsum(n_v)])
        between = cum[hi + 1] - cum[lo]
        return (between - (n_v[lo] + n_v[hi]) / 2.0) ** 2
    if level not in LEVELS:
        raise ConfigurationError(
            None, f"unknown level '{level}'", f"Use one of: {', '.join(LEVELS)}"
        )
    if values is None:
        raise ConfigurationError(
            None, f"level '{level}' needs numeric category values", "Pass the values array"
        )
    v = np.asarray(values, dtype=float)
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    total = v[:, None] + v[None, :]
    return np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2


def coincidence_matrix(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix o_kl from a units x categories count matrix."""
    return _Tally(counts).coincidences()


def _alpha(t: _Tally, level: str, values: np.ndarray | None) -> float | None:
    if t.n_pairable == 0:
        return None
    o = t.coincidences()
    n_v = o.sum(axis=0)
    n = n_v.sum()
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n - 1.0)
    d = alpha_distances(level, n_v, values)
    expected = float((e * d).sum())
    if expected <= _UNDEFINED_TOL * max(1.0, float(d.max(initial=0.0))):
        return None
    return float(1.0 - (o * d).sum() / expected)


def krippendorff_alpha_from_counts(
    counts: np.ndarray, level: Level = "nominal", values: np.ndarray | None = None
) -> float | None:
    """Krippendorff's alpha in numpy (same formula as the krippendorff package).

    ``counts`` is units x categories with the categories in scale order; ``values`` are the
    numeric category values (interval/ratio only).
    """
    return _alpha(_Tally(counts), level, values)


def krippendorff_alpha_package(
    counts: np.ndarray, level: str, values: np.ndarray | None = None
) -> float | None:
    """Krippendorff's alpha from the krippendorff package, quirks handled.

    * the package's default level is interval: the level is always passed;
    * the value domain is passed explicitly in scale order: category codes 0..q-1 for nominal and
      ordinal (ordinal distances only use the order and the counts), the numeric values for
      interval and ratio;
    * value counts (units x categories) are passed instead of ``reliability_data``, so the
      package's coders x units orientation cannot be confused;
    * the package raises when fewer than two values or no pairable unit exist: ``None``.
    """
    import krippendorff

    counts = np.asarray(counts)
    q = counts.shape[1]
    pairable = counts[counts.sum(axis=1) >= 2]
    if q < 2 or pairable.shape[0] == 0:
        return None
    domain = np.arange(q) if level in ("nominal", "ordinal") else np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            result = krippendorff.alpha(
                value_counts=pairable, value_domain=domain, level_of_measurement=level
            )
        except ValueError:
            return None
    result = float(result)
    return result if math.isfinite(result) else None


_WEIGHTED_KEYS = (
    "percent_agreement_weighted",
    "cohen_kappa_weighted",
    "scott_pi_weighted",
    "fleiss_kappa_weighted",
    "conger_kappa_weighted",
    "gwet_ac2",
    "brennan_prediger_weighted",
)


def coefficients(
    codes: np.ndarray,
    n_categories: int,
    *,
    level: Level = "nominal",
    values: np.ndarray | None = None,
    weights: Weights | None = None,
    alpha_backend: Literal["numpy", "krippendorff"] = "numpy",
) -> dict[str, float | None]:
    """Every coefficient from a coders x units code matrix (-1 = missing), vectorised.

    ``values`` are the numeric category values (required for interval/ratio); for nominal and
    ordinal the category ranks are used. This is the function to call when bootstrapping
    (resample the columns of ``codes``); ``alpha_backend="numpy"`` skips the package's overhead.
    Keys: see :class:`AgreementResult` (the coefficient fields).
    """
    _check_level(level, weights)
    if level in ("interval", "ratio") and (values is None or len(values) != n_categories):
        raise ConfigurationError(
            None,
            f"level '{level}' needs the numeric value of every category",
            "Pass values= (one number per category code)",
        )
    codes = np.asarray(codes)
    n_coders = codes.shape[0]
    counts = category_counts(codes, n_categories)
    t = _Tally(counts)
    scores = _scores(level, n_categories, values)
    if (
        alpha_backend == "krippendorff"
        and t.n_pairable * n_categories**2 <= _PACKAGE_ALPHA_MAX_CELLS
    ):
        alpha = krippendorff_alpha_package(counts, level, scores)
    else:
        alpha = _alpha(t, level, scores)
    classif = coder_category_counts(codes, n_categories) if n_coders >= 2 else None
    table = cohen_table(codes, n_categories) if n_coders == 2 else None

    def family(w: np.ndarray | None) -> dict[str, float | None]:
        fleiss = _fleiss(t, w)
        return {
            "percent_agreement": t.pa(w),
            "cohen_kappa": cohen_kappa_from_table(table, w) if table is not None else None,
            "scott_pi": fleiss if n_coders == 2 else None,
            "fleiss_kappa": fleiss if n_coders >= 2 else None,
            "conger_kappa": _conger(t, classif, w) if classif is not None else None,
            "gwet_ac1": _ac1(t, w),
            "brennan_prediger": _bp(t, w),
        }

    out: dict[str, float | None] = {
        "percent_agreement_pairable": t.pa_pairable(),
        "krippendorff_alpha": alpha,
    }
    out.update(family(None))
    if weights is None:
        out.update({key: None for key in _WEIGHTED_KEYS})
    else:
        weighted = family(weight_matrix(n_categories, weights, scores))
        out.update({f"{key}_weighted": value for key, value in weighted.items()})
        out["gwet_ac2"] = out.pop("gwet_ac1_weighted")
    return out


def _scores(level: str, q: int, values: np.ndarray | None) -> np.ndarray | None:
    if level in ("interval", "ratio"):
        return None if values is None else np.asarray(values, dtype=float)
    if level == "ordinal":
        return np.arange(q, dtype=float)
    return None


# ---------------------------------------------------------------------------------------------
# From a long table (unit, coder, value) to a Ratings matrix
# ---------------------------------------------------------------------------------------------


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
        text = f"data {word} {_join(numbers)}"
        lines = self.lines(rows)
        if lines is not None:
            line_word = "line" if len(lines) == 1 else "lines"
            text += f" ({line_word} {_join([str(n) for n in lines])})"
            return text, lines[0]
        return text, None


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _relabel(codes: np.ndarray, remap: np.ndarray) -> np.ndarray:
    """``remap[codes]`` with code -1 (blank) kept as -1, in the smallest integer dtype."""
    remap = np.asarray(remap)
    low = min(int(remap.min(initial=0)), -1)
    high = int(remap.max(initial=0))
    dtype = np.int8 if (low >= -128 and high <= 127) else np.int64
    extended = np.append(remap, -1).astype(dtype)  # index -1 -> the appended -1
    return extended[np.asarray(codes)]


def _clean_ids(labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
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


def _check_level(level: str, weights: str | None, source: str | Path | None = None) -> None:
    if level not in LEVELS:
        raise ConfigurationError(
            source, f"unknown level of measurement '{level}'", f"Use --level {'|'.join(LEVELS)}"
        )
    if weights is not None and weights not in WEIGHTS:
        raise ConfigurationError(
            source, f"unknown weights '{weights}'", f"Use --weights {'|'.join(WEIGHTS)}"
        )
    if weights is not None and level == "nominal":
        raise ConfigurationError(
            source,
            "--weights needs ordered categories but --level is nominal",
            "Use --level ordinal (with --order for text labels) or drop --weights",
        )


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

    coder_remap, coder_names = _clean_ids(coder_labels)
    coder_codes = _relabel(coder_codes, coder_remap)
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
    category = _relabel(value_codes, remap)
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

    _check_level(level, None, source)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise InputFormatError(
            source,
            f"the ratings table has no column {_join(missing)}",
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


def _read_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise InputFormatError(
            path, "the ratings file does not exist", "Check the path given to --ratings"
        ) from None
    except UnicodeDecodeError:
        raise InputFormatError(
            path, "the ratings file is not UTF-8 text", "Save it as UTF-8 CSV", 1
        ) from None
    except (OSError, csv.Error) as exc:
        raise InputFormatError(
            path, f"the ratings file cannot be read ({type(exc).__name__})", "Check the file", 1
        ) from None
    if not header:
        raise InputFormatError(
            path,
            "the ratings file is empty or its first line is blank",
            "Start the file with the header unit,coder,value",
            1,
        )
    names = [h.strip() for h in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise InputFormatError(
            path,
            f"the header has no column {_join(missing)}",
            "Start the file with the header unit,coder,value (one row per rating)",
            1,
        )
    twice = [name for name in REQUIRED_COLUMNS if names.count(name) > 1]
    if twice:
        raise InputFormatError(
            path,
            f"the header names the column {_join(twice)} more than once",
            "Keep one column each of unit, coder, value",
            1,
        )
    return names


def _locate_bad_row(path: Path, width: int) -> int | None:
    """Physical line of the first record whose field count differs from the header's."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            previous_end = 0
            for record in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if record and len(record) != width:
                    return start
    except UnicodeDecodeError:
        return None
    except csv.Error:
        return previous_end + 1
    return None


def _arrow_ints(indices: Any) -> np.ndarray:
    """int64 numpy copy of an Arrow integer array, nulls as -1.

    Reads the buffers directly: pyarrow's ``to_numpy``/``fill_null`` import pandas (0.4 s).
    """
    n = len(indices)
    width = indices.type.bit_width // 8
    validity, data = indices.buffers()[:2]
    values = np.frombuffer(data, dtype=f"<i{width}", count=n, offset=indices.offset * width)
    values = values.astype(np.int64)
    if indices.null_count and validity is not None:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        valid = bits[indices.offset : indices.offset + n].astype(bool)
        values[~valid] = -1
    return values


def _read_columns_arrow(path: Path, names: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    column_names = [f"c{i}" for i in range(len(names))]
    wanted = {name: column_names[names.index(name)] for name in REQUIRED_COLUMNS}
    # coder and value have few distinct labels: let the (multi-threaded) parser dictionary-encode
    # them per block; unit identifiers are read as text and encoded below
    small = pa.dictionary(pa.int32(), pa.string())
    types = {"unit": pa.string(), "coder": small, "value": small}
    convert = pcsv.ConvertOptions(
        column_types={wanted[name]: types[name] for name in REQUIRED_COLUMNS},
        include_columns=[wanted[name] for name in REQUIRED_COLUMNS],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    last_error: Exception | None = None
    for newlines_in_values in (False, True):
        read = pcsv.ReadOptions(skip_rows=1, column_names=column_names, encoding="utf8")
        parse = pcsv.ParseOptions(newlines_in_values=newlines_in_values)
        try:
            table = pcsv.read_csv(
                path, read_options=read, parse_options=parse, convert_options=convert
            )
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            last_error = exc
    else:
        line = _locate_bad_row(path, len(names))
        if line is not None:
            raise InputFormatError(
                path,
                f"the row does not have the {len(names)} columns of the header",
                "Quote values that contain commas and give every row the header's columns",
                line,
            ) from None
        raise InputFormatError(
            path,
            f"the file cannot be parsed as UTF-8 CSV ({type(last_error).__name__})",
            "Save it as UTF-8 CSV with the header unit,coder,value",
        ) from None

    table = table.unify_dictionaries()

    def column(name: str) -> Any:
        data = table[wanted[name]]
        return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data

    def encode(name: str) -> tuple[np.ndarray, list[Any]]:
        encoded = column(name)
        if not pa.types.is_dictionary(encoded.type):
            encoded = encoded.dictionary_encode()
        return _arrow_ints(encoded.indices), encoded.dictionary.to_pylist()

    unit_codes = _encode_units_arrow(column("unit"))
    coder_codes, coder_labels = encode("coder")
    value_codes, value_labels = encode("value")
    return unit_codes, coder_codes, coder_labels, value_codes, value_labels


_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)


def _factorize_ints(x: np.ndarray) -> np.ndarray:
    """Dense codes 0..k-1 for an integer array (direct addressing when the range is small)."""
    if x.size == 0:
        return x.astype(np.int64)
    low, high = int(x.min()), int(x.max())
    span = high - low + 1
    if span <= max(4 * x.size, 1 << 20):
        offset = (x - x.dtype.type(low)) if low else x
        present = np.zeros(span, dtype=bool)
        present[offset] = True
        rank = np.cumsum(present, dtype=np.int32 if span < 2**31 else np.int64)
        rank -= 1
        return rank[offset]
    return np.unique(x, return_inverse=True)[1].reshape(-1)


def _encode_fixed_width(array: Any) -> np.ndarray | None:
    """Unit codes for identifiers of equal byte length whose varying positions are all digits.

    E.g. "seg0000001", "int03_s0042", "0017". The positions that are the same in every
    identifier are dropped and the remaining digits read as one integer: equal strings give
    equal integers and different strings different integers, so the grouping is exact.
    Returns None when the identifiers do not have this shape.
    """
    n = len(array)
    validity, offsets_buffer, data_buffer = array.buffers()[:3]
    if n == 0 or data_buffer is None:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype="<i4", count=n + 1, offset=array.offset * 4)
    width = int(offsets[1] - offsets[0])
    if width == 0 or int(offsets[-1] - offsets[0]) != n * width:
        return None
    if not np.all(np.diff(offsets) == width):
        return None
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    matrix = data[offsets[0] : offsets[0] + n * width].reshape(n, width)
    # loops below run over character positions, not over units
    varying = [j for j in range(width) if not (matrix[:, j] == matrix[0, j]).all()]
    if len(varying) > 18:
        return None
    number = np.zeros(n, dtype=np.int32 if len(varying) <= 9 else np.int64)
    for column in varying:
        digit = matrix[:, column] - np.uint8(48)  # wraps around for bytes below "0"
        if digit.max() > 9:
            return None
        number *= 10
        number += digit
    return _factorize_ints(number)


def _encode_units_arrow(array: Any) -> np.ndarray:
    """Unit codes from an Arrow string array (-1 = blank).

    Fast paths, both exact: identifiers of equal length whose varying characters are digits
    (:func:`_encode_fixed_width`), and canonical decimal integers ("7", "-3", "120"; no '+',
    no leading zeros, no spaces, checked by comparing string lengths with the digits of the
    parsed number, so "007" and "7" stay different units), factorized in numpy.
    Otherwise Arrow's dictionary encoding, with identifiers stripped of surrounding spaces.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(array)
    if n and array.null_count == 0:
        fixed = _encode_fixed_width(array)
        if fixed is not None:
            return fixed
        head = array.slice(0, min(n, 256))
        if pc.all(pc.match_substring_regex(head, r"^-?[0-9]{1,18}$")).as_py():
            try:
                ints = pc.cast(array, pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                ints = None
            if ints is not None:
                x = _arrow_ints(ints)
                width = 1 + np.searchsorted(_POWERS_OF_TEN, np.abs(x), side="right") + (x < 0)
                if np.array_equal(_arrow_ints(pc.binary_length(array)), width):
                    return _factorize_ints(x)
    encoded = array.dictionary_encode()
    codes = _arrow_ints(encoded.indices)
    dictionary = encoded.dictionary
    if (
        len(dictionary)
        and pc.any(pc.not_equal(pc.utf8_trim_whitespace(dictionary), dictionary)).as_py()
    ):
        remap, _ = _clean_ids(dictionary.to_pylist())
        codes = _relabel(codes, remap).astype(np.int64)
    return codes


def _read_columns_stdlib(path: Path, names: list[str]):
    """Small files: Python's csv module (cheaper than importing pyarrow)."""
    iu, ic, iv = (names.index(name) for name in REQUIRED_COLUMNS)
    units: dict[str, int] = {}
    coders: dict[str, int] = {}
    values: dict[str, int] = {}
    unit_codes: list[int] = []
    coder_codes: list[int] = []
    value_codes: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)  # header, checked by _read_header
            previous_end = reader.line_num
            for record in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not record:
                    continue
                if len(record) != len(names):
                    raise InputFormatError(
                        path,
                        f"the row does not have the {len(names)} columns of the header",
                        "Quote values that contain commas and give every row the header's columns",
                        start,
                    )
                unit = record[iu].strip()
                unit_codes.append(units.setdefault(unit, len(units)) if unit else -1)
                coder_codes.append(coders.setdefault(record[ic], len(coders)))
                value = record[iv]
                value_codes.append(values.setdefault(value, len(values)) if value else -1)
    except UnicodeDecodeError:
        raise InputFormatError(
            path, "the ratings file is not UTF-8 text", "Save it as UTF-8 CSV"
        ) from None
    except csv.Error as exc:
        raise InputFormatError(
            path,
            f"the file cannot be parsed as CSV ({type(exc).__name__})",
            "Check the quoting of the values",
        ) from None
    as_array = lambda items: np.asarray(items, dtype=np.int64)  # noqa: E731
    return (
        as_array(unit_codes),
        as_array(coder_codes),
        list(coders),
        as_array(value_codes),
        list(values),
    )


def _read_columns_pandas(path: Path, names: list[str]):
    import pandas as pd

    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        line = _locate_bad_row(path, len(names))
        raise InputFormatError(
            path,
            "the file cannot be parsed as CSV with the header's columns",
            "Quote values that contain commas and give every row the header's columns",
            line,
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    units = frame["unit"].str.strip().replace("", None)
    unit_codes, _ = pd.factorize(units, use_na_sentinel=True)
    coder_codes, coder_dictionary = pd.factorize(frame["coder"], use_na_sentinel=True)
    value_codes, value_dictionary = pd.factorize(frame["value"], use_na_sentinel=True)
    return unit_codes, coder_codes, list(coder_dictionary), value_codes, list(value_dictionary)


def read_ratings(
    path: str | Path, level: Level = "nominal", order: str | Sequence[str] | None = None
) -> Ratings:
    """Read a long CSV (header unit,coder,value; extra columns ignored) into :class:`Ratings`.

    Files up to ``_SMALL_FILE_BYTES`` are read with the csv module. Larger files use
    pyarrow's multi-threaded CSV reader (the engine behind ``pandas.read_csv(engine=
    "pyarrow")``) with every column read as text, then dictionary-encodes the columns; falls back
    to pandas' C parser when pyarrow is not installed.
    """
    path = Path(path)
    _check_level(level, None, path)
    names = _read_header(path)
    if path.stat().st_size <= _SMALL_FILE_BYTES:
        columns = _read_columns_stdlib(path, names)
    else:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            columns = _read_columns_pandas(path, names)
        else:
            columns = _read_columns_arrow(path, names)
    unit_codes, coder_codes, coder_labels, value_codes, value_labels = columns
    return build_ratings(
        unit_codes,
        coder_codes,
        coder_labels,
        value_codes,
        value_labels,
        level=level,
        order=parse_order(order, path),
        source=path,
        source_is_csv=True,
    )


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def agreement(ratings: Ratings, weights: Weights | None = None) -> AgreementResult:
    """All coefficients for a :class:`Ratings` matrix (alpha via the krippendorff package)."""
    _check_level(ratings.level, weights)
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
    _check_level(level, weights, source)
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
    _check_level(level, weights, path)
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
