"""Rule anchor_codings (scripts/anchor_codings.py): coders' CSV rows and sheet rows followed to the
segments as they are now, codes renamed, merged and split, missing sheet columns, several files
of one coder, and what the agreement, themes and learned jobs read back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scripts import anchor_codings, anchored_tables
from scripts.coding_records import CodingError
from scripts.contracts import SEGMENT_COLUMNS, read_tsv, write_tsv
from scripts.segment import versions_jsonl, with_version

from .coding_helpers import (
    CODEBOOK,
    TRANSCRIPTS,
    segment_rows,
    sha1_of,
    write_csv,
    write_project,
    write_sheet,
)

CODING = {"roles": ["participant"], "consensus": "consensus"}


def rows_of(transcript: str, turns: list[tuple[str, list[str]]]) -> list[dict]:
    rows = []
    for turn, (role, sentences) in enumerate(turns, start=1):
        for sentence, text in enumerate(sentences, start=1):
            rows.append(
                {
                    "segment_id": f"{transcript}-{turn:04d}-{sentence:03d}",
                    "transcript_id": transcript,
                    "turn": turn,
                    "sentence": sentence,
                    "role": role,
                    "speaker": role.title(),
                    "start_char": 0,
                    "end_char": len(text),
                    "text": text,
                    "text_sha1": hashlib.sha1(text.encode()).hexdigest(),
                }
            )
    return rows


@pytest.fixture
def changed(tmp_path: Path) -> dict:
    """T1 coded as in coding_helpers, then changed: a sentence inserted before 'The queue is long.'
    (IDs shift), 'We wait all day.' deleted. The versions file holds both versions."""
    paths = write_project(tmp_path)
    turns = [(role, list(sentences)) for role, sentences in TRANSCRIPTS["T1"]]
    turns[1][1].insert(2, "I also sell tea.")
    turns[3][1].remove("We wait all day.")
    new_rows = rows_of("T1", turns)
    write_tsv(paths["T1"], new_rows, SEGMENT_COLUMNS)
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "T1.jsonl").write_text(
        versions_jsonl(with_version(with_version([], segment_rows("T1")), new_rows)),
        encoding="utf-8",
    )
    (versions / "T2.jsonl").write_text(
        versions_jsonl(with_version([], segment_rows("T2"))), encoding="utf-8"
    )
    paths["versions"] = [str(versions / "T1.jsonl"), str(versions / "T2.jsonl")]
    paths["segments"] = [str(paths["T1"]), str(paths["T2"])]
    return paths


def run(
    tmp_path: Path, paths: dict, files: list[Path], coding: dict = CODING
) -> dict[str, list[dict]]:
    outputs = {
        name: str(tmp_path / f"{name}.tsv")
        for name in ("codings", "transcripts", "problems", "anchoring")
    }
    inputs = {
        "codebook": str(paths["codebook"]),
        "codings": [str(f) for f in files],
        "segments": paths["segments"],
        "versions": paths["versions"],
    }
    anchor_codings.anchor_codings(
        inputs, outputs, {"config": {"coding": coding}}, str(tmp_path / "anchor.log")
    )
    return {name: read_tsv(Path(path)) for name, path in outputs.items()}


def test_csv_codings_follow_their_sentences_and_a_deleted_one_is_reported(
    tmp_path: Path, changed: dict
) -> None:
    csv = write_csv(
        tmp_path / "coding" / "a" / "c.csv",
        [
            ["T1-0002-001", "calm", sha1_of("T1-0002-001")],
            [
                "T1-0002-003",
                "queue",
                sha1_of("T1-0002-003"),
            ],  # 'The queue is long.' is now T1-0002-004
            ["T1-0004-002", "queue", sha1_of("T1-0004-002")],  # 'We wait all day.': deleted
            ["T2-0002-002", "work", sha1_of("T2-0002-002")],
        ],
        header=("segment_id", "code_id", "text_sha1"),
    )
    tables = run(tmp_path, changed, [csv])
    applied = {(row["segment_id"], row["code_id"], row["status"]) for row in tables["codings"]}
    assert applied == {
        ("T1-0002-001", "calm", "unchanged"),
        ("T1-0002-004", "queue", "moved"),
        ("", "queue", "recheck"),
        ("T2-0002-002", "work", "unchanged"),
    }
    ledger = {row["segment_id"]: row for row in tables["anchoring"]}
    assert set(ledger) == {"T1-0002-003", "T1-0004-002"}
    assert ledger["T1-0002-003"]["current_segment_ids"] == "T1-0002-004"
    assert (
        ledger["T1-0002-003"]["coded_text"]
        == ledger["T1-0002-003"]["current_text"]
        == "The queue is long."
    )
    assert (
        ledger["T1-0004-002"]["status"] == "recheck"
        and ledger["T1-0004-002"]["coded_text"] == "We wait all day."
    )
    [problem] = [row for row in tables["problems"] if row["kind"] == "recheck"]
    assert problem["row"] == "4" and "do not go by the segment ID" in problem["fix"]
    # what agreement reads: the recheck left out, its transcript still coded by a
    parsed = anchored_tables.load_anchored(
        [str(tmp_path / f"{name}.tsv") for name in ("codings", "transcripts", "problems")]
    )
    assert {(m.segment_id, m.code_id) for m in parsed["a"].mentions} == {
        ("T1-0002-001", "calm"),
        ("T1-0002-004", "queue"),
        ("T2-0002-002", "work"),
    }
    assert ("T1", str(csv), 4) in parsed["a"].listed


def test_a_row_whose_text_cannot_be_known_is_sent_to_a_person(
    tmp_path: Path, changed: dict
) -> None:
    csv = write_csv(
        tmp_path / "coding" / "a" / "c.csv",
        [
            [
                "T1-0002-003",
                "queue",
                "",
            ],  # no text_sha1, and the ID's text has changed: which sentence?
            ["T1-0002-001", "calm", "f" * 40],  # a fingerprint of no kept version
            ["T1-0099-001", "calm", ""],  # no such segment ever: left to the agreement's checks
            [
                "T1-0099-002",
                "calm",
                "e" * 40,
            ],  # an ID gone, coded on a text no kept version has (re-segmented)
            [
                "T1-0004-002",
                "queue",
                "",
            ],  # an ID a kept version had, gone now (the turn lost a sentence)
        ],
        header=("segment_id", "code_id", "text_sha1"),
    )
    tables = run(tmp_path, changed, [csv])
    statuses = [(row["row"], row["status"], row["segment_id"]) for row in tables["codings"]]
    assert statuses == [
        ("2", "recheck", ""),
        ("3", "recheck", ""),
        ("4", "unchanged", "T1-0099-001"),
        ("5", "recheck", ""),
        ("6", "recheck", ""),
    ]
    details = [row["detail"] for row in tables["problems"] if row["kind"] == "recheck"]
    assert (
        "which sentence was coded cannot be told" in details[0]
        and "not among the versions" in details[1]
    )
    assert "not among the versions" in details[2] and "segment ID is gone" in details[3]


def test_renamed_and_merged_codes_count_as_their_new_code_and_a_split_one_goes_to_a_person(
    tmp_path: Path, changed: dict
) -> None:
    changed["codebook"].write_text(
        CODEBOOK.replace(
            "      - id: calm\n", "      - id: calmness\n        renamed_from: [calm]\n"
        )
        .replace("      - id: queue\n", "      - id: queue\n        merged_from: [waiting]\n")
        .replace(
            "      - id: work\n        label: Work\n        definition: Income.\n        keywords: [job]\n",
            "      - id: paid_work\n        label: Paid\n        definition: Paid.\n        keywords: [job]\n        split_from: [work]\n"
            "      - id: unpaid_work\n        label: Unpaid\n        definition: Unpaid.\n        keywords: [chores]\n        split_from: [work]\n",
        ),
        encoding="utf-8",
    )
    csv = write_csv(
        tmp_path / "coding" / "a" / "c.csv",
        [
            ["T2-0002-001", "calm"],
            ["T2-0002-002", "work"],
            ["T2-0002-001", "waiting"],
            ["T2-0002-001", "queue"],
        ],
    )
    tables = run(tmp_path, changed, [csv])
    applied = [(row["segment_id"], row["code_id"], row["status"]) for row in tables["codings"]]
    # waiting merged into queue, already applied on that segment: counted once, silently
    assert applied == [
        ("T2-0002-001", "calmness", "unchanged"),
        ("", "work", "recheck"),
        ("T2-0002-001", "queue", "unchanged"),
    ]
    assert not any(row["kind"] == "duplicate" for row in tables["problems"])
    changes = {
        (row["code_id"], row["current_code_id"], row["code_change"]) for row in tables["anchoring"]
    }
    assert changes == {
        ("calm", "calmness", "renamed"),
        ("work", "", "split"),
        ("waiting", "queue", "merged"),
    }
    log = (tmp_path / "anchor.log").read_text(encoding="utf-8")
    assert "1 x calm -> calmness (renamed)" in log and "1 x waiting -> queue (merged)" in log


def test_a_codebook_old_id_claimed_twice_or_still_a_code_is_refused(tmp_path: Path) -> None:
    from scripts.codebook import CodebookError, load_codebook

    path = tmp_path / "codebook.yaml"
    path.write_text(
        CODEBOOK.replace("      - id: work\n", "      - id: work\n        renamed_from: [calm]\n"),
        encoding="utf-8",
    )
    with pytest.raises(
        CodebookError, match="renamed_from names calm, which is a code of this codebook"
    ):
        load_codebook(path)
    path.write_text(
        CODEBOOK.replace(
            "      - id: work\n", "      - id: work\n        renamed_from: [old]\n"
        ).replace("      - id: queue\n", "      - id: queue\n        merged_from: [old]\n"),
        encoding="utf-8",
    )
    with pytest.raises(
        CodebookError, match=r"old code ID old is claimed by 2 codes \(work, queue\)"
    ):
        load_codebook(path)


def sheet(
    path: Path,
    rows: list[list],
    codebook_codes: list[str] | None,
    done: list[str] = (),
    header=None,
) -> Path:
    import openpyxl

    write_sheet(path, header or ["segment_id", "text", "text_sha1", "calm", "work", "queue"], rows)
    workbook = openpyxl.load_workbook(path)
    book = workbook["codebook"]
    for code in codebook_codes or []:
        book.append([code, code])
    if codebook_codes is None:
        del workbook["codebook"]
    tab = workbook.create_sheet("transcripts")
    tab.append(["transcript_id", "segments", "done"])
    for transcript in ("T1", "T2"):
        tab.append([transcript, 1, 1 if transcript in done else None])
    workbook.save(path)
    return path


def sheet_row(segment_id: str, *codes: int | None) -> list:
    transcript = segment_id.split("-")[0]
    text = next(row["text"] for row in segment_rows(transcript) if row["segment_id"] == segment_id)
    return [segment_id, text, sha1_of(segment_id), *codes]


def test_sheet_rows_follow_their_text_and_blank_rows_count_only_where_done_or_coded(
    tmp_path: Path, changed: dict
) -> None:
    rows = [
        sheet_row(row["segment_id"], None, None, None)
        for row in segment_rows("T1") + segment_rows("T2")
        if row["role"] == "participant"
    ]
    rows[2][5] = 1  # 'The queue is long.' -> queue
    path = sheet(tmp_path / "coding" / "b" / "sheet.xlsx", rows, ["calm", "work", "queue"])
    tables = run(tmp_path, changed, [path])
    coded = {(row["segment_id"], row["code_id"], row["status"]) for row in tables["codings"]}
    assert ("T1-0002-004", "queue", "moved") in coded  # followed by the sheet's own text
    assert not any(
        row["transcript_id"] == "T2" for row in tables["codings"]
    )  # T2: no code, not marked done
    [note] = [row for row in tables["problems"] if row["kind"] == "not_counted"]
    assert "T2" in note["detail"]
    done = sheet(
        tmp_path / "coding" / "b" / "sheet.xlsx", rows, ["calm", "work", "queue"], done=["T2"]
    )
    assert any(
        row["transcript_id"] == "T2" and row["code_id"] == ""
        for row in run(tmp_path, changed, [done])["codings"]
    )


def test_a_deleted_code_column_stops_the_run_and_a_newer_code_is_a_ledger_line(
    tmp_path: Path, changed: dict
) -> None:
    rows = [sheet_row("T1-0002-001", 1, None)]
    header = ["segment_id", "text", "text_sha1", "calm", "work"]
    deleted = sheet(
        tmp_path / "coding" / "b" / "sheet.xlsx", rows, ["calm", "work", "queue"], header=header
    )
    with pytest.raises(
        CodingError, match="the column of code queue has been deleted from this sheet"
    ):
        run(tmp_path, changed, [deleted])
    newer = sheet(tmp_path / "coding" / "b" / "sheet.xlsx", rows, ["calm", "work"], header=header)
    tables = run(tmp_path, changed, [newer])
    assert [(row["code_id"], row["status"]) for row in tables["anchoring"]] == [
        ("queue", "no_column")
    ]
    assert any(
        row["kind"] == "missing_column" and "added to the codebook after" in row["detail"]
        for row in tables["problems"]
    )


def test_two_files_of_one_coder_that_disagree_on_a_segment_are_reported(
    tmp_path: Path, changed: dict
) -> None:
    rows = [sheet_row("T2-0002-001", None, None, None), sheet_row("T2-0002-002", None, 1, None)]
    path = sheet(tmp_path / "coding" / "b" / "sheet.xlsx", rows, ["calm", "work", "queue"])
    csv = write_csv(tmp_path / "coding" / "b" / "extra.csv", [["T2-0002-001", "calm"]])
    tables = run(tmp_path, changed, [csv, path])
    [conflict] = [row for row in tables["problems"] if row["kind"] == "conflict"]
    assert (
        conflict["segment_id"] == "T2-0002-001"
        and conflict["file"].endswith("sheet.xlsx")
        and conflict["row"] == "2"
    )
    assert (
        "extra.csv (row 2) applies calm" in conflict["detail"]
        and "the codes of both count" in conflict["detail"]
    )
    assert ("T2-0002-001", "calm") in {
        (row["segment_id"], row["code_id"]) for row in tables["codings"]
    }


def test_on_recheck_fail_stops_the_run_naming_the_first(tmp_path: Path, changed: dict) -> None:
    csv = write_csv(
        tmp_path / "coding" / "a" / "c.csv",
        [["T1-0004-002", "queue", sha1_of("T1-0004-002")]],
        header=("segment_id", "code_id", "text_sha1"),
    )
    with pytest.raises(
        CodingError, match=r"c.csv, row 2: 1 coding\(s\) need a person to re-check them"
    ):
        run(tmp_path, changed, [csv], coding={**CODING, "on_recheck": "fail"})
