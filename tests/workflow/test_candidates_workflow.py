"""Candidate coding, learned suggestions, quality and coding sheets in the real workflow (mini data)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl

from scripts.parts import part_of

from .conftest import job_counts, parts_of, run_workflow, stage_counts, use_config

TRANSCRIPTS = ["A01", "A02", "B01", "B02"]


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_candidates_quality_and_sheets(project: Path) -> None:
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = project / "results"
    for transcript in TRANSCRIPTS:
        candidates = rows(results / "candidates" / f"{transcript}.tsv")
        assert all(row["segment_id"].startswith(f"{transcript}-") for row in candidates)
        assert all(row["source"] in ("keyword", "pattern") for row in candidates)
    a01 = {(row["segment_id"], row["code_id"]) for row in rows(results / "candidates" / "A01.tsv")}
    assert ("A01-0004-001", "stability") in a01  # "stable" in the consensus-coded segment

    quality = rows(results / "candidates" / "quality.tsv")
    assert {row["method"] for row in quality} == {"keyword", "learned", "both"}
    assert {row["code_id"] for row in quality} == {
        "stability",
        "family",
        "stigma",
        "costs",
        "goals",
        "flexibility",
        "(micro)",
    }
    micro = {row["method"]: row for row in quality if row["code_id"] == "(micro)"}
    assert int(micro["keyword"]["support"]) > 0 and float(micro["keyword"]["recall"]) > 0
    assert (
        (results / "candidates" / "learned.tsv")
        .read_text(encoding="utf-8")
        .startswith("segment_id\tcode_id\tsource\tscore")
    )

    for coder in ("coder_a", "coder_b"):
        for transcript in TRANSCRIPTS:
            workbook = openpyxl.load_workbook(
                results / "coding_sheets" / coder / f"{transcript}.xlsx", read_only=True
            )
            header = next(workbook["coding"].iter_rows(max_row=1, values_only=True))
            assert "suggested" not in header and "stability" in header  # blind by default
    assert not any((project / "data" / "coding").rglob("*.xlsx"))  # the pipeline never writes there


def test_no_final_coding_no_learned_or_quality(project: Path) -> None:
    shutil.rmtree(project / "data" / "coding" / "consensus")
    planned = run_workflow(project, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-2000:]
    counts = stage_counts(job_counts(planned.stdout))
    assert counts["candidate_codes"] == parts_of(TRANSCRIPTS)  # a job per part of the corpus
    assert "learned_candidates" not in counts and "candidate_quality" not in counts


def test_codebook_error_stops_the_run_naming_the_code(project: Path) -> None:
    codebook = project / "data" / "codebook.yaml"
    codebook.write_text(
        codebook.read_text(encoding="utf-8").replace("        keywords: [goals]\n", ""),
        encoding="utf-8",
    )
    planned = run_workflow(project, "--dry-run")
    assert planned.returncode != 0
    assert (
        "data/codebook.yaml, line 32: code goals: has no keywords and no patterns"
        in planned.stdout + planned.stderr
    ), planned.stdout[-2000:]


def test_sheets_are_planned_per_coder_and_transcript_and_a_corpus_workbook_on_request(
    project: Path,
) -> None:
    planned = run_workflow(project, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-2000:]
    counts = stage_counts(job_counts(planned.stdout))
    assert counts["coding_sheets"] == parts_of(
        TRANSCRIPTS
    )  # one job per part writes every coder's sheets
    # the part job's record is what Snakemake plans; it lists each coder's sheet of each transcript
    record = f"results/parts/coding_sheets/{part_of('A01')}.tsv"
    assert record in planned.stdout
    assert run_workflow(project, record).returncode == 0
    made = {
        row["file"]
        for row in csv.DictReader(open(project / record, encoding="utf-8"), delimiter="\t")
    }
    assert {
        "results/coding_sheets/coder_a/A01.xlsx",
        "results/coding_sheets/coder_b/A01.xlsx",
    } <= made
    assert all((project / file).is_file() for file in made)
    use_config(project, "one_workbook_per_coder")
    planned = run_workflow(project, "--dry-run")
    assert (
        job_counts(planned.stdout)["coding_sheets"] == 1
        and "results/coding_sheets/coder_a.xlsx" in planned.stdout
    )
