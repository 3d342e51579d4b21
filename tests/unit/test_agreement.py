"""Tests for the inter-coder agreement "ratings engine": scripts/agreement.py (entry points and
command line), scripts/agreement_coefficients.py, scripts/agreement_ratings.py and
scripts/agreement_ratings_file.py.

* Published reference values (tests/data/reference/agreement_cases.json), each run through the
  command line exactly as the workflow will run it.
* Properties: perfect agreement, invariance to relabelling / reordering, agreement with
  scikit-learn and with the krippendorff package, the package's quirks (orientation, default
  level, label order), and Gwet's missing-data formulas against a literal (slow, per-unit loop)
  transcription of irrCAC's ``*.raw`` functions.
* Bad input: each raises a QualflowError subclass naming the file and row; the CLI exits 2.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest

from scripts import agreement as ag
from scripts import agreement_coefficients as coefficients
from scripts import agreement_ratings_file as ratings_file
from scripts.errors import ConfigurationError, InputFormatError, QualflowError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "agreement.py"
CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "reference" / "agreement_cases.json"

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
) + coefficients.WEIGHTED_KEYS


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def write_long_csv(path: Path, matrix, unit_prefix: str = "u", coder_prefix: str = "c") -> Path:
    """Coders x units matrix -> long CSV unit,coder,value; None = absent row."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["unit", "coder", "value"])
        for c, row in enumerate(matrix):
            for u, value in enumerate(row):
                if value is not None:
                    writer.writerow([f"{unit_prefix}{u}", f"{coder_prefix}{c}", value])
    return path


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    # one BLAS thread per process: the cases run as parallel processes on few cores
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def random_ratings(rng, n_coders=4, n_units=40, q=3, missing=0.2, agree=0.6):
    """Coders x units codes (-1 = missing), correlated so coefficients are not ~0."""
    truth = rng.integers(0, q, n_units)
    noise = rng.integers(0, q, (n_coders, n_units))
    codes = np.where(rng.random((n_coders, n_units)) < agree, truth, noise)
    codes = np.where(rng.random((n_coders, n_units)) < missing, -1, codes)
    return codes


def to_frame(codes, labels=None, coder_order=None, unit_order=None) -> pd.DataFrame:
    """Long DataFrame from a code matrix; labels maps code -> value label."""
    rows = []
    coders = range(codes.shape[0]) if coder_order is None else coder_order
    units = range(codes.shape[1]) if unit_order is None else unit_order
    for c in coders:
        for u in units:
            k = int(codes[c, u])
            if k >= 0:
                rows.append(
                    {"unit": f"u{u}", "coder": f"c{c}", "value": k if labels is None else labels[k]}
                )
    return pd.DataFrame(rows, columns=["unit", "coder", "value"])


def figures(result: ag.AgreementResult) -> dict:
    return {key: getattr(result, key) for key in COEFFICIENTS}


def assert_same_figures(a: dict, b: dict, tol: float = 1e-10) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
        else:
            assert a[key] == pytest.approx(b[key], abs=tol), key


# ---------------------------------------------------------------------------------------------
# published reference cases, through the command line
# ---------------------------------------------------------------------------------------------


CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]


def cli_options(case: dict) -> list[str]:
    """CLI options for a reference case.

    ``level_of_measurement`` is a level for every case but one: the AC2 case gives the weighting
    scheme there ("quadratic"); weights need ordered categories, so it runs as ordinal (its data
    are the codes 1, 2, 3, equally spaced, so ranks and values give the same weights).
    """
    level = case["level_of_measurement"]
    weights = case.get("weights")
    if level in coefficients.WEIGHTS:
        weights, level = level, "ordinal"
    options = ["--level", level]
    if weights:
        options += ["--weights", weights]
    if case.get("order"):
        options += ["--order", ",".join(map(str, case["order"]))]
    return options


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, list[str]]]:
    """Run every case through the CLI once, in parallel (each run is a fresh interpreter)."""
    folder = tmp_path_factory.mktemp("agreement_cases")

    def run(case: dict):
        csv_path = write_long_csv(folder / f"{case['name']}.csv", case["data"])
        options = cli_options(case)
        return case["name"], (run_cli("--ratings", csv_path, *options, "--json"), options)

    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_reference_case_through_cli(case, cli_results):
    completed, options = cli_results[case["name"]]
    assert completed.returncode == 0, completed.stderr
    output = json.loads(completed.stdout)
    value = output[case["metric"]]
    assert value is not None, f"{case['metric']} undefined with {options}"
    assert abs(value - case["expected"]) <= case["tolerance"], (
        f"{case['name']}: {case['metric']} = {value!r}, expected {case['expected']} "
        f"+/- {case['tolerance']} ({' '.join(options)})"
    )


def test_reference_alternative_forms_match_the_core():
    """Cases also give a units x categories ``counts`` or a two-coder ``table``: same values."""
    checked = 0
    for case in CASES:
        if "counts" in case and case["metric"] == "fleiss_kappa":
            got = coefficients.fleiss_kappa(np.asarray(case["counts"]))
            assert abs(got - case["expected"]) <= case["tolerance"], case["name"]
            checked += 1
        if "table" in case and case["metric"] == "cohen_kappa":
            got = coefficients.cohen_kappa_from_table(np.asarray(case["table"]))
            assert abs(got - case["expected"]) <= case["tolerance"], case["name"]
            checked += 1
    assert checked >= 2


def test_cli_json_is_sorted_plain_and_null_for_undefined(tmp_path):
    csv_path = write_long_csv(tmp_path / "r.csv", [[1, 2, 2, None], [1, 2, 1, 2], [1, 2, 2, 2]])
    completed = run_cli("--ratings", csv_path, "--level", "nominal", "--json")
    assert completed.returncode == 0, completed.stderr
    pairs = json.loads(completed.stdout, object_pairs_hook=lambda items: items)
    keys = [key for key, _ in pairs]
    assert keys == sorted(keys)
    output = dict(pairs)
    assert "NaN" not in completed.stdout and "Infinity" not in completed.stdout
    assert output["cohen_kappa"] is None and output["scott_pi"] is None  # three coders
    assert output["gwet_ac2"] is None and output["weights"] is None
    assert (output["n_units"], output["n_units_pairable"], output["n_coders"]) == (4, 4, 3)
    assert isinstance(output["krippendorff_alpha"], float)
    for key in (
        "percent_agreement",
        "percent_agreement_pairable",
        "krippendorff_alpha",
        "fleiss_kappa",
        "conger_kappa",
        "gwet_ac1",
        "brennan_prediger",
        "n_units",
        "n_units_pairable",
        "n_coders",
        "level",
        "weights",
        "cohen_kappa",
    ):
        assert key in output


# ---------------------------------------------------------------------------------------------
# independent reference: irrCAC's raw-data formulas, transcribed literally (loops over units)
# ---------------------------------------------------------------------------------------------


def irrcac_raw(codes: np.ndarray, q: int, w: np.ndarray) -> dict[str, float]:
    """Gwet (2014) / irrCAC pa.coeff.raw, fleiss.kappa.raw, gwet.ac1.raw, bp.coeff.raw,
    conger.kappa.raw. ``codes``: coders x units, -1 missing; units without ratings excluded."""
    ratings = [[int(x) for x in codes[:, u] if x >= 0] for u in range(codes.shape[1])]
    ratings = [r for r in ratings if r]
    n = len(ratings)
    agree = np.zeros((n, q))
    for i, unit in enumerate(ratings):
        for k in unit:
            agree[i, k] += 1
    agree_w = agree @ w.T
    ri = agree.sum(axis=1)
    sum_q = (agree * (agree_w - 1)).sum(axis=1)
    two = ri >= 2
    pa = float(np.sum(sum_q[two] / (ri[two] * (ri[two] - 1))) / two.sum())
    pi = np.zeros(q)
    for i in range(n):
        pi += agree[i] / ri[i] / n
    out = {"pa": pa}
    pe = float(np.sum(w * np.outer(pi, pi)))
    out["fleiss"] = (pa - pe) / (1 - pe)
    pe = float(w.sum() * np.sum(pi * (1 - pi)) / (q * (q - 1)))
    out["ac1"] = (pa - pe) / (1 - pe)
    pe = float(w.sum() / q**2)
    out["bp"] = (pa - pe) / (1 - pe)
    r = codes.shape[0]
    classif = np.zeros((r, q))
    for g in range(r):
        for x in codes[g]:
            if x >= 0:
                classif[g, x] += 1
    pgk = classif / classif.sum(axis=1, keepdims=True)
    pbar = pgk.sum(axis=0) / r
    s2 = (pgk.T @ pgk - r * np.outer(pbar, pbar)) / (r - 1)
    pe = float(np.sum(w * (np.outer(pbar, pbar) - s2 / r)))
    out["conger"] = (pa - pe) / (1 - pe)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_missing_data_formulas_match_irrcac_transcription(seed, weights):
    rng = np.random.default_rng(seed)
    q = 4
    codes = random_ratings(rng, n_coders=int(rng.integers(2, 6)), n_units=30, q=q, missing=0.3)
    codes[:, 0] = -1  # a unit nobody rated
    codes[1:, 1] = -1  # a unit rated once at most
    got = coefficients.coefficients(codes, q, level="ordinal", weights=weights)
    suffix = "" if weights is None else "_weighted"
    ac = "gwet_ac1" if weights is None else "gwet_ac2"
    expected = irrcac_raw(codes, q, coefficients.weight_matrix(q, weights))
    assert got["percent_agreement" + suffix] == pytest.approx(expected["pa"], abs=1e-12)
    assert got["fleiss_kappa" + suffix] == pytest.approx(expected["fleiss"], abs=1e-12)
    assert got[ac] == pytest.approx(expected["ac1"], abs=1e-12)
    assert got["brennan_prediger" + suffix] == pytest.approx(expected["bp"], abs=1e-12)
    assert got["conger_kappa" + suffix] == pytest.approx(expected["conger"], abs=1e-12)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_coders", [2, 3, 5])
@pytest.mark.parametrize(
    "level,weights",
    [
        ("nominal", None),
        ("ordinal", "linear"),
        ("ordinal", "quadratic"),
        ("interval", "quadratic"),
        ("ratio", None),
    ],
)
def test_perfect_agreement_gives_one_wherever_defined(n_coders, level, weights):
    rng = np.random.default_rng(n_coders)
    truth = rng.integers(0, 4, 25)
    truth[:4] = [0, 1, 2, 3]
    codes = np.tile(truth, (n_coders, 1))
    codes[rng.random(codes.shape) < 0.2] = -1
    codes[:2, :8] = truth[:8]  # keep every category pairable
    values = [1, 2, 3, 4]
    frame = to_frame(codes, labels=values)
    result = ag.agreement_from_frame(frame, level=level, weights=weights)
    defined = {key: value for key, value in figures(result).items() if value is not None}
    expected_undefined = set()
    if n_coders != 2:
        expected_undefined |= {
            "cohen_kappa",
            "scott_pi",
            "cohen_kappa_weighted",
            "scott_pi_weighted",
        }
    if weights is None:
        expected_undefined |= set(coefficients.WEIGHTED_KEYS)
    assert set(COEFFICIENTS) - set(defined) == expected_undefined
    for key, value in defined.items():
        assert value == pytest.approx(1.0, abs=1e-12), key


def test_single_category_leaves_chance_corrected_coefficients_undefined():
    codes = np.zeros((3, 10), dtype=int)
    result = ag.agreement_from_frame(to_frame(codes), level="nominal")
    assert result.percent_agreement == 1.0 and result.percent_agreement_pairable == 1.0
    for key in (
        "krippendorff_alpha",
        "fleiss_kappa",
        "conger_kappa",
        "gwet_ac1",
        "brennan_prediger",
    ):
        assert getattr(result, key) is None, key
    # declaring the full category set with --order makes AC1 and BP defined (q = 2)
    frame = to_frame(codes, labels=["absent"])
    declared = ag.agreement_from_frame(frame, level="nominal", order="absent,present")
    assert declared.n_categories == 2
    assert declared.gwet_ac1 == 1.0 and declared.brennan_prediger == 1.0
    assert declared.fleiss_kappa is None


@pytest.mark.parametrize("seed", range(5))
def test_nominal_invariant_to_relabelling_categories(seed):
    rng = np.random.default_rng(100 + seed)
    codes = random_ratings(rng, n_coders=2 + seed % 3, q=4)
    base = figures(ag.agreement_from_frame(to_frame(codes), level="nominal"))
    permutation = rng.permutation(4)
    text = ["zeta", "alpha", "Mu", "beta"]
    relabelled = to_frame(codes, labels={k: text[permutation[k]] for k in range(4)})
    assert_same_figures(base, figures(ag.agreement_from_frame(relabelled, level="nominal")))
    numbers = to_frame(codes, labels={k: float(10 * permutation[k] + 0.5) for k in range(4)})
    assert_same_figures(base, figures(ag.agreement_from_frame(numbers, level="nominal")))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "level,weights", [("nominal", None), ("ordinal", "quadratic"), ("interval", "linear")]
)
def test_invariant_to_reordering_coders_and_units(seed, level, weights):
    rng = np.random.default_rng(200 + seed)
    n_coders = 2 + seed % 3
    codes = random_ratings(rng, n_coders=n_coders, q=4)
    labels = [1, 2, 4, 7]
    base = figures(ag.agreement_from_frame(to_frame(codes, labels), level=level, weights=weights))
    coder_order = rng.permutation(n_coders)
    unit_order = rng.permutation(codes.shape[1])
    by_coders = to_frame(codes, labels, coder_order=coder_order)
    by_units = to_frame(codes, labels, unit_order=unit_order)
    shuffled_rows = to_frame(codes, labels).sample(frac=1.0, random_state=seed)
    for frame in (by_coders, by_units, shuffled_rows):
        assert_same_figures(
            base, figures(ag.agreement_from_frame(frame, level=level, weights=weights))
        )
    # and directly on the matrix core
    core = coefficients.coefficients(
        codes[coder_order][:, unit_order],
        4,
        level=level,
        values=np.array(labels, float),
        weights=weights,
    )
    assert_same_figures(base, core)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", coefficients.LEVELS)
def test_numpy_alpha_equals_krippendorff_package(seed, level):
    rng = np.random.default_rng(300 + seed)
    codes = random_ratings(rng, n_coders=3 + seed % 3, q=5, missing=0.35)
    values = np.array([1.0, 2.0, 3.5, 5.0, 9.0])
    reliability = np.where(codes >= 0, values[np.maximum(codes, 0)], np.nan)
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement=level)
    counts = coefficients.category_counts(codes, 5)
    scores = values if level in ("interval", "ratio") else None
    assert coefficients.krippendorff_alpha_from_counts(counts, level, scores) == pytest.approx(
        expected, abs=1e-12
    )
    assert coefficients.krippendorff_alpha_package(counts, level, scores) == pytest.approx(
        expected, abs=1e-12
    )


def test_krippendorff_orientation_is_coders_by_units():
    """The package wants coders x units; the transposed matrix gives another (wrong) value."""
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
            [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
        ]
    )
    right = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    wrong = krippendorff.alpha(reliability_data=data.T, level_of_measurement="nominal")
    assert abs(right - wrong) > 0.05
    matrix = [[None if np.isnan(x) else int(x) for x in row] for row in data]
    ours = ag.agreement_from_matrix(matrix, level="nominal").krippendorff_alpha
    assert ours == pytest.approx(right, abs=1e-12)
    assert ours == pytest.approx(0.743, abs=5e-4)
    # the long format has no orientation: a units x coders reading of the same rows is identical
    frame = to_frame(np.where(np.isnan(data), -1, data).astype(int))
    assert ag.agreement_from_frame(frame, level="nominal").krippendorff_alpha == pytest.approx(
        right
    )


def test_krippendorff_default_level_is_interval_so_level_is_always_passed():
    data = np.array(
        [[1, 2, 3, 3, 2, 1, 4, 1, 2], [1, 2, 3, 3, 2, 2, 4, 1, 2], [2, 3, 3, 3, 2, 3, 4, 2, 2]],
        float,
    )
    default = krippendorff.alpha(reliability_data=data)
    nominal = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert default == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    )
    assert abs(default - nominal) > 1e-3
    result = ag.agreement_from_matrix(data.astype(int).tolist(), level="nominal")
    assert result.krippendorff_alpha == pytest.approx(nominal)


def test_ordinal_text_labels_follow_order_not_alphabet():
    """Text labels: the package (and a naive sort) would order them alphabetically."""
    numeric = [[1, 2, 3, 3, 2, 1, 1, 2], [1, 3, 3, 2, 2, 2, 1, 3], [2, 3, 3, 3, 1, 1, 1, 2]]
    names = {1: "low", 2: "mid", 3: "high"}
    text = [[names[x] for x in row] for row in numeric]
    by_numbers = ag.agreement_from_matrix(numeric, level="ordinal", weights="quadratic")
    by_order = ag.agreement_from_matrix(
        text, level="ordinal", weights="quadratic", order="low,mid,high"
    )
    assert_same_figures(figures(by_numbers), figures(by_order))
    alphabetical = ag.agreement_from_matrix(
        text, level="ordinal", weights="quadratic", order="high,low,mid"
    )
    assert abs(alphabetical.krippendorff_alpha - by_order.krippendorff_alpha) > 1e-3
    assert abs(alphabetical.gwet_ac2 - by_order.gwet_ac2) > 1e-3
    with pytest.raises(InputFormatError, match="--order"):
        ag.agreement_from_matrix(text, level="ordinal")


def test_numbers_sort_numerically_and_same_number_is_one_category(tmp_path):
    # as text, "10" < "9" < "2"; numerically 2 < 9 < 10
    path = tmp_path / "r.csv"
    path.write_text(
        "unit,coder,value\n"
        "u1,a,2\nu1,b,2.0\nu2,a,9\nu2,b,10\nu3,a,10\nu3,b,10\nu4,a,2\nu4,b,9\nu5,a,9\nu5,b,9\n",
        encoding="utf-8",
    )
    result = ag.agreement_from_csv(path, level="ordinal", weights="linear")
    assert result.categories == (2, 9, 10)
    ranks = ag.agreement_from_matrix(
        [[1, 2, 3, 1, 2], [1, 3, 3, 2, 2]], level="ordinal", weights="linear"
    )
    assert_same_figures(figures(result), figures(ranks))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_scikit_learn_with_labels_in_order(seed, weights):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(400 + seed)
    codes = random_ratings(rng, n_coders=2, n_units=60, q=4, missing=0.15)
    scale = ["none", "some", "much", "all"]  # alphabetical order differs from the scale
    both = (codes >= 0).all(axis=0)
    expected = cohen_kappa_score(
        [scale[k] for k in codes[0, both]],
        [scale[k] for k in codes[1, both]],
        labels=scale,
        weights=weights,
    )
    frame = to_frame(codes, labels=scale)
    level = "nominal" if weights is None else "ordinal"
    result = ag.agreement_from_frame(frame, level=level, weights=weights, order=scale)
    got = result.cohen_kappa if weights is None else result.cohen_kappa_weighted
    assert got == pytest.approx(expected, abs=1e-12)
    if weights is not None:  # sklearn's default label order (alphabetical) gives another value
        alphabetical = cohen_kappa_score(
            [scale[k] for k in codes[0, both]], [scale[k] for k in codes[1, both]], weights=weights
        )
        assert abs(alphabetical - got) > 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_two_coder_identities(seed):
    rng = np.random.default_rng(500 + seed)
    complete = random_ratings(rng, n_coders=2, q=3, missing=0.0)
    result = coefficients.coefficients(complete, 3)
    assert result["conger_kappa"] == pytest.approx(result["cohen_kappa"], abs=1e-12)
    assert result["scott_pi"] == pytest.approx(result["fleiss_kappa"], abs=1e-12)
    assert result["percent_agreement"] == pytest.approx(
        result["percent_agreement_pairable"], abs=1e-12
    )
    with_missing = random_ratings(rng, n_coders=2, q=3, missing=0.3)
    both = (with_missing >= 0).all(axis=0)
    result = coefficients.coefficients(with_missing, 3)
    assert result["cohen_kappa"] == pytest.approx(
        coefficients.coefficients(with_missing[:, both], 3)["cohen_kappa"]
    )


def test_blank_values_are_missing_and_n_units_counts_rated_units(reader, tmp_path):
    with_blanks = tmp_path / "blanks.csv"
    with_blanks.write_text(
        'unit,coder,value\nu1,a,x\nu1,b,x\nu2,a,y\nu2,b,\nu3,a,\nu3,b,""\nu4,a,y\nu4,b,x\nu5,a,x\n',
        encoding="utf-8",
    )
    without = tmp_path / "without.csv"
    without.write_text(
        "unit,coder,value\nu1,a,x\nu1,b,x\nu2,a,y\nu4,a,y\nu4,b,x\nu5,a,x\n", encoding="utf-8"
    )
    a = ag.agreement_from_csv(with_blanks, level="nominal")
    b = ag.agreement_from_csv(without, level="nominal")
    assert_same_figures(figures(a), figures(b))
    assert (a.n_units, a.n_units_pairable, a.n_units_complete, a.n_coders) == (4, 2, 2, 2)


def test_identifiers_integer_fast_path_keeps_distinct_spellings(reader, tmp_path):
    # "7" and "007" are different units; " u2" and "u2" are the same unit
    path = tmp_path / "ids.csv"
    path.write_text("unit,coder,value\n7,a,1\n007,a,2\n7,b,1\n007,b,2\n", encoding="utf-8")
    result = ag.agreement_from_csv(path, level="nominal")
    assert result.n_units == 2 and result.percent_agreement == 1.0
    canonical = tmp_path / "ints.csv"
    canonical.write_text(
        "unit,coder,value\n10,a,1\n-3,a,2\n10,b,1\n-3,b,1\n99999999999,b,2\n", encoding="utf-8"
    )
    result = ag.agreement_from_csv(canonical, level="nominal")
    assert (result.n_units, result.n_units_pairable, result.percent_agreement) == (3, 2, 0.5)
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("unit,coder,value\nu1,a,1\n u1 ,b,1\nu2,a ,2\nu2,b,1\n", encoding="utf-8")
    result = ag.agreement_from_csv(spaced, level="nominal")
    assert (result.n_units, result.n_coders, result.percent_agreement) == (2, 2, 0.5)


def test_identical_duplicate_rows_are_harmless(reader, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("unit,coder,value\nu1,a,1\nu1,a,1\nu1,b,1\nu2,a,2\nu2,b,1\n", encoding="utf-8")
    assert ag.agreement_from_csv(path, level="nominal").percent_agreement == 0.5


def test_core_is_bootstrap_friendly():
    """Resampling units = resampling columns of the code matrix; fast per replicate."""
    import time

    rng = np.random.default_rng(7)
    codes = random_ratings(rng, n_coders=5, n_units=300, q=2, missing=0.1)
    start = time.perf_counter()
    replicates = [
        coefficients.coefficients(codes[:, rng.integers(0, 300, 300)], 2)["krippendorff_alpha"]
        for _ in range(200)
    ]
    elapsed = time.perf_counter() - start
    assert all(r is not None for r in replicates)
    assert elapsed < 5.0  # ~1 ms per replicate in practice; loose bound for slow CI machines


# ---------------------------------------------------------------------------------------------
# bad input (each file-level check runs with the small-file csv reader and with pyarrow's)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=["csv-module", "pyarrow"])
def reader(request, monkeypatch):
    if request.param == "pyarrow":
        monkeypatch.setattr(ratings_file, "_SMALL_FILE_BYTES", -1)
    return request.param


def test_cli_missing_columns_exits_2_with_one_line_naming_the_file(tmp_path):
    path = tmp_path / "no_value.csv"
    path.write_text("unit,coder,code\nu1,a,1\nu1,b,1\n", encoding="utf-8")
    completed = run_cli("--ratings", path, "--level", "nominal", "--json")
    assert completed.returncode == 2
    assert completed.stdout == ""
    message = completed.stderr.strip()
    assert "\n" not in message
    assert str(path) in message and "line 1" in message and "value" in message
    with pytest.raises(InputFormatError):
        ratings_file.read_ratings(path, "nominal")


def _cli_error(capsys, path, *options) -> str:
    assert ag.main(["--ratings", str(path), *options, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    assert "\n" not in message and str(path) in message
    return message


def test_conflicting_duplicate_names_the_rows(reader, tmp_path, capsys):
    path = tmp_path / "conflict.csv"
    path.write_text(
        "unit,coder,value\nu1,a,1\nu1,b,1\nu2,a,2\n\nu2,a,3\nu2,b,2\n", encoding="utf-8"
    )
    with pytest.raises(InputFormatError) as info:
        ratings_file.read_ratings(path, "nominal")
    assert info.value.line == 4
    assert "data rows 3 and 4 (lines 4 and 6)" in str(info.value)
    assert "data rows 3 and 4" in _cli_error(capsys, path, "--level", "nominal")


def test_conflicting_duplicate_in_a_dataframe_names_the_rows():
    frame = pd.DataFrame({"unit": ["u1", "u1", "u1"], "coder": ["a", "b", "a"], "value": [1, 1, 2]})
    with pytest.raises(InputFormatError, match="data rows 1 and 3"):
        ag.agreement_from_frame(frame, level="nominal", source="frame.csv")


@pytest.mark.parametrize(
    "content", ["unit,coder,value\nu1,a,1\nu2,a,2\n", "unit,coder,value\nu1,a,1\nu2,b,\n"]
)
def test_fewer_than_two_coders(reader, tmp_path, capsys, content):
    path = tmp_path / "one.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFormatError, match="at least two"):
        ratings_file.read_ratings(path, "nominal")
    assert "at least two" in _cli_error(capsys, path, "--level", "nominal")


@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_non_numeric_values_with_interval_or_ratio(reader, tmp_path, capsys, level):
    path = tmp_path / "text.csv"
    path.write_text("unit,coder,value\nu1,a,1\nu1,b,2\nu2,a,high\nu2,b,3\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        ratings_file.read_ratings(path, level)
    assert (
        info.value.line == 4 and "data row 3" in str(info.value) and "high" not in str(info.value)
    )
    assert "not a number" in _cli_error(capsys, path, "--level", level)


def test_other_configuration_errors(reader, tmp_path, capsys):
    path = write_long_csv(tmp_path / "r.csv", [["a", "b", "a"], ["a", "b", "b"]])
    with pytest.raises(ConfigurationError, match="nominal"):
        ag.agreement_from_csv(path, level="nominal", weights="linear")
    with pytest.raises(InputFormatError, match="--order does not list") as info:
        ag.agreement_from_csv(path, level="ordinal", order="a,c")
    assert info.value.line == 3
    with pytest.raises(ConfigurationError, match="more than once"):
        ag.agreement_from_csv(path, level="ordinal", order="a,b,a")
    with pytest.raises(ConfigurationError, match="interval"):
        ag.agreement_from_csv(path, level="interval", order="a,b")
    assert "--weights" in _cli_error(capsys, path, "--level", "nominal", "--weights", "quadratic")


def test_unreadable_inputs(reader, tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert "does not exist" in _cli_error(capsys, missing, "--level", "nominal")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "empty" in _cli_error(capsys, empty, "--level", "nominal")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("unit,coder,value\nu1,a,1\nu1,b,1,extra\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as info:
        ratings_file.read_ratings(ragged, "nominal")
    assert info.value.line == 3
    blank_unit = tmp_path / "blank_unit.csv"
    blank_unit.write_text("unit,coder,value\nu1,a,1\n,b,1\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="empty unit") as info:
        ratings_file.read_ratings(blank_unit, "nominal")
    assert info.value.line == 3


def test_every_error_is_a_qualflow_error():
    assert issubclass(InputFormatError, QualflowError) and issubclass(
        ConfigurationError, QualflowError
    )
    with pytest.raises(QualflowError):
        ag.agreement_from_frame(pd.DataFrame({"unit": [1], "coder": ["a"]}), level="nominal")
    with pytest.raises(QualflowError):
        ag.agreement_from_matrix([[1, 2]], level="bogus")


def test_multiline_quoted_field_in_an_extra_column(reader, tmp_path):
    path = tmp_path / "memo.csv"
    path.write_bytes(
        '\ufeffunit,coder,value,memo\r\n"u,1",a,x,"hello, world"\r\n"u,1",b,x,\r\n'
        'u2,a,y,"two\r\nlines"\r\nu2,b,x,z\r\n'.encode("utf-8")
    )
    result = ag.agreement_from_csv(path, level="nominal")
    assert (result.n_units, result.n_coders, result.percent_agreement) == (2, 2, 0.5)
