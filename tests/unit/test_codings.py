"""Tests for scripts/codings.py, coding_file_readers.py and coding_records.py: reading coder
folders (CSV, XLSX, transcripts.txt) and every kind of problem, each reported with its file and row."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import coder_folders, coding_file_readers, coding_records, codings
from scripts.codebook import load_codebook
from scripts.coding_records import CodingError

from .coding_helpers import sha1_of, write_csv, write_project, write_sheet

CORPUS = ("T1", "T2", "T3")  # T3 is in the corpus but nobody coded it


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    return write_project(tmp_path)


def check(
    project: dict[str, Path],
    coding: Path,
    compared=("coder_a", "coder_b"),
    roles=("participant",),
    consensus="consensus",
):
    """Read every coder folder under ``coding`` and check it against T1, T2 and the codebook."""
    grouped = codings.group_by_coder(
        str(path) for files in coder_folders.discover_coders(coding).values() for path in files
    )
    parsed = {coder: codings.read_coder(coder, files) for coder, files in grouped.items()}
    segments = coding_records.load_segments([project["T1"], project["T2"]])
    return codings.check_codings(
        parsed,
        segments,
        load_codebook(project["codebook"]),
        roles,
        list(compared),
        consensus,
        CORPUS,
    )


def problems(checked, kind: str) -> list[coding_records.Problem]:
    return [problem for problem in checked.problems if problem.kind == kind]


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------


def test_csv_reader_rows_and_optional_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a" / "c.csv",
        [
            ["T1-0002-001", "calm", sha1_of("T1-0002-001"), "a memo, with a comma", "a"],
            ["", "", "", "", ""],  # blank rows are skipped
            [" T1-0002-002 ", "", "", "", ""],  # looked at, no code
        ],
        header=("segment_id", "code_id", "text_sha1", "memo", "coder"),
    )
    mentions = coding_file_readers.read_csv_coding(path, "a")
    assert [(m.row, m.segment_id, m.code_id) for m in mentions] == [
        (2, "T1-0002-001", "calm"),
        (4, "T1-0002-002", None),
    ]
    assert mentions[0].text_sha1 == sha1_of("T1-0002-001") and mentions[0].coder == "a"


@pytest.mark.parametrize(
    "header, rows, expected",
    [
        (("segment_id",), [["T1-0002-001"]], r"c.csv, row 1: no column code_id in the header"),
        (
            ("segment_id", "code_id", "comment"),
            [],
            r"c.csv, row 1: unknown column\(s\) comment; allowed: segment_id, code_id",
        ),
        (
            ("segment_id", "code_id"),
            [["T1-0002-001", "calm", "extra"]],
            r"c.csv, row 2: the row has 3 values for 2 columns",
        ),
        (
            ("segment_id", "code_id"),
            [["T1-0002-001", "calm"], ["", "calm"]],
            r"c.csv, row 3: no segment_id",
        ),
        (
            ("segment_id", "code_id", "coder"),
            [["T1-0002-001", "calm", "b"]],
            r"c.csv, row 2: the coder column says b but the file is in the folder of a",
        ),
        (
            ("segment_id", "code_id", "text_sha1"),
            [["T1-0002-001", "calm", "abc"]],
            r"c.csv, row 2: text_sha1 is not a SHA-1",
        ),
    ],
)
def test_csv_format_errors_name_file_and_row(tmp_path: Path, header, rows, expected) -> None:
    path = write_csv(tmp_path / "a" / "c.csv", rows, header=header)
    with pytest.raises(CodingError, match=expected):
        coding_file_readers.read_csv_coding(path, "a")


def test_csv_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "a" / "c.csv"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xfe\x00bad\x81\x82")
    with pytest.raises(CodingError, match="c.csv: is not UTF-8 text"):
        coding_file_readers.read_csv_coding(path, "a")


def test_sheet_round_trip(tmp_path: Path) -> None:
    """A sheet filled in with openpyxl reads back as the same codings."""
    applied = {
        "T1-0002-001": {"calm"},
        "T1-0002-002": {"work"},
        "T1-0002-003": {"queue", "calm"},
        "T1-0004-001": set(),
    }
    header = [
        "segment_id",
        "transcript_id",
        "turn",
        "role",
        "text",
        "text_sha1",
        "calm",
        "work",
        "queue",
        "memo",
    ]
    rows = [
        [
            segment_id,
            "T1",
            int(segment_id[3:7]),
            "participant",
            "(text)",
            sha1_of(segment_id),
            *[1 if code in codes else None for code in ("calm", "work", "queue")],
            "memo" if codes else None,
        ]
        for segment_id, codes in applied.items()
    ]
    path = write_sheet(tmp_path / "b" / "sheet.xlsx", header, rows)
    mentions, columns = coding_file_readers.read_sheet_coding(path, "b")
    assert columns == [
        (str(path), "calm", "G"),
        (str(path), "work", "H"),
        (str(path), "queue", "I"),
    ]
    read_back: dict[str, set[str]] = {}
    for mention in mentions:
        read_back.setdefault(mention.segment_id, set())
        if mention.code_id:
            read_back[mention.segment_id].add(mention.code_id)
        assert mention.text_sha1 == sha1_of(mention.segment_id)
    assert read_back == applied
    queue = next(m for m in mentions if m.code_id == "queue")
    assert (queue.row, queue.column) == (4, "I")


@pytest.mark.parametrize("value", [1, "1", True, 1.0])
def test_sheet_accepts_one_in_its_spellings(tmp_path: Path, value) -> None:
    path = write_sheet(
        tmp_path / "b" / "s.xlsx",
        ["segment_id", "calm"],
        [["T1-0002-001", value], ["T1-0002-002", 0]],
    )
    mentions, _ = coding_file_readers.read_sheet_coding(path, "b")
    assert [(m.segment_id, m.code_id) for m in mentions] == [
        ("T1-0002-001", None),
        ("T1-0002-001", "calm"),
        ("T1-0002-002", None),
    ]


@pytest.mark.parametrize(
    "header, rows, expected",
    [
        (
            ["segment_id", "calm"],
            [["T1-0002-001", "x"]],
            r"s.xlsx, row 2 \(column B\): the cell for code calm must hold 1 or be blank",
        ),
        (
            ["segment_id", "calm"],
            [["T1-0002-001", 2]],
            r"s.xlsx, row 2 \(column B\): the cell for code calm",
        ),
        (
            ["id", "calm"],
            [["T1-0002-001", 1]],
            r"s.xlsx, row 1: no segment_id column in the header of sheet coding",
        ),
        (
            ["segment_id", "calm", "calm"],
            [],
            r"s.xlsx, row 1 \(column C\): column calm appears twice",
        ),
        (
            ["segment_id", "calm"],
            [[None, 1]],
            r"s.xlsx, row 2: codes applied on a row with no segment_id",
        ),
        (
            ["segment_id", "calm", None],
            [["T1-0002-001", 1, 1]],
            r"s.xlsx, row 2 \(column C\): a value in a column with no header",
        ),
    ],
)
def test_sheet_errors_name_file_row_and_column(tmp_path: Path, header, rows, expected) -> None:
    path = write_sheet(tmp_path / "b" / "s.xlsx", header, rows)
    with pytest.raises(CodingError, match=expected):
        coding_file_readers.read_sheet_coding(path, "b")


def test_sheet_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "b" / "s.xlsx"
    path.parent.mkdir()
    path.write_text("segment_id,code_id\n", encoding="utf-8")
    with pytest.raises(CodingError, match=r"s.xlsx: is not an Excel workbook"):
        coding_file_readers.read_sheet_coding(path, "b")


def test_transcript_list(tmp_path: Path) -> None:
    path = tmp_path / "transcripts.txt"
    path.write_text("# coded\nT1\n\nT2  # no code applied\n", encoding="utf-8")
    assert coding_file_readers.read_transcript_list(path) == [("T1", 2), ("T2", 4)]
    path.write_text("T1\nnot an id!\n", encoding="utf-8")
    with pytest.raises(CodingError, match=r"transcripts.txt, row 2: not a transcript ID"):
        coding_file_readers.read_transcript_list(path)


# ---------------------------------------------------------------------------------------------
# Finding coder folders
# ---------------------------------------------------------------------------------------------


def test_discover_coders(tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    assert coder_folders.discover_coders(coding) == {}  # no folder: no coders, agreement is skipped
    write_csv(coding / "b" / "2.csv", [])
    write_csv(coding / "b" / "1.csv", [])
    (coding / "b" / "notes.docx").write_bytes(b"")  # not a coding: left alone
    (coding / "b" / "~$sheet.xlsx").write_bytes(b"")  # Excel's lock file
    (coding / "README.md").write_text("codings\n", encoding="utf-8")
    (coding / "a").mkdir()
    assert coder_folders.discover_coders(coding) == {
        "a": [],
        "b": [coding / "b" / "1.csv", coding / "b" / "2.csv"],
    }


@pytest.mark.parametrize(
    "where, expected",
    [
        ("loose.csv", r"loose.csv: a coding file outside a coder folder"),
        (
            "loose.qdpx",
            r"loose.qdpx: a coding file outside a coder folder",
        ),  # .qdpx is read (scripts/refi_qda.py)
        ("a/sheet.ods", r"sheet.ods: cannot read .ods codings. Save the sheet as .xlsx"),
        (
            "a/study.nvpx",
            r"study.nvpx: cannot read .nvpx codings. Export the project as a REFI-QDA project \(.qdpx\)",
        ),
        ("a/old.xls", r"old.xls: cannot read .xls codings. Save the sheet as .xlsx"),
        ("a/sub/c.csv", r"c.csv: a coding file in a sub-folder of a coder folder"),
        ("coder a/c.csv", r"coder a: a coder folder name must be letters, digits"),
    ],
)
def test_discover_refuses_what_it_cannot_read(tmp_path: Path, where: str, expected: str) -> None:
    path = tmp_path / "coding" / where
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    with pytest.raises(CodingError, match=expected):
        coder_folders.discover_coders(tmp_path / "coding")


def test_coded_transcripts_is_lenient_and_cached(tmp_path: Path) -> None:
    a = write_csv(
        tmp_path / "coding" / "a" / "c.csv", [["T1-0002-001", "calm"], ["X9-0001-001", "calm"]]
    )
    listed = tmp_path / "coding" / "a" / "transcripts.txt"
    listed.write_text("T3\n", encoding="utf-8")
    broken = write_csv(
        tmp_path / "coding" / "b" / "c.csv", [["T2-0002-001"]], header=("segment_id",)
    )
    cache = tmp_path / "cache" / "coded.json"
    files = [a, listed, broken]
    assert coder_folders.coded_transcripts(files, CORPUS, cache=cache) == [
        "T1",
        "T3",
    ]  # X9 is not in the corpus
    assert cache.exists()
    assert coder_folders.coded_transcripts(files, CORPUS, cache=cache) == ["T1", "T3"]
    write_csv(
        broken, [["T2-0002-001", "calm"]]
    )  # fixed: size changes, the cache entry is refreshed
    assert coder_folders.coded_transcripts(files, CORPUS, cache=cache) == ["T1", "T2", "T3"]


# ---------------------------------------------------------------------------------------------
# Checking against segments and codebook: every problem with its file and row
# ---------------------------------------------------------------------------------------------


def test_valid_codings_and_asked_transcripts(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    write_csv(coding / "coder_a" / "c.csv", [["T1-0002-001", "calm"], ["T2-0002-002", "work"]])
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    (coding / "coder_b" / "transcripts.txt").write_text(
        "T2\n", encoding="utf-8"
    )  # coded T2, applied nothing
    checked = check(project, coding)
    assert checked.errors == [] and checked.warnings == []
    assert checked.asked == {"coder_a": {"T1", "T2"}, "coder_b": {"T1", "T2"}}
    segment_of = {
        row["segment_id"]: i
        for i, row in enumerate(coding_records.load_segments([project["T1"], project["T2"]]).rows)
    }
    assert checked.applied["coder_a"] == {
        (segment_of["T1-0002-001"], 0),
        (segment_of["T2-0002-002"], 1),
    }


def test_unknown_segment(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    path = write_csv(
        coding / "coder_a" / "c.csv",
        [["T1-0002-001", "calm"], ["T1-0009-001", "calm"], ["T7-0001-001", "calm"]],
    )
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    found = problems(checked, "unknown_segment")
    assert [(p.file, p.row, p.severity) for p in found] == [
        (str(path), 3, "error"),
        (str(path), 4, "error"),
    ]
    assert (
        found[0]
        .message()
        .startswith(f"{path}, row 3: segment T1-0009-001 is not a segment of the corpus.")
    )
    assert "no transcript T7 in the raw folder" in found[1].detail


def test_unknown_code_in_csv_and_in_sheet_header(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    csv_path = write_csv(
        coding / "coder_a" / "c.csv", [["T1-0002-001", "calm"], ["T1-0002-002", "clam"]]
    )
    sheet = write_sheet(
        coding / "coder_b" / "s.xlsx",
        ["segment_id", "calm", "wrok", "queue"],
        [["T1-0002-001", 1, 1, None]],
    )
    checked = check(project, coding)
    found = problems(checked, "unknown_code")
    assert [(p.file, p.row, p.column) for p in found] == [
        (str(csv_path), 3, None),
        (str(sheet), 1, "C"),
    ]
    assert (
        found[1]
        .message()
        .startswith(
            f"{sheet}, row 1 (column C): column wrok is not a code of the codebook (version 2)"
        )
    )
    # the sheet has no column for "work": a warning, the code counts as not applied
    assert [p.detail for p in problems(checked, "missing_column")] == [
        "no column for code(s) work; counted as not applied in this sheet"
    ]


def test_text_changed_since_coded(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    stale = "0" * 40
    path = write_csv(
        coding / "coder_a" / "c.csv",
        [["T1-0002-001", "calm", sha1_of("T1-0002-001")], ["T1-0002-002", "work", stale]],
        header=("segment_id", "code_id", "text_sha1"),
    )
    sheet = write_sheet(
        coding / "coder_b" / "s.xlsx",
        ["segment_id", "text_sha1", "calm", "work", "queue"],
        [["T1-0002-001", stale, 1, 1, None]],
    )
    checked = check(project, coding)
    found = problems(checked, "text_changed")
    assert [(p.file, p.row) for p in found] == [
        (str(path), 3),
        (str(sheet), 2),
    ]  # one problem per sheet row
    assert (
        "segment T1-0002-002 has changed since it was coded (text_sha1 differs)"
        in found[0].message()
    )


def test_duplicates_are_warnings_and_counted_once(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    first = write_csv(
        coding / "coder_a" / "1.csv", [["T1-0002-001", "calm"], ["T1-0002-001", "calm"]]
    )
    second = write_csv(coding / "coder_a" / "2.csv", [["T1-0002-001", "calm"]])
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    found = problems(checked, "duplicate")
    assert [(p.file, p.row, p.severity) for p in found] == [
        (str(first), 3, "warning"),
        (str(second), 2, "warning"),
    ]
    assert "(also row 2)" in found[0].detail and f"(also {first}, row 2)" in found[1].detail
    assert len(checked.applied["coder_a"]) == 1 and checked.errors == []


def test_codes_outside_the_coded_roles(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    path = write_csv(
        coding / "coder_a" / "c.csv", [["T1-0001-001", "calm"], ["T1-0002-001", "calm"]]
    )
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    [found] = problems(checked, "outside_roles")
    assert (found.file, found.row, found.severity) == (str(path), 2, "warning")
    assert "whose role is interviewer; not compared" in found.detail
    assert len(checked.applied["coder_a"]) == 1
    both = check(project, coding, roles=("participant", "interviewer"))
    assert problems(both, "outside_roles") == [] and len(both.applied["coder_a"]) == 2


def test_coder_who_coded_only_some_transcripts(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    write_csv(coding / "coder_a" / "c.csv", [["T1-0002-001", "calm"], ["T2-0002-001", "calm"]])
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    [found] = problems(checked, "partial_coverage")
    assert (
        found.severity == "warning"
        and found.coder == "coder_b"
        and found.file == str(coding / "coder_b")
    )
    assert (
        "coder_b coded 1 of the 2 coded transcripts; not coded: T2 (2 segment(s) left out"
        in found.detail
    )


def test_unknown_transcript_in_list_and_empty_folder(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    write_csv(coding / "coder_a" / "c.csv", [["T1-0002-001", "calm"]])
    (coding / "coder_a" / "transcripts.txt").write_text("T1\nT9\n", encoding="utf-8")
    write_csv(coding / "coder_b" / "c.csv", [])
    checked = check(project, coding)
    assert [(p.kind, p.row) for p in checked.errors] == [
        ("unknown_transcript", 2),
        ("no_coding", None),
    ]
    assert (
        checked.errors[0]
        .message()
        .endswith(
            "transcripts.txt, row 2: transcript T9 is not in the raw folder. "
            "List only transcripts of data/raw (file name without extension)"
        )
    )


def test_consensus_is_checked_but_not_compared(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    write_csv(coding / "coder_a" / "c.csv", [["T1-0002-001", "calm"]])
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    path = write_csv(coding / "consensus" / "c.csv", [["T1-0002-001", "nope"]])
    checked = check(project, coding)
    assert checked.coders == ("coder_a", "coder_b") and checked.consensus == "consensus"
    assert [(p.kind, p.file, p.row) for p in checked.errors] == [("unknown_code", str(path), 2)]


def test_raise_on_errors_is_one_line_with_the_count(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    path = write_csv(
        coding / "coder_a" / "c.csv", [["T1-0002-001", "clam"], ["T1-0002-002", "wrok"]]
    )
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    with pytest.raises(CodingError) as caught:
        codings.raise_on_errors(checked, "results/logs/agreement.log")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"{path}, row 2: code clam is not in the codebook (version 2) "
        "(and 1 more coding error(s): see results/logs/agreement.log). Did you mean calm? Use a code ID"
    )


def test_messages_never_quote_free_text(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    secret = "Amina told me she was scared"
    write_csv(coding / "coder_a" / "c.csv", [["T1-0002-001", secret], [secret, "calm"]])
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    assert len(checked.errors) == 2
    for problem in checked.problems:
        assert "Amina" not in problem.message() and "Amina" not in str(problem.as_row())


def test_documented_columns_match_the_readers() -> None:
    from scripts.codebook import RESERVED_IDS
    from scripts.settings import SCHEMA_DIR, load_schema

    assert set(load_schema("coding.schema.yaml")["properties"]) == {
        *coding_file_readers.CSV_REQUIRED,
        *coding_file_readers.CSV_OPTIONAL,
    }
    assert (
        set(coding_file_readers.SHEET_COLUMNS) <= RESERVED_IDS
    )  # no code can be named like a sheet column
    layout = (SCHEMA_DIR / "coding_sheet.md").read_text(encoding="utf-8")
    assert all(f"`{column}`" in layout for column in coding_file_readers.SHEET_COLUMNS)


def test_a_semicolon_csv_from_european_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a" / "c.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        '\ufeffsegment_id;code_id;memo\r\nT1-0002-001;calm;"a memo; with a semicolon"\r\n T1-0002-002 ; work ;\r\n',
        encoding="utf-8",
    )
    mentions = coding_file_readers.read_csv_coding(path, "a")
    assert [(m.row, m.segment_id, m.code_id) for m in mentions] == [
        (2, "T1-0002-001", "calm"),
        (3, "T1-0002-002", "work"),
    ]


def test_a_csv_without_the_columns_says_what_was_found(tmp_path: Path) -> None:
    path = tmp_path / "a" / "c.csv"
    path.parent.mkdir(parents=True)
    path.write_text("segment;code\nT1-0002-001;calm\n", encoding="utf-8")
    with pytest.raises(
        CodingError,
        match=r"c.csv, row 1: no column segment_id, code_id in the header \(read as separated "
        r"by semicolons, it has 2 column\(s\): segment, code\)\. Save the coding",
    ):
        coding_file_readers.read_csv_coding(path, "a")


def test_unknown_code_and_segment_get_a_suggestion(project, tmp_path: Path) -> None:
    coding = tmp_path / "coding"
    write_csv(
        coding / "coder_a" / "c.csv",
        [["T1-0002-001", " Calm "], ["T1-0002-01", "work"], ["t1-0002-001", "work"]],
    )
    write_csv(coding / "coder_b" / "c.csv", [["T1-0002-001", "calm"]])
    checked = check(project, coding)
    messages = [problem.message() for problem in checked.errors]
    assert any(
        "row 2: code Calm is not in the codebook (version 2). Did you mean calm?" in message
        for message in messages
    ), messages
    assert any(
        "row 3: segment T1-0002-01 is not a segment of the corpus. Did you mean T1-0002-001?"
        in message
        for message in messages
    ), messages
    assert any(
        "row 4: segment t1-0002-001: no transcript t1 in the raw folder. Did you mean T1?"
        in message
        for message in messages
    ), messages
    assert (
        coding_file_readers.did_you_mean(
            "physical_stability", ["mental_stability", "physical_stability"]
        )
        == "Did you mean physical_stability? "
    )
    assert (
        coding_file_readers.did_you_mean(
            " Physical_Stability ", ["mental_stability", "physical_stability"]
        )
        == "Did you mean physical_stability? "
    )
    assert coding_file_readers.did_you_mean("zzz", ["calm"]) == ""
