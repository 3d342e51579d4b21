"""What each Snakemake rule runs: read the declared inputs, call the stage's pure functions, write
the declared outputs and the job's log.

Rules call these from ``run:`` through ``in_worker`` (workflow/rules/common.smk): with
``--force-use-threads`` (set in the workflow profile) jobs run as threads of the Snakemake
process, and each hands its work to one of the run's worker processes (scripts/workers.py),
which load the spaCy model once per run instead of paying 1-3 s per transcript (see STYLE.md).
Without that flag each job is its own process and does its work itself, only slower.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from scripts import deidentify as deidentification
from scripts import ingest as ingestion
from scripts import parts
from scripts import settings
from scripts.contracts import (
    ContractError,
    read_jsonl,
    read_tsv,
    write_bytes,
    write_jsonl,
    write_text,
    write_tsv,
)
from scripts.errors import PrivacyError, QualflowError

LOGGER = logging.getLogger("qualflow")
# Set once: jobs running as concurrent threads must not save and restore a shared level.
LOGGER.setLevel(logging.INFO)
LOGGER.propagate = False  # each job attaches its own file and console handlers
PRIVATE_README = """PRIVATE: this folder holds raw transcript text and the re-identification keys.

Only the owner can read it (folders 0700, files 0600). Never copy, share, upload or commit it.
Everything outside results/private/ is de-identified.
"""


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextmanager
def job_log(log_path: str | Path) -> Iterator[logging.Logger]:
    """Send this job's qualflow messages to its log file and to the console.

    Filtered by thread, because jobs may run as concurrent threads of one process.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    this_thread = _ThisThread()
    to_file = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    to_console = logging.StreamHandler(sys.stderr)
    to_file.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    to_console.setFormatter(logging.Formatter("qualflow %(levelname)s: %(message)s"))
    to_console.setLevel(logging.WARNING)
    for handler in (to_file, to_console):
        handler.addFilter(this_thread)
        LOGGER.addHandler(handler)
    try:
        yield LOGGER
    except QualflowError as error:
        LOGGER.error("%s", error)
        raise
    finally:
        for handler in (to_file, to_console):
            LOGGER.removeHandler(handler)
            handler.close()


def code_digest(root: str | Path, modules: Sequence[str]) -> str:
    """SHA-256 over the source of scripts/{module}.py for each module, in order."""
    import hashlib

    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.encode() + b"\0" + (Path(root) / "scripts" / f"{module}.py").read_bytes())
    return digest.hexdigest()


def _identifier_list(config: dict, path: str | Path, secret: bytes = b"") -> deidentification.IdentifierList:
    return deidentification.load_identifier_list(Path(path), name_parts=config["deidentify"]["name_parts"], secret=secret)


def speaker_rules(config: dict, identifiers: deidentification.IdentifierList) -> ingestion.SpeakerRules:
    speakers = config["speakers"]
    return ingestion.SpeakerRules(
        interviewer_labels=frozenset(ingestion.label_key(label) for label in speakers["interviewer"]),
        participant_labels=frozenset(ingestion.label_key(label) for label in speakers["participant"]),
        pattern=speakers.get("pattern"),
        known_people=identifiers.people_roles,
        unlabelled_role=speakers.get("unlabelled_role", "other"),
    )


def ensure_private_folder(results: str | Path = "results") -> None:
    """Create results/private/ owner-only, with a README that says what it is."""
    write_text(Path(results) / "private" / "README.txt", PRIVATE_README)


def remove_stale_outputs(dag, started: float) -> list[str]:
    """After a failed run: the outputs and logs, made by an earlier run, of the jobs this run had to
    rerun and did not finish. They no longer match their inputs (an old quality gate, old figures,
    a log listing an earlier run's errors), so they are removed rather than left to read as current.

    ``dag``: Snakemake's job graph of the run; ``started``: when the run started (a file written
    since is this run's: the failed job's log stays, saying what went wrong). Outputs updated in
    place (the segment versions) are kept: they are a record, never stale."""
    from snakemake.io import is_flagged

    removed = []
    for job in dag.needrun_jobs(exclude_finished=True):
        for file in [*job.output, *job.log]:
            if is_flagged(file, "update") or is_flagged(file, "protected"):
                continue
            path = Path(file)
            if path.is_file() and path.stat().st_mtime < started:
                path.unlink()
                removed.append(str(path))
    return sorted(removed)


def transcripts_to_parse(transcripts: dict[str, str | Path], parsed: str) -> list[str]:
    """Transcripts whose parsed form (parsed, a pattern with {transcript}) is missing or older than
    the raw file: those de-identification will parse with spaCy in this run, unless something
    else (the code, the settings) reruns more. A guess from file times, for loading the model
    early; what runs is Snakemake's decision."""
    waiting = []
    for transcript_id, raw in sorted(transcripts.items()):
        try:
            parsed_time = Path(parsed.format(transcript=transcript_id)).stat().st_mtime
        except FileNotFoundError:
            waiting.append(transcript_id)
            continue
        if Path(raw).stat().st_mtime > parsed_time:
            waiting.append(transcript_id)
    return waiting


def _settings(*values: object) -> str:
    """The settings a part job's outputs depend on besides their inputs, as one text for the
    digest of the part cache (scripts/parts.py)."""
    import json

    return json.dumps(values, sort_keys=True, default=str)


def _works(params: dict, inputs: dict, outputs: dict, extra: dict | None = None) -> list[parts.Work]:
    """One parts.Work per transcript of the part: its inputs and outputs, by name, from the job's
    named lists (each in the order of params["transcripts"])."""
    works = []
    for index, transcript in enumerate(params["transcripts"]):
        works.append(parts.Work(
            transcript,
            [inputs[name][index] for name in sorted(inputs)],
            {name: outputs[name][index] for name in outputs},
            (extra or {}).get(transcript, ""),
        ))
    return works


def _report(logger: logging.Logger, stage: str, done: parts.Done) -> None:
    """The part job's last log line (the same whichever transcripts were worked on: how many were
    is in the Snakemake log, not here, so that a log depends on the inputs alone)."""
    logger.info("%s: %d transcript(s)", stage, len(done.worked) + len(done.reused))


def ingest_part(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule ingest (a part of the corpus): each raw transcript into normalized turns (private)."""
    with job_log(log) as logger:
        rules = speaker_rules(params["config"], _identifier_list(params["config"], input["identifiers"]))

        def work_on(work: parts.Work) -> None:
            result = ingestion.ingest_transcript(Path(work.inputs[0]), work.transcript, rules)
            for warning in result.warnings:
                logger.warning("%s", warning)
            write_jsonl(Path(work.outputs["ingested"]), result.turns, "transcript.schema.yaml")
            logger.info("%s: %d turns", work.transcript, len(result.turns))

        works = _works(params, {"raw": input["raw"]}, output, params["identifiers"])
        done = parts.run_part("ingest", params["part"], works, _settings(params["config"]["speakers"], params["code"]), work_on, logger=logger)
        _report(logger, "ingest", done)


def parse_part(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule parse (a part of the corpus): each transcript's turns parsed with spaCy once (private).
    A transcript whose text changed is parsed again turn by turn: the turns its last parse holds,
    parsed with the same pipeline, are not parsed again."""
    with job_log(log) as logger:
        spacy_settings = params["spacy"]

        def work_on(work: parts.Work) -> None:
            texts = [turn["text"] for turn in read_jsonl(Path(work.inputs[0]), "transcript.schema.yaml")]
            last = parts.previous("parse", work.transcript, "parsed", private=True)
            cached = last.read_bytes() if last is not None else None
            data, parsed = deidentification.parse_turns(texts, spacy_settings["model"], spacy_settings["batch_size"], cached)
            write_bytes(Path(work.outputs["parsed"]), data)
            logger.info("%s: %d turns, %d parsed now", work.transcript, len(texts), parsed)

        fingerprint = deidentification.pipeline_fingerprint(spacy_settings["model"])
        works = _works(params, {"ingested": input["ingested"]}, output)
        done = parts.run_part("parse", params["part"], works, _settings(fingerprint, params["code"]), work_on, logger=logger)
        _report(logger, "parse", done)


def deidentify_part(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule deidentify (a part of the corpus): outputs transcript (de-identified JSON lines),
    tokens (the de-identified turns' tokens), audit (TSV), key (private JSON), a list each. From
    each transcript's parse: no model runs here, so a change of the identifier list or of the
    settings re-applies replacements without parsing again."""
    import json

    from scripts.identifiers import load_study_secret

    with job_log(log) as logger:
        config = params["config"]
        identifier_list = _identifier_list(config, input["identifiers"], load_study_secret(input["secret"]))
        detector = deidentification.detector_from_config(config, identifier_list)
        request = deidentification.parse_request(detector, config["spacy"]["model"], config["spacy"]["batch_size"])

        def work_on(work: parts.Work) -> None:
            ingested, parsed = work.inputs
            turns = read_jsonl(Path(ingested), "transcript.schema.yaml")
            docs = deidentification.parsed_turns(Path(parsed).read_bytes(), [turn["text"] for turn in turns], parsed)
            result = deidentification.deidentify_from_parse(turns, docs, request, detector)
            write_jsonl(Path(work.outputs["transcript"]), result.turns, "transcript.schema.yaml")
            # (the tokens are validated where they are read, rule candidate_codes: once is enough)
            write_text(Path(work.outputs["tokens"]), deidentification.tokens_jsonl(result.tokens))
            write_tsv(Path(work.outputs["audit"]), result.audit, AUDIT_COLUMNS)
            write_text(Path(work.outputs["key"]), json.dumps(result.key, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
            replaced = sum(row["count"] for row in result.audit if row["type"] != "SPEAKER")
            logger.info("%s: %d turns, %d replacements", work.transcript, len(turns), replaced)

        works = _works(params, {"ingested": input["ingested"], "parsed": input["parsed"]}, output, params["identifiers"])
        settings = _settings(config["deidentify"], config["spacy"]["model"], parts.file_digest(input["secret"]), params["code"])
        done = parts.run_part("deidentify", params["part"], works, settings, work_on, logger=logger)
        _report(logger, "deidentify", done)


AUDIT_COLUMNS = ["transcript_id", "type", "layer", "recogniser", "placeholder", "count"]


LEAK_CHECK_COLUMNS = ["file", "lines", "leaks"]
#: The layout of the leak check's memory (.snakemake/qualflow/): another layout is not read.
LEAK_CHECK_CACHE_VERSION = 2


def leak_check(
    files: Sequence[str], config: dict, identifiers: str, output: str, log: str, cache: str | None = None,
    parts: Sequence[str] = (),
) -> None:
    """Fail the workflow if any identifier-list entry survives in a de-identified output.

    ``cache``: a JSON file remembering the contents (by SHA-256) found clean and the forms of the
    list they were searched for (by salted digest), so that a rerun after a new interview searches
    only the files that changed (a corpus of 1,000 interviews has ~7,000 files to check), and a
    rerun after a change of the list searches the files for the new forms alone. It holds digests
    and line counts, no text.
    ``parts``: the tables of the parts of the check already run (rule leak_check_part, one per
    share of the transcripts); their rows join this check's in the table written.
    """
    import json

    with job_log(log) as logger:
        identifier_list = _identifier_list(config, identifiers)
        forms = deidentification.leak_check_forms(identifier_list)
        remembered: dict[str, int] = {}
        searched: set[str] = set()
        if cache and Path(cache).is_file():
            try:
                document = json.loads(Path(cache).read_text(encoding="utf-8"))
                if document.get("version") == LEAK_CHECK_CACHE_VERSION:
                    remembered = {str(key): int(value) for key, value in document["clean"].items()}
                    searched = set(document["forms"])
            except (ValueError, KeyError, TypeError, AttributeError):
                remembered = {}  # unreadable: check everything again
        # contents found clean before need searching only for the forms the list gained since
        added = identifier_list.only(form for digest, form in forms.items() if digest not in searched)
        clean = dict(remembered)
        rows = deidentification.check_files_for_leaks([Path(file) for file in files], identifier_list, clean, added)
        deidentification.raise_on_leaks(rows)
        checked = [{column: row[column] for column in LEAK_CHECK_COLUMNS} for row in rows]
        for part in parts:
            for row in read_tsv(Path(part)):
                if row["leaks"] != "0":  # a part with a leak fails its own job: this one was edited
                    raise PrivacyError(part, f"the leak check part reports {row['leaks']} leak(s) in {row['file']}",
                                       "Do not share results/. Delete this file and rerun snakemake")
                checked.append({"file": row["file"], "lines": int(row["lines"]), "leaks": 0})
        write_tsv(Path(output), sorted(checked, key=lambda row: row["file"]), LEAK_CHECK_COLUMNS)
        if cache:
            current = {row["sha256"] for row in rows}
            kept = {key: lines for key, lines in sorted(clean.items()) if key in current}
            document = {"version": LEAK_CHECK_CACHE_VERSION, "forms": sorted(forms), "clean": kept}
            write_text(Path(cache), json.dumps(document, sort_keys=True) + "\n")
        # (not how many were searched: the log must be the same whether or not a cache was there)
        logger.info("%d files checked; no identifier-list entry found", len(checked))


AUDIT_SUMMARY_COLUMNS = ["type", "layer", "recogniser", "replacements", "distinct_placeholders", "transcripts"]


def audit_summary(audits: Sequence[str], output: str, log: str) -> None:
    """Replacements by type, layer and recogniser over the corpus (counts only)."""
    with job_log(log) as logger:
        totals: dict[tuple[str, str, str], dict] = {}
        for path in audits:
            for row in read_tsv(Path(path)):
                entry = totals.setdefault(
                    (row["type"], row["layer"], row["recogniser"]), {"replacements": 0, "placeholders": set(), "transcripts": set()},
                )
                entry["replacements"] += int(row["count"])
                entry["placeholders"].add(row["placeholder"])
                entry["transcripts"].add(row["transcript_id"])
        rows = [
            {
                "type": label, "layer": layer, "recogniser": recogniser, "replacements": entry["replacements"],
                "distinct_placeholders": len(entry["placeholders"]), "transcripts": len(entry["transcripts"]),
            }
            for (label, layer, recogniser), entry in sorted(totals.items())
        ]
        write_tsv(Path(output), rows, AUDIT_SUMMARY_COLUMNS)
        logger.info("%d audit files summarised", len(audits))


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
    "transcript_id", "raw_file", "raw_sha256", "format", "turns", "participant_turns", "segments",
    "participant_segments", "words", "duration_s",
]


CORPUS_SUMMARY_COLUMNS = [
    "transcript_id", "format", "turns", "participant_turns", "segments", "participant_segments", "words", "duration_s",
    "has_participant_row",
]


def corpus_part(
    transcripts: dict[str, str], segments: Sequence[str], audits: Sequence[str], outputs: dict, log: str,
) -> None:
    """The corpus-level facts of one part's transcripts (rule ``corpus_part``): per transcript its
    raw file's SHA-256 and its counts (outputs["transcripts"]), and the part's de-identification
    audit rows (outputs["audit"]).

    transcripts maps each of the part's transcript IDs to its raw file; segments and audits are
    their segment and audit tables, in the order of the sorted IDs. The corpus summary, the audit
    summary and the provenance record read these 64 small tables, not a file per transcript: a
    new interview reruns one part, and the corpus-level jobs read 64 files, not thousands.
    """
    from scripts.provenance import file_digest

    with job_log(log) as logger:
        rows, audit_rows = [], []
        for transcript_id, segment_path, audit_path in zip(sorted(transcripts), segments, audits, strict=True):
            raw = transcripts[transcript_id]
            rows.append({
                "transcript_id": transcript_id,
                "raw_file": raw,
                "raw_sha256": file_digest(raw),
                "format": Path(raw).suffix.lstrip(".").lower(),
                **transcript_counts(read_tsv(Path(segment_path))),
            })
            audit_rows.extend(read_tsv(Path(audit_path)))
        write_tsv(Path(outputs["transcripts"]), rows, CORPUS_PART_COLUMNS, "corpus_part.schema.yaml")
        write_tsv(Path(outputs["audit"]), audit_rows, AUDIT_COLUMNS)
        logger.info("%d transcripts", len(rows))


def corpus_summary(
    transcripts: Sequence[str], parts: Sequence[str], participants: str, attributes: Sequence[str], output: str, log: str,
) -> None:
    """One row per transcript: format, turns, segments, words, duration and participant attributes.

    Reads the corpus parts' tables (rule corpus_part), never a file per transcript. A transcript
    without a row in participants.csv is kept, its attributes reported as missing.
    """
    with job_log(log) as logger:
        counts = {row["transcript_id"]: row for path in parts for row in read_tsv(Path(path))}
        missing = sorted(set(transcripts) - set(counts))
        if missing:
            raise ContractError(
                parts[0] if parts else "results/corpus/parts", f"no row for transcript(s) {', '.join(missing)}",
                "Delete results/corpus/parts/ and run the workflow again; if it persists, report a bug",
            )
        rows_by_id = {row["transcript_id"]: row for row in settings.load_participants(Path(participants))}
        unknown = sorted(set(rows_by_id) - set(transcripts))
        if unknown:
            logger.warning("%s: %d row(s) name no transcript in the raw folder (%s)", participants, len(unknown), ", ".join(unknown))
        summary = []
        for transcript_id in sorted(transcripts):
            attributes_row = rows_by_id.get(transcript_id)
            if attributes_row is None:
                logger.warning(
                    "%s: no row for transcript %s; it is processed, its attributes are reported as missing. Add a row",
                    participants, transcript_id,
                )
            row = {
                **{column: counts[transcript_id][column] for column in CORPUS_SUMMARY_COLUMNS if column in CORPUS_PART_COLUMNS},
                "has_participant_row": "yes" if attributes_row else "no",
            }
            for attribute in attributes:
                value = (attributes_row or {}).get(attribute)
                row[attribute] = value if value else "missing"
            summary.append(row)
        write_tsv(Path(output), summary, [*CORPUS_SUMMARY_COLUMNS, *attributes])
        logger.info("%d transcripts summarised", len(summary))
