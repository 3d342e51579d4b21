"""Segmentation: de-identified speaker turns → sentence segments with stable IDs.

Sentence boundaries come from the de-identify step, which parsed each turn once with spaCy; this
step only cuts, numbers and fingerprints. ``segment_id = {transcript_id}-{turn:04d}-{sentence:03d}``
stays the same as long as the transcript does; ``text_sha1`` lets a coding notice that the text
under it changed.

Every version of a transcript's segments the workflow has produced is kept
(``results/segments/versions/{transcript}.jsonl``, one version a line, added to and never
rewritten but to take out a name listed since): a coding made on an earlier version names its
segment and text SHA-1, and :mod:`scripts.anchoring` finds that text there and follows it to the
segments as they are now.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Sequence

if __package__ in (
    None,
    "",
):  # run as a file (python scripts/segment.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import parts
from scripts.contracts import SEGMENT_COLUMNS, ContractError, read_jsonl, write_text, write_tsv
from scripts.errors import QualflowError
from scripts.identifiers import load_identifier_list
from scripts.rule_jobs import job_log, rule_job


def segment_id(transcript_id: str, turn: int, sentence: int) -> str:
    return f"{transcript_id}-{turn:04d}-{sentence:03d}"


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def segment_turns(turns: Sequence[dict]) -> list[dict]:
    """One segment per sentence of every turn, interviewer turns included (coders need context)."""
    segments = []
    for turn in turns:
        boundaries = turn.get("sentences") or [[0, len(turn["text"])]]
        number = 0
        for start, end in boundaries:
            piece = turn["text"][start:end]
            stripped = piece.strip()
            if not stripped:
                continue
            start += len(piece) - len(piece.lstrip())
            end = start + len(stripped)
            number += 1
            segments.append(
                {
                    "segment_id": segment_id(turn["transcript_id"], turn["turn"], number),
                    "transcript_id": turn["transcript_id"],
                    "turn": turn["turn"],
                    "sentence": number,
                    "role": turn["role"],
                    "speaker": turn["speaker"],
                    "turn_start_s": turn.get("start_s"),
                    "turn_end_s": turn.get("end_s"),
                    "start_char": start,
                    "end_char": end,
                    "text": stripped,
                    "text_sha1": text_sha1(stripped),
                }
            )
    return segments


def segment_file(deidentified: Path, output: Path) -> list[dict]:
    """Read a de-identified transcript, write its segments; returns them."""
    segments = segment_turns(read_jsonl(deidentified, "transcript.schema.yaml"))
    write_tsv(output, segments, SEGMENT_COLUMNS, "segments.schema.yaml")
    return segments


# ---------------------------------------------------------------------------------------------
# Segment versions (results/segments/versions/{transcript}.jsonl)


def version_digest(pairs: Sequence[Sequence[str]]) -> str:
    """The digest of a version: its segment IDs and text SHA-1s, in order."""
    return hashlib.sha256(
        "\n".join(f"{segment_id}\t{sha1}" for segment_id, sha1, *_ in pairs).encode()
    ).hexdigest()


def read_versions(path: Path) -> list[dict]:
    """The versions kept for a transcript, oldest first: ``{"version", "segments": [[segment_id,
    text_sha1, text, speaker], ...]}``. No file: none yet."""
    if not Path(path).is_file():
        return []
    versions = read_jsonl(Path(path))
    for number, version in enumerate(versions, start=1):
        if not isinstance(version, dict) or not isinstance(version.get("segments"), list):
            raise ContractError(
                path,
                "is not a file of segment versions",
                "Restore it from a backup of results/",
                line=number,
            )
    return versions


def with_version(versions: Sequence[dict], segments: Sequence[dict], listed=None) -> list[dict]:
    """The versions with the current one added if it is new. ``listed`` (the identifier list):
    what it lists is taken out of earlier versions (as a bare [TYPE]), for a name listed since
    a version was made must not stay in results/; the SHA-1 a coding names still finds it."""
    current = [
        [row["segment_id"], row["text_sha1"], row["text"], row["speaker"]] for row in segments
    ]
    kept = [
        {"segments": [list(item) for item in version["segments"]], "version": version["version"]}
        for version in versions
    ]
    if listed is not None:
        for version in kept:
            for item in version["segments"]:
                item[2] = _without_listed(item[2], listed)
    digest = version_digest(current)
    if all(version["version"] != digest for version in kept):
        kept.append({"segments": current, "version": digest})
    return kept


def _without_listed(text: str, listed) -> str:
    pieces, cursor = [], 0
    for start, end, entry in sorted(listed.find(text)):
        if start < cursor:
            continue
        pieces += [text[cursor:start], f"[{entry.label}]"]
        cursor = end
    return "".join(pieces) + text[cursor:]


def versions_jsonl(versions: Sequence[dict]) -> str:
    return "".join(
        json.dumps(version, ensure_ascii=False, sort_keys=True) + "\n" for version in versions
    )


@rule_job
def segment(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule segment (a part of the corpus): outputs segments (TSV) and versions (every version of
    the transcript's segments so far), a list each."""
    with job_log(log) as logger:
        listed = load_identifier_list(
            input["identifiers"], name_parts=params["config"]["deidentify"]["name_parts"]
        )

        def work_on(work: parts.Work) -> None:
            last = parts.previous("segment", work.transcript, "versions")
            earlier = read_versions(last) if last is not None else []
            segments = segment_file(Path(work.inputs[0]), Path(work.outputs["segments"]))
            versions = with_version(earlier, segments, listed)
            write_text(Path(work.outputs["versions"]), versions_jsonl(versions))
            logger.info(
                "%s: %d segments; %d version(s) of them kept",
                work.transcript,
                len(segments),
                len(versions),
            )

        works = parts.works_of(
            params, {"deidentified": input["deidentified"]}, output, params["identifiers"]
        )
        done = parts.run_part(
            "segment",
            params["part"],
            works,
            parts.settings_text(params["code"]),
            work_on,
            logger=logger,
        )
        parts.report_done(logger, "segment", done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deidentified", type=Path, help="de-identified transcript (JSON lines)")
    parser.add_argument("output", type=Path, help="segments to write (TSV)")
    arguments = parser.parse_args(argv)
    try:
        segment_file(arguments.deidentified, arguments.output)
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
