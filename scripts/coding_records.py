"""The records of human codings, shared by every module that reads, follows or counts them: one
coding (:class:`Mention`), what a coder folder holds (:class:`CoderFiles`, :class:`SheetCoding`),
a problem found in it (:class:`Problem`, :class:`CodingError`), and the segments codings are
checked against (:class:`Segments`).

Messages quote IDs only, never memo or other free text (:func:`quoted`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from scripts.contracts import read_tsv
from scripts.errors import QualflowError

SEGMENT_ID = re.compile(
    r"^(?P<transcript>[A-Za-z0-9][A-Za-z0-9_-]*)-(?P<turn>[0-9]{4})-(?P<sentence>[0-9]{3})$"
)
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class CodingError(QualflowError):
    """A coding file that cannot be read or names something that does not exist.

    The message says "file, row N" (the row as a spreadsheet shows it; the header is row 1).
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        fix: str,
        row: int | None = None,
        column: str | None = None,
    ):
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
    exemplar: bool = (
        False  # the memo marks this segment as an exemplar quote (memo text is not kept)
    )
    status: str = "unchanged"
    similarity: float = 1.0
    coded_segment_id: str = ""
    coded_code_id: str = ""
    code_change: str = (
        ""  # renamed, merged or split (the codebook's renamed_from, merged_from, split_from)
    )
    coded_text: str = (
        ""  # the text coded (for the anchoring ledger, where the workflow produced it)
    )
    transcript_id: str = (
        ""  # set where segment_id cannot say it (a REFI-QDA selection sent to recheck)
    )

    @property
    def transcript(self) -> str:
        return self.transcript_id or transcript_of(self.segment_id or self.coded_segment_id)


@dataclass
class CoderFiles:
    """Everything read from one coder folder, before checking against segments and codebook."""

    coder: str
    files: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    listed: list[tuple[str, str, int]] = field(default_factory=list)  # transcript, file, row
    sheet_codes: list[tuple[str, str, str]] = field(default_factory=list)  # file, code, column
    problems: list[Problem] = field(default_factory=list)  # found while reading (REFI-QDA projects)
    sheets: dict[str, SheetCoding] = field(
        default_factory=dict
    )  # file → what its sheet says besides the codes


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
            "severity": self.severity,
            "kind": self.kind,
            "coder": self.coder,
            "file": self.file,
            "row": self.row,
            "column": self.column or "",
            "segment_id": self.segment_id,
            "code_id": self.code_id,
            "detail": self.detail,
        }


PROBLEM_COLUMNS = [
    "severity",
    "kind",
    "coder",
    "file",
    "row",
    "column",
    "segment_id",
    "code_id",
    "detail",
]


def quoted(value: str) -> str:
    """An ID for a message, or a neutral description when it does not look like one (free text)."""
    return (
        value if SAFE_ID.match(value) else f"(a value that is not an ID, {len(value)} characters)"
    )


def transcript_of(segment_id: str) -> str:
    """The transcript a segment ID names ("" for a value that is not a segment ID)."""
    match = SEGMENT_ID.match(segment_id)
    return match.group("transcript") if match else ""


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
    return Segments(
        rows=rows,
        index={row["segment_id"]: i for i, row in enumerate(rows)},
        transcripts=tuple(sorted(by_transcript)),
    )
