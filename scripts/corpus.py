"""The corpus: what each transcript holds (turns, segments, words, duration), by part of the
corpus and as one table with the participants' attributes (rules ``corpus_part`` and
``corpus_summary``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from scripts import parts as corpus_parts
from scripts import settings
from scripts.contracts import ContractError, read_tsv, write_tsv
from scripts.deidentify import AUDIT_COLUMNS
from scripts.rule_jobs import job_log, rule_job


def transcript_counts(segments: Sequence[dict[str, str]]) -> dict:
    """Turns, segments, words and duration of one transcript, from its segment rows (TSV).

    Turns are the distinct turn numbers (every turn has at least one segment: turn text is never
    blank); words are the whitespace-separated words of the segments, which hold all of the turns'
    text; the duration is the last turn's end time, for transcripts with times (captions).
    """
    turns = {row["turn"]: row["role"] for row in segments}
    ends = [float(row["turn_end_s"]) for row in segments if row["turn_end_s"]]
    return {
        "turns": len(turns),
        "participant_turns": sum(role == "participant" for role in turns.values()),
        "segments": len(segments),
        "participant_segments": sum(row["role"] == "participant" for row in segments),
        "words": sum(len(row["text"].split()) for row in segments),
        "duration_s": round(max(ends), 1) if ends else None,
    }


#: One row per transcript of a corpus part (workflow/schemas/corpus_part.schema.yaml).
CORPUS_PART_COLUMNS = [
    "transcript_id",
    "raw_file",
    "raw_sha256",
    "format",
    "turns",
    "participant_turns",
    "segments",
    "participant_segments",
    "words",
    "duration_s",
]


CORPUS_SUMMARY_COLUMNS = [
    "transcript_id",
    "format",
    "turns",
    "participant_turns",
    "segments",
    "participant_segments",
    "words",
    "duration_s",
    "has_participant_row",
]


@rule_job
def corpus_part(input: dict, output: dict, params: dict, log: str) -> None:
    """The corpus-level facts of one part's transcripts (rule ``corpus_part``): per transcript its
    raw file's SHA-256 and its counts (output["transcripts"]), and the part's de-identification
    audit rows (output["audit"]).

    params["transcripts"] are the part's transcript IDs, in the order of input["raw"]; the
    segment and audit tables (input["segments"], input["audits"]) are in the order of the sorted
    IDs. The corpus summary, the audit
    summary and the provenance record read these 64 small tables, not a file per transcript: a
    new interview reruns one part, and the corpus-level jobs read 64 files, not thousands.
    """
    transcripts = dict(zip(params["transcripts"], input["raw"], strict=True))
    segments, audits = input["segments"], input["audits"]
    with job_log(log) as logger:
        rows, audit_rows = [], []
        for transcript_id, segment_path, audit_path in zip(
            sorted(transcripts), segments, audits, strict=True
        ):
            raw = transcripts[transcript_id]
            rows.append(
                {
                    "transcript_id": transcript_id,
                    "raw_file": raw,
                    "raw_sha256": corpus_parts.file_digest(raw),
                    "format": Path(raw).suffix.lstrip(".").lower(),
                    **transcript_counts(read_tsv(Path(segment_path))),
                }
            )
            audit_rows.extend(read_tsv(Path(audit_path)))
        write_tsv(Path(output["transcripts"]), rows, CORPUS_PART_COLUMNS, "corpus_part.schema.yaml")
        write_tsv(Path(output["audit"]), audit_rows, AUDIT_COLUMNS)
        logger.info("%d transcripts", len(rows))


@rule_job
def corpus_summary(input: dict, output: dict, params: dict, log: str) -> None:
    """One row per transcript: format, turns, segments, words, duration and participant attributes.

    Reads the corpus parts' tables (rule corpus_part), never a file per transcript. A transcript
    without a row in participants.csv is kept, its attributes reported as missing.
    """
    transcripts, attributes = params["transcripts"], params["attributes"]
    parts, participants = input["parts"], input["participants"]
    with job_log(log) as logger:
        counts = {row["transcript_id"]: row for path in parts for row in read_tsv(Path(path))}
        missing = sorted(set(transcripts) - set(counts))
        if missing:
            raise ContractError(
                parts[0] if parts else "results/corpus/parts",
                f"no row for transcript(s) {', '.join(missing)}",
                "Delete results/corpus/parts/ and run the workflow again; if it persists, report a bug",
            )
        rows_by_id = {
            row["transcript_id"]: row for row in settings.load_participants(Path(participants))
        }
        unknown = sorted(set(rows_by_id) - set(transcripts))
        if unknown:
            logger.warning(
                "%s: %d row(s) name no transcript in the raw folder (%s)",
                participants,
                len(unknown),
                ", ".join(unknown),
            )
        summary = []
        for transcript_id in sorted(transcripts):
            attributes_row = rows_by_id.get(transcript_id)
            if attributes_row is None:
                logger.warning(
                    "%s: no row for transcript %s; it is processed, its attributes are reported as missing. Add a row",
                    participants,
                    transcript_id,
                )
            row = {
                **{
                    column: counts[transcript_id][column]
                    for column in CORPUS_SUMMARY_COLUMNS
                    if column in CORPUS_PART_COLUMNS
                },
                "has_participant_row": "yes" if attributes_row else "no",
            }
            for attribute in attributes:
                value = (attributes_row or {}).get(attribute)
                row[attribute] = value if value else "missing"
            summary.append(row)
        write_tsv(Path(output["summary"]), summary, [*CORPUS_SUMMARY_COLUMNS, *attributes])
        logger.info("%d transcripts summarised", len(summary))
