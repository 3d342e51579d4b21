"""Tests for scripts/coding_sheets.py: layout, blind mode, determinism, and the round trip through
scripts/codings.py (generate, fill in with openpyxl, save into data/coding/{coder}/, read back)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from scripts import coding_file_readers, coding_records, coding_sheets, codings
from scripts.codebook import load_codebook

from .coding_helpers import write_project


def make_sheet(
    tmp_path: Path,
    suggested: bool = False,
    candidates: list[str] | None = None,
    coder: str = "coder_x",
) -> tuple[Path, dict]:
    paths = write_project(tmp_path)
    output = tmp_path / "results" / "coding_sheets" / f"{coder}.xlsx"
    coding_sheets.coding_sheets(
        {
            "codebook": str(paths["codebook"]),
            "segments": [str(paths["T2"]), str(paths["T1"])],
            "candidates": candidates or [],
        },
        {"sheets": [str(output)]},
        {"roles": ["participant"], "sheets": {"suggested": suggested}},
        str(tmp_path / "log"),
    )
    return output, paths


def test_sheet_layout_blind_by_default(tmp_path: Path) -> None:
    output, _ = make_sheet(tmp_path)
    workbook = openpyxl.load_workbook(output)
    assert workbook.sheetnames == ["coding", "transcripts", "codebook", "about"]
    assert workbook.active.title == "coding"  # it opens where the coder codes
    done = list(workbook["transcripts"].iter_rows(values_only=True))
    assert done[0][:3] == ("transcript_id", "segments", "done") and [
        row[0] for row in done[1:]
    ] == ["T1", "T2"]
    assert "only once the transcript is marked done" in done[1][3]
    sheet = workbook["coding"]
    header = [cell.value for cell in sheet[1]]
    assert header == [
        "segment_id",
        "transcript_id",
        "turn",
        "role",
        "text_sha1",
        "context",
        "text",
        "calm",
        "work",
        "queue",
        "memo",
    ]
    rows = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [row["segment_id"] for row in rows] == [
        "T1-0002-001",
        "T1-0002-002",
        "T1-0002-003",
        "T1-0004-001",
        "T1-0004-002",
        "T2-0002-001",
        "T2-0002-002",
    ]  # participant rows only, corpus order
    assert rows[3]["context"] == "Why?" and rows[0]["context"] == "How are you?"
    assert rows[1]["text"] == "I sell <fish> & rice."
    assert sheet.freeze_panes == "B2"
    [validation] = sheet.data_validations.dataValidation
    assert (
        validation.formula1 == '"1"' and validation.allow_blank and str(validation.sqref) == "H2:J8"
    )
    codebook = [row for row in workbook["codebook"].iter_rows(values_only=True)]
    assert codebook[0] == (
        "code_id",
        "label",
        "definition",
        "include",
        "exclude",
        "examples",
        "theme",
        "keywords",
    )
    assert codebook[1][:3] == ("calm", "Calm", "A calmer mind.") and codebook[1][6] == "Good things"


def test_suggested_column_only_when_switched_on(tmp_path: Path) -> None:
    candidates = tmp_path / "T1.candidates.tsv"
    candidates.write_text(
        "segment_id\tcode_id\tsource\tscore\tmatched_terms\tnegated\n"
        "T1-0002-001\tcalm\tkeyword\t0.5\tcalm\t0\n"
        "T1-0002-003\tqueue\tkeyword\t0.25\tqueue\t1\n",
        encoding="utf-8",
    )
    output, _ = make_sheet(tmp_path, suggested=True, candidates=[str(candidates)])
    sheet = openpyxl.load_workbook(output)["coding"]
    header = [cell.value for cell in sheet[1]]
    assert header[-1] == "suggested"
    suggested = {row[0]: row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (
        suggested["T1-0002-001"] == "calm" and not suggested["T1-0002-003"]
    )  # negated: not suggested


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    first, _ = make_sheet(tmp_path / "a")
    second, _ = make_sheet(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


def test_filled_in_sheet_is_read_back_as_the_same_codings(tmp_path: Path) -> None:
    output, paths = make_sheet(tmp_path)
    workbook = openpyxl.load_workbook(output)
    sheet = workbook["coding"]
    header = [cell.value for cell in sheet[1]]
    applied = {
        ("T1-0002-001", "calm"),
        ("T1-0002-003", "queue"),
        ("T1-0004-002", "queue"),
        ("T2-0002-002", "work"),
        ("T2-0002-001", "calm"),
    }
    for row in sheet.iter_rows(min_row=2):
        segment_id = row[0].value
        for code_id in ("calm", "work", "queue"):
            if (segment_id, code_id) in applied:
                row[header.index(code_id)].value = 1
        if segment_id == "T1-0002-002":
            row[header.index("memo")].value = "selling: maybe work?"
    folder = tmp_path / "data" / "coding" / "coder_x"
    folder.mkdir(parents=True)
    workbook.save(folder / "coder_x.xlsx")

    parsed = {"coder_x": codings.read_coder("coder_x", [folder / "coder_x.xlsx"])}
    segments = coding_records.load_segments([paths["T1"], paths["T2"]])
    codebook = load_codebook(paths["codebook"])
    checked = codings.check_codings(
        parsed, segments, codebook, ["participant"], ["coder_x"], None, ["T1", "T2"]
    )
    assert checked.errors == [] and checked.warnings == []
    read_back = {
        (segments.rows[s]["segment_id"], codebook.code_ids[c])
        for s, c in checked.applied["coder_x"]
    }
    assert read_back == applied
    assert checked.asked["coder_x"] == {"T1", "T2"}


def test_a_transcript_marked_done_counts_its_blank_rows_and_an_untouched_one_does_not(
    tmp_path: Path,
) -> None:
    """The sheet saved with codes only in T1 and nothing in T2: T2 was not coded; marked done, its
    blank rows say 'no code applies'."""
    output, paths = make_sheet(tmp_path)
    workbook = openpyxl.load_workbook(output)
    sheet = workbook["coding"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "T1-0002-001":
            row[header.index("calm")].value = 1
    untouched = tmp_path / "untouched.xlsx"
    workbook.save(untouched)
    read = coding_file_readers.read_sheet(untouched, "coder_x")
    assert {mention.segment_id.split("-")[0] for mention in read.mentions} == {"T1"}
    assert read.not_counted == {"T2": 2}
    for row in workbook["transcripts"].iter_rows(min_row=2):
        if row[0].value == "T2":
            row[2].value = 1
    done = tmp_path / "done.xlsx"
    workbook.save(done)
    read = coding_file_readers.read_sheet(done, "coder_x")
    assert {mention.segment_id.split("-")[0] for mention in read.mentions} == {
        "T1",
        "T2",
    } and read.not_counted == {}
    assert [transcript for transcript, _ in read.done] == ["T2"]


def test_every_tab_has_widths_wrapped_text_and_rows_tall_enough(tmp_path: Path) -> None:
    output, _ = make_sheet(tmp_path)
    workbook = openpyxl.load_workbook(output)
    for sheet in workbook.worksheets:
        assert sheet.column_dimensions["A"].width and sheet.column_dimensions["B"].width, (
            sheet.title
        )
    coding = workbook["coding"]
    header = [cell.value for cell in coding[1]]
    text = header.index("text") + 1
    assert (
        coding.cell(2, text).alignment.wrap_text
        and coding.cell(2, text).alignment.vertical == "top"
    )
    assert coding.column_dimensions["E"].hidden  # text_sha1: for the workflow, not the coder
    for sheet in workbook.worksheets:
        widths = {
            column: sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].width
            for column in range(1, sheet.max_column + 1)
        }
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value and cell.alignment.wrap_text:
                    needed = (
                        coding_sheets.lines_needed(cell.value, widths[cell.column])
                        * coding_sheets.LINE_POINTS
                    )
                    assert sheet.row_dimensions[cell.row].height >= needed, (
                        sheet.title,
                        cell.coordinate,
                    )
    about = dict(workbook["about"].iter_rows(values_only=True))
    assert about["coder"] == "coder_x" and about["codebook version"] == "2"
    assert "only once the transcript is marked done" in about["when a transcript is done"]


def test_lines_needed_counts_wrapped_lines() -> None:
    assert coding_sheets.lines_needed("", 10) == 1
    assert coding_sheets.lines_needed("12345678", 10) == 1  # eight characters fit a column of ten
    assert coding_sheets.lines_needed("1234 5678", 10) == 2
    assert coding_sheets.lines_needed("a" * 20, 10) == 3  # a long word is broken (8 a line)
    assert coding_sheets.lines_needed("one\ntwo", 40) == 2
    assert coding_sheets.row_height([("x " * 200, 12.0)]) == coding_sheets.TALLEST_ROW


def test_long_context_is_the_end_of_the_turn() -> None:
    text = " ".join(f"word{number}" for number in range(200))
    short = coding_sheets.shortened_context(text)
    assert (
        short.startswith("... ")
        and short.endswith("word199")
        and len(short) <= coding_sheets.CONTEXT_CHARACTERS + 4
    )
    assert coding_sheets.shortened_context("Why?") == "Why?"


def test_each_sheet_says_whose_it_is_and_is_reported_in_another_coders_folder(
    tmp_path: Path,
) -> None:
    mine, _ = make_sheet(tmp_path / "a", coder="coder_x")
    theirs, _ = make_sheet(tmp_path / "b", coder="coder_y")
    assert mine.read_bytes() != theirs.read_bytes()
    workbook = openpyxl.load_workbook(mine)
    properties = {item.name: item.value for item in workbook.custom_doc_props}
    assert properties == {"qualflow coder": "coder_x", "qualflow codebook version": "2"}
    assert "coder_x" in workbook.properties.subject and workbook.properties.creator == "qualflow"
    assert coding_file_readers.read_sheet(mine, "coder_x").made_for == "coder_x"
    read = codings.read_coder("coder_y", [mine])
    [warning] = [problem for problem in read.problems if problem.kind == "another_coders_sheet"]
    assert (
        warning.severity == "warning"
        and "made for coder_x" in warning.message()
        and "folder of coder_y" in warning.message()
    )
    assert "another_coders_sheet" not in [
        problem.kind for problem in codings.read_coder("coder_x", [mine]).problems
    ]


def test_a_libreoffice_style_resave_keeps_whose_sheet_it_is(tmp_path: Path) -> None:
    """openpyxl's normal (not streamed) save, as any editor rewrites the file: properties kept."""
    output, _ = make_sheet(tmp_path)
    workbook = openpyxl.load_workbook(output)
    workbook.save(tmp_path / "resaved.xlsx")
    assert (
        coding_file_readers.read_sheet(tmp_path / "resaved.xlsx", "coder_x").made_for == "coder_x"
    )


def test_sheets_built_once_for_several_coders_are_the_bytes_of_each_coders_own(
    tmp_path: Path,
) -> None:
    paths = write_project(tmp_path)
    book = load_codebook(paths["codebook"])
    rows = coding_sheets.sheet_rows([str(paths["T2"]), str(paths["T1"])], ["participant"])
    # two names of one length (one build), one of another, one that is also a cell's text
    # ("coder", the about tab's label: built alone), one with a character XML escapes
    names = ["coder_a", "coder_b", "JM", "coder", "R&D"]
    for suggested in (None, {rows[0]["segment_id"]: "code_x"}):
        shared = {name: tmp_path / "shared" / f"{name}.xlsx" for name in names}
        coding_sheets.write_sheets(rows, book, suggested, {n: str(p) for n, p in shared.items()})
        for name, path in shared.items():
            alone = tmp_path / "alone" / f"{name}.xlsx"
            coding_sheets.save_deterministic(
                coding_sheets.build_workbook(rows, book, suggested, name), alone
            )
            assert path.read_bytes() == alone.read_bytes(), name
        about = openpyxl.load_workbook(shared["coder_b"])["about"]
        assert about["B1"].value == "coder_b"
        assert coding_sheets.STAND_IN not in "".join(
            str(cell.value) for row in about.iter_rows() for cell in row
        )
