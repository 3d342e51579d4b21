"""Reading one file of a coder folder: a long CSV (:func:`read_csv_coding`), a filled-in coding
sheet (:func:`read_sheet`, layout in ``workflow/schemas/coding_sheet.md``) or a
``transcripts.txt`` (:func:`read_transcript_list`). REFI-QDA projects are read by
:mod:`scripts.refi_qda_codings`; a whole folder by :func:`scripts.codings.read_coder`.

A file that cannot be read raises :class:`~scripts.coding_records.CodingError` naming the file
and the row (as a spreadsheet shows it: the header is row 1). An unknown column is answered with
the one it most likely meant (:func:`did_you_mean`). Messages quote IDs only, never memo or
other free text.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from scripts.coding_records import (
    SEGMENT_ID,
    CodingError,
    Mention,
    SheetCoding,
    quoted,
    transcript_of,
)

SHA1 = re.compile(r"^[0-9a-f]{40}$")
#: A memo holding this word marks the segment as an exemplar quote for the codes applied there.
EXEMPLAR = re.compile(r"\bexemplar\b", re.IGNORECASE)
CSV_REQUIRED = ("segment_id", "code_id")
CSV_OPTIONAL = ("coder", "text_sha1", "memo", "transcript_id", "text")
SHEET_NAME = "coding"
TRANSCRIPTS_SHEET = "transcripts"
CODEBOOK_SHEET = "codebook"
#: Columns of a coding sheet that are not codes (workflow/schemas/coding_sheet.md).
SHEET_COLUMNS = (
    "segment_id",
    "transcript_id",
    "turn",
    "sentence",
    "role",
    "speaker",
    "text",
    "context",
    "text_sha1",
    "memo",
    "suggested",
)
TRANSCRIPT_LIST = "transcripts.txt"


def read_transcript_list(path: str | Path) -> list[tuple[str, int]]:
    """(transcript ID, row) for every non-blank, non-comment line of a transcripts.txt."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CodingError(
            path, "is not UTF-8 text", "Save it as UTF-8 text, one transcript ID a line"
        ) from None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not SEGMENT_ID.match(f"{value}-0001-001"):
            raise CodingError(
                path,
                "not a transcript ID (letters, digits, - and _)",
                "Write one transcript ID a line",
                row=number,
            )
        items.append((value, number))
    return items


#: Delimiters a coding CSV may use: comma, semicolon (what Excel saves where the decimal mark is a
#: comma), tab, vertical bar.
CSV_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def csv_delimiter(header_line: str) -> str:
    """The delimiter of a coding CSV, from its header line: the one that splits it into a header
    naming the required columns; else the one :class:`csv.Sniffer` finds (for the message)."""
    for delimiter in CSV_DELIMITERS:
        names = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter), [])]
        if all(name in names for name in CSV_REQUIRED):
            return delimiter
    try:
        return csv.Sniffer().sniff(header_line, delimiters="".join(CSV_DELIMITERS)).delimiter
    except csv.Error:
        return ","


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """'Did you mean X? ' for the choice closest to value (case and spaces aside), or ''."""
    by_folded: dict[str, str] = {}
    for choice in choices:
        by_folded.setdefault(choice.casefold(), choice)
    close = difflib.get_close_matches(value.strip().casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"Did you mean {by_folded[close[0]]}? " if close else ""


def read_csv_coding(path: str | Path, coder: str) -> list[Mention]:
    """Rows of a long coding CSV as :class:`Mention` records, in file order. Its delimiter is
    found from the header (comma, semicolon, tab or vertical bar); values are trimmed."""
    path = Path(path)
    fix = "Save the coding as a CSV with a header segment_id,code_id (optional: text_sha1, memo, coder)"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CodingError(path, "is not UTF-8 text", "Save it as CSV UTF-8") from None
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = csv_delimiter(header_line)
    separated = CSV_DELIMITERS[delimiter]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise CodingError(path, "the file is empty", fix)
        missing = [name for name in CSV_REQUIRED if name not in header]
        if missing:
            found = ", ".join(quoted(name) for name in header if name) or "none"
            raise CodingError(
                path,
                f"no column {', '.join(missing)} in the header (read as separated by {separated}, it has "
                f"{len(header)} column(s): {found})",
                fix,
                row=1,
            )
        unknown = [name for name in header if name not in (*CSV_REQUIRED, *CSV_OPTIONAL)]
        if unknown:
            names = ", ".join(quoted(name) for name in unknown)
            hint = "".join(
                did_you_mean(name, (*CSV_REQUIRED, *CSV_OPTIONAL)) for name in unknown[:1]
            )
            raise CodingError(
                path,
                f"unknown column(s) {names}; allowed: {', '.join((*CSV_REQUIRED, *CSV_OPTIONAL))}",
                hint + fix,
                row=1,
            )
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise CodingError(
                path, f"column(s) {', '.join(repeated)} appear twice in the header", fix, row=1
            )
        position = {name: header.index(name) for name in header}
        mentions = []
        for row, record in enumerate(reader, start=2):
            if not any(value.strip() for value in record):
                continue
            if len(record) != len(header):
                raise CodingError(
                    path,
                    f"the row has {len(record)} values for {len(header)} columns (separated by {separated})",
                    f"Quote values that contain {separated}",
                    row=row,
                )
            values = {name: record[index].strip() for name, index in position.items()}
            mentions.append(_mention(path, coder, row, values, None))
    except csv.Error:
        raise CodingError(
            path,
            "cannot be parsed as CSV",
            "Check the quoting of the values",
            row=reader.line_num or None,
        ) from None
    return mentions


def _mention(
    path: Path, coder: str, row: int, values: dict[str, str], column: str | None
) -> Mention:
    segment_id = values.get("segment_id", "")
    code_id = values.get("code_id") or None
    if not segment_id:
        raise CodingError(
            path,
            "no segment_id",
            "Fill in the segment's ID (e.g. DSM01-0004-002) or delete the row",
            row=row,
        )
    named_coder = values.get("coder", "")
    if named_coder and named_coder != coder:
        raise CodingError(
            path,
            f"the coder column says {quoted(named_coder)} but the file is in the folder of {coder}",
            "Put each coder's rows in that coder's folder",
            row=row,
        )
    sha1 = values.get("text_sha1") or None
    if sha1 is not None and not SHA1.match(sha1.lower()):
        raise CodingError(
            path,
            "text_sha1 is not a SHA-1 (40 hexadecimal characters)",
            "Copy it from results/segments or leave it blank",
            row=row,
        )
    exemplar = bool(EXEMPLAR.search(values.get("memo", "")))
    return Mention(
        coder, str(path), row, segment_id, code_id, sha1.lower() if sha1 else None, column, exemplar
    )


def read_sheet_coding(
    path: str | Path, coder: str
) -> tuple[list[Mention], list[tuple[str, str, str]]]:
    """A filled-in coding sheet's counted mentions and its code columns (see :func:`read_sheet`)."""
    sheet = read_sheet(path, coder)
    return list(sheet.mentions), list(sheet.codes)


#: Values of a "done" cell that mark a transcript as coded.
DONE_VALUES = frozenset({"1", "x", "yes", "done", "true"})


def read_sheet(path: str | Path, coder: str) -> SheetCoding:
    """A filled-in coding sheet (workflow/schemas/coding_sheet.md).

    Each code cell holding 1 is a mention of that code; a row without codes says "no code
    applies here", but only for a transcript the coder marked done in the sheet's
    ``transcripts`` tab, or, in a sheet without that tab, gave at least one code: the blank
    rows of a transcript nobody opened are not a coding. Cells may hold 1 or blank (0 reads as
    blank); anything else is an error naming the cell.
    """
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise CodingError(
            path, "is not an Excel workbook (.xlsx)", "Save the coding sheet as .xlsx"
        ) from None
    try:
        sheet = (
            workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        )
        rows = sheet.iter_rows(values_only=True)
        header = [("" if value is None else str(value).strip()) for value in next(rows, ())]
        if "segment_id" not in header:
            raise CodingError(
                path,
                f"no segment_id column in the header of sheet {quoted(sheet.title)}",
                "Use the coding sheet layout of workflow/schemas/coding_sheet.md",
                row=1,
            )
        seen: dict[str, str] = {}
        for index, name in enumerate(header):
            if name and name in seen:
                raise CodingError(
                    path,
                    f"column {quoted(name)} appears twice in the header",
                    "Keep one column per code",
                    row=1,
                    column=get_column_letter(index + 1),
                )
            seen[name] = get_column_letter(index + 1)
        segment_column = header.index("segment_id")
        sha1_column = header.index("text_sha1") if "text_sha1" in header else None
        memo_column = header.index("memo") if "memo" in header else None
        text_column = header.index("text") if "text" in header else None
        code_columns = [
            (index, name, get_column_letter(index + 1))
            for index, name in enumerate(header)
            if name and name not in SHEET_COLUMNS
        ]
        sheet_codes = tuple((str(path), name, letter) for _, name, letter in code_columns)
        blank_headers = [index for index, name in enumerate(header) if not name]
        read: list[
            tuple[int, str, str, str, str, list[tuple[str, str]]]
        ] = []  # row, segment, sha1, memo, text, codes
        width = len(header)
        for row, values in enumerate(rows, start=2):
            if len(values) < width:
                values = tuple(values) + (None,) * (width - len(values))
            segment_id = _cell_text(values[segment_column])
            applied = [
                (code_id, letter)
                for index, code_id, letter in code_columns
                if values[index] is not None and _present(values[index], path, row, letter, code_id)
            ]
            for index in blank_headers:
                if _cell_text(values[index]):
                    raise CodingError(
                        path,
                        "a value in a column with no header",
                        "Give the column a code ID as header or clear it",
                        row=row,
                        column=get_column_letter(index + 1),
                    )
            if not segment_id:
                if applied:
                    raise CodingError(
                        path,
                        "codes applied on a row with no segment_id",
                        "Restore the segment_id or clear the row",
                        row=row,
                    )
                continue
            sha1 = _cell_text(values[sha1_column]) if sha1_column is not None else ""
            memo = _cell_text(values[memo_column]) if memo_column is not None else ""
            text = _cell_text(values[text_column]) if text_column is not None else ""
            read.append((row, segment_id, sha1, memo, text, applied))
        done = _done_transcripts(workbook, path)
        codebook_codes = _codebook_codes(workbook)
        made_for = sheet_coder(workbook)
    finally:
        workbook.close()
    coded = {transcript_of(segment_id) for _, segment_id, _, _, _, applied in read if applied}
    counted = coded | {transcript for transcript, _ in done}
    mentions: list[Mention] = []
    texts: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    not_counted: dict[str, int] = defaultdict(int)
    for row, segment_id, sha1, memo, text, applied in read:
        transcript = transcript_of(segment_id)
        texts[transcript].append((segment_id, text, sha1.lower()))
        if transcript not in counted:
            not_counted[transcript] += 1
            continue
        base = {"segment_id": segment_id, "text_sha1": sha1, "memo": memo}
        mentions.append(_mention(path, coder, row, {**base, "code_id": ""}, None))
        for code_id, letter in applied:
            mentions.append(_mention(path, coder, row, {**base, "code_id": code_id}, letter))
    return SheetCoding(
        tuple(mentions),
        sheet_codes,
        {transcript: tuple(rows) for transcript, rows in texts.items()},
        tuple(done),
        codebook_codes,
        dict(sorted(not_counted.items())),
        made_for,
    )


def _done_transcripts(workbook, path: Path) -> list[tuple[str, int]]:
    """(transcript, row) of every transcript marked done in the sheet's ``transcripts`` tab."""
    if TRANSCRIPTS_SHEET not in workbook.sheetnames:
        return []
    rows = workbook[TRANSCRIPTS_SHEET].iter_rows(values_only=True)
    header = [("" if value is None else str(value).strip()) for value in next(rows, ())]
    if "transcript_id" not in header or "done" not in header:
        raise CodingError(
            path,
            f"the {TRANSCRIPTS_SHEET} tab has no transcript_id and done columns",
            "Restore the tab's header from a fresh coding sheet",
            row=1,
        )
    transcript_column, done_column = header.index("transcript_id"), header.index("done")
    done = []
    for row, values in enumerate(rows, start=2):
        values = tuple(values) + (None,) * (len(header) - len(values))
        transcript, mark = (
            _cell_text(values[transcript_column]),
            _cell_text(values[done_column]).casefold(),
        )
        if transcript and mark in DONE_VALUES:
            done.append((transcript, row))
        elif mark and mark not in ("0", "no"):
            raise CodingError(
                path,
                f"the done cell of the {TRANSCRIPTS_SHEET} tab must hold 1 or be blank",
                "Write 1 when the transcript is coded",
                row=row,
            )
    return done


#: The document property of a coding sheet that names the coder it was made for (scripts/coding_sheets.py).
SHEET_CODER_PROPERTY = "qualflow coder"


def sheet_coder(workbook) -> str | None:
    """The coder a sheet qualflow made is for (its ``qualflow coder`` property), None if it does not say."""
    for item in workbook.custom_doc_props:
        if item.name == SHEET_CODER_PROPERTY and isinstance(item.value, str) and item.value.strip():
            return item.value.strip()
    return None


def _codebook_codes(workbook) -> frozenset[str] | None:
    """The code IDs the sheet's codebook tab lists (the codebook it was made with)."""
    if CODEBOOK_SHEET not in workbook.sheetnames:
        return None
    rows = workbook[CODEBOOK_SHEET].iter_rows(values_only=True)
    header = [("" if value is None else str(value).strip()) for value in next(rows, ())]
    if "code_id" not in header:
        return None
    column = header.index("code_id")
    return frozenset(
        _cell_text(values[column])
        for values in rows
        if len(values) > column and _cell_text(values[column])
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _present(value: object, path: Path, row: int, column: str, code_id: str) -> bool:
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip()
    if text in ("", "0"):
        return False
    if text == "1":
        return True
    raise CodingError(
        path,
        f"the cell for code {quoted(code_id)} must hold 1 or be blank",
        "Write 1 where the code applies, nothing elsewhere",
        row=row,
        column=column,
    )
