"""Rule ``anchor_codings``: every coder's codings, read once, followed onto the segments as they
are now and onto the codebook's current codes; what agreement, themes, quotes and learned
suggestions count.

A coder's files say which segment they coded and (CSV ``text_sha1``, a sheet's ``text`` and
``text_sha1``, a REFI-QDA project's own copy of the source) what its text was. Where the text
under a coding has changed (a name listed, a word corrected, sentences cut differently), the
coding is re-anchored (:mod:`scripts.anchoring`) from the version that was coded, found in the
sheet itself or among the versions the workflow keeps (``results/segments/versions/``). Codes
renamed or merged in the codebook (``renamed_from``, ``merged_from``) count as their new code; a
code split in several (``split_from``) sends its codings to a person. Nothing is moved silently:
every coding that is not ``unchanged`` is a row of ``results/coding/anchoring.tsv``, and a
``recheck`` is left out of the counts, logged and shown in the agreement report until a person
codes it again. Coders' files are read, never written.

Several files of one coder may cover the same segments (two sheets, a sheet and a CSV): a code
applied to a segment in any of them counts; where two files covering a segment disagree, it is
reported with both files and rows (``conflict``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from scripts import anchoring, coding_records
from scripts.anchored_tables import Versions, load_versions
from scripts.codebook import Codebook, load_codebook
from scripts.coding_records import (
    CoderFiles,
    CodingError,
    Mention,
    Problem,
    Segments,
    load_segments,
    transcript_of,
)
from scripts.codings import QdpxContext, group_by_coder, read_coder
from scripts.contracts import read_tsv, write_tsv
from scripts.rule_jobs import job_log, rule_job

CODING_COLUMNS = [
    "coder",
    "file",
    "row",
    "column",
    "transcript_id",
    "segment_id",
    "code_id",
    "exemplar",
    "status",
]
TRANSCRIPT_COLUMNS = ["coder", "transcript_id", "file", "row"]
PROBLEM_COLUMNS = [*coding_records.PROBLEM_COLUMNS, "fix"]
LEDGER_COLUMNS = [
    "coder",
    "file",
    "row",
    "column",
    "segment_id",
    "code_id",
    "status",
    "current_segment_ids",
    "current_code_id",
    "code_change",
    "similarity",
    "coded_text",
    "current_text",
]
NOT_SHOWN = "(not shown: not a text qualflow produced)"
RECHECK_FIX = (
    "Read the coded text beside the text now (results/coding/anchoring.tsv, or the agreement report) and apply the "
    "code where that passage is now, if it still is; do not go by the segment ID, which may now name another sentence"
)


# ---------------------------------------------------------------------------------------------
# Re-anchoring one coder's codings


@dataclass
class Anchored:
    """One coder's codings where they are now, and the problems found on the way."""

    coder: str
    mentions: list[Mention]  # recheck ones included (segment_id "")
    followed: list[
        Mention
    ]  # every coding not unchanged, before duplicates were counted once (the ledger)
    problems: list[Problem]
    listed: list[tuple[str, str, int]]
    ledger_extra: list[dict]  # ledger lines that are not codings (a missing sheet column)


def anchor_coder(
    files: CoderFiles, segments: Segments, versions: Versions, codebook: Codebook, threshold: float
) -> Anchored:
    """Follow one coder's codings (CSV rows and sheet rows; REFI-QDA selections were followed
    when read) to the current segments, then to the current codes."""
    current: dict[str, list[anchoring.Piece]] = defaultdict(list)
    for row in segments.rows:
        current[row["transcript_id"]].append(anchoring.Piece(row["segment_id"], row["text"]))
    current_text = {row["segment_id"]: row["text"] for row in segments.rows}
    current_sha1 = {row["segment_id"]: row["text_sha1"] for row in segments.rows}
    alignments: dict[tuple, dict[str, anchoring.Anchor]] = {}
    problems: list[Problem] = []
    anchored: list[Mention] = []

    def recheck(mention: Mention, detail: str, coded_text: str = "") -> Mention:
        return replace(
            mention,
            segment_id="",
            status="recheck",
            similarity=0.0,
            coded_segment_id=mention.segment_id,
            coded_text=coded_text,
            text_sha1=None,
        )

    for mention in files.mentions:
        mention = replace(mention, coded_code_id=mention.code_id or "")
        transcript = transcript_of(mention.segment_id)
        if mention.status != "unchanged" or transcript not in current:
            # followed when read (a REFI-QDA project whose export is no longer kept), or not a
            # segment of a coded transcript (the agreement's checks name it)
            anchored.append(
                replace(mention, coded_segment_id=mention.coded_segment_id or mention.segment_id)
            )
            continue
        sheet = files.sheets.get(mention.file)
        sheet_row = next(
            (
                item
                for item in (sheet.texts.get(transcript, ()) if sheet else ())
                if item[0] == mention.segment_id
            ),
            None,
        )
        sha1 = mention.text_sha1 or (sheet_row[2] if sheet_row and sheet_row[2] else None)
        now = current_sha1.get(mention.segment_id)
        if now is not None and (
            sha1 == now
            or (
                sha1 is None
                and (
                    (sheet_row is not None and sheet_row[1] == current_text[mention.segment_id])
                    or (sheet_row is None and not versions.changed(mention.segment_id))
                )
            )
        ):
            anchored.append(replace(mention, coded_segment_id=mention.segment_id, text_sha1=None))
            continue
        if sheet_row is not None and sheet_row[1]:
            key: tuple = ("sheet", mention.file, transcript)
            old = [anchoring.Piece(item[0], item[1]) for item in sheet.texts[transcript]]
            coded_text = sheet_row[1]
        elif (
            sha1 is not None
            and (found := versions.coded_version(transcript, mention.segment_id, sha1)) is not None
        ):
            key, old = ("version", transcript, found[0]), found[1]
            coded_text = versions.text(transcript, mention.segment_id, sha1) or ""
        elif now is None and sha1 is None and not versions.existed(mention.segment_id):
            # a segment that never was (a typo): the agreement's checks name it
            anchored.append(replace(mention, coded_segment_id=mention.segment_id))
            continue
        else:
            # coded on a real text (a text_sha1, or an ID a kept version had) that cannot be found:
            # re-segmented since, or the versions were not kept (a new clone, a cleared cache)
            why = (
                "was coded on a text that is not among the versions this study has kept"
                if sha1 is not None
                else "has no text_sha1, and the segment ID is gone from the transcript as it is now"
                if now is None
                else "has no text_sha1, and the text under this segment ID has changed since it was first produced, so "
                "which sentence was coded cannot be told"
            )
            anchored.append(recheck(mention, why))
            problems.extend(_recheck_problem(mention, f"the coding of {mention.segment_id} {why}"))
            continue
        if key not in alignments:
            alignments[key] = anchoring.anchor_segments(old, current[transcript], threshold)
        anchor = alignments[key].get(mention.segment_id)
        shown = coded_text if versions.produced(transcript, coded_text) else NOT_SHOWN
        if anchor is None or anchor.status == "recheck":
            anchored.append(
                replace(
                    recheck(mention, ""),
                    similarity=anchor.similarity if anchor else 0.0,
                    coded_text=shown,
                )
            )
            problems.extend(
                _recheck_problem(
                    mention,
                    f"the sentence coded as {mention.segment_id} is not in the transcript as it was (deleted or "
                    "rewritten: nothing close enough to the coded text was found)",
                )
            )
            continue
        for segment_id in anchor.segment_ids:
            anchored.append(
                replace(
                    mention,
                    segment_id=segment_id,
                    status=anchor.status,
                    similarity=anchor.similarity,
                    coded_segment_id=mention.segment_id,
                    coded_text=shown,
                    text_sha1=None,
                )
            )
    mapped, more = map_codes(anchored, codebook)
    problems.extend(more)
    listed = list(files.listed)
    listed.extend(
        (mention.transcript, mention.file, mention.row)
        for mention in mapped
        if mention.status == "recheck"
    )
    columns_problems, ledger_extra = missing_columns(files, codebook)
    kept = _without_followed_duplicates(mapped)
    followed = [
        mention for mention in mapped if mention.status != "unchanged" or mention.code_change
    ]
    return Anchored(
        files.coder,
        kept,
        followed,
        [*files.problems, *problems, *columns_problems, *conflicts(files.coder, kept)],
        sorted(set(item for item in listed if item[0])),
        ledger_extra,
    )


def _recheck_problem(mention: Mention, detail: str) -> list[Problem]:
    """A warning for a code sent to a person (a row without a code: the ledger lists it alone)."""
    if not mention.code_id:
        return []
    return [
        Problem(
            "warning",
            "recheck",
            mention.coder,
            mention.file,
            mention.row,
            f"{detail}; code {mention.code_id} is left out until a person re-checks it",
            RECHECK_FIX,
            segment_id=mention.segment_id,
            code_id=mention.code_id,
            column=mention.column,
        )
    ]


def map_codes(
    mentions: Sequence[Mention], codebook: Codebook
) -> tuple[list[Mention], list[Problem]]:
    """Codings of renamed or merged codes as their current code; of split codes, to a person."""
    mapped, problems = [], []
    for mention in mentions:
        change = codebook.changes.get(mention.code_id or "")
        if change is None:
            mapped.append(mention)
        elif change.kind in ("renamed", "merged"):
            mapped.append(replace(mention, code_id=change.code_ids[0], code_change=change.kind))
        else:
            mapped.append(
                replace(
                    mention,
                    segment_id="",
                    status="recheck",
                    code_change="split",
                    coded_segment_id=mention.coded_segment_id or mention.segment_id,
                )
            )
            problems.append(
                Problem(
                    "warning",
                    "recheck",
                    mention.coder,
                    mention.file,
                    mention.row,
                    f"code {mention.code_id} was split into {', '.join(change.code_ids)}; this coding is left out until a person "
                    "chooses",
                    "Apply one of the new codes to the segment (the old code's codings are listed in results/coding/anchoring.tsv)",
                    segment_id=mention.coded_segment_id or mention.segment_id,
                    code_id=mention.code_id or "",
                    column=mention.column,
                )
            )
    return mapped, problems


def _without_followed_duplicates(mentions: Sequence[Mention]) -> list[Mention]:
    """A coding that was followed (moved, merged, mapped to another code) onto a segment and code
    the coder has applied there anyway counts once, silently: the ledger lists it. Duplicates in
    the coder's own files stay, for the agreement's checks to report."""

    def followed(mention: Mention) -> bool:
        return mention.status not in ("unchanged", "recheck") or bool(mention.code_change)

    applied = {(m.segment_id, m.code_id) for m in mentions if m.segment_id and not followed(m)}
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for mention in mentions:
        key = (mention.segment_id, mention.code_id)
        if mention.segment_id and followed(mention):
            if key in applied or key in seen:
                continue
            seen.add(key)
        kept.append(mention)
    return kept


def missing_columns(files: CoderFiles, codebook: Codebook) -> tuple[list[Problem], list[dict]]:
    """A code with no column in a filled-in sheet: an error if the sheet was made with that code
    (its column was deleted: its codes would be lost), else a warning and a ledger line (the code
    is newer than the sheet, or the sheet does not say: counted as not applied in that sheet)."""
    problems, ledger = [], []
    for file, sheet in sorted(files.sheets.items()):
        present = set()
        for _, code_id, _ in sheet.codes:
            change = codebook.changes.get(code_id)
            present.update(change.code_ids if change and change.kind != "split" else [code_id])
        made_with = sheet.codebook_codes
        for code_id in codebook.code_ids:
            if code_id in present:
                continue
            if made_with is not None and code_id in made_with:
                problems.append(
                    Problem(
                        "error",
                        "missing_column",
                        files.coder,
                        file,
                        1,
                        f"the column of code {code_id} has been deleted from this sheet (the sheet was made with it): its codes would be lost",
                        "Restore the column with the coder's 1s (or, to merge codes, declare it in codebook.yaml with merged_from)",
                        code_id=code_id,
                    )
                )
                continue
            problems.append(
                Problem(
                    "warning",
                    "missing_column",
                    files.coder,
                    file,
                    1,
                    f"no column for code {code_id}"
                    + (
                        " (added to the codebook after this sheet was made)"
                        if made_with is not None
                        else ""
                    )
                    + "; counted as not applied in this sheet",
                    "Add the column to the sheet (or code with a fresh coding sheet) if the coder is to apply it",
                    code_id=code_id,
                )
            )
            ledger.append(
                {
                    "coder": files.coder,
                    "file": file,
                    "row": 1,
                    "column": "",
                    "segment_id": "",
                    "code_id": code_id,
                    "status": "no_column",
                    "current_segment_ids": "",
                    "current_code_id": code_id,
                    "code_change": "",
                    "similarity": "",
                    "coded_text": "",
                    "current_text": "",
                }
            )
        for old, change in sorted(codebook.changes.items()):
            if (
                made_with is not None
                and old in made_with
                and old not in {code for _, code, _ in sheet.codes}
            ):
                problems.append(
                    Problem(
                        "warning",
                        "missing_column",
                        files.coder,
                        file,
                        1,
                        f"the column of code {old} ({change.kind} into {', '.join(change.code_ids)} since) is not in this sheet",
                        f"If the coder deleted it without copying its 1s into {change.code_ids[0]}, restore it: its codes count as "
                        f"{', '.join(change.code_ids)}",
                        code_id=old,
                    )
                )
    return problems, ledger


def conflicts(coder: str, mentions: Sequence[Mention]) -> list[Problem]:
    """Segments two of a coder's files both cover with different codes (both counted: reported)."""
    by_segment: dict[str, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for mention in mentions:
        if not mention.segment_id:
            continue
        row, codes = by_segment[mention.segment_id].get(mention.file, (mention.row, set()))
        if mention.code_id:
            codes.add(mention.code_id)
        by_segment[mention.segment_id][mention.file] = (min(row, mention.row), codes)
    problems = []
    for segment_id, files in sorted(by_segment.items()):
        if len(files) < 2 or len({frozenset(codes) for _, codes in files.values()}) == 1:
            continue
        (first, (first_row, first_codes)), *others = sorted(files.items())
        for file, (row, codes) in others:
            problems.append(
                Problem(
                    "warning",
                    "conflict",
                    coder,
                    file,
                    row,
                    f"segment {segment_id}: this file applies {', '.join(sorted(codes)) or 'no code'}, {first} (row {first_row}) "
                    f"applies {', '.join(sorted(first_codes)) or 'no code'}; the codes of both count",
                    "Keep one file per transcript, or make the files agree",
                    segment_id=segment_id,
                )
            )
    return problems


# ---------------------------------------------------------------------------------------------
# The rule


@rule_job
def anchor_codings(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule anchor_codings, for one coder's files (or any coders'): inputs codebook, codings (the
    coder's files), segments and versions (of the transcripts they mention); outputs codings
    (where they are now), transcripts (those listed or marked done), problems (what reading and
    anchoring found) and anchoring (the ledger: every coding that is not unchanged). Params:
    config, the coding settings it reads (qdpx_min_overlap, anchor_similarity, on_recheck)."""
    coding = params["config"]["coding"]
    with job_log(log) as logger:
        codebook = load_codebook(input["codebook"])
        segments = load_segments(input["segments"])
        versions = load_versions(input["versions"])
        qdpx = replace(QdpxContext.from_config(segments, codebook, coding), versions=versions)
        threshold = float(coding.get("anchor_similarity", 0.6))
        results = [
            anchor_coder(read_coder(coder, files, qdpx), segments, versions, codebook, threshold)
            for coder, files in group_by_coder(input["codings"]).items()
        ]
        current = {row["segment_id"]: row["text"] for row in segments.rows}
        rows, ledger, listed, problems = [], [], [], []
        for result in results:
            rows.extend(_coding_row(mention) for mention in result.mentions)
            followed: dict[tuple, list[Mention]] = {}
            for mention in result.followed:
                key = (
                    mention.file,
                    mention.row,
                    mention.column or "",
                    mention.coded_segment_id,
                    mention.coded_code_id,
                )
                followed.setdefault(key, []).append(mention)
            ledger.extend(_ledger_row(group, current, versions) for group in followed.values())
            ledger.extend(result.ledger_extra)
            listed.extend(
                {"coder": result.coder, "transcript_id": t, "file": f, "row": r}
                for t, f, r in result.listed
            )
            problems.extend(result.problems)
        for problem in problems:
            (logger.error if problem.severity == "error" else logger.warning)(
                "%s", problem.message()
            )
        errors = [problem for problem in problems if problem.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more: see {log})" if len(errors) > 1 else ""
            raise CodingError(
                first.file, first.detail + more, first.fix, row=first.row, column=first.column
            )
        rechecks = [row for row in ledger if row["status"] == "recheck"]
        if rechecks and coding.get("on_recheck", "warn") == "fail":
            first = rechecks[0]
            raise CodingError(
                first["file"],
                f"{len(rechecks)} coding(s) need a person to re-check them (the first: segment "
                f"{first['segment_id'] or '?'}, code {first['code_id'] or '(none)'})",
                f"{RECHECK_FIX}; or set coding.on_recheck: warn to go on without them (see {log})",
                row=int(first["row"]),
            )
        write_tsv(Path(output["codings"]), rows, CODING_COLUMNS)
        write_tsv(
            Path(output["transcripts"]),
            sorted(listed, key=lambda row: (row["coder"], row["transcript_id"], row["file"])),
            TRANSCRIPT_COLUMNS,
        )
        write_tsv(
            Path(output["problems"]),
            [{**problem.as_row(), "fix": problem.fix} for problem in problems],
            PROBLEM_COLUMNS,
        )
        write_tsv(Path(output["anchoring"]), ledger, LEDGER_COLUMNS)
        counted = anchoring.counts_by_status(
            row["status"] for row in ledger if row["status"] in anchoring.STATUSES
        )
        changes = defaultdict(int)
        for row in ledger:
            if row["code_change"]:
                changes[
                    f"{row['code_id']} -> {row['current_code_id'] or '(a person chooses)'} ({row['code_change']})"
                ] += 1
        logger.info(
            "%d codings of %d coders; followed: %s; codes mapped: %s",
            len(rows),
            len(results),
            ", ".join(
                f"{count} {status}"
                for status, count in counted.items()
                if count and status != "unchanged"
            )
            or "none",
            "; ".join(f"{count} x {change}" for change, count in sorted(changes.items())) or "none",
        )


def _coding_row(mention: Mention) -> dict:
    return {
        "coder": mention.coder,
        "file": mention.file,
        "row": mention.row,
        "column": mention.column or "",
        "transcript_id": mention.transcript,
        "segment_id": mention.segment_id,
        "code_id": mention.code_id or "",
        "exemplar": int(mention.exemplar),
        "status": mention.status,
    }


def _ledger_row(group: Sequence[Mention], current: dict[str, str], versions: Versions) -> dict:
    """One ledger line for one coding (a split coding goes to several segments)."""
    first = group[0]
    targets = [mention.segment_id for mention in group if mention.segment_id]
    now = (
        " ".join(current.get(segment, "") for segment in targets)
        if targets
        else current.get(first.coded_segment_id, "")
    )
    coded = first.coded_text
    if (
        coded
        and coded != NOT_SHOWN
        and not (versions.produced(first.transcript, coded) or coded in now)
    ):
        coded = NOT_SHOWN  # a text from the coder's file that qualflow did not produce is not copied into results/
    return {
        "coder": first.coder,
        "file": first.file,
        "row": first.row,
        "column": first.column or "",
        "segment_id": first.coded_segment_id,
        "code_id": first.coded_code_id,
        "status": first.status,
        "current_segment_ids": ";".join(targets),
        "current_code_id": (first.code_id or "") if first.status != "recheck" else "",
        "code_change": first.code_change,
        "similarity": f"{first.similarity:.3f}",
        "coded_text": _one_line(coded),
        "current_text": _one_line(now),
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


@rule_job
def anchoring_ledger(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule anchoring_ledger: input anchoring (the coders' anchoring tables, a list); output table
    (results/coding/anchoring.tsv), them in one."""
    with job_log(log) as logger:
        rows = [row for path in input["anchoring"] for row in read_tsv(Path(path))]
        write_tsv(Path(output["table"]), rows, LEDGER_COLUMNS)
        waiting = sum(row["status"] == "recheck" for row in rows)
        logger.info(
            "%d coding(s) followed or mapped, %d waiting for a person (recheck)",
            len(rows) - waiting,
            waiting,
        )
