"""The corpus summary: one row per transcript, from the segment tables alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import corpus
from scripts.contracts import SEGMENT_COLUMNS, ContractError, read_tsv, write_tsv
from scripts.deidentify import AUDIT_COLUMNS
from scripts.segment import segment_turns
from scripts.workflow_run import transcripts_to_parse

CAPTIONS = [
    {
        "transcript_id": "C1",
        "turn": 1,
        "speaker": "Interviewer",
        "role": "interviewer",
        "start_s": 0.5,
        "end_s": 4.25,
        "text": "How did the clinic help?",
        "sentences": [[0, 24]],
    },
    {
        "transcript_id": "C1",
        "turn": 2,
        "speaker": "Participant",
        "role": "participant",
        "start_s": 4.5,
        "end_s": 3725.44,
        "text": "They called me. [PERSON_1] came too.",
        "sentences": [[0, 15], [15, 36]],
    },
]
TEXT = [
    {
        "transcript_id": "T1",
        "turn": 1,
        "speaker": "Participant",
        "role": "participant",
        "text": "One two three.",
        "sentences": [[0, 14]],
    },
]


def write_segments(folder: Path, turns: list[dict]) -> str:
    path = folder / f"{turns[0]['transcript_id']}.tsv"
    write_tsv(path, segment_turns(turns), SEGMENT_COLUMNS, "segments.schema.yaml")
    return str(path)


def test_segments_carry_their_turns_times() -> None:
    segments = segment_turns(CAPTIONS)
    assert [(s["turn_start_s"], s["turn_end_s"]) for s in segments] == [
        (0.5, 4.25),
        (4.5, 3725.44),
        (4.5, 3725.44),
    ]
    assert segment_turns(TEXT)[0]["turn_start_s"] is None


def write_audit(folder: Path, transcript_id: str, rows: list[tuple]) -> str:
    path = folder / f"{transcript_id}.audit.tsv"
    write_tsv(
        path, [dict(zip(AUDIT_COLUMNS, (transcript_id, *row))) for row in rows], AUDIT_COLUMNS
    )
    return str(path)


def make_part(tmp_path: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    raw = {"C1": tmp_path / "C1.vtt", "T1": tmp_path / "T1.txt"}
    raw["C1"].write_bytes(b"WEBVTT\n")
    raw["T1"].write_bytes(b"P: One two three.\n")
    segments = [write_segments(tmp_path, CAPTIONS), write_segments(tmp_path, TEXT)]
    audits = [
        write_audit(tmp_path, "C1", [("PERSON", "ner", "named_entity", "[PERSON_1]", 1)]),
        write_audit(tmp_path, "T1", []),
    ]
    outputs = {"transcripts": tmp_path / "part.tsv", "audit": tmp_path / "part.audit.tsv"}
    corpus.corpus_part(
        input={"raw": [str(path) for path in raw.values()], "segments": segments, "audits": audits},
        output={name: str(path) for name, path in outputs.items()},
        params={"transcripts": list(raw)},
        log=str(tmp_path / "log"),
    )
    return raw, outputs


def test_a_corpus_part_holds_its_transcripts_counts_hashes_and_audit_rows(tmp_path: Path) -> None:
    import hashlib

    raw, outputs = make_part(tmp_path)
    rows = {row["transcript_id"]: row for row in read_tsv(outputs["transcripts"])}
    assert rows["C1"] == {
        "transcript_id": "C1",
        "raw_file": str(raw["C1"]),
        "raw_sha256": hashlib.sha256(b"WEBVTT\n").hexdigest(),
        "format": "vtt",
        "turns": "2",
        "participant_turns": "1",
        "segments": "3",
        "participant_segments": "2",
        "words": "11",
        "duration_s": "3725.4",
    }
    assert rows["T1"]["duration_s"] == "" and rows["T1"]["words"] == "3"
    assert [(row["transcript_id"], row["placeholder"]) for row in read_tsv(outputs["audit"])] == [
        ("C1", "[PERSON_1]")
    ]


def summary(
    transcripts: list[str], part: Path, participants: Path, output: Path, log: Path
) -> None:
    """Rule corpus_summary's job, with the attribute ``site``."""
    corpus.corpus_summary(
        input={"parts": [str(part)], "participants": str(participants)},
        output={"summary": str(output)},
        params={"transcripts": transcripts, "attributes": ["site"]},
        log=str(log),
    )


def test_the_corpus_summary_reads_the_parts_and_the_participants(tmp_path: Path) -> None:
    part = make_part(tmp_path)[1]["transcripts"]
    participants = tmp_path / "participants.csv"
    participants.write_text(
        "transcript_id,participant_id,site\nC1,P1,A\nX9,P9,B\n", encoding="utf-8"
    )
    output = tmp_path / "transcripts.tsv"
    summary(["C1", "T1"], part, participants, output, tmp_path / "summary.log")
    rows = {row["transcript_id"]: row for row in read_tsv(output)}
    assert rows["C1"] == {
        "transcript_id": "C1",
        "format": "vtt",
        "turns": "2",
        "participant_turns": "1",
        "segments": "3",
        "participant_segments": "2",
        "words": "11",
        "duration_s": "3725.4",
        "has_participant_row": "yes",
        "site": "A",
    }
    assert rows["T1"]["site"] == "missing" and rows["T1"]["has_participant_row"] == "no"
    log = (tmp_path / "summary.log").read_text(encoding="utf-8")
    assert "no row for transcript T1" in log and "X9" in log
    # a transcript no part holds: the parts are stale, and the summary says so rather than guess
    with pytest.raises(ContractError, match="no row for transcript.*Z1"):
        summary(["C1", "T1", "Z1"], part, participants, output, tmp_path / "summary.log")


def test_transcripts_to_parse_are_those_without_a_newer_parsed_form(tmp_path: Path) -> None:
    import os

    raw = {name: tmp_path / f"{name}.txt" for name in ("A", "B", "C")}
    for path in raw.values():
        path.write_text("x", encoding="utf-8")
        os.utime(path, (1_000, 1_000))
    parsed = tmp_path / "parsed"
    parsed.mkdir()
    (parsed / "A.jsonl").write_text("", encoding="utf-8")
    os.utime(parsed / "A.jsonl", (2_000, 2_000))  # parsed after the raw file: nothing to do
    (parsed / "B.jsonl").write_text("", encoding="utf-8")
    os.utime(parsed / "B.jsonl", (500, 500))  # the raw file changed since
    assert transcripts_to_parse(raw, str(parsed / "{transcript}.jsonl")) == ["B", "C"]
