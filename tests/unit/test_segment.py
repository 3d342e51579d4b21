"""Segmentation: stable IDs, offsets into the turn, fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

from scripts.contracts import read_tsv
from scripts.segment import segment_file, segment_id, segment_turns

TURNS = [
    {
        "transcript_id": "T1",
        "turn": 1,
        "speaker": "Interviewer",
        "role": "interviewer",
        "text": "How are you?",
        "sentences": [[0, 12]],
    },
    {
        "transcript_id": "T1",
        "turn": 2,
        "speaker": "Participant",
        "role": "participant",
        "text": "Fine.  [PERSON_1] helped. ",
        "sentences": [[0, 5], [5, 7], [7, 25]],
    },
]


def test_segment_id_format() -> None:
    assert segment_id("DSM01", 12, 3) == "DSM01-0012-003"


def test_one_segment_per_non_blank_sentence_with_offsets_and_sha1() -> None:
    segments = segment_turns(TURNS)
    assert [s["segment_id"] for s in segments] == ["T1-0001-001", "T1-0002-001", "T1-0002-002"]
    second = segments[2]
    assert second["text"] == "[PERSON_1] helped."
    assert TURNS[1]["text"][second["start_char"] : second["end_char"]] == second["text"]
    assert second["text_sha1"] == hashlib.sha1("[PERSON_1] helped.".encode()).hexdigest()
    assert segments[0]["role"] == "interviewer"  # interviewer turns kept for context


def test_segment_file_is_deterministic_and_valid(tmp_path: Path) -> None:
    import json

    source = tmp_path / "T1.jsonl"
    source.write_text("".join(json.dumps(turn) + "\n" for turn in TURNS), encoding="utf-8")
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert len(segment_file(source, first)) == 3
    segment_file(source, second)
    assert first.read_bytes() == second.read_bytes()
    assert read_tsv(first)[1]["segment_id"] == "T1-0002-001"


def test_versions_are_kept_once_each_and_a_name_listed_since_is_taken_out(tmp_path: Path) -> None:
    from scripts import identifiers, segment

    first = [
        {
            "segment_id": "T01-0001-001",
            "text_sha1": "a" * 40,
            "text": "Tumaini came.",
            "speaker": "Participant",
        }
    ]
    second = [
        {
            "segment_id": "T01-0001-001",
            "text_sha1": "b" * 40,
            "text": "[PERSON_u123456] came.",
            "speaker": "Participant",
        }
    ]
    versions = segment.with_version([], first)
    assert segment.with_version(versions, first) == versions  # the same version is not added twice
    versions = segment.with_version(versions, second)
    assert [version["segments"][0][1] for version in versions] == ["a" * 40, "b" * 40]
    listed_path = tmp_path / "identifiers.yaml"
    listed_path.write_text("people:\n  - name: Tumaini Mushi\n", encoding="utf-8")
    listed = identifiers.load_identifier_list(listed_path)
    redacted = segment.with_version(versions, second, listed)
    assert redacted[0]["segments"][0] == [
        "T01-0001-001",
        "a" * 40,
        "[PERSON] came.",
        "Participant",
    ]  # found by its SHA-1
    path = tmp_path / "versions.jsonl"
    path.write_text(segment.versions_jsonl(redacted), encoding="utf-8")
    assert segment.read_versions(path) == redacted and "Tumaini" not in path.read_text(
        encoding="utf-8"
    )
