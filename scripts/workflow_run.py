"""What the Snakefile does around the jobs: at the start of a run (the private folder), while the
job graph is built (which transcripts wait to be parsed) and after a failed run (stale outputs)."""

from __future__ import annotations

from pathlib import Path

from scripts.contracts import write_text

PRIVATE_README = """PRIVATE: this folder holds raw transcript text and the re-identification keys.

Only the owner can read it (folders 0700, files 0600). Never copy, share, upload or commit it.
Everything outside results/private/ is de-identified.
"""


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
        # a part job's transcripts' files are in its params, its record in its outputs
        made = getattr(job.params, "transcript_outputs", None) or {}
        for file in [*job.output, *job.log, *(file for files in made.values() for file in files)]:
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
