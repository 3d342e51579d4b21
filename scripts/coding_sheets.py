"""Coding sheets for the coders (rule ``coding_sheets``): one per coder and transcript,
``results/coding_sheets/{coder}/{transcript}.xlsx`` (or, with ``coding_sheets.per_transcript:
false``, ``results/coding_sheets/{coder}.xlsx``). Every coder gets the same rows; each sheet says
whose it is (its ``about`` tab and its document properties ``qualflow coder`` and ``qualflow
codebook version``), so that a sheet saved into another coder's folder is reported when read.

Layout (``workflow/schemas/coding_sheet.md``, read back by :mod:`scripts.codings` once a coder
saves the filled-in sheet into ``data/coding/{coder}/``): worksheet ``coding`` with one row per
segment of a coded role (``coding.roles``), columns ``segment_id, transcript_id, turn, role,
text_sha1, context`` (the previous turn's de-identified text), ``text``, one column per code (data
validation: blank or 1), ``memo``, and ``suggested`` only when ``coding_sheets.suggested`` is on
(candidate codes, non-negated; off by default so that coders code blind and agreement is not
biased by the suggestions); ``text_sha1`` is hidden. A ``transcripts`` tab with the ``done``
column and what it means, a ``codebook`` tab (code ID, label, definition, include, exclude,
examples, theme, keywords) and an ``about`` tab (the coder, the codebook version, how to fill the
sheet in and where to save it). The sheet opens on ``coding``.

A coder lives in these sheets: every tab has its column widths; text wraps, and each row's
height is set to fit its wrapped text (:func:`row_height`, counted as if every character were as
wide as a digit), so no text is drawn over the rows below in Excel or LibreOffice; the header is
frozen and repeats on every printed page. The workbook is written with XlsxWriter, a library made
for writing .xlsx files: each row written once, with its height (openpyxl, which reads the
filled-in sheets back, took 55 ms a sheet even in its write-only mode, XlsxWriter about a
quarter of that: benchmarks/bench_workflow.py writes 2,000 sheets at 1,000 transcripts).

Determinism: the document's creation time is fixed, and the saved file is repacked with fixed zip
entry times (:func:`scripts.contracts.deterministic_zip`), so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from scripts import parts
from scripts.codebook import Codebook, load_codebook
from scripts.contracts import deterministic_zip, deterministic_zip_of, read_tsv, zip_entries
from scripts.rule_jobs import job_log, rule_job

DONE_NOTE = (
    "Write 1 in done when you have coded the transcript. The rows of a transcript with no code count as "
    "'no code applies here' only once the transcript is marked done (or has at least one code in this sheet); "
    "the rows of a transcript you have not coded are not counted."
)
BEFORE_CODES = ["segment_id", "transcript_id", "turn", "role", "text_sha1", "context", "text"]
WIDTHS = {
    "segment_id": 17,
    "transcript_id": 10,
    "turn": 6,
    "role": 13,
    "text_sha1": 8,
    "context": 45,
    "text": 70,
    "memo": 30,
    "suggested": 24,
}
#: Columns whose text wraps (and sets the row's height).
WRAPPED = ("context", "text", "memo", "suggested")
CODEBOOK_COLUMNS = {
    "code_id": 22,
    "label": 22,
    "definition": 48,
    "include": 36,
    "exclude": 36,
    "examples": 40,
    "theme": 22,
    "keywords": 30,
}
TRANSCRIPTS_COLUMNS = {"transcript_id": 16, "segments": 11, "done": 7, "what done means": 80}
ABOUT_WIDTHS = (24, 80)
#: Characters of ordinary text counted on a line, per unit of column width (a unit is one digit).
CHARACTERS_PER_WIDTH = 0.85
#: Points per line of 11-point text (Excel's and LibreOffice's default row of one line is 15 points).
LINE_POINTS = 15.0
#: The tallest row a spreadsheet allows (points).
TALLEST_ROW = 409.0
#: The context shown before a segment: the end of the previous turn, at most this many characters
#: (a long turn would otherwise make a row taller than a screen).
CONTEXT_CHARACTERS = 400
#: Custom document properties saying whose sheet it is (read back by scripts/coding_file_readers.py).
CODER_PROPERTY = "qualflow coder"
CODEBOOK_PROPERTY = "qualflow codebook version"
#: The document's creation time: fixed, so that the same inputs give the same bytes.
FIXED_CREATED = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def lines_needed(text: object, width: float) -> int:
    """Lines ``text`` takes when wrapped at spaces in a column ``width`` characters wide.

    Counted with room to spare: a column ``width`` wide holds about ``width`` digits (the unit of
    column widths), but text with capitals and punctuation, in LibreOffice's Carlito as in Excel's
    Calibri, is wider; at most 85% of that is counted, so the row is never too short for it.
    """
    if text is None or text == "":
        return 1
    per_line = max(1, int(width * CHARACTERS_PER_WIDTH))
    lines = 0
    for paragraph in str(text).split("\n"):
        lines += 1
        used = 0
        for word in paragraph.split():
            if used and used + 1 + len(word) <= per_line:
                used += 1 + len(word)
                continue
            if used:
                lines += 1
            # a word longer than a line is broken over as many lines as it needs
            lines += (len(word) - 1) // per_line
            used = len(word) - per_line * ((len(word) - 1) // per_line)
    return lines


def row_height(cells: Iterable[tuple[object, float]]) -> float:
    """The height (points) of a row whose wrapped cells are (text, column width): the tallest."""
    lines = max((lines_needed(text, width) for text, width in cells), default=1)
    return min(TALLEST_ROW, LINE_POINTS * lines + 3.0)


def shortened_context(text: str, limit: int = CONTEXT_CHARACTERS) -> str:
    """The end of a turn, at most ``limit`` characters, cut at a word ("... " before it)."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    cut = tail.find(" ")
    return "... " + (tail[cut + 1 :] if 0 <= cut < limit // 4 else tail)


def sheet_rows(segment_files: Sequence[str], roles: Sequence[str]) -> list[dict]:
    """One row per segment of a coded role, corpus order, with the end of the previous turn as
    context."""
    rows = []
    roles = set(roles)
    for path in sorted(segment_files, key=lambda p: Path(p).stem):
        segments = read_tsv(Path(path))
        turns: dict[int, list[str]] = defaultdict(list)
        for segment in segments:
            turns[int(segment["turn"])].append(segment["text"])
        order = sorted(turns)
        previous = {
            turn: (shortened_context(" ".join(turns[order[k - 1]])) if k else "")
            for k, turn in enumerate(order)
        }
        for segment in segments:
            if segment["role"] in roles:
                rows.append(
                    {
                        **{
                            key: segment[key]
                            for key in ("segment_id", "transcript_id", "role", "text_sha1", "text")
                        },
                        "turn": int(segment["turn"]),
                        "context": previous[int(segment["turn"])],
                    }
                )
    return rows


def suggestions(candidate_files: Sequence[str]) -> dict[str, str]:
    """segment_id -> suggested code IDs (non-negated keyword and pattern candidates), ';'-joined."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in candidate_files:
        for row in read_tsv(Path(path)):
            if row["negated"] == "0":
                found[row["segment_id"]].add(row["code_id"])
    return {segment_id: ";".join(sorted(codes)) for segment_id, codes in found.items()}


def codebook_rows(codebook: Codebook) -> list[list[str]]:
    """The codebook tab's rows (columns :data:`CODEBOOK_COLUMNS`), codes in codebook order."""
    themes = {theme["id"]: theme for theme in codebook.document["themes"]}
    rows = []
    for code in codebook.codes:
        entry = next(c for c in themes[code.theme_id]["codes"] if c["id"] == code.id)
        rows.append(
            [
                code.id,
                code.label,
                code.definition,
                entry.get("include", ""),
                entry.get("exclude", ""),
                "\n".join(entry.get("examples", [])),
                themes[code.theme_id]["label"],
                "; ".join(code.keywords),
            ]
        )
    return rows


def about_rows(
    coder: str, codebook: Codebook, transcripts: Sequence[str], suggested: bool
) -> list[tuple[str, str]]:
    """What the about tab says: whose sheet it is, the codebook version, how to fill it in."""
    return [
        ("coder", coder),
        ("codebook version", codebook.version),
        ("transcripts", ", ".join(transcripts) or "(none)"),
        (
            "how to code",
            "In the coding tab, write 1 in a code's column where the code applies to the segment (the text "
            "column); leave it blank elsewhere. The context column is the end of the turn before. memo is for "
            "your notes (not read). The codebook tab has each code's definition, what to include and exclude.",
        ),
        ("when a transcript is done", DONE_NOTE + " The done column is in the transcripts tab."),
        (
            "where to save it",
            f"Save the filled-in sheet as .xlsx into data/coding/{coder}/ (any file name). A sheet saved "
            "into another coder's folder is reported.",
        ),
        (
            "suggested codes",
            "shown in the suggested column (candidate codes from keywords)"
            if suggested
            else "not shown: you code blind, so that agreement is not biased by suggestions",
        ),
        (
            "made by",
            "qualflow, rule coding_sheets (do not change segment_id, text_sha1 or the column headers)",
        ),
    ]


def build_workbook(
    rows: Sequence[dict],
    codebook: Codebook,
    suggested: dict[str, str] | None = None,
    coder: str = "",
) -> bytes:
    """The coding sheet of one coder, as the bytes of an .xlsx file (XlsxWriter: each row written
    once, its height with it). ``suggested`` None: blind, no suggestion column. Tabs: coding
    (opens first), transcripts, codebook, about."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    formats = {
        "heading": workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        "label": workbook.add_format({"bold": True, "valign": "top"}),
        "text": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "value": workbook.add_format({"valign": "top"}),
    }
    transcripts = list(dict.fromkeys(row["transcript_id"] for row in rows))

    def header(
        sheet, names: Sequence[str], widths: Sequence[float], frozen: tuple[int, int] = (1, 0)
    ) -> None:
        sheet.freeze_panes(*frozen)
        sheet.set_landscape()
        sheet.repeat_rows(0)  # the header on every printed page
        for index, (name, width) in enumerate(zip(names, widths)):
            # the checksum is for the workflow (it tells whether the text has changed): hidden
            sheet.set_column(index, index, width, None, {"hidden": name == "text_sha1"})
        sheet.set_row(0, row_height(zip(names, widths)))
        for index, name in enumerate(names):
            sheet.write_string(0, index, name, formats["heading"])

    def body(
        sheet,
        number: int,
        values: Sequence[object],
        widths: Sequence[float],
        wrapped: Sequence[bool],
    ) -> None:
        sheet.set_row(
            number,
            row_height(
                (value, width) for value, width, wraps in zip(values, widths, wrapped) if wraps
            ),
        )
        for index, (value, wraps) in enumerate(zip(values, wrapped)):
            if value is None or value == "":
                continue  # an empty cell is not written
            style = formats["text" if wraps else "value"]
            if isinstance(value, (int, float)):
                sheet.write_number(number, index, value, style)
            else:
                sheet.write_string(number, index, str(value), style)

    coding = workbook.add_worksheet("coding")
    columns = [
        *BEFORE_CODES,
        *codebook.code_ids,
        "memo",
        *(["suggested"] if suggested is not None else []),
    ]
    # a code's column: as wide as its ID, up to 22 (a longer ID wraps in the header)
    widths = [WIDTHS.get(name, max(6, min(len(name) + 3, 22))) for name in columns]
    wrapped = [name in WRAPPED for name in columns]
    first, last = len(BEFORE_CODES), len(BEFORE_CODES) + len(codebook.code_ids) - 1
    if rows and codebook.code_ids:
        coding.data_validation(
            1,
            first,
            len(rows),
            last,
            {
                "validate": "list",
                "source": ["1"],
                "ignore_blank": True,
                "error_title": "1 or blank",
                "error_message": "Write 1 where the code applies; leave the cell blank elsewhere.",
            },
        )
    header(coding, columns, widths, frozen=(1, 1))
    for number, row in enumerate(rows, start=1):
        values = [row[name] for name in BEFORE_CODES] + [None] * len(codebook.code_ids) + [None]
        if suggested is not None:
            values.append(suggested.get(row["segment_id"], ""))
        body(coding, number, values, widths, wrapped)

    done = workbook.add_worksheet("transcripts")
    done_widths = list(TRANSCRIPTS_COLUMNS.values())
    if transcripts:
        done.data_validation(
            1,
            2,
            len(transcripts),
            2,
            {
                "validate": "list",
                "source": ["1"],
                "ignore_blank": True,
                "error_title": "1 or blank",
                "error_message": "Write 1 when you have coded the transcript.",
            },
        )
    header(done, list(TRANSCRIPTS_COLUMNS), done_widths)
    counts = {
        transcript: sum(row["transcript_id"] == transcript for row in rows)
        for transcript in transcripts
    }
    for number, transcript in enumerate(transcripts or [None], start=1):
        values = [transcript, counts.get(transcript), None, DONE_NOTE if number == 1 else None]
        body(done, number, values, done_widths, [False, False, False, True])

    book = workbook.add_worksheet("codebook")
    longest = max((len(code_id) for code_id in codebook.code_ids), default=0)
    book_widths = [
        max(width, longest + 4) if name == "code_id" else width
        for name, width in CODEBOOK_COLUMNS.items()
    ]
    header(book, list(CODEBOOK_COLUMNS), book_widths)
    entries = codebook_rows(codebook)
    for number, values in enumerate(entries, start=1):
        body(
            book,
            number,
            values,
            book_widths,
            [name not in ("code_id",) for name in CODEBOOK_COLUMNS],
        )
    book.write_string(len(entries) + 2, 0, f"codebook version {codebook.version}", formats["value"])

    about = workbook.add_worksheet("about")
    about.set_landscape()
    for index, width in enumerate(ABOUT_WIDTHS):
        about.set_column(index, index, width)
    for number, (name, value) in enumerate(
        about_rows(coder, codebook, transcripts, suggested is not None)
    ):
        about.set_row(number, row_height([(value, ABOUT_WIDTHS[1])]))
        about.write_string(number, 0, name, formats["label"])
        about.write_string(number, 1, str(value), formats["text"])

    workbook.set_properties(
        {
            "title": f"Coding sheet of {coder}: {', '.join(transcripts) or 'no transcript'}",
            "subject": f"coder {coder}, codebook version {codebook.version}",
            "author": "qualflow",
            "keywords": "qualflow coding sheet",
            "created": FIXED_CREATED,
        }
    )
    workbook.set_custom_property(CODER_PROPERTY, coder)
    workbook.set_custom_property(CODEBOOK_PROPERTY, str(codebook.version))
    workbook.close()
    return buffer.getvalue()


def save_deterministic(data: bytes, *paths: str | Path) -> None:
    """Save an .xlsx to each path with fixed document times and zip entry times (same content,
    same bytes)."""
    data = deterministic_zip(data)
    for path in map(Path, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


#: What stands for a coder's name in a sheet built once for several coders (write_sheets): a
#: private-use character, one per character of the name.
STAND_IN = "\ue000"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


def write_sheets(
    rows: Sequence[dict],
    codebook: Codebook,
    suggested: dict[str, str] | None,
    outputs: dict[str, str],
) -> None:
    """Each coder's sheet (``outputs``: coder -> path): the same rows, the coder's name in each.

    Built once for the coders whose names are as long (a stand-in of that length where the name
    goes: the same wrapped lines, so the same row heights), then the name put in each coder's
    copy: the same bytes as a sheet built for the coder, at the cost of one build (building is
    85% of a sheet's time; two coders' sheets of 1,000 transcripts took 54 of a full run's 334
    core-seconds). A name that is not plain (letters, digits, _ and -: nothing XML escapes), that
    is also another cell's whole text (the workbook would share that string), or text that holds
    the stand-in character: the coder's sheet is built for the coder alone."""
    shared_build = not _holds(STAND_IN, (rows, suggested, codebook))
    by_length: dict[int, list[str]] = {}
    for coder in sorted(outputs):
        if shared_build and _PLAIN_NAME.fullmatch(coder):
            by_length.setdefault(len(coder), []).append(coder)
        else:
            save_deterministic(build_workbook(rows, codebook, suggested, coder), outputs[coder])
    for length, coders in sorted(by_length.items()):
        stand_in = STAND_IN * length
        entries = zip_entries(build_workbook(rows, codebook, suggested, stand_in))
        for coder in coders:
            if f"<t>{coder}</t>".encode() in entries.get("xl/sharedStrings.xml", b""):
                save_deterministic(build_workbook(rows, codebook, suggested, coder), outputs[coder])
                continue
            named = {
                name: content.replace(stand_in.encode(), coder.encode())
                for name, content in entries.items()
            }
            path = Path(outputs[coder])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(deterministic_zip_of(named))


def _holds(character: str, value: object) -> bool:
    """Whether any text in value (rows, mappings, sequences, dataclasses) holds character."""
    if isinstance(value, str):
        return character in value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _holds(character, dataclasses.asdict(value))
    if isinstance(value, dict):
        return any(_holds(character, item) for pair in value.items() for item in pair)
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds(character, item) for item in value)
    return False


def coder_of_sheet(path: str | Path) -> str:
    """The coder a sheet path is for: results/coding_sheets/{coder}.xlsx or {coder}/{transcript}.xlsx."""
    path = Path(path)
    return path.stem if path.parent.name == "coding_sheets" else path.parent.name


@rule_job
def coding_sheets(input: dict, output: dict, params: dict, log: str) -> None:
    """Rules coding_sheets and coding_sheets_{part}: the coders' sheets of the whole corpus, or,
    when params name a ``part`` (coding_sheets.per_transcript: true), of each of its transcripts.
    Inputs ``codebook``, ``segments`` and ``candidates``; params ``roles`` (coding.roles: whose
    segments are coded) and ``sheets`` (config.yaml's coding_sheets section)."""
    if "part" in params:
        part_sheets(input, output, params, log)
    else:
        corpus_sheets(input, output, params, log)


def corpus_sheets(input: dict, output: dict, params: dict, log: str) -> None:
    """Each coder's sheet of the whole corpus (output ``sheets``: results/coding_sheets/{coder}.xlsx)."""
    with job_log(log) as logger:
        book = load_codebook(input["codebook"])
        rows = sheet_rows(input["segments"], params["roles"])
        suggested = (
            suggestions(input["candidates"]) if params["sheets"].get("suggested", False) else None
        )
        write_sheets(
            rows, book, suggested, {coder_of_sheet(path): str(path) for path in output["sheets"]}
        )
        logger.info(
            "%s: %d segment(s), %d code column(s), %s",
            ", ".join(output["sheets"]),
            len(rows),
            len(book.code_ids),
            "with suggested codes" if suggested is not None else "blind (no suggestions)",
        )


def part_sheets(input: dict, output: dict, params: dict, log: str) -> None:
    """Each transcript's coding sheet of a part of the corpus for every coder (``output``: a list
    per coder, in the order of the part's transcripts)."""
    with job_log(log) as logger:
        book = load_codebook(input["codebook"])
        suggested_on = params["sheets"].get("suggested", False)
        coders = sorted(output)

        def work_on(work: parts.Work) -> None:
            rows = sheet_rows([work.inputs[-1]], params["roles"])
            suggested = suggestions(work.inputs[:-1]) if suggested_on else None
            write_sheets(rows, book, suggested, {coder: work.outputs[coder] for coder in coders})
            logger.info(
                "%s: %d segment(s) for %d coder(s)", work.transcript, len(rows), len(coders)
            )

        works = [
            parts.Work(
                transcript,
                [*([input["candidates"][index]] if suggested_on else []), input["segments"][index]],
                {coder: output[coder][index] for coder in coders},
            )
            for index, transcript in enumerate(params["transcripts"])
        ]
        settings = parts.settings_text(
            parts.file_digest(input["codebook"]), params["roles"], params["sheets"], params["code"]
        )
        parts.report_done(
            logger,
            "coding_sheets",
            parts.run_part(
                "coding_sheets", params["part"], works, settings, work_on, logger=logger
            ),
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a coding sheet (.xlsx) for a coder.")
    parser.add_argument("output", help="results/coding_sheets/{coder}.xlsx")
    parser.add_argument("--segments", nargs="+", required=True)
    parser.add_argument("--codebook", default="data/codebook.yaml")
    parser.add_argument("--candidates", nargs="*", default=[])
    parser.add_argument("--roles", nargs="+", default=["participant"])
    parser.add_argument("--suggested", action="store_true")
    parser.add_argument("--log", default="/dev/stderr")
    args = parser.parse_args(argv)
    coding_sheets(
        {"codebook": args.codebook, "segments": args.segments, "candidates": args.candidates},
        {"sheets": [args.output]},
        {"roles": args.roles, "sheets": {"suggested": args.suggested}},
        args.log,
    )


if __name__ == "__main__":
    main()
