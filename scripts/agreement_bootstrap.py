"""Bootstrap confidence intervals of the agreement coefficients (the ``agreement`` rule).

Resampling the n units with replacement only changes how many times each distinct
rating pattern occurs (with binary presence and 3 coders there are at most 8 patterns), and the
counts of the patterns follow a multinomial distribution with the observed pattern shares. So
each replicate is one multinomial draw, and :func:`pattern_coefficients` computes every
coefficient for all replicates at once from the pattern counts (B x patterns matrices; tested
equal to the engine on explicitly resampled data). A comparison's random stream is seeded from
``agreement.seed``, the code and the coders, so adding a code or a coder does not change the
intervals of the others.
"""

from __future__ import annotations

import hashlib

import numpy as np

from scripts.agreement_coefficients import UNDEFINED_TOLERANCE

#: The coefficients the agreement rule reports, in the order of its tables' columns.
COEFFICIENTS = (
    "percent_agreement",
    "percent_agreement_pairable",
    "krippendorff_alpha",
    "cohen_kappa",
    "scott_pi",
    "fleiss_kappa",
    "conger_kappa",
    "gwet_ac1",
    "brennan_prediger",
)
#: A bootstrap interval needs at least this share of replicates where the coefficient is defined.
MIN_DEFINED_SHARE = 0.5


def rating_patterns(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of a coders x units code matrix (-1 = missing) and their counts.

    Returns ``patterns`` (coders x P) and ``counts`` (P,), patterns in a fixed (sorted) order.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_coders = codes.shape[0]
    base = n_categories + 1
    if n_coders * np.log2(base) >= 62:  # too many coders to pack a column into one integer
        patterns, counts = np.unique(codes, axis=1, return_counts=True)
        return patterns, counts
    key = np.zeros(codes.shape[1], dtype=np.int64)
    for row in codes:  # loop over coders, not units
        key = key * base + (row + 1)
    unique, counts = np.unique(key, return_counts=True)
    patterns = np.empty((n_coders, unique.size), dtype=np.int64)
    rest = unique.copy()
    for coder in reversed(range(n_coders)):
        patterns[coder] = rest % base - 1
        rest //= base
    return patterns, counts


def _chance_corrected(pa: np.ndarray, pe: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (pa - pe) / (1.0 - pe)
    undefined = ~np.isfinite(pa) | ~np.isfinite(pe) | (1.0 - pe <= UNDEFINED_TOLERANCE)
    return np.where(undefined, np.nan, out)


def pattern_coefficients(
    patterns: np.ndarray, weights: np.ndarray, n_categories: int
) -> dict[str, np.ndarray]:
    """Every nominal, unweighted coefficient of :func:`scripts.agreement_coefficients.coefficients` for many
    data sets at once: data set ``b`` holds ``weights[b, p]`` units with rating pattern ``p``.

    ``patterns``: coders x P category codes (-1 = missing); ``weights``: B x P unit counts.
    Returns arrays of shape (B,), NaN where the engine returns None.
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    q = n_categories
    n_coders = patterns.shape[0]
    n_batch = weights.shape[0]
    counts = np.stack([(patterns == k).sum(axis=0) for k in range(q)], axis=1).astype(
        float
    )  # P x q
    ratings = counts.sum(axis=1)
    pairable = ratings >= 2
    rated = ratings > 0
    nan = np.full(n_batch, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_pair = weights[:, pairable]
        c_pair = counts[pairable]
        r_pair = ratings[pairable]
        same = (c_pair * (c_pair - 1.0)).sum(axis=1)
        pairable_units = w_pair.sum(axis=1)
        pa = np.where(
            pairable_units > 0,
            (w_pair @ (same / (r_pair * (r_pair - 1.0)))) / pairable_units,
            np.nan,
        )
        pa_pairable = np.where(
            pairable_units > 0, (w_pair @ (same / (r_pair - 1.0))) / (w_pair @ r_pair), np.nan
        )
        w_rated = weights[:, rated]
        rated_units = w_rated.sum(axis=1)
        pi = (w_rated @ (counts[rated] / ratings[rated, None])) / rated_units[:, None]  # B x q
        out: dict[str, np.ndarray] = {
            "percent_agreement": pa,
            "percent_agreement_pairable": pa_pairable,
        }
        fleiss = _chance_corrected(pa, (pi**2).sum(axis=1))
        out["fleiss_kappa"] = fleiss if n_coders >= 2 else nan
        out["scott_pi"] = fleiss if n_coders == 2 else nan
        out["gwet_ac1"] = (
            _chance_corrected(pa, (pi * (1.0 - pi)).sum(axis=1) / (q - 1)) if q >= 2 else nan
        )
        out["brennan_prediger"] = (
            _chance_corrected(pa, np.full(n_batch, 1.0 / q)) if q >= 2 else nan
        )
        # Krippendorff's alpha (nominal) from the coincidence matrix o_kl
        unit_coincidences = (
            c_pair[:, :, None] * c_pair[:, None, :] - np.eye(q)[None] * c_pair[:, :, None]
        ) / (r_pair - 1.0)[:, None, None]
        o = (w_pair @ unit_coincidences.reshape(-1, q * q)).reshape(n_batch, q, q)
        n_k = o.sum(axis=2)
        n = n_k.sum(axis=1)
        observed = n - np.trace(o, axis1=1, axis2=2)
        expected = (n**2 - (n_k**2).sum(axis=1)) / (n - 1.0)
        defined = (pairable_units > 0) & (expected > UNDEFINED_TOLERANCE)
        out["krippendorff_alpha"] = np.where(defined, 1.0 - observed / expected, np.nan)
        # Conger: chance agreement from each coder's own category shares
        if n_coders >= 2:
            classif = np.stack(
                [
                    weights @ (patterns[g][:, None] == np.arange(q)[None, :]).astype(float)
                    for g in range(n_coders)
                ],
                axis=1,
            )  # B x coders x q
            per_coder = classif.sum(axis=2)
            p = classif / per_coder[:, :, None]
            p_mean = p.mean(axis=1)
            s2 = ((p**2).sum(axis=1) - n_coders * p_mean**2) / (n_coders - 1)
            conger = _chance_corrected(pa, (p_mean**2 - s2 / n_coders).sum(axis=1))
            out["conger_kappa"] = np.where((per_coder > 0).all(axis=1), conger, np.nan)
        else:
            out["conger_kappa"] = nan
        # Cohen: the 2 x 2 (q x q) table of the units both coders rated
        if n_coders == 2:
            both = (patterns[0] >= 0) & (patterns[1] >= 0)
            cell = patterns[0][both] * q + patterns[1][both]
            onehot = (cell[:, None] == np.arange(q * q)[None, :]).astype(float)
            table = (weights[:, both] @ onehot).reshape(n_batch, q, q)
            total = table.sum(axis=(1, 2))
            agree = np.trace(table, axis1=1, axis2=2) / total
            chance = (table.sum(axis=2) * table.sum(axis=1)).sum(axis=1) / total**2
            out["cohen_kappa"] = np.where(total > 0, _chance_corrected(agree, chance), np.nan)
        else:
            out["cohen_kappa"] = nan
    return {name: out[name] for name in COEFFICIENTS}


def bootstrap(
    codes: np.ndarray, n_categories: int, iterations: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Coefficients of ``iterations`` bootstrap replicates (units resampled with replacement)."""
    patterns, counts = rating_patterns(codes, n_categories)
    total = int(counts.sum())
    if total == 0 or iterations == 0:
        return {name: np.full(iterations, np.nan) for name in COEFFICIENTS}
    draws = rng.multinomial(total, counts / total, size=iterations)
    return pattern_coefficients(patterns, draws, n_categories)


def interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval over the replicates where the coefficient is defined."""
    defined = samples[np.isfinite(samples)]
    if samples.size == 0 or defined.size < MIN_DEFINED_SHARE * samples.size:
        return None, None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return float(low), float(high)


def stream(seed: int, *names: str) -> np.random.Generator:
    """A random generator for one comparison: the same seed and names give the same stream."""
    words = [int.from_bytes(hashlib.sha1(name.encode()).digest()[:4], "big") for name in names]
    return np.random.default_rng([seed, *words])
