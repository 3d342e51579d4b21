"""The agreement stage in the real workflow, on the mini data and its two coders
(tests/data/mini/data/coding/: coder_a codes A01, A02 and B01; coder_b only A01 and A02)."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from .chromium import find_chromium, open_page
from .conftest import MINI, REPO, job_counts, run_workflow, stage_counts, use_config

pytestmark = pytest.mark.workflow
OUTPUTS = [
    "by_code.tsv",
    "by_pair.tsv",
    "summary.tsv",
    "disagreements.tsv",
    "coding_problems.tsv",
    "report.html",
    "quality_gate.tsv",
]


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def new_project(root: Path) -> Path:
    shutil.copytree(MINI / "data", root / "data")
    shutil.copy(REPO / "config.yaml", root / "config.yaml")
    return root


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini study, run once for the tests of this module."""
    project = new_project(tmp_path_factory.mktemp("coded"))
    before = digest_tree(project / "data" / "coding")
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert digest_tree(project / "data" / "coding") == before  # the pipeline never writes there
    project.joinpath("stderr.txt").write_text(completed.stderr, encoding="utf-8")
    return project


def test_outputs_and_an_independent_computation(coded: Path) -> None:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    agreement = coded / "results" / "agreement"
    for name in OUTPUTS:
        assert (agreement / name).exists(), name
    # Independently of qualflow: participant segments of the transcripts both coders coded, and
    # for one code, each coder's 0/1 per segment straight from the coding files.
    coding = coded / "data" / "coding"
    applied = {
        coder: {(row["segment_id"], row["code_id"]) for row in read(coding / coder / "codings.csv")}
        for coder in ("coder_a", "coder_b")
    }
    transcripts_a = {segment.split("-")[0] for segment, _ in applied["coder_a"]}
    transcripts_b = {
        line
        for line in (coding / "coder_b" / "transcripts.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    both = sorted(transcripts_a & transcripts_b)
    assert both == ["A01", "A02"]
    segments = [
        row["segment_id"]
        for transcript in both
        for row in read(coded / "results" / "segments" / f"{transcript}.tsv")
        if row["role"] == "participant"
    ]
    matrix = [
        [int((segment, "stability") in applied[coder]) for segment in segments]
        for coder in ("coder_a", "coder_b")
    ]
    alpha = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    kappa = cohen_kappa_score(*matrix)
    agree = sum(a == b for a, b in zip(*matrix)) / len(segments)

    by_code = {row["code_id"]: row for row in read(agreement / "by_code.tsv")}
    assert sorted(by_code) == ["costs", "family", "flexibility", "goals", "stability", "stigma"]
    stability = by_code["stability"]
    assert int(stability["n_units"]) == len(segments)
    assert float(stability["krippendorff_alpha"]) == pytest.approx(alpha, abs=5e-5)
    assert float(stability["cohen_kappa"]) == pytest.approx(kappa, abs=5e-5)
    assert float(stability["percent_agreement"]) == pytest.approx(agree, abs=5e-5)
    assert (
        float(stability["krippendorff_alpha_low"])
        <= alpha
        <= float(stability["krippendorff_alpha_high"])
    )
    assert by_code["goals"]["krippendorff_alpha"] == ""  # nobody applied it in A01/A02: undefined

    [summary] = read(agreement / "summary.tsv")
    assert (summary["n_transcripts"], summary["n_segments"]) == ("2", str(len(segments)))
    assert int(summary["n_segments_left_out"]) == sum(
        row["role"] == "participant" for row in read(coded / "results" / "segments" / "B01.tsv")
    )
    [problem] = read(agreement / "coding_problems.tsv")
    assert (problem["kind"], problem["coder"]) == ("partial_coverage", "coder_b")
    disagreements = {
        (row["code_id"], row["segment_id"]): row for row in read(agreement / "disagreements.tsv")
    }
    assert set(disagreements) == {("stability", "A01-0004-002"), ("stigma", "A02-0002-002")}
    row = disagreements[("stigma", "A02-0002-002")]
    assert (row["applied_by"], row["not_applied_by"], row["consensus"]) == (
        "coder_a",
        "coder_b",
        "no",
    )
    segments = read(coded / "results" / "segments" / "A02.tsv")
    position = next(index for index, s in enumerate(segments) if s["segment_id"] == "A02-0002-002")
    assert row["text"] == segments[position]["text"]
    # context from the de-identified segments: the one before and the one after, speaker first
    assert (
        row["context_before"]
        == f"{segments[position - 1]['speaker']}: {segments[position - 1]['text']}"
    )
    assert (
        row["context_after"]
        == f"{segments[position + 1]['speaker']}: {segments[position + 1]['text']}"
    )
    for item in disagreements.values():
        assert item["context_before"] or item["context_after"], item
    # The gate warned (minimum 0.667 in config.yaml), naming the codes below it.
    stderr = (coded / "stderr.txt").read_text(encoding="utf-8")
    assert re.search(
        r"qualflow WARNING: .*by_code.tsv: Krippendorff's alpha below the minimum \(0.667\) .*stigma \(0.000\), stability",
        stderr,
    )


PANEL = 1050  # px: the width of the Snakemake report's panel the agreement report is read in


def test_report_in_headless_chromium(coded: Path, tmp_path: Path) -> None:
    """The report at the report panel's width: no table wider than its place, every flag and
    every link to the disagreements on screen, each disagreement with its context, each flag
    explained (checked in the DOM and on the screenshot, which is as wide as the laid-out page)."""
    import matplotlib.image

    if find_chromium() is None:
        pytest.skip(
            "Chromium is not installed and could not be installed (make test runs: apt-get install chromium)"
        )
    page = coded / "results" / "agreement" / "report.html"
    shot = tmp_path / "report.png"
    seen = open_page(
        page,
        {
            "page_width": "[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]",
            "wide_tables": """[...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth
                           || t.parentElement.scrollWidth > t.parentElement.clientWidth).map(t => t.id || t.className)""",
            "flags": "document.querySelectorAll('td.flags .badge, td.flags a').length",
            "flags_off_screen": """[...document.querySelectorAll('td.flags .badge, td.flags a')].filter(e => {
                               const box = e.getBoundingClientRect();
                               return box.left < 0 || box.right > document.documentElement.clientWidth || box.width === 0; }).length""",
            "explained": "[...document.querySelectorAll('dl.flags dt')].map(e => e.id)",
            "rows_without_context": "[...document.querySelectorAll('table.disagreements tbody tr')].filter(r => !r.querySelector('.context')).length",
            "code_rows": "document.querySelectorAll('#by-code tbody tr').length",
            "codes": "[...document.querySelectorAll('#by-code tbody tr code')].map(e => e.textContent)",
            "resources": "performance.getEntriesByType('resource').length",
            "svg": "document.querySelectorAll('#by-code svg').length",
            "disagreement_rows": "document.querySelectorAll('table.disagreements tbody tr').length",
            "title": "document.title",
        },
        width=PANEL,
        screenshot=shot,
    )
    assert seen.errors() == []
    assert seen.values["title"] == "Inter-coder agreement"
    assert (
        seen.values["code_rows"] == 6 and seen.values["svg"] == 6
    )  # one row (and one CI drawing) per code
    assert sorted(seen.values["codes"]) == [
        "costs",
        "family",
        "flexibility",
        "goals",
        "stability",
        "stigma",
    ]
    assert seen.values["resources"] == 0  # self-contained: nothing else was loaded
    assert seen.values["disagreement_rows"] == 2
    width, client, viewport = seen.values["page_width"]
    assert viewport == PANEL and width <= client  # nothing to scroll sideways
    assert seen.values["wide_tables"] == []
    assert (
        seen.values["flags"] >= 12 and seen.values["flags_off_screen"] == 0
    )  # a badge and a link per code at least
    assert seen.values["explained"][:4] == [
        "flag-paradox",
        "flag-below",
        "flag-undefined",
        "flag-ok",
    ]
    assert seen.values["rows_without_context"] == 0
    assert (
        matplotlib.image.imread(shot).shape[1] <= PANEL
    )  # the screenshot is as wide as the page as laid out


def test_editing_a_coding_reruns_only_agreement_and_its_checks(coded: Path) -> None:
    planned = run_workflow(coded, "--dry-run")
    assert "Nothing to be done" in planned.stdout + planned.stderr
    coding = coded / "data" / "coding" / "coder_b" / "codings.csv"
    coding.write_text(
        coding.read_text(encoding="utf-8") + "A01-0002-004,family\n", encoding="utf-8"
    )
    planned = run_workflow(coded, "--dry-run")
    # coder_b's codings followed (their own job) and the ledger, the agreement, its gate, its
    # figure, the provenance (the coding file's hash) and the leak check over the new outputs;
    # coder_b's coding is not the final one, so no themes
    assert job_counts(planned.stdout) == {
        "anchor_codings": 1,
        "anchoring_ledger": 1,
        "agreement": 1,
        "agreement_gate": 1,
        "theme_figures": 1,
        "provenance": 1,
        "leak_check": 1,
        "all": 1,
    }, planned.stdout[-2000:]


def test_no_codings_no_agreement(project: Path) -> None:
    shutil.rmtree(project / "data" / "coding" / "coder_b")  # one coder left: nothing to compare
    planned = run_workflow(project, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-2000:]
    counts = stage_counts(job_counts(planned.stdout))
    assert "segment" in counts and "agreement" not in counts and "agreement_gate" not in counts


def test_a_coding_whose_text_cannot_be_found_waits_for_a_person(project: Path) -> None:
    """A text_sha1 of no version this study has kept: the coding is left out, reported with file
    and row, and the run goes on (or, with coding.on_recheck: fail, stops before agreement)."""
    coding = project / "data" / "coding" / "coder_a" / "codings.csv"
    rows = coding.read_text(encoding="utf-8").splitlines()
    rows[0] += ",text_sha1"
    rows[1:] = [
        row + "," + ("0" * 40 if number == 3 else "")
        for number, row in enumerate(rows[1:], start=2)
    ]
    coding.write_text("\n".join(rows) + "\n", encoding="utf-8")
    completed = run_workflow(project)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    line = (
        r"data/coding/coder_a/codings.csv, row 3: the coding of A01-0004-001 was coded on a text that is not among the "
        r"versions this study has kept; code \w+ is left out until a person re-checks it\. Read the coded text"
    )
    assert any(re.search(line, text) for text in output.splitlines()), output[-3000:]
    assert "update its text_sha1" not in output  # never: the ID may now name another sentence
    [waiting] = [
        row
        for row in read(project / "results" / "coding" / "anchoring.tsv")
        if row["status"] == "recheck"
    ]
    assert (waiting["coder"], waiting["row"], waiting["segment_id"]) == (
        "coder_a",
        "3",
        "A01-0004-001",
    )
    report = (project / "results" / "agreement" / "report.html").read_text(encoding="utf-8")
    assert 'id="recheck-table"' in report and "A01-0004-001" in report
    use_config(project, "recheck_fails")
    completed = run_workflow(project)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert any(
        re.search(r"codings.csv, row 3: 1 coding\(s\) need a person to re-check them", text)
        for text in output.splitlines()
    )


def test_quality_gate_can_fail_the_run_and_keeps_the_report(project: Path) -> None:
    use_config(project, "low_agreement_fails")
    completed = run_workflow(project)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert re.search(
        r"by_code.tsv: Krippendorff's alpha below the minimum \(0.667\) for 2 of the checked figures: "
        r"stigma \(0.000\), stability \(0.627\)\. Reconcile these codes",
        output,
    ), output[-3000:]
    agreement = project / "results" / "agreement"
    assert (agreement / "report.html").exists() and not (agreement / "quality_gate.tsv").exists()


def test_a_failed_run_leaves_nothing_stale_that_reads_as_current(project: Path) -> None:
    """After a coding error, the earlier run's agreement tables, gate and figures are gone (they
    would not match the codings any more); the failed job's log says what went wrong."""
    assert run_workflow(project).returncode == 0
    results = project / "results"
    assert (results / "agreement" / "quality_gate.tsv").exists()
    coding = project / "data" / "coding" / "coder_b" / "codings.csv"
    coding.write_text(
        coding.read_text(encoding="utf-8") + "A01-0002-001,no_such_code\n", encoding="utf-8"
    )
    completed = run_workflow(project)
    assert completed.returncode != 0
    assert not any((results / "agreement").glob("*"))
    assert not (results / "figures" / "agreement_by_code.png").exists()
    assert not (results / "deidentified" / "leak_check.tsv").exists()
    assert "no_such_code is not in the codebook" in (results / "logs" / "agreement.log").read_text(
        encoding="utf-8"
    )
    assert "were out of date and have been removed" in completed.stderr
    assert (
        results / "themes" / "prevalence.tsv"
    ).exists()  # the final coding did not change: still current
