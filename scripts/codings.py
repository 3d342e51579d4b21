"""Human codings: reading and checking what coders put in ``data/coding/{coder}/``.

A coder folder holds any number of:

* long CSV files (comma- or semicolon-separated, as the header shows): one row per code applied
  to a segment, columns ``segment_id, code_id`` and
  optionally ``coder`` (must be the folder's name), ``text_sha1``, ``memo``, ``transcript_id`` and
  ``text`` (the last two are for the coder's eyes and are not read). A row with a blank
  ``code_id`` says "I coded this segment and applied no code";
* filled-in coding sheets (``.xlsx``, layout in ``workflow/schemas/coding_sheet.md``): one row per
  segment, one column per code holding 1 or blank;
* REFI-QDA projects (``.qdpx``) saved by the coder's QDA software from qualflow's export
  (``results/exchange/project.qdpx``): plain-text selections become codings of the segments they
  cover (``scripts/refi_qda.py``, rules in ``workflow/schemas/refi_qda.md``); the row of a
  mention is the selection's number in the file;
* ``transcripts.txt``: transcript IDs the coder coded, one a line (``#`` starts a comment), for
  transcripts where the coder applied no code at all.

A coder was asked to code a transcript if their files mention any segment of it or list it in
``transcripts.txt``. The pipeline reads these folders and never writes to them.

Problems are :class:`Problem` records naming the file and the row (as a spreadsheet shows it:
the header is row 1). Unknown segments, unknown codes, changed segment text (``text_sha1``) and
unreadable files are errors; duplicates, codes on segments outside the coded roles, missing
sheet columns, a sheet made for another coder and coders who coded only some transcripts are
warnings. An unknown ID is answered with the one it most likely meant (difflib). Messages quote
IDs only, never memo or other free text.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from scripts.codebook import Codebook
from scripts.contracts import read_tsv
from scripts.errors import QualflowError

CODER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
SEGMENT_ID = re.compile(r"^(?P<transcript>[A-Za-z0-9][A-Za-z0-9_-]*)-(?P<turn>[0-9]{4})-(?P<sentence>[0-9]{3})$")
SHA1 = re.compile(r"^[0-9a-f]{40}$")
#: A memo holding this word marks the segment as an exemplar quote for the codes applied there.
EXEMPLAR = re.compile(r"\bexemplar\b", re.IGNORECASE)
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
CSV_REQUIRED = ("segment_id", "code_id")
CSV_OPTIONAL = ("coder", "text_sha1", "memo", "transcript_id", "text")
SHEET_NAME = "coding"
TRANSCRIPTS_SHEET = "transcripts"
CODEBOOK_SHEET = "codebook"
#: Columns of a coding sheet that are not codes (workflow/schemas/coding_sheet.md).
SHEET_COLUMNS = ("segment_id", "transcript_id", "turn", "sentence", "role", "speaker", "text", "context",
                 "text_sha1", "memo", "suggested")
TRANSCRIPT_LIST = "transcripts.txt"
CODING_SUFFIXES = (".csv", ".xlsx", ".qdpx")
#: Formats a coder might save that we do not read: refused rather than silently skipped.
REFUSED_SUFFIXES = {
    ".xls": "Save the sheet as .xlsx (Excel Workbook)",
    ".xlsm": "Save the sheet as .xlsx (Excel Workbook, no macros)",
    ".ods": "Save the sheet as .xlsx (Excel Workbook)",
    ".tsv": "Save it as CSV (comma-separated)",
    ".qde": "Save the whole project as a REFI-QDA project (.qdpx), not its .qde alone",
    # QDA programs' own project formats (NVivo, ATLAS.ti, MAXQDA): only the exchange format is read
    **{suffix: "Export the project as a REFI-QDA project (.qdpx) and save that here" for suffix in (".nvp", ".nvpx", ".atlproj", ".mx24", ".mx22", ".mx20")},
}


class CodingError(QualflowError):
    """A coding file that cannot be read or names something that does not exist.

    The message says "file, row N" (the row as a spreadsheet shows it; the header is row 1).
    """

    def __init__(self, path: str | Path | None, problem: str, fix: str, row: int | None = None, column: str | None = None):
        super().__init__(path, problem, fix)
        self.line = row
        where = self.path or "qualflow"
        if row is not None:
            where += f", row {row}" + (f" (column {column})" if column else "")
        self.args = (f"{where}: {problem}. {fix}",)


@dataclass(frozen=True)
class Mention:
    """One coding row: a coder applied ``code_id`` to a segment (``code_id`` None: no code).

    Once re-anchored (scripts/anchor_codings.py), ``segment_id`` and ``code_id`` are where the
    coding is now, ``status`` says how it got there (scripts/anchoring.py) and ``coded_segment_id``
    and ``coded_code_id`` what the coder's file says."""

    coder: str
    file: str
    row: int
    segment_id: str
    code_id: str | None
    text_sha1: str | None = None
    column: str | None = None  # the sheet column of the code (sheets only)
    exemplar: bool = False  # the memo marks this segment as an exemplar quote (memo text is not kept)
    status: str = "unchanged"
    similarity: float = 1.0
    coded_segment_id: str = ""
    coded_code_id: str = ""
    code_change: str = ""  # renamed, merged or split (the codebook's renamed_from, merged_from, split_from)
    coded_text: str = ""  # the text coded (for the anchoring ledger, where the workflow produced it)
    transcript_id: str = ""  # set where segment_id cannot say it (a REFI-QDA selection sent to recheck)

    @property
    def transcript(self) -> str:
        return self.transcript_id or _transcript_of(self.segment_id or self.coded_segment_id)


@dataclass
class CoderFiles:
    """Everything read from one coder folder, before checking against segments and codebook."""

    coder: str
    files: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    listed: list[tuple[str, str, int]] = field(default_factory=list)  # transcript, file, row
    sheet_codes: list[tuple[str, str, str]] = field(default_factory=list)  # file, code, column
    problems: list[Problem] = field(default_factory=list)  # found while reading (REFI-QDA projects)
    sheets: dict[str, SheetCoding] = field(default_factory=dict)  # file → what its sheet says besides the codes


@dataclass(frozen=True)
class SheetCoding:
    """A filled-in coding sheet: its counted rows' codings, its code columns (file, code ID,
    column letter), the text of each row as the coder saw it (transcript → [(segment_id, text,
    text_sha1)], sheet order), the transcripts marked done (transcript, row of the transcripts
    tab), the code IDs of its codebook tab (None: no such tab), the transcripts whose rows
    were not counted (neither marked done nor given a code), and the coder the sheet was made
    for (None: a sheet that does not say)."""

    mentions: tuple[Mention, ...]
    codes: tuple[tuple[str, str, str], ...]
    texts: dict[str, tuple[tuple[str, str, str], ...]]
    done: tuple[tuple[str, int], ...]
    codebook_codes: frozenset[str] | None
    not_counted: dict[str, int]
    made_for: str | None = None  # the coder the sheet was made for (its "qualflow coder" property)


@dataclass(frozen=True)
class QdpxContext:
    """What reading a REFI-QDA project (.qdpx) needs besides the file: the segments its sources
    are checked against and mapped to, the codebook its codes are matched to, and the share of a
    segment's characters a selection must cover to code it (``coding.qdpx_min_overlap``)."""

    segments: Segments
    codebook: Codebook
    min_overlap: float = 0.5
    similarity: float = 0.6  # coding.anchor_similarity: a selection followed into a changed text
    versions: Any = None  # the kept segment versions (scripts/anchor_codings.py: Versions)

    @classmethod
    def from_config(cls, segments: Segments, codebook: Codebook, coding: dict) -> "QdpxContext":
        return cls(segments, codebook, float(coding.get("qdpx_min_overlap", 0.5)), float(coding.get("anchor_similarity", 0.6)))


@dataclass(frozen=True)
class Problem:
    """A problem found in a coding, with where it is and what to do."""

    severity: str  # "error" fails the run, "warning" is logged and listed
    kind: str
    coder: str
    file: str
    row: int | None
    detail: str
    fix: str
    segment_id: str = ""
    code_id: str = ""
    column: str | None = None

    def message(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}" + (f" (column {self.column})" if self.column else "")
        return f"{where}: {self.detail}. {self.fix}"

    def as_row(self) -> dict:
        return {
            "severity": self.severity, "kind": self.kind, "coder": self.coder, "file": self.file,
            "row": self.row, "column": self.column or "", "segment_id": self.segment_id,
            "code_id": self.code_id, "detail": self.detail,
        }


PROBLEM_COLUMNS = ["severity", "kind", "coder", "file", "row", "column", "segment_id", "code_id", "detail"]


def quoted(value: str) -> str:
    """An ID for a message, or a neutral description when it does not look like one (free text)."""
    return value if SAFE_ID.match(value) else f"(a value that is not an ID, {len(value)} characters)"


# ---------------------------------------------------------------------------------------------
# Finding the coder folders
# ---------------------------------------------------------------------------------------------


def discover_coders(folder: str | Path) -> dict[str, list[Path]]:
    """Coder name → the files of its folder (sorted), for every folder under ``folder``.

    No folder: no coders. Coding files outside a coder folder, badly named coder folders and
    formats we cannot read stop the run (every coding must be read or refused, never skipped).
    Other files (notes, READMEs) are not codings and are left alone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    coders: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "~$")):
            continue
        if not entry.is_dir():
            if entry.suffix.lower() in (*CODING_SUFFIXES, *REFUSED_SUFFIXES):
                raise CodingError(entry, "a coding file outside a coder folder", f"Move it into {folder}/<coder name>/")
            continue
        if not CODER_NAME.match(entry.name):
            raise CodingError(entry, "a coder folder name must be letters, digits, - and _", "Rename the folder, e.g. coder_a")
        files = []
        for path in sorted(entry.rglob("*")):
            relative = path.relative_to(entry)
            if any(part.startswith((".", "~$")) for part in relative.parts) or path.is_dir():
                continue
            suffix = path.suffix.lower()
            if suffix in REFUSED_SUFFIXES:
                raise CodingError(path, f"cannot read {suffix} codings", REFUSED_SUFFIXES[suffix])
            if suffix in CODING_SUFFIXES or path.name == TRANSCRIPT_LIST:
                if len(relative.parts) > 1:  # the coder is the folder a file is in
                    raise CodingError(path, "a coding file in a sub-folder of a coder folder", f"Move it into {entry}/")
                files.append(path)
        coders[entry.name] = files
    return coders


def coded_transcripts(files: Iterable[str | Path], transcripts: Iterable[str], cache: str | Path | None = None) -> list[str]:
    """Transcripts (among ``transcripts``) any of these coding files mention, sorted.

    Lenient (used while Snakemake builds the job graph): an unreadable file adds nothing here;
    the agreement job reports it with its file and row. ``cache``: a JSON file remembering what
    each file mentions, keyed by its size and modification time (a coding sheet of 20,000 rows
    takes openpyxl seconds to read, and the job graph is built on every Snakemake call).
    """
    import json

    entries: dict = {}
    if cache is not None and Path(cache).is_file():
        try:
            entries = json.loads(Path(cache).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
    fresh: dict = {}
    found: set[str] = set()
    for path in files:
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            continue
        signature = [stat.st_mtime_ns, stat.st_size]
        entry = entries.get(str(path))
        if not (isinstance(entry, dict) and entry.get("signature") == signature):
            entry = {"signature": signature, "transcripts": sorted(_mentioned_transcripts(path))}
        fresh[str(path)] = entry
        found.update(entry["transcripts"])
    if cache is not None and fresh != entries:
        try:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            Path(cache).write_text(json.dumps(fresh, sort_keys=True) + "\n", encoding="utf-8")
        except OSError:
            pass  # a cache that cannot be written only costs time
    # A REFI-QDA source is named after its transcript, but the coder's software may change the
    # case of the name; segment IDs in CSV and XLSX codings match exactly either way.
    by_folded = defaultdict(list)
    for transcript in transcripts:
        by_folded[transcript.casefold()].append(transcript)
    matched = set()
    for name in found:
        folded = by_folded.get(name.casefold(), [])
        matched.update([name] if name in folded else folded[:1] if len(folded) == 1 else [])
    return sorted(matched)


def _mentioned_transcripts(path: Path) -> set[str]:
    try:
        if path.name == TRANSCRIPT_LIST:
            return {transcript for transcript, _ in read_transcript_list(path)}
        if path.suffix.lower() == ".csv":
            return {_transcript_of(mention.segment_id) for mention in read_csv_coding(path, path.parent.name)}
        if path.suffix.lower() == ".xlsx":
            return {_transcript_of(mention.segment_id) for mention in read_sheet_coding(path, path.parent.name)[0]}
        if path.suffix.lower() == ".qdpx":
            from scripts import refi_qda

            return refi_qda.coded_source_names(path)
    except CodingError:
        pass
    return set()


def _transcript_of(segment_id: str) -> str:
    match = SEGMENT_ID.match(segment_id)
    return match.group("transcript") if match else ""


# ---------------------------------------------------------------------------------------------
# Reading one file
# ---------------------------------------------------------------------------------------------


def read_transcript_list(path: str | Path) -> list[tuple[str, int]]:
    """(transcript ID, row) for every non-blank, non-comment line of a transcripts.txt."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CodingError(path, "is not UTF-8 text", "Save it as UTF-8 text, one transcript ID a line") from None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not SEGMENT_ID.match(f"{value}-0001-001"):
            raise CodingError(path, "not a transcript ID (letters, digits, - and _)", "Write one transcript ID a line", row=number)
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
                path, f"no column {', '.join(missing)} in the header (read as separated by {separated}, it has "
                f"{len(header)} column(s): {found})", fix, row=1,
            )
        unknown = [name for name in header if name not in (*CSV_REQUIRED, *CSV_OPTIONAL)]
        if unknown:
            names = ", ".join(quoted(name) for name in unknown)
            hint = "".join(did_you_mean(name, (*CSV_REQUIRED, *CSV_OPTIONAL)) for name in unknown[:1])
            raise CodingError(path, f"unknown column(s) {names}; allowed: {', '.join((*CSV_REQUIRED, *CSV_OPTIONAL))}", hint + fix, row=1)
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise CodingError(path, f"column(s) {', '.join(repeated)} appear twice in the header", fix, row=1)
        position = {name: header.index(name) for name in header}
        mentions = []
        for row, record in enumerate(reader, start=2):
            if not any(value.strip() for value in record):
                continue
            if len(record) != len(header):
                raise CodingError(
                    path, f"the row has {len(record)} values for {len(header)} columns (separated by {separated})",
                    f"Quote values that contain {separated}", row=row,
                )
            values = {name: record[index].strip() for name, index in position.items()}
            mentions.append(_mention(path, coder, row, values, None))
    except csv.Error:
        raise CodingError(path, "cannot be parsed as CSV", "Check the quoting of the values", row=reader.line_num or None) from None
    return mentions


def _mention(path: Path, coder: str, row: int, values: dict[str, str], column: str | None) -> Mention:
    segment_id = values.get("segment_id", "")
    code_id = values.get("code_id") or None
    if not segment_id:
        raise CodingError(path, "no segment_id", "Fill in the segment's ID (e.g. DSM01-0004-002) or delete the row", row=row)
    named_coder = values.get("coder", "")
    if named_coder and named_coder != coder:
        raise CodingError(
            path, f"the coder column says {quoted(named_coder)} but the file is in the folder of {coder}",
            "Put each coder's rows in that coder's folder", row=row,
        )
    sha1 = values.get("text_sha1") or None
    if sha1 is not None and not SHA1.match(sha1.lower()):
        raise CodingError(path, "text_sha1 is not a SHA-1 (40 hexadecimal characters)", "Copy it from results/segments or leave it blank", row=row)
    exemplar = bool(EXEMPLAR.search(values.get("memo", "")))
    return Mention(coder, str(path), row, segment_id, code_id, sha1.lower() if sha1 else None, column, exemplar)


def read_sheet_coding(path: str | Path, coder: str) -> tuple[list[Mention], list[tuple[str, str, str]]]:
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
        raise CodingError(path, "is not an Excel workbook (.xlsx)", "Save the coding sheet as .xlsx") from None
    try:
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [("" if value is None else str(value).strip()) for value in next(rows, ())]
        if "segment_id" not in header:
            raise CodingError(path, f"no segment_id column in the header of sheet {quoted(sheet.title)}", "Use the coding sheet layout of workflow/schemas/coding_sheet.md", row=1)
        seen: dict[str, str] = {}
        for index, name in enumerate(header):
            if name and name in seen:
                raise CodingError(path, f"column {quoted(name)} appears twice in the header", "Keep one column per code", row=1, column=get_column_letter(index + 1))
            seen[name] = get_column_letter(index + 1)
        segment_column = header.index("segment_id")
        sha1_column = header.index("text_sha1") if "text_sha1" in header else None
        memo_column = header.index("memo") if "memo" in header else None
        text_column = header.index("text") if "text" in header else None
        code_columns = [(index, name, get_column_letter(index + 1)) for index, name in enumerate(header) if name and name not in SHEET_COLUMNS]
        sheet_codes = tuple((str(path), name, letter) for _, name, letter in code_columns)
        blank_headers = [index for index, name in enumerate(header) if not name]
        read: list[tuple[int, str, str, str, str, list[tuple[str, str]]]] = []  # row, segment, sha1, memo, text, codes
        width = len(header)
        for row, values in enumerate(rows, start=2):
            if len(values) < width:
                values = tuple(values) + (None,) * (width - len(values))
            segment_id = _cell_text(values[segment_column])
            applied = [
                (code_id, letter) for index, code_id, letter in code_columns
                if values[index] is not None and _present(values[index], path, row, letter, code_id)
            ]
            for index in blank_headers:
                if _cell_text(values[index]):
                    raise CodingError(path, "a value in a column with no header", "Give the column a code ID as header or clear it", row=row, column=get_column_letter(index + 1))
            if not segment_id:
                if applied:
                    raise CodingError(path, "codes applied on a row with no segment_id", "Restore the segment_id or clear the row", row=row)
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
    coded = {_transcript_of(segment_id) for _, segment_id, _, _, _, applied in read if applied}
    counted = coded | {transcript for transcript, _ in done}
    mentions: list[Mention] = []
    texts: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    not_counted: dict[str, int] = defaultdict(int)
    for row, segment_id, sha1, memo, text, applied in read:
        transcript = _transcript_of(segment_id)
        texts[transcript].append((segment_id, text, sha1.lower()))
        if transcript not in counted:
            not_counted[transcript] += 1
            continue
        base = {"segment_id": segment_id, "text_sha1": sha1, "memo": memo}
        mentions.append(_mention(path, coder, row, {**base, "code_id": ""}, None))
        for code_id, letter in applied:
            mentions.append(_mention(path, coder, row, {**base, "code_id": code_id}, letter))
    return SheetCoding(
        tuple(mentions), sheet_codes, {transcript: tuple(rows) for transcript, rows in texts.items()}, tuple(done),
        codebook_codes, dict(sorted(not_counted.items())), made_for,
    )


def _done_transcripts(workbook, path: Path) -> list[tuple[str, int]]:
    """(transcript, row) of every transcript marked done in the sheet's ``transcripts`` tab."""
    if TRANSCRIPTS_SHEET not in workbook.sheetnames:
        return []
    rows = workbook[TRANSCRIPTS_SHEET].iter_rows(values_only=True)
    header = [("" if value is None else str(value).strip()) for value in next(rows, ())]
    if "transcript_id" not in header or "done" not in header:
        raise CodingError(path, f"the {TRANSCRIPTS_SHEET} tab has no transcript_id and done columns", "Restore the tab's header from a fresh coding sheet", row=1)
    transcript_column, done_column = header.index("transcript_id"), header.index("done")
    done = []
    for row, values in enumerate(rows, start=2):
        values = tuple(values) + (None,) * (len(header) - len(values))
        transcript, mark = _cell_text(values[transcript_column]), _cell_text(values[done_column]).casefold()
        if transcript and mark in DONE_VALUES:
            done.append((transcript, row))
        elif mark and mark not in ("0", "no"):
            raise CodingError(path, f"the done cell of the {TRANSCRIPTS_SHEET} tab must hold 1 or be blank", "Write 1 when the transcript is coded", row=row)
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
    return frozenset(_cell_text(values[column]) for values in rows if len(values) > column and _cell_text(values[column]))


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
    raise CodingError(path, f"the cell for code {quoted(code_id)} must hold 1 or be blank", "Write 1 where the code applies, nothing elsewhere", row=row, column=column)


def read_coder(coder: str, files: Sequence[str | Path], qdpx: QdpxContext | None = None) -> CoderFiles:
    """Every file of one coder folder (CSV, XLSX, QDPX, transcripts.txt), in the order given.

    ``qdpx``: what reading a REFI-QDA project needs (the segments and the codebook); required
    only when ``files`` holds a .qdpx.
    """
    result = CoderFiles(coder=coder)
    for path in files:
        path = Path(path)
        result.files.append(str(path))
        if path.name == TRANSCRIPT_LIST:
            result.listed.extend((transcript, str(path), row) for transcript, row in read_transcript_list(path))
        elif path.suffix.lower() == ".csv":
            result.mentions.extend(read_csv_coding(path, coder))
        elif path.suffix.lower() == ".xlsx":
            sheet = read_sheet(path, coder)
            result.mentions.extend(sheet.mentions)
            result.sheet_codes.extend(sheet.codes)
            result.listed.extend((transcript, str(path), row) for transcript, row in sheet.done)
            result.sheets[str(path)] = sheet
            if sheet.made_for is not None and sheet.made_for != coder:
                result.problems.append(Problem(
                    "warning", "another_coders_sheet", coder, str(path), None,
                    f"this coding sheet was made for {quoted(sheet.made_for)} (its about tab and properties say so), "
                    f"but it is in the folder of {coder}: counted as {coder}'s coding",
                    f"If it is {quoted(sheet.made_for)}'s coding, move it into that coder's folder; if {coder} coded it, "
                    f"code {coder}'s own sheet (results/coding_sheets/{coder}/) next time",
                ))
            if sheet.not_counted:
                result.problems.append(Problem(
                    "warning", "not_counted", coder, str(path), None,
                    f"{sum(sheet.not_counted.values())} row(s) of transcript(s) {', '.join(sheet.not_counted)} have no code and "
                    "their transcripts are not marked done: not counted as coded",
                    f"If {coder} coded them and no code applies, write 1 in the done column of the {TRANSCRIPTS_SHEET} tab",
                ))
        elif path.suffix.lower() == ".qdpx":
            if qdpx is None:
                raise CodingError(path, "a REFI-QDA project is read against the segments and the codebook, and none were given", "Report a bug")
            from scripts import refi_qda

            mentions, problems = refi_qda.read_qdpx_coding(
                path, coder, qdpx.segments, qdpx.codebook, qdpx.min_overlap, qdpx.similarity, qdpx.versions,
            )
            result.mentions.extend(mentions)
            result.problems.extend(problems)
        else:
            raise CodingError(path, "not a coding file", "Coder folders hold .csv, .xlsx and .qdpx codings and transcripts.txt")
    return result


def group_by_coder(files: Iterable[str | Path]) -> dict[str, list[str]]:
    """Coding files (paths data/coding/{coder}/{file}) grouped by coder, coders and files sorted."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for path in files:
        grouped[Path(path).parent.name].append(str(path))
    return {coder: sorted(paths) for coder, paths in sorted(grouped.items())}


# ---------------------------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------------------------


@dataclass
class Segments:
    """The segments of the coded transcripts, in corpus order (transcript, turn, sentence)."""

    rows: list[dict[str, str]]
    index: dict[str, int]
    transcripts: tuple[str, ...]

    def of_transcript(self, transcript: str) -> list[str]:
        """The segment IDs of a transcript (a case-insensitive match of its ID), in order."""
        prefix = transcript.strip().casefold() + "-"
        return [segment_id for segment_id in self.index if segment_id.casefold().startswith(prefix)]


def load_segments(paths: Iterable[str | Path]) -> Segments:
    """Read results/segments/{transcript}.tsv files (any order) into one index."""
    by_transcript = {}
    for path in paths:
        rows = read_tsv(Path(path))
        transcript_id = Path(path).stem
        by_transcript[transcript_id] = rows
    rows = [row for transcript_id in sorted(by_transcript) for row in by_transcript[transcript_id]]
    return Segments(rows=rows, index={row["segment_id"]: i for i, row in enumerate(rows)}, transcripts=tuple(sorted(by_transcript)))


# ---------------------------------------------------------------------------------------------
# Checking codings against the segments and the codebook
# ---------------------------------------------------------------------------------------------


@dataclass
class CheckedCodings:
    """Valid codings, ready to compare.

    ``asked[coder]``: transcripts the coder was asked to code; ``applied[coder]``: set of
    (segment index, code index) over segments whose role is coded; ``problems``: every problem
    found (errors and warnings), in coder, file and row order.
    """

    coders: tuple[str, ...]
    consensus: str | None
    asked: dict[str, frozenset[str]]
    applied: dict[str, set[tuple[int, int]]]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]


def check_codings(
    parsed: dict[str, CoderFiles],
    segments: Segments,
    codebook: Codebook,
    roles: Sequence[str],
    compared: Sequence[str],
    consensus: str | None,
    corpus: Iterable[str],
) -> CheckedCodings:
    """Check every coder's codings; collect (never raise) the problems.

    ``compared``: the coders whose agreement is computed; ``consensus``: the reconciled coding's
    folder name (checked the same way, not compared); ``corpus``: every transcript ID in data/raw.
    """
    code_index = {code_id: k for k, code_id in enumerate(codebook.code_ids)}
    corpus = set(corpus)
    roles = set(roles)
    problems: list[Problem] = []
    asked: dict[str, frozenset[str]] = {}
    applied: dict[str, set[tuple[int, int]]] = {}
    for coder in [*compared, *([consensus] if consensus in parsed else [])]:
        files = parsed.get(coder, CoderFiles(coder))
        found: list[Problem] = []
        transcripts: set[str] = set()
        codes: set[tuple[int, int]] = set()
        first_seen: dict[tuple[int, int], Mention] = {}
        found.extend(files.problems)
        bad_sheet_codes = set()
        for file, code_id, column in files.sheet_codes:
            if code_id not in code_index:
                bad_sheet_codes.add((file, code_id))
                found.append(Problem(
                    "error", "unknown_code", coder, file, 1, f"column {quoted(code_id)} is not a code of the codebook (version {codebook.version})",
                    did_you_mean(code_id, codebook.code_ids) + "Rename the column to a code ID of the codebook or delete it",
                    code_id=code_id, column=column,
                ))
        # (the codings of rule anchor_codings were checked for missing columns there: no sheet codes here)
        for file in sorted({file for file, _, _ in files.sheet_codes}):
            present = {code_id for sheet, code_id, _ in files.sheet_codes if sheet == file}
            missing = [code_id for code_id in codebook.code_ids if code_id not in present]
            if missing:
                found.append(Problem(
                    "warning", "missing_column", coder, file, 1,
                    f"no column for code(s) {', '.join(missing)}; counted as not applied in this sheet",
                    "Regenerate the coding sheet from the current codebook",
                ))
        sha1_reported: set[tuple[str, int]] = set()
        for mention in files.mentions:
            position = segments.index.get(mention.segment_id)
            if position is None:
                transcript = _transcript_of(mention.segment_id)
                if transcript and transcript not in corpus:
                    detail = f"segment {quoted(mention.segment_id)}: no transcript {transcript} in the raw folder"
                    hint = did_you_mean(transcript, sorted(corpus))
                else:
                    detail = f"segment {quoted(mention.segment_id)} is not a segment of the corpus"
                    hint = did_you_mean(mention.segment_id, segments.of_transcript(mention.segment_id.split("-", 1)[0]))
                found.append(Problem(
                    "error", "unknown_segment", coder, mention.file, mention.row, detail,
                    hint + "Use the segment IDs of results/segments/ (the transcript may have been re-segmented)",
                    segment_id=mention.segment_id if SAFE_ID.match(mention.segment_id) else "",
                ))
                continue
            segment = segments.rows[position]
            transcripts.add(segment["transcript_id"])
            if mention.text_sha1 and mention.text_sha1 != segment["text_sha1"] and (mention.file, mention.row) not in sha1_reported:
                sha1_reported.add((mention.file, mention.row))
                found.append(Problem(
                    "error", "text_changed", coder, mention.file, mention.row,
                    f"the text under segment {mention.segment_id} has changed since it was coded (text_sha1 differs)",
                    "Run the workflow (snakemake): it follows codings to the text as it is now and lists them in "
                    "results/coding/anchoring.tsv. Do not copy the new text_sha1 onto the row: the ID may now name another sentence",
                    segment_id=mention.segment_id,
                ))
            if mention.code_id is None:
                continue
            if mention.code_id not in code_index:
                if (mention.file, mention.code_id) not in bad_sheet_codes:
                    found.append(Problem(
                        "error", "unknown_code", coder, mention.file, mention.row,
                        f"code {quoted(mention.code_id)} is not in the codebook (version {codebook.version})",
                        did_you_mean(mention.code_id, codebook.code_ids) + "Use a code ID of data/codebook.yaml",
                        segment_id=mention.segment_id,
                        code_id=mention.code_id if SAFE_ID.match(mention.code_id) else "",
                    ))
                continue
            key = (position, code_index[mention.code_id])
            if key in first_seen:
                earlier = first_seen[key]
                where = f"row {earlier.row}" if earlier.file == mention.file else f"{earlier.file}, row {earlier.row}"
                found.append(Problem(
                    "warning", "duplicate", coder, mention.file, mention.row,
                    f"code {mention.code_id} on segment {mention.segment_id} again (also {where}); counted once",
                    "Delete one of the rows", segment_id=mention.segment_id, code_id=mention.code_id, column=mention.column,
                ))
                continue
            first_seen[key] = mention
            if segment["role"] not in roles:
                found.append(Problem(
                    "warning", "outside_roles", coder, mention.file, mention.row,
                    f"code {mention.code_id} on segment {mention.segment_id}, whose role is {segment['role']}; not compared (coding.roles: {', '.join(sorted(roles))})",
                    "Remove the code, or add the role to coding.roles in config.yaml", segment_id=mention.segment_id,
                    code_id=mention.code_id, column=mention.column,
                ))
                continue
            codes.add(key)
        for transcript, file, row in files.listed:
            if transcript not in corpus:
                found.append(Problem(
                    "error", "unknown_transcript", coder, file, row, f"transcript {transcript} is not in the raw folder",
                    "List only transcripts of data/raw (file name without extension)",
                ))
                continue
            transcripts.add(transcript)
        # a project whose codings were all refused has its own errors; "no coding" would hide them
        if not files.mentions and not files.listed and not any(p.severity == "error" for p in files.problems):
            found.append(Problem(
                "error", "no_coding", coder, str(Path(files.files[0]).parent) if files.files else coder, None,
                "no coding found in this coder folder", "Add the coder's CSV, XLSX or QDPX files, or remove the folder",
            ))
        problems.extend(sorted(found, key=_problem_order))
        asked[coder] = frozenset(transcripts)
        applied[coder] = codes
    problems.extend(_coverage_warnings(compared, asked, segments, roles, parsed))
    return CheckedCodings(tuple(compared), consensus if consensus in parsed else None, asked, applied, problems)


def _problem_order(problem: Problem) -> tuple:
    return (problem.file, problem.row or 0, problem.column or "", problem.kind)


def _coverage_warnings(
    compared: Sequence[str], asked: dict[str, frozenset[str]], segments: Segments, roles: set[str], parsed: dict[str, CoderFiles]
) -> list[Problem]:
    everyone = set().union(*(asked[coder] for coder in compared)) if compared else set()
    in_role = defaultdict(int)
    for row in segments.rows:
        if row["role"] in roles:
            in_role[row["transcript_id"]] += 1
    warnings = []
    for coder in compared:
        skipped = sorted(everyone - asked[coder])
        if skipped and asked[coder]:
            left_out = sum(in_role[transcript] for transcript in skipped)
            folder = str(Path(parsed[coder].files[0]).parent) if coder in parsed and parsed[coder].files else coder
            warnings.append(Problem(
                "warning", "partial_coverage", coder, folder, None,
                f"{coder} coded {len(asked[coder])} of the {len(everyone)} coded transcripts; not coded: {', '.join(skipped)} "
                f"({left_out} segment(s) left out of the comparisons that include {coder})",
                f"If {coder} coded them and applied no code, list them in transcripts.txt",
            ))
    return warnings


def raise_on_errors(checked: CheckedCodings, log_hint: str) -> None:
    """Raise the first error (with how many more there are); the caller logs them all first."""
    errors = checked.errors
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more coding error(s): see {log_hint})" if len(errors) > 1 else ""
    raise CodingError(first.file, first.detail + more, first.fix, row=first.row, column=first.column)
