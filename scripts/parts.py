"""The per-transcript stages run a part of the corpus per job.

The transcripts fall into up to 64 parts by their ID (:func:`part_of`: CRC-32 of the ID, so adding
interviews never moves one), and each per-transcript stage (ingest, parse, deidentify, segment,
candidate_codes, coding_sheets) has a job per part. Why: Snakemake's bookkeeping costs about a
millisecond per job while it builds its job graph (1.1 ms measured, 25,137 jobs of 5,000
transcripts: 28 s before the first job could start, at every run) and more per input and
output at every scheduling round, while most of these stages take milliseconds per transcript.
With jobs per part the graph of 5,000 transcripts has some 500 jobs.

What must not suffer is caching: a new interview reruns its part's jobs, but inside them only the
transcripts whose inputs changed are worked on. Each part job keeps a hard link to every output it
made (``.snakemake/qualflow/parts/{stage}/``, and ``results/private/cache/{stage}/`` for the
private outputs, which must stay in the owner-only folder) and the digest of what it was made from
(the stage's code and settings, and each input file's SHA-256): a transcript whose digest is the
same gets its outputs back from there (a part job's outputs are removed before it runs), the
others are worked on. Nothing is trusted by time stamps, and the caches hold no text but the
outputs themselves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

#: Parts of the corpus (see part_of).
PARTS = 64
#: Where part jobs keep their outputs and digests; private outputs in the private folder.
CACHE = Path(".snakemake/qualflow/parts")
PRIVATE_CACHE = Path("results/private/cache")
LOG_LINES = "log.json"  # what a transcript's work logged (counts, file names: no text)


def part_of(transcript_id: str, parts: int = PARTS) -> str:
    """The part of a transcript ("00" to "63"): fixed by the transcript's ID alone (CRC-32, the same
    on every machine and run), so adding interviews never moves one to another part."""
    return f"{zlib.crc32(transcript_id.encode('utf-8')) % parts:0{len(str(parts - 1))}d}"


def by_part(transcript_ids: Iterable[str], parts: int = PARTS) -> dict[str, list[str]]:
    """The transcripts of each part that has any, parts and transcripts sorted."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for transcript_id in sorted(transcript_ids):
        grouped[part_of(transcript_id, parts)].append(transcript_id)
    return dict(sorted(grouped.items()))


@dataclass(frozen=True)
class Work:
    """One transcript's share of a part job: its input files, its outputs (name → path), and what
    else its outputs depend on (``extra``: e.g. the digest of the identifier list's entries it
    holds)."""

    transcript: str
    inputs: Sequence[str]
    outputs: Mapping[str, str]
    extra: str = ""


@dataclass
class Done:
    """How many transcripts of the part were worked on, and how many came back from the cache."""

    worked: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Lines(logging.Handler):
    """The log lines of one transcript's work, kept to be logged again when its outputs come back
    from the cache: a part job's log is the same whichever of its transcripts were worked on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == threading.get_ident():
            self.lines.append((record.levelno, record.getMessage()))


def run_part(
    stage: str,
    part: str,
    works: Sequence[Work],
    settings: str,
    work_on: Callable[[Work], None],
    cache: str | Path = CACHE,
    private_cache: str | Path = PRIVATE_CACHE,
    logger: logging.Logger | None = None,
) -> Done:
    """Run a part job: ``work_on`` each transcript whose inputs, ``settings`` (the stage's code
    digest and settings) or ``extra`` changed since the part job last made its outputs; give the
    others their outputs back from the part cache, and log again what their work logged
    (``logger``: the job's; messages name files and count things, never quote text)."""
    from scripts.contracts import private_root, secure_private_folders, write_text

    logger = logger or logging.getLogger("qualflow")

    manifest_path = Path(cache) / stage / f"{part}.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest = manifest if isinstance(manifest, dict) else {}
    except (OSError, ValueError):
        manifest = {}
    done, kept = Done(), {}
    for work in works:
        digest = hashlib.sha256(
            json.dumps(
                [
                    stage,
                    settings,
                    work.extra,
                    [file_digest(path) for path in work.inputs],
                    sorted(work.outputs),
                ]
            ).encode()
        ).hexdigest()
        cached = {
            name: Path(private_cache if private_root(Path(output)) else cache)
            / stage
            / work.transcript
            / name
            for name, output in work.outputs.items()
        }
        said = Path(cache) / stage / work.transcript / LOG_LINES
        if (
            manifest.get(work.transcript) == digest
            and said.is_file()
            and all(path.is_file() for path in cached.values())
        ):
            for name, output in work.outputs.items():
                _link(cached[name], Path(output))
            for level, message in json.loads(said.read_text(encoding="utf-8")):
                logger.log(level, "%s", message)
            done.reused.append(work.transcript)
        else:
            lines = _Lines()
            logger.addHandler(lines)
            try:
                work_on(work)
            finally:
                logger.removeHandler(lines)
            for name, output in work.outputs.items():
                secure_private_folders(cached[name])
                _link(Path(output), cached[name])
                if private_root(Path(output)) is not None:
                    os.chmod(cached[name], 0o600)  # the output's mode too: one file, two names
            write_text(said, json.dumps(lines.lines) + "\n")
            done.worked.append(work.transcript)
        kept[work.transcript] = digest
    for transcript in set(manifest) - set(kept):  # no longer in the part: its outputs are not kept
        for root in (cache, private_cache):
            shutil.rmtree(Path(root) / stage / transcript, ignore_errors=True)
    write_text(manifest_path, json.dumps(kept, sort_keys=True) + "\n")
    return done


def previous(stage: str, transcript: str, name: str, private: bool = False) -> Path | None:
    """The output a part job made for a transcript the last time (a stage that builds on its last
    output: the parse reuses the parses of unchanged turns, the segment versions grow)."""
    path = (PRIVATE_CACHE if private else CACHE) / stage / transcript / name
    return path if path.is_file() else None


def _link(source: Path, target: Path) -> None:
    """target becomes a second name of source (a copy where the file system has no hard links)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(target.name + ".linking")
    if fresh.exists():
        fresh.unlink()
    try:
        os.link(source, fresh)
    except OSError:
        shutil.copy2(source, fresh)
    os.replace(fresh, target)


def settings_text(*values: object) -> str:
    """The settings a part job's outputs depend on besides their inputs, as one text for the
    digest of the part cache."""
    return json.dumps(values, sort_keys=True, default=str)


def works_of(
    params: Mapping, inputs: Mapping, outputs: Mapping, extra: Mapping | None = None
) -> list[Work]:
    """One :class:`Work` per transcript of the part: its inputs and outputs, by name, from the
    job's named lists (each in the order of ``params["transcripts"]``)."""
    works = []
    for index, transcript in enumerate(params["transcripts"]):
        works.append(
            Work(
                transcript,
                [inputs[name][index] for name in sorted(inputs)],
                {name: outputs[name][index] for name in outputs},
                (extra or {}).get(transcript, ""),
            )
        )
    return works


def report_done(logger: logging.Logger, stage: str, done: Done) -> None:
    """The part job's last log line (the same whichever transcripts were worked on: how many were
    is in the Snakemake log, not here, so that a log depends on the inputs alone)."""
    logger.info("%s: %d transcript(s)", stage, len(done.worked) + len(done.reused))


# --- a part job's record --------------------------------------------------------------------------
# Snakemake does not track a part job's per-transcript files one by one: the job declares one
# output, its record (results/parts/{stage}/{part}.tsv: each file it made, by transcript), and the
# jobs that read a transcript's file have that record as input. Snakemake's cost grows with the
# files it tracks (at 5,000 transcripts 55,000 per-transcript files: a metadata record of each,
# read at every run, and each matched to its job while the job graph is built: 40-60 s before the
# first job, at every run); with records it tracks 384 (6 stages x 64 parts). What Snakemake
# did for the files themselves is done here: removed before the job runs (run_job,
# remove_files), and after a failed run, if its job did not finish (scripts/workflow_run.py).
# Like a deleted intermediate output, a deleted transcript file is made again when its part job
# next has to run.

RECORD_COLUMNS = ("transcript", "output", "file")


def record_text(transcripts: Sequence[str], outputs: Mapping[str, Sequence[str]]) -> str:
    """A part job's record: one line per file it made (transcript, output name, file), in the
    order of the part's transcripts, outputs by name. No time, no digest: the same files, the same
    record."""
    lines = ["\t".join(RECORD_COLUMNS)]
    for index, transcript in enumerate(transcripts):
        for name in sorted(outputs):
            lines.append(f"{transcript}\t{name}\t{outputs[name][index]}")
    return "\n".join(lines) + "\n"


def write_record(
    path: str | Path, transcripts: Sequence[str], outputs: Mapping[str, Sequence[str]]
) -> None:
    """Write a part job's record once its files are made (see record_text)."""
    from scripts.contracts import write_text

    write_text(Path(path), record_text(transcripts, outputs))


def remove_files(outputs: Mapping[str, Sequence[str]]) -> None:
    """Remove the files a part job is about to make, as Snakemake removes a job's outputs before
    it runs: a job that fails leaves none of them half-made (the part cache keeps what can be
    given back)."""
    for files in outputs.values():
        for file in files:
            Path(file).unlink(missing_ok=True)
