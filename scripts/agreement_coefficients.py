"""The agreement coefficients of the ratings engine (scripts/agreement.py), computed from a
coders x units matrix of category codes (``-1`` = missing) or a units x categories count matrix.

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

The functions here (:func:`category_counts`, :func:`coefficients` and the per-coefficient
functions) are vectorised with numpy (no Python loop over units) and meant to be called many
times when bootstrapping.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np

from scripts.errors import ConfigurationError

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"]

LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS: tuple[str, ...] = ("linear", "quadratic")

#: Above this many (pairable units x categories x categories) cells, Krippendorff's alpha is
#: computed with the numpy formula instead of the krippendorff package (memory).
_PACKAGE_ALPHA_MAX_CELLS = 20_000_000
#: A chance agreement this close to 1 leaves a coefficient undefined (no division by ~0).
UNDEFINED_TOLERANCE = 1e-12


def check_level(level: str, weights: str | None, source: str | Path | None = None) -> None:
    """Refuse an unknown level of measurement or weights, and weights on unordered categories."""
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
    if pa is None or pe is None or not math.isfinite(pe) or 1.0 - pe <= UNDEFINED_TOLERANCE:
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
    if expected <= UNDEFINED_TOLERANCE * max(1.0, float(d.max(initial=0.0))):
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


WEIGHTED_KEYS = (
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
    check_level(level, weights)
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
    scores = category_scores(level, n_categories, values)
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
        out.update({key: None for key in WEIGHTED_KEYS})
    else:
        weighted = family(weight_matrix(n_categories, weights, scores))
        out.update({f"{key}_weighted": value for key, value in weighted.items()})
        out["gwet_ac2"] = out.pop("gwet_ac1_weighted")
    return out


def category_scores(level: str, q: int, values: np.ndarray | None) -> np.ndarray | None:
    """The scores of the q categories that weights and distances use: the numeric values for
    interval and ratio, the ranks for ordinal, none for nominal."""
    if level in ("interval", "ratio"):
        return None if values is None else np.asarray(values, dtype=float)
    if level == "ordinal":
        return np.arange(q, dtype=float)
    return None
