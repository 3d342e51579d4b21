"""The kept versions of the coded transcripts' segments, and the anchored codings read back.

:class:`Versions` holds every version of the coded transcripts' segments the workflow has kept
(rule segment): what codings are followed along (scripts/anchor_codings.py). :func:`load_anchored`
reads the tables rule anchor_codings writes, for the stages that count codings (agreement, themes,
learned suggestions, candidate quality).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

from scripts import anchoring
from scripts.coding_records import CoderFiles, Mention, Problem
from scripts.contracts import read_tsv
from scripts.refi_qda_standard import render_transcript

# ---------------------------------------------------------------------------------------------
# The kept versions of the coded transcripts


class Versions:
    """The segment versions kept for the coded transcripts (scripts/segment.py)."""

    def __init__(self, by_transcript: dict[str, list[dict]]):
        self.by_transcript = by_transcript
        self._texts: dict[str, set[str]] = defaultdict(set)  # segment ID → every text SHA-1 it had
        self._produced: dict[str, str] = {}
        for transcript, versions in by_transcript.items():
            for version in versions:
                for segment_id, sha1, *_ in version["segments"]:
                    self._texts[segment_id].add(sha1)

    def coded_version(
        self, transcript: str, segment_id: str, sha1: str
    ) -> tuple[int, list[anchoring.Piece]] | None:
        """The latest kept version in which the segment had that text: (its number, its segments)."""
        versions = self.by_transcript.get(transcript, [])
        for number in range(len(versions) - 1, -1, -1):
            if any(
                item[0] == segment_id and item[1] == sha1 for item in versions[number]["segments"]
            ):
                return number, [
                    anchoring.Piece(item[0], item[2]) for item in versions[number]["segments"]
                ]
        return None

    def text(self, transcript: str, segment_id: str, sha1: str) -> str | None:
        for version in reversed(self.by_transcript.get(transcript, [])):
            for item in version["segments"]:
                if item[0] == segment_id and item[1] == sha1:
                    return item[2]
        return None

    def rendered(self, transcript: str) -> list[tuple[str, dict[str, str]]]:
        """Each kept version as a REFI-QDA export renders it (newest first): its text, and each
        segment's text SHA-1 (to find which version a coder's project was exported from)."""
        found = []
        for version in reversed(self.by_transcript.get(transcript, [])):
            rows = [
                {
                    "segment_id": item[0],
                    "transcript_id": transcript,
                    "turn": item[0].rsplit("-", 2)[1],
                    "sentence": item[0].rsplit("-", 1)[1],
                    "speaker": item[3] if len(item) > 3 else "",
                    "role": "",
                    "text": item[2],
                }
                for item in version["segments"]
            ]
            found.append(
                (render_transcript(rows), {item[0]: item[1] for item in version["segments"]})
            )
        return found

    def existed(self, segment_id: str) -> bool:
        """Whether a kept version had a segment with this ID."""
        return segment_id in self._texts

    def changed(self, segment_id: str) -> bool:
        """Whether the segment ID has had more than one text."""
        return len(self._texts.get(segment_id, ())) > 1

    def produced(self, transcript: str, text: str) -> bool:
        """Whether a text is part of a version the workflow produced (so it may be shown)."""
        if transcript not in self._produced:
            self._produced[transcript] = "\n".join(
                item[2]
                for version in self.by_transcript.get(transcript, [])
                for item in version["segments"]
            )
        return bool(text) and all(piece in self._produced[transcript] for piece in text.split("\n"))


def load_versions(paths: Sequence[str]) -> Versions:
    from scripts.segment import read_versions

    return Versions({Path(path).stem: read_versions(Path(path)) for path in paths})


# ---------------------------------------------------------------------------------------------
# Reading the anchored codings back (agreement, themes, learned suggestions, candidate quality)


def load_anchored(
    tables: Sequence[str | Sequence[str]], coders: Sequence[str] | None = None
) -> dict[str, CoderFiles]:
    """The re-anchored codings in rule anchor_codings's tables (``tables``: its codings,
    transcripts and problems tables, each a path or a list of paths, one per coder; a fourth,
    the anchoring tables, is not read here) of every coder, or of ``coders`` only, as
    :class:`CoderFiles` for :func:`scripts.codings.check_codings`: rechecks left out, their
    transcripts still listed."""
    codings_paths, transcripts_paths, problems_paths = tables[:3]
    wanted = None if coders is None else set(coders)
    parsed: dict[str, CoderFiles] = {}

    def tables(paths: str | Sequence[str]) -> list[dict[str, str]]:
        return [
            row
            for path in ([paths] if isinstance(paths, str) else paths)
            for row in read_tsv(Path(path))
            if wanted is None or row["coder"] in wanted
        ]

    def coder_files(coder: str) -> CoderFiles:
        return parsed.setdefault(coder, CoderFiles(coder))

    for row in tables(codings_paths):
        files = coder_files(row["coder"])
        if row["file"] not in files.files:
            files.files.append(row["file"])
        if row["status"] == "recheck":
            continue
        files.mentions.append(
            Mention(
                row["coder"],
                row["file"],
                int(row["row"]),
                row["segment_id"],
                row["code_id"] or None,
                column=row["column"] or None,
                exemplar=row["exemplar"] == "1",
                status=row["status"],
            )
        )
    for row in tables(transcripts_paths):
        coder_files(row["coder"]).listed.append(
            (row["transcript_id"], row["file"], int(row["row"]) if row["row"] else 0)
        )
    for row in tables(problems_paths):
        coder_files(row["coder"]).problems.append(
            Problem(
                row["severity"],
                row["kind"],
                row["coder"],
                row["file"],
                int(row["row"]) if row["row"] else None,
                row["detail"],
                row["fix"],
                segment_id=row["segment_id"],
                code_id=row["code_id"],
                column=row["column"] or None,
            )
        )
    for coder in sorted(wanted or ()):
        coder_files(coder)
    return dict(sorted(parsed.items()))
