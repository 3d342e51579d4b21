"""Segmentation: de-identified speaker turns → sentence segments with stable IDs.

Sentence boundaries come from the de-identify step, which parsed each turn once with spaCy; this
step only cuts, numbers and fingerprints. ``segment_id = {transcript_id}-{turn:04d}-{sentence:03d}``
stays the same as long as the transcript does; ``text_sha1`` lets a coding notice that the text
under it changed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a file (python scripts/segment.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.contracts import SEGMENT_COLUMNS, read_jsonl, write_tsv
from scripts.errors import QualflowError


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


def segment_file(deidentified: Path, output: Path) -> int:
    """Read a de-identified transcript, write its segments; returns the number of segments."""
    segments = segment_turns(read_jsonl(deidentified, "transcript.schema.yaml"))
    write_tsv(output, segments, SEGMENT_COLUMNS, "segments.schema.yaml")
    return len(segments)


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
