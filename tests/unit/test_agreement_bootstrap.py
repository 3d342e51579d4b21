"""Tests for scripts/agreement_bootstrap.py: the batched coefficients of rating patterns against
the ratings engine and the krippendorff package, and the bootstrap's determinism and intervals."""

from __future__ import annotations

import numpy as np
import pytest

from scripts import agreement_bootstrap as bootstrap
from scripts.agreement_coefficients import coefficients


def random_codes(
    rng: np.random.Generator, n_coders: int, n_units: int, q: int, missing: float
) -> np.ndarray:
    truth = rng.integers(0, q, n_units)
    codes = np.where(
        rng.random((n_coders, n_units)) < 0.7, truth, rng.integers(0, q, (n_coders, n_units))
    )
    return np.where(rng.random((n_coders, n_units)) < missing, -1, codes)


def assert_same(engine_value, batched_value) -> None:
    if engine_value is None:
        assert np.isnan(batched_value)
    else:
        assert batched_value == pytest.approx(engine_value, abs=1e-12)


@pytest.mark.parametrize(
    "n_coders, q, missing",
    [(2, 2, 0.0), (3, 2, 0.0), (3, 2, 0.25), (4, 3, 0.2), (2, 3, 0.3), (1, 2, 0.0)],
)
def test_pattern_coefficients_equal_the_engine_on_resampled_units(
    n_coders: int, q: int, missing: float
) -> None:
    """Weights = how often each rating pattern occurs in an explicit resample of the units."""
    rng = np.random.default_rng(n_coders * 10 + q)
    for _ in range(25):
        n_units = int(rng.integers(1, 60))
        codes = random_codes(rng, n_coders, n_units, q, missing)
        patterns, counts = bootstrap.rating_patterns(codes, q)
        assert counts.sum() == n_units
        column = {tuple(pattern): p for p, pattern in enumerate(patterns.T)}
        samples = [codes, *(codes[:, rng.integers(0, n_units, n_units)] for _ in range(3))]
        weights = np.zeros((len(samples), patterns.shape[1]))
        for b, sample in enumerate(samples):
            for unit in sample.T:
                weights[b, column[tuple(unit)]] += 1
        batched = bootstrap.pattern_coefficients(patterns, weights, q)
        for b, sample in enumerate(samples):
            expected = coefficients(sample, q, level="nominal", alpha_backend="numpy")
            for name in bootstrap.COEFFICIENTS:
                assert_same(expected[name], batched[name][b])


def test_pattern_coefficients_match_published_krippendorff_package() -> None:
    import krippendorff

    rng = np.random.default_rng(3)
    codes = random_codes(rng, 3, 200, 2, 0.0)
    patterns, counts = bootstrap.rating_patterns(codes, 2)
    batched = bootstrap.pattern_coefficients(patterns, counts[None, :], 2)
    assert batched["krippendorff_alpha"][0] == pytest.approx(
        krippendorff.alpha(reliability_data=codes.astype(float), level_of_measurement="nominal"),
        abs=1e-12,
    )


def test_bootstrap_is_deterministic_per_seed_and_name() -> None:
    codes = random_codes(np.random.default_rng(1), 3, 500, 2, 0.0)
    one = bootstrap.bootstrap(codes, 2, 300, bootstrap.stream(11, "calm", "a,b,c"))
    two = bootstrap.bootstrap(codes, 2, 300, bootstrap.stream(11, "calm", "a,b,c"))
    other_seed = bootstrap.bootstrap(codes, 2, 300, bootstrap.stream(12, "calm", "a,b,c"))
    other_code = bootstrap.bootstrap(codes, 2, 300, bootstrap.stream(11, "work", "a,b,c"))
    for name in bootstrap.COEFFICIENTS:
        np.testing.assert_array_equal(one[name], two[name])
    assert not np.array_equal(one["krippendorff_alpha"], other_seed["krippendorff_alpha"])
    assert not np.array_equal(one["krippendorff_alpha"], other_code["krippendorff_alpha"])
    low, high = bootstrap.interval(one["krippendorff_alpha"], 0.95)
    point = coefficients(codes, 2, alpha_backend="numpy")["krippendorff_alpha"]
    assert low < point < high and high - low < 0.3


def test_bootstrap_interval_matches_explicit_unit_resampling() -> None:
    """The multinomial shortcut and resampling units one by one give the same distribution."""
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 2, 300, 2, 0.0)
    fast = bootstrap.bootstrap(codes, 2, 4000, bootstrap.stream(1, "x"))["krippendorff_alpha"]
    slow = np.array(
        [
            coefficients(codes[:, rng.integers(0, 300, 300)], 2, alpha_backend="numpy")[
                "krippendorff_alpha"
            ]
            for _ in range(1500)
        ]
    )
    assert np.quantile(fast, [0.025, 0.5, 0.975]) == pytest.approx(
        np.quantile(slow, [0.025, 0.5, 0.975]), abs=0.02
    )


def test_interval_needs_enough_defined_replicates() -> None:
    assert bootstrap.interval(np.array([np.nan] * 6 + [0.5] * 4), 0.95) == (None, None)
    low, high = bootstrap.interval(np.array([np.nan] * 4 + [0.2, 0.4, 0.6, 0.8, 0.5, 0.3]), 0.5)
    assert (low, high) == pytest.approx((0.325, 0.575))  # quartiles of the six defined values
