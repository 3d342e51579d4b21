"""The REFI-QDA exchange in the real workflow, on the mini data: the export, then a third coder's
project coded "in a QDA program" (codings added to the exported project) read by agreement."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lxml import etree

from scripts import refi_qda, refi_qda_standard
from tests.unit import refi_helpers as qda

from .conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_export_then_a_coded_project_is_read_by_agreement(project: Path) -> None:
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    exported = project / "results" / "exchange" / "project.qdpx"
    members = qda.read_members(exported)
    schema = etree.XMLSchema(
        etree.parse(str(REPO / "workflow" / "schemas" / "refi-qda" / "Project.xsd"))
    )
    assert schema.validate(etree.fromstring(members["project.qde"])), schema.error_log
    transcripts = sorted(path.stem for path in (project / "data" / "raw").iterdir())
    summary = refi_qda.summarize(exported)
    assert (summary["sources"], summary["selections"], summary["problems"]) == (
        len(transcripts),
        0,
        [],
    )
    leak_check = {
        Path(row["file"]).name: row
        for row in read_tsv(project / "results" / "deidentified" / "leak_check.tsv")
    }
    assert (
        leak_check["project.qdpx"]["leaks"] == "0" and int(leak_check["project.qdpx"]["lines"]) > 0
    )
    assert "codebook.qdc" in leak_check

    # coder_c codes A01 in a QDA program: stability on two sentences selected at once, family on one
    rendered = refi_qda_standard.render_transcript(
        read_tsv(project / "results" / "segments" / "A01.tsv")
    )
    span = {segment: (start, end) for segment, start, end in rendered.spans}
    stability, family = (
        refi_qda_standard.stable_guid("code", "stability"),
        refi_qda_standard.stable_guid("code", "family"),
    )
    qda.coded_copy(
        exported,
        project / "data" / "coding" / "coder_c" / "project.qdpx",
        "Coder C",
        [
            ("A01", span["A01-0004-001"][0], span["A01-0004-002"][1], [stability]),
            ("A01", *span["A01-0002-002"], [family]),
        ],
    )
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    by_code = {
        row["code_id"]: row for row in read_tsv(project / "results" / "agreement" / "by_code.tsv")
    }
    assert (
        "coder_c=2" in by_code["stability"]["applied"].split()
        and "coder_c=1" in by_code["family"]["applied"].split()
    )
    assert by_code["stability"]["coders"] == "coder_a,coder_b,coder_c"
    problems = [
        row
        for row in read_tsv(project / "results" / "agreement" / "coding_problems.tsv")
        if row["coder"] == "coder_c"
    ]
    assert [row for row in problems if row["severity"] == "error"] == []
    assert {row["kind"] for row in problems} <= {"partial_coverage"}
