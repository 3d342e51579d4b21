"""Tests for the agreement rules: scripts/agreement_comparisons.py, agreement_quality_gate.py,
agreement_report.py and agreement_html.py (the bootstrap: test_agreement_bootstrap.py): unit
grains, the prevalence-paradox flag, the quality gate, disagreements and the HTML page."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from scripts import agreement as engine
from scripts import agreement_bootstrap as bootstrap
from scripts import agreement_comparisons as comparisons
from scripts import agreement_html
from scripts import agreement_quality_gate as gate
from scripts import agreement_report as report
from scripts.agreement_comparisons import Settings

from .coding_helpers import anchored_tables, write_csv, write_project

SETTINGS = Settings(iterations=200, seed=7, minimum_alpha=0.667, minimum_alpha_per_code=0.667)
CODING = {"roles": ["participant"], "consensus": "consensus", "coders": []}


def test_prevalence_paradox_flag() -> None:
    """A rare code: coders agree on 96 of 100 units, yet kappa is near 0 while AC1 is near 1."""
    rare = np.zeros((2, 100), dtype=int)
    rare[0, [0, 1]] = 1
    rare[1, [2, 3]] = 1
    flagged = comparisons.figures(rare, SETTINGS, bootstrap.stream(1, "rare"))
    assert flagged["percent_agreement"] == pytest.approx(0.96)
    assert flagged["kappa"] < 0.05 and flagged["gwet_ac1"] > 0.9
    assert flagged["prevalence_paradox"] == "yes" and flagged["prevalence"] == pytest.approx(0.02)
    balanced = np.array([[1, 0] * 50, [1, 0] * 48 + [0, 1, 0, 1]])
    unflagged = comparisons.figures(balanced, SETTINGS, bootstrap.stream(1, "balanced"))
    assert (
        unflagged["prevalence_paradox"] == "no"
        and abs(unflagged["gwet_ac1"] - unflagged["kappa"]) < 0.05
    )
    assert (
        comparisons.figures(
            rare, Settings(iterations=10, paradox_gap=2.0), bootstrap.stream(1, "r")
        )["prevalence_paradox"]
        == "no"
    )


# ---------------------------------------------------------------------------------------------
# From coder folders to tables
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def study(tmp_path: Path) -> dict:
    """T1 and T2 coded by a and b; c coded T1 only; a consensus of T1."""
    paths = write_project(tmp_path)
    coding = tmp_path / "coding"
    files = [
        write_csv(
            coding / "a" / "c.csv",
            [
                ["T1-0002-001", "calm"],
                ["T1-0002-003", "queue"],
                ["T1-0004-002", "queue"],
                ["T2-0002-001", "calm"],
            ],
        ),
        write_csv(
            coding / "b" / "c.csv",
            [
                ["T1-0002-001", "calm"],
                ["T1-0004-001", "queue"],
                ["T2-0002-001", "calm"],
                ["T2-0002-002", "work"],
            ],
        ),
        write_csv(coding / "c" / "c.csv", [["T1-0002-001", "calm"], ["T1-0002-002", "work"]]),
        write_csv(
            coding / "consensus" / "c.csv", [["T1-0002-001", "calm"], ["T1-0004-001", "queue"]]
        ),
    ]
    return {"paths": paths, "files": [str(f) for f in files], "coding": coding, "root": tmp_path}


def run(study: dict, settings: Settings = SETTINGS, coding: dict = CODING):
    from scripts import codings

    paths = study["paths"]
    segments = [str(paths["T1"]), str(paths["T2"])]
    tables = anchored_tables(study["root"], paths["codebook"], study["files"], segments, coding)
    coders = sorted(codings.group_by_coder(study["files"]))
    return report.run(
        str(paths["codebook"]), tables, coders, segments, coding, settings, ["T1", "T2"], "the log"
    )


def corpus(study: dict, grain: str, coders=("a", "b", "c")):
    from scripts import coding_records, codings
    from scripts.codebook import load_codebook

    grouped = codings.group_by_coder(study["files"])
    parsed = {coder: codings.read_coder(coder, files) for coder, files in grouped.items()}
    segments = coding_records.load_segments([study["paths"]["T1"], study["paths"]["T2"]])
    book = load_codebook(study["paths"]["codebook"])
    checked = codings.check_codings(
        parsed, segments, book, ["participant"], list(coders), "consensus", ["T1", "T2"]
    )
    return comparisons.Corpus(checked, segments, book, ["participant"], grain)


@pytest.mark.parametrize(
    "grain, unit_ids, queue_a, queue_b",
    [
        # T1 participant segments: turn 2 (3 sentences), turn 4 (2); T2: turn 2 (2)
        (
            "segment",
            [
                "T1-0002-001",
                "T1-0002-002",
                "T1-0002-003",
                "T1-0004-001",
                "T1-0004-002",
                "T2-0002-001",
                "T2-0002-002",
            ],
            [0, 0, 1, 0, 1, 0, 0],
            [0, 0, 0, 1, 0, 0, 0],
        ),
        ("turn", ["T1-0002", "T1-0004", "T2-0002"], [1, 1, 0], [0, 1, 0]),
        ("transcript", ["T1", "T2"], [1, 0], [1, 0]),
    ],
)
def test_unit_grains(
    study: dict, grain: str, unit_ids: list[str], queue_a: list[int], queue_b: list[int]
) -> None:
    units = corpus(study, grain).units(("a", "b"))
    assert units.unit_ids == unit_ids
    queue = 2  # codebook order: calm, work, queue
    assert units.presence[0, :, queue].astype(int).tolist() == queue_a
    assert units.presence[1, :, queue].astype(int).tolist() == queue_b
    assert units.transcripts == ("T1", "T2") and units.n_segments_left_out == 0


def test_comparisons_use_transcripts_all_compared_coders_coded(study: dict) -> None:
    units = corpus(study, "segment").units(("a", "b", "c"))
    assert units.transcripts == ("T1",) and units.n_segments == 5 and units.n_segments_left_out == 2


def test_tables(study: dict) -> None:
    tables, checked, _ = run(study)
    assert [row["comparison"] for row in tables.summary] == [
        "all coders",
        "a vs b",
        "a vs c",
        "b vs c",
    ]
    everyone = tables.summary[0]
    assert (
        everyone["n_transcripts"],
        everyone["n_segments"],
        everyone["n_segments_left_out"],
        everyone["n_units"],
    ) == (1, 5, 2, 15)
    assert tables.summary[1]["n_segments"] == 7 and tables.summary[1]["n_segments_left_out"] == 0
    assert [row["code_id"] for row in tables.by_code] == ["calm", "queue", "work"]
    calm = tables.by_code[0]
    assert (
        calm["krippendorff_alpha"] == 1
        and calm["applied"] == "a=1 b=1 c=1"
        and calm["coders"] == "a,b,c"
    )
    assert len(tables.by_pair) == 3 * 3
    assert [p.kind for p in checked.warnings] == ["partial_coverage"]
    # by_code alpha is the engine's alpha on the same presence matrix
    queue = next(row for row in tables.by_code if row["code_id"] == "queue")
    matrix = [[0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]
    assert queue["krippendorff_alpha"] == pytest.approx(
        engine.agreement_from_matrix(matrix).krippendorff_alpha, abs=1e-4
    )
    assert queue["fleiss_kappa"] == pytest.approx(
        engine.agreement_from_matrix(matrix).fleiss_kappa, abs=1e-4
    )
    assert queue["cohen_kappa"] is None  # three coders


def test_disagreements_list_segments_with_consensus(study: dict) -> None:
    tables, _, _ = run(study)
    rows = [
        (r["code_id"], r["segment_id"], r["applied_by"], r["not_applied_by"], r["consensus"])
        for r in tables.disagreements
    ]
    assert rows == [
        ("queue", "T1-0002-003", "a", "b,c", "no"),
        ("queue", "T1-0004-001", "b", "a,c", "yes"),
        ("queue", "T1-0004-002", "a", "b,c", "no"),
        ("work", "T1-0002-002", "c", "a,b", "no"),
        ("work", "T2-0002-002", "b", "a", ""),  # T2: coded by a and b only; no consensus for T2 yet
    ]
    text = next(r["text"] for r in tables.disagreements if r["segment_id"] == "T1-0002-003")
    assert text == "The queue is long."


def test_every_disagreement_has_the_segments_around_it(study: dict) -> None:
    """A short segment cannot be judged alone: the segment before and after it, speaker first,
    within the transcript (nothing before a transcript's first segment)."""
    tables, _, _ = run(study)
    context = {
        r["segment_id"]: (r["context_before"], r["text"], r["context_after"])
        for r in tables.disagreements
    }
    assert context["T1-0002-003"] == (
        "Participant: I sell <fish> & rice.",
        "The queue is long.",
        "Interviewer: Why?",
    )
    assert context["T1-0004-001"] == (
        "Interviewer: Why?",
        "Too many people.",
        "Participant: We wait all day.",
    )
    assert context["T2-0002-002"] == (
        "Participant: My mind is calm.",
        "I have a job.",
        "",
    )  # the transcript's end
    assert all(row["context_before"] or row["context_after"] for row in tables.disagreements)


def test_disagreements_at_turn_grain_list_the_segments_of_the_turn(study: dict) -> None:
    tables, _, _ = run(study, Settings(unit="turn", iterations=20, seed=1))
    queue = [
        (r["unit_id"], r["segment_id"], r["applied_by"])
        for r in tables.disagreements
        if r["code_id"] == "queue"
    ]
    # turn T1-0004: a and b both applied queue (different sentences), c did not
    assert queue == [
        ("T1-0002", "T1-0002-003", "a"),
        ("T1-0004", "T1-0004-001", "b"),
        ("T1-0004", "T1-0004-002", "a"),
    ]


def test_two_coders_pair_equals_all(study: dict) -> None:
    tables, _, _ = run(study, coding={**CODING, "coders": ["a", "b"]})
    assert [row["comparison"] for row in tables.summary] == ["all coders"]
    assert [row["krippendorff_alpha"] for row in tables.by_pair] == [
        row["krippendorff_alpha"] for row in tables.by_code
    ]
    assert tables.by_code[0]["cohen_kappa"] is not None


def test_outputs_are_deterministic(study: dict) -> None:
    first, checked, book = run(study)
    second, _, _ = run(study)
    assert first.by_code == second.by_code and first.summary == second.summary
    page = agreement_html.render(first, checked, book, SETTINGS, CODING)
    assert page == agreement_html.render(second, checked, book, SETTINGS, CODING)


def test_coding_errors_stop_the_run_after_logging_them_all(
    study: dict, caplog, monkeypatch
) -> None:
    import logging

    from scripts.coding_records import CodingError

    # scripts.rule_jobs, once imported (by any test), stops the qualflow logger's records reaching
    # the root logger, where caplog listens: let them through for this test
    monkeypatch.setattr(logging.getLogger("qualflow"), "propagate", True)
    write_csv(study["coding"] / "b" / "c.csv", [["T1-0002-001", "clam"], ["T1-0099-001", "calm"]])
    with pytest.raises(
        CodingError,
        match=r"b/c.csv, row 2: code clam is not in the codebook .*\(and 1 more coding error",
    ):
        run(study)
    assert (
        sum(
            "b/c.csv" in record.getMessage()
            for record in caplog.records
            if record.levelname == "ERROR"
        )
        == 2
    )


def test_fewer_than_two_coders(study: dict) -> None:
    from scripts.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="agreement needs at least two coders, found 1"):
        run(study, coding={**CODING, "coders": ["a"]})
    with pytest.raises(
        ConfigurationError, match="coding.coders names zed, which has no coding files"
    ):
        run(study, coding={**CODING, "coders": ["a", "zed"]})
    with pytest.raises(
        ConfigurationError, match="coding.coders names consensus, the consensus coding"
    ):
        run(study, coding={**CODING, "coders": ["a", "consensus"]})


# ---------------------------------------------------------------------------------------------
# Quality gate
# ---------------------------------------------------------------------------------------------


def test_low_alpha_names_pooled_and_codes_worst_first() -> None:
    summary = [{"krippendorff_alpha": "0.6"}]
    by_code = [
        {"code_id": "a", "krippendorff_alpha": "0.9"},
        {"code_id": "b", "krippendorff_alpha": "0.3"},
        {"code_id": "c", "krippendorff_alpha": ""},
        {"code_id": "d", "krippendorff_alpha": "0.5"},
    ]
    assert gate.low_alpha(summary, by_code, 0.667, 0.667) == [
        ("pooled", 0.6),
        ("b", 0.3),
        ("d", 0.5),
    ]
    assert gate.low_alpha(summary, by_code, 0.5, 0.4) == [("b", 0.3)]
    assert gate.low_alpha(summary, by_code, None, None) == []
    rows, _ = gate.quality_gate(
        summary, by_code, Settings(minimum_alpha=0.667, minimum_alpha_per_code=0.667)
    )
    assert [(r["scope"], r["status"]) for r in rows] == [
        ("pooled", "below"),
        ("a", "ok"),
        ("b", "below"),
        ("c", "undefined"),
        ("d", "below"),
    ]


def agreement_gate(summary: Path, by_code: Path, output: Path, agreement: dict, log: Path) -> None:
    """Run the agreement_gate rule's job as its rule does."""
    report.agreement_gate(
        {"summary": str(summary), "by_code": str(by_code)},
        {"quality_gate": str(output)},
        {"config": {"agreement": agreement}, "code": ""},
        str(log),
    )


def gate_files(tmp_path: Path) -> tuple[Path, Path]:
    summary = tmp_path / "summary.tsv"
    by_code = tmp_path / "by_code.tsv"
    summary.write_text("comparison\tkrippendorff_alpha\nall coders\t0.81\n", encoding="utf-8")
    by_code.write_text(
        "code_id\tkrippendorff_alpha\ncalm\t0.9\nqueue\t0.42\nwork\t\n", encoding="utf-8"
    )
    return summary, by_code


def test_quality_gate_warns(tmp_path: Path) -> None:
    summary, by_code = gate_files(tmp_path)
    output, log = tmp_path / "gate.tsv", tmp_path / "gate.log"
    agreement_gate(summary, by_code, output, {"minimum_alpha": 0.667, "on_low_alpha": "warn"}, log)
    assert "WARNING: " in log.read_text(encoding="utf-8") and "queue (0.420)" in log.read_text(
        encoding="utf-8"
    )
    rows = list(csv.DictReader(open(output, encoding="utf-8"), delimiter="\t"))
    assert [(r["scope"], r["status"]) for r in rows] == [
        ("pooled", "ok"),
        ("calm", "ok"),
        ("queue", "below"),
        ("work", "undefined"),
    ]


def test_quality_gate_fails_naming_the_codes(tmp_path: Path) -> None:
    summary, by_code = gate_files(tmp_path)
    output = tmp_path / "gate.tsv"
    settings = {"minimum_alpha": 0.85, "minimum_alpha_per_code": 0.667, "on_low_alpha": "fail"}
    with pytest.raises(gate.QualityGateError) as caught:
        agreement_gate(summary, by_code, output, settings, tmp_path / "gate.log")
    message = str(caught.value)
    assert re.search(
        r"by_code.tsv: Krippendorff's alpha below the minimum \(0.85 pooled, 0.667 per code\) for 2 of the "
        r"checked figures: pooled \(0.810\), queue \(0.420\)\. Reconcile these codes",
        message,
    )
    assert not output.exists()


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def test_html_is_self_contained_escaped_and_has_a_row_per_code(study: dict) -> None:
    write_csv(
        study["coding"] / "a" / "c.csv",
        [["T1-0002-001", "calm"], ["T1-0002-002", "work"], ["T2-0002-001", "calm"]],
    )
    tables, checked, book = run(study)
    page = agreement_html.render(tables, checked, book, SETTINGS, CODING)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "I sell &lt;fish&gt; &amp; rice." in page and "<fish>" not in page
    # each flag links to its plain explanation, the prevalence paradox explained first
    assert (
        page.index('id="flag-paradox"')
        < page.index('id="flag-below"')
        < page.index('id="flag-undefined"')
    )
    assert "What to report:" in page and "do not switch to AC1 because it is higher" in page
    assert 'href="#flag-below"' in page and '<div class="context">Interviewer: Why?</div>' in page
    assert len(re.findall(r'<tr class="code-row"', page)) == len(book.codes)
    assert (
        not re.search(r"(src|href)=\"(https?:)?//", page)
        and "<script" not in page
        and "<link" not in page
    )
    assert page.count("<svg") == len(book.codes) + len(tables.summary)
    # worst first: the per-code table is sorted by alpha, undefined last
    order = re.findall(r'<tr class="code-row" id="code-([a-z]+)"', page)
    alphas = {row["code_id"]: row["krippendorff_alpha"] for row in tables.by_code}
    defined = [code for code in order if alphas[code] is not None]
    assert defined == sorted(defined, key=lambda code: alphas[code])
    assert order[len(defined) :] == [code for code in order if alphas[code] is None]


def test_ci_bar_clips_to_the_scale() -> None:
    svg = agreement_html.ci_bar(-0.3, -0.5, 0.2, 0.667)
    assert 'cx="4.0"' in svg and "alpha -0.300, 95% CI -0.500 to 0.200" in svg
    assert "<rect" not in agreement_html.ci_bar(
        0.5, None, None, None
    ) and "<circle" not in agreement_html.ci_bar(None, None, None, None)
