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
  cover (``scripts/refi_qda_codings.py``, rules in ``workflow/schemas/refi_qda.md``); the row of a
  mention is the selection's number in the file;
* ``transcripts.txt``: transcript IDs the coder coded, one a line (``#`` starts a comment), for
  transcripts where the coder applied no code at all.

A coder was asked to code a transcript if their files mention any segment of it or list it in
``transcripts.txt``. The pipeline reads these folders and never writes to them.

This module finds the coder folders (:func:`discover_coders`, :func:`coded_transcripts`), reads
one folder (:func:`read_coder`; each file by :mod:`scripts.coding_file_readers` or
:mod:`scripts.refi_qda_codings`) and checks the codings against the segments and the codebook
(:func:`check_codings`). The records they share are in :mod:`scripts.coding_records`.

Problems are :class:`Problem` records naming the file and the row (as a spreadsheet shows it:
the header is row 1). Unknown segments, unknown codes, changed segment text (``text_sha1``) and
unreadable files are errors; duplicates, codes on segments outside the coded roles, missing
sheet columns, a sheet made for another coder and coders who coded only some transcripts are
warnings. An unknown ID is answered with the one it most likely meant (difflib). Messages quote
IDs only, never memo or other free text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from scripts.codebook import Codebook
from scripts.coding_file_readers import (
    TRANSCRIPT_LIST,
    TRANSCRIPTS_SHEET,
    did_you_mean,
    read_csv_coding,
    read_sheet,
    read_transcript_list,
)
from scripts.coding_records import (
    SAFE_ID,
    CoderFiles,
    CodingError,
    Mention,
    Problem,
    Segments,
    quoted,
    transcript_of,
)


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
        return cls(
            segments,
            codebook,
            float(coding.get("qdpx_min_overlap", 0.5)),
            float(coding.get("anchor_similarity", 0.6)),
        )


# ---------------------------------------------------------------------------------------------
# Reading one coder folder
# ---------------------------------------------------------------------------------------------


def read_coder(
    coder: str, files: Sequence[str | Path], qdpx: QdpxContext | None = None
) -> CoderFiles:
    """Every file of one coder folder (CSV, XLSX, QDPX, transcripts.txt), in the order given.

    ``qdpx``: what reading a REFI-QDA project needs (the segments and the codebook); required
    only when ``files`` holds a .qdpx.
    """
    result = CoderFiles(coder=coder)
    for path in files:
        path = Path(path)
        result.files.append(str(path))
        if path.name == TRANSCRIPT_LIST:
            result.listed.extend(
                (transcript, str(path), row) for transcript, row in read_transcript_list(path)
            )
        elif path.suffix.lower() == ".csv":
            result.mentions.extend(read_csv_coding(path, coder))
        elif path.suffix.lower() == ".xlsx":
            sheet = read_sheet(path, coder)
            result.mentions.extend(sheet.mentions)
            result.sheet_codes.extend(sheet.codes)
            result.listed.extend((transcript, str(path), row) for transcript, row in sheet.done)
            result.sheets[str(path)] = sheet
            if sheet.made_for is not None and sheet.made_for != coder:
                result.problems.append(
                    Problem(
                        "warning",
                        "another_coders_sheet",
                        coder,
                        str(path),
                        None,
                        f"this coding sheet was made for {quoted(sheet.made_for)} (its about tab and properties say so), "
                        f"but it is in the folder of {coder}: counted as {coder}'s coding",
                        f"If it is {quoted(sheet.made_for)}'s coding, move it into that coder's folder; if {coder} coded it, "
                        f"code {coder}'s own sheet (results/coding_sheets/{coder}/) next time",
                    )
                )
            if sheet.not_counted:
                result.problems.append(
                    Problem(
                        "warning",
                        "not_counted",
                        coder,
                        str(path),
                        None,
                        f"{sum(sheet.not_counted.values())} row(s) of transcript(s) {', '.join(sheet.not_counted)} have no code and "
                        "their transcripts are not marked done: not counted as coded",
                        f"If {coder} coded them and no code applies, write 1 in the done column of the {TRANSCRIPTS_SHEET} tab",
                    )
                )
        elif path.suffix.lower() == ".qdpx":
            if qdpx is None:
                raise CodingError(
                    path,
                    "a REFI-QDA project is read against the segments and the codebook, and none were given",
                    "Report a bug",
                )
            from scripts import refi_qda_codings  # lxml, loaded only where a project is read

            mentions, problems = refi_qda_codings.read_qdpx_coding(
                path,
                coder,
                qdpx.segments,
                qdpx.codebook,
                qdpx.min_overlap,
                qdpx.similarity,
                qdpx.versions,
            )
            result.mentions.extend(mentions)
            result.problems.extend(problems)
        else:
            raise CodingError(
                path,
                "not a coding file",
                "Coder folders hold .csv, .xlsx and .qdpx codings and transcripts.txt",
            )
    return result


def group_by_coder(files: Iterable[str | Path]) -> dict[str, list[str]]:
    """Coding files (paths data/coding/{coder}/{file}) grouped by coder, coders and files sorted."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for path in files:
        grouped[Path(path).parent.name].append(str(path))
    return {coder: sorted(paths) for coder, paths in sorted(grouped.items())}


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
                found.append(
                    Problem(
                        "error",
                        "unknown_code",
                        coder,
                        file,
                        1,
                        f"column {quoted(code_id)} is not a code of the codebook (version {codebook.version})",
                        did_you_mean(code_id, codebook.code_ids)
                        + "Rename the column to a code ID of the codebook or delete it",
                        code_id=code_id,
                        column=column,
                    )
                )
        # (the codings of rule anchor_codings were checked for missing columns there: no sheet codes here)
        for file in sorted({file for file, _, _ in files.sheet_codes}):
            present = {code_id for sheet, code_id, _ in files.sheet_codes if sheet == file}
            missing = [code_id for code_id in codebook.code_ids if code_id not in present]
            if missing:
                found.append(
                    Problem(
                        "warning",
                        "missing_column",
                        coder,
                        file,
                        1,
                        f"no column for code(s) {', '.join(missing)}; counted as not applied in this sheet",
                        "Regenerate the coding sheet from the current codebook",
                    )
                )
        sha1_reported: set[tuple[str, int]] = set()
        for mention in files.mentions:
            position = segments.index.get(mention.segment_id)
            if position is None:
                transcript = transcript_of(mention.segment_id)
                if transcript and transcript not in corpus:
                    detail = f"segment {quoted(mention.segment_id)}: no transcript {transcript} in the raw folder"
                    hint = did_you_mean(transcript, sorted(corpus))
                else:
                    detail = f"segment {quoted(mention.segment_id)} is not a segment of the corpus"
                    hint = did_you_mean(
                        mention.segment_id,
                        segments.of_transcript(mention.segment_id.split("-", 1)[0]),
                    )
                found.append(
                    Problem(
                        "error",
                        "unknown_segment",
                        coder,
                        mention.file,
                        mention.row,
                        detail,
                        hint
                        + "Use the segment IDs of results/segments/ (the transcript may have been re-segmented)",
                        segment_id=mention.segment_id if SAFE_ID.match(mention.segment_id) else "",
                    )
                )
                continue
            segment = segments.rows[position]
            transcripts.add(segment["transcript_id"])
            if (
                mention.text_sha1
                and mention.text_sha1 != segment["text_sha1"]
                and (mention.file, mention.row) not in sha1_reported
            ):
                sha1_reported.add((mention.file, mention.row))
                found.append(
                    Problem(
                        "error",
                        "text_changed",
                        coder,
                        mention.file,
                        mention.row,
                        f"the text under segment {mention.segment_id} has changed since it was coded (text_sha1 differs)",
                        "Run the workflow (snakemake): it follows codings to the text as it is now and lists them in "
                        "results/coding/anchoring.tsv. Do not copy the new text_sha1 onto the row: the ID may now name another sentence",
                        segment_id=mention.segment_id,
                    )
                )
            if mention.code_id is None:
                continue
            if mention.code_id not in code_index:
                if (mention.file, mention.code_id) not in bad_sheet_codes:
                    found.append(
                        Problem(
                            "error",
                            "unknown_code",
                            coder,
                            mention.file,
                            mention.row,
                            f"code {quoted(mention.code_id)} is not in the codebook (version {codebook.version})",
                            did_you_mean(mention.code_id, codebook.code_ids)
                            + "Use a code ID of data/codebook.yaml",
                            segment_id=mention.segment_id,
                            code_id=mention.code_id if SAFE_ID.match(mention.code_id) else "",
                        )
                    )
                continue
            key = (position, code_index[mention.code_id])
            if key in first_seen:
                earlier = first_seen[key]
                where = (
                    f"row {earlier.row}"
                    if earlier.file == mention.file
                    else f"{earlier.file}, row {earlier.row}"
                )
                found.append(
                    Problem(
                        "warning",
                        "duplicate",
                        coder,
                        mention.file,
                        mention.row,
                        f"code {mention.code_id} on segment {mention.segment_id} again (also {where}); counted once",
                        "Delete one of the rows",
                        segment_id=mention.segment_id,
                        code_id=mention.code_id,
                        column=mention.column,
                    )
                )
                continue
            first_seen[key] = mention
            if segment["role"] not in roles:
                found.append(
                    Problem(
                        "warning",
                        "outside_roles",
                        coder,
                        mention.file,
                        mention.row,
                        f"code {mention.code_id} on segment {mention.segment_id}, whose role is {segment['role']}; not compared (coding.roles: {', '.join(sorted(roles))})",
                        "Remove the code, or add the role to coding.roles in config.yaml",
                        segment_id=mention.segment_id,
                        code_id=mention.code_id,
                        column=mention.column,
                    )
                )
                continue
            codes.add(key)
        for transcript, file, row in files.listed:
            if transcript not in corpus:
                found.append(
                    Problem(
                        "error",
                        "unknown_transcript",
                        coder,
                        file,
                        row,
                        f"transcript {transcript} is not in the raw folder",
                        "List only transcripts of data/raw (file name without extension)",
                    )
                )
                continue
            transcripts.add(transcript)
        # a project whose codings were all refused has its own errors; "no coding" would hide them
        if (
            not files.mentions
            and not files.listed
            and not any(p.severity == "error" for p in files.problems)
        ):
            found.append(
                Problem(
                    "error",
                    "no_coding",
                    coder,
                    str(Path(files.files[0]).parent) if files.files else coder,
                    None,
                    "no coding found in this coder folder",
                    "Add the coder's CSV, XLSX or QDPX files, or remove the folder",
                )
            )
        problems.extend(sorted(found, key=_problem_order))
        asked[coder] = frozenset(transcripts)
        applied[coder] = codes
    problems.extend(_coverage_warnings(compared, asked, segments, roles, parsed))
    return CheckedCodings(
        tuple(compared), consensus if consensus in parsed else None, asked, applied, problems
    )


def _problem_order(problem: Problem) -> tuple:
    return (problem.file, problem.row or 0, problem.column or "", problem.kind)


def _coverage_warnings(
    compared: Sequence[str],
    asked: dict[str, frozenset[str]],
    segments: Segments,
    roles: set[str],
    parsed: dict[str, CoderFiles],
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
            folder = (
                str(Path(parsed[coder].files[0]).parent)
                if coder in parsed and parsed[coder].files
                else coder
            )
            warnings.append(
                Problem(
                    "warning",
                    "partial_coverage",
                    coder,
                    folder,
                    None,
                    f"{coder} coded {len(asked[coder])} of the {len(everyone)} coded transcripts; not coded: {', '.join(skipped)} "
                    f"({left_out} segment(s) left out of the comparisons that include {coder})",
                    f"If {coder} coded them and applied no code, list them in transcripts.txt",
                )
            )
    return warnings


def raise_on_errors(checked: CheckedCodings, log_hint: str) -> None:
    """Raise the first error (with how many more there are); the caller logs them all first."""
    errors = checked.errors
    if not errors:
        return
    first = errors[0]
    more = (
        f" (and {len(errors) - 1} more coding error(s): see {log_hint})" if len(errors) > 1 else ""
    )
    raise CodingError(
        first.file, first.detail + more, first.fix, row=first.row, column=first.column
    )
