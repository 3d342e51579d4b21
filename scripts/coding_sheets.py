"""Coding sheets for the coders (rule ``coding_sheets``): ``results/coding_sheets/{coder}.xlsx``,
or one per coder and transcript (rule ``coding_sheets_transcript``). Every coder gets the same
sheet: it is built once and written for each.

Layout (``workflow/schemas/coding_sheet.md``, read back by :mod:`scripts.codings` once a coder
saves the filled-in sheet into ``data/coding/{coder}/``): worksheet ``coding`` with one row per
segment of a coded role (``coding.roles``), columns ``segment_id, transcript_id, turn, role,
text_sha1, context`` (the previous turn's de-identified text), ``text``, one column per code (data
validation: blank or 1), ``memo``, and ``suggested`` only when ``coding_sheets.suggested`` is on
(candidate codes, non-negated; off by default so that coders code blind and agreement is not
biased by the suggestions). A frozen header, and a ``codebook`` worksheet (themes, codes,
definitions, inclusion and exclusion criteria, keywords).

Determinism: openpyxl stamps the save time into ``docProps/core.xml`` and into every zip entry;
the saved file is repacked with a fixed creation/modification time (2000-01-01) and fixed zip
entry times, in openpyxl's entry order, so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import io
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from scripts.codebook import Codebook, load_codebook
from scripts.contracts import deterministic_zip, read_tsv

DONE_NOTE = (
    "Write 1 in done when you have coded the transcript. The rows of a transcript with no code count as "
    "'no code applies here' only once the transcript is marked done (or has at least one code in this sheet); "
    "the rows of a transcript you have not coded are not counted."
)
BEFORE_CODES = ["segment_id", "transcript_id", "turn", "role", "text_sha1", "context", "text"]
WIDTHS = {"segment_id": 17, "transcript_id": 10, "turn": 6, "role": 11, "text_sha1": 8, "context": 45, "text": 70, "memo": 30, "suggested": 24}


def sheet_rows(segment_files: Sequence[str], roles: Sequence[str]) -> list[dict]:
    """One row per segment of a coded role, corpus order, with the previous turn's text as context."""
    rows = []
    roles = set(roles)
    for path in sorted(segment_files, key=lambda p: Path(p).stem):
        segments = read_tsv(Path(path))
        turns: dict[int, list[str]] = defaultdict(list)
        for segment in segments:
            turns[int(segment["turn"])].append(segment["text"])
        order = sorted(turns)
        previous = {turn: (" ".join(turns[order[k - 1]]) if k else "") for k, turn in enumerate(order)}
        for segment in segments:
            if segment["role"] in roles:
                rows.append({**{key: segment[key] for key in ("segment_id", "transcript_id", "role", "text_sha1", "text")},
                             "turn": int(segment["turn"]), "context": previous[int(segment["turn"])]})
    return rows


def suggestions(candidate_files: Sequence[str]) -> dict[str, str]:
    """segment_id -> suggested code IDs (non-negated keyword and pattern candidates), ';'-joined."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in candidate_files:
        for row in read_tsv(Path(path)):
            if row["negated"] == "0":
                found[row["segment_id"]].add(row["code_id"])
    return {segment_id: ";".join(sorted(codes)) for segment_id, codes in found.items()}


def build_workbook(rows: Sequence[dict], codebook: Codebook, suggested: dict[str, str] | None = None):
    """The coding sheet as an openpyxl Workbook (``suggested`` None: blind, no suggestion column)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "coding"
    columns = [*BEFORE_CODES, *codebook.code_ids, "memo", *(["suggested"] if suggested is not None else [])]
    sheet.append(columns)
    for row in rows:
        values = [row[name] for name in BEFORE_CODES] + [None] * len(codebook.code_ids) + [None]
        if suggested is not None:
            values.append(suggested.get(row["segment_id"], ""))
        sheet.append(values)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "B2"
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, name in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = WIDTHS.get(name, max(6, min(len(name) + 2, 22)))
        if name in ("text", "context"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = wrap
    first, last = len(BEFORE_CODES) + 1, len(BEFORE_CODES) + len(codebook.code_ids)
    if rows and codebook.code_ids:
        validation = DataValidation(type="list", formula1='"1"', allow_blank=True, showErrorMessage=True,
                                    errorTitle="1 or blank", error="Write 1 where the code applies; leave the cell blank elsewhere.")
        validation.add(f"{get_column_letter(first)}2:{get_column_letter(last)}{len(rows) + 1}")
        sheet.add_data_validation(validation)
    done = workbook.create_sheet("transcripts")
    done.append(["transcript_id", "segments", "done", "what done means"])
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["transcript_id"]] = counts.get(row["transcript_id"], 0) + 1
    for number, (transcript, count) in enumerate(counts.items()):
        done.append([transcript, count, None, DONE_NOTE if number == 0 else None])
    if not counts:
        done.append([None, None, None, DONE_NOTE])
    for cell in done[1]:
        cell.font = bold
    done.freeze_panes = "A2"
    for letter, width in (("A", 14), ("B", 10), ("C", 7), ("D", 80)):
        done.column_dimensions[letter].width = width
    book = workbook.create_sheet("codebook")
    book.append(["theme_id", "theme", "code_id", "label", "definition", "include", "exclude", "keywords", "exclude_terms"])
    for cell in book[1]:
        cell.font = bold
    book.freeze_panes = "A2"
    themes = {theme["id"]: theme for theme in codebook.document["themes"]}
    for code in codebook.codes:
        entry = next(c for c in themes[code.theme_id]["codes"] if c["id"] == code.id)
        book.append([code.theme_id, themes[code.theme_id]["label"], code.id, code.label, code.definition,
                     entry.get("include", ""), entry.get("exclude", ""), "; ".join(code.keywords), "; ".join(code.exclude_terms)])
    book.append([])
    book.append([f"codebook version {codebook.version}"])
    return workbook


def save_deterministic(workbook, *paths: str | Path) -> None:
    """Save to each path with fixed document times and zip entry times (same content, same bytes)."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = deterministic_zip(buffer.getvalue())
    for path in map(Path, paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def sheet_job(codebook: str, segments: Sequence[str], candidate_files: Sequence[str], outputs: Sequence[str],
              coding: dict, sheets: dict, log: str) -> None:
    """Rules coding_sheets and coding_sheets_transcript -> the same sheet for each coder
    (results/coding_sheets/{coder}.xlsx or results/coding_sheets/{coder}/{transcript}.xlsx)."""
    from scripts.jobs import job_log

    with job_log(log) as logger:
        book = load_codebook(codebook)
        rows = sheet_rows(segments, coding.get("roles", ["participant"]))
        suggested = suggestions(candidate_files) if sheets.get("suggested", False) else None
        save_deterministic(build_workbook(rows, book, suggested), *outputs)
        logger.info("%s: %d segment(s), %d code column(s), %s", ", ".join(outputs), len(rows), len(book.code_ids),
                    "with suggested codes" if suggested is not None else "blind (no suggestions)")


def sheets_part(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule coding_sheets (a part of the corpus): each transcript's coding sheet, the same for every
    coder (``output``: a list per coder, in the order of the part's transcripts)."""
    from scripts import parts
    from scripts.jobs import _report, _settings, job_log

    with job_log(log) as logger:
        book = load_codebook(input["codebook"])
        suggested_on = params["sheets"].get("suggested", False)
        coders = sorted(output)

        def work_on(work: parts.Work) -> None:
            rows = sheet_rows([work.inputs[-1]], params["coding"].get("roles", ["participant"]))
            suggested = suggestions(work.inputs[:-1]) if suggested_on else None
            save_deterministic(build_workbook(rows, book, suggested), *(work.outputs[coder] for coder in coders))
            logger.info("%s: %d segment(s) for %d coder(s)", work.transcript, len(rows), len(coders))

        works = [
            parts.Work(transcript, [*([input["candidates"][index]] if suggested_on else []), input["segments"][index]],
                       {coder: output[coder][index] for coder in coders})
            for index, transcript in enumerate(params["transcripts"])
        ]
        settings = _settings(parts.file_digest(input["codebook"]), params["coding"].get("roles"), params["sheets"], params["code"])
        _report(logger, "coding_sheets", parts.run_part("coding_sheets", params["part"], works, settings, work_on, logger=logger))


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
    sheet_job(args.codebook, args.segments, args.candidates, [args.output], {"roles": args.roles},
              {"suggested": args.suggested}, args.log)


if __name__ == "__main__":
    main()
