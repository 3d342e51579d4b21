"""Tiny segments, codebook and coder folders for the codings and agreement tests."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from scripts.contracts import SEGMENT_COLUMNS, write_tsv

CODEBOOK = """\
version: "2"
themes:
  - id: good
    label: Good things
    codes:
      - id: calm
        label: Calm
        definition: A calmer mind.
        keywords: [calm]
      - id: work
        label: Work
        definition: Income.
        keywords: [job]
  - id: bad
    label: Bad things
    codes:
      - id: queue
        label: Queues
        definition: Waiting.
        keywords: [queue]
"""

# transcript -> turns: (role, [sentences])
TRANSCRIPTS = {
    "T1": [
        ("interviewer", ["How are you?"]),
        ("participant", ["I am calm now.", "I sell <fish> & rice.", "The queue is long."]),
        ("interviewer", ["Why?"]),
        ("participant", ["Too many people.", "We wait all day."]),
    ],
    "T2": [
        ("interviewer", ["Tell me more."]),
        ("participant", ["My mind is calm.", "I have a job."]),
    ],
}


def segment_rows(transcript: str) -> list[dict]:
    rows = []
    for turn, (role, sentences) in enumerate(TRANSCRIPTS[transcript], start=1):
        start = 0
        for sentence, text in enumerate(sentences, start=1):
            rows.append(
                {
                    "segment_id": f"{transcript}-{turn:04d}-{sentence:03d}",
                    "transcript_id": transcript,
                    "turn": turn,
                    "sentence": sentence,
                    "role": role,
                    "speaker": role.title(),
                    "start_char": start,
                    "end_char": start + len(text),
                    "text": text,
                    "text_sha1": hashlib.sha1(text.encode()).hexdigest(),
                }
            )
            start += len(text) + 1
    return rows


def sha1_of(segment_id: str) -> str:
    transcript = segment_id.split("-")[0]
    return next(
        row["text_sha1"] for row in segment_rows(transcript) if row["segment_id"] == segment_id
    )


def write_project(root: Path) -> dict[str, Path]:
    """segments/{T1,T2}.tsv and codebook.yaml under root; returns their paths."""
    paths = {}
    for transcript in TRANSCRIPTS:
        paths[transcript] = root / "segments" / f"{transcript}.tsv"
        write_tsv(paths[transcript], segment_rows(transcript), SEGMENT_COLUMNS)
    paths["codebook"] = root / "codebook.yaml"
    paths["codebook"].write_text(CODEBOOK, encoding="utf-8")
    return paths


def write_csv(
    path: Path, rows: list[list[str]], header: tuple[str, ...] = ("segment_id", "code_id")
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_sheet(path: Path, header: list[str], rows: list[list]) -> Path:
    """An .xlsx coding sheet as a coder would save it (sheet 'coding', plus a codebook sheet)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "coding"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("codebook").append(["code_id", "label"])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def anchored_tables(
    folder: Path,
    codebook: str | Path,
    files: list[str],
    segments: list[str],
    coding: dict | None = None,
    versions: list[str] = (),
) -> list[str]:
    """Rule anchor_codings on these coders' files: its codings, transcripts and problems tables
    (the ledger beside them), as the agreement, themes and learned jobs read them."""
    from scripts.anchor_codings import anchor_codings

    outputs = {
        name: str(folder / f"{name}.tsv")
        for name in ("codings", "transcripts", "problems", "anchoring")
    }
    inputs = {
        "codebook": str(codebook),
        "codings": files,
        "segments": [str(path) for path in segments],
        "versions": list(versions),
    }
    settings = {"coding": coding or {"roles": ["participant"], "consensus": "consensus"}}
    anchor_codings(inputs, outputs, {"config": settings}, str(folder / "anchor.log"))
    return [outputs["codings"], outputs["transcripts"], outputs["problems"]]
