"""The final coding as the theme tables count it: the settings of the ``themes`` section, the
participants, and each coded segment with its codes and its participant.

Everything the theme tables count is the **final coding** (``coding.final``: the consensus folder,
one coder's folder, or ``union``) on the segments of the coded roles (``coding.roles``) of the
transcripts it coded. Participants come from ``data/participants.csv`` (``participant_id`` if the
column exists, else the transcript ID; a participant interviewed twice counts once); a transcript
missing from that file is its own participant with every attribute ``not recorded``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from scripts import coding_records
from scripts.codebook import Codebook
from scripts.errors import ConfigurationError

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class ThemeSettings:
    """The ``themes`` section of config.yaml (with participants.attributes)."""

    attributes: tuple[str, ...] = ()
    suppress_below: int = 5
    per_code: int = 3
    min_words: int = 8
    ideal_words: int = 30
    attribution: str = "{participant_id}, {role}, site {site}"
    order_by: str = "interview_date"

    @classmethod
    def from_config(cls, themes: dict, attributes: Sequence[str]) -> "ThemeSettings":
        exemplars = themes.get("exemplars", {})
        return cls(
            attributes=tuple(attributes),
            suppress_below=int(themes.get("suppress_below", 5)),
            per_code=int(exemplars.get("per_code", 3)),
            min_words=int(exemplars.get("min_words", 8)),
            ideal_words=int(exemplars.get("ideal_words", 30)),
            attribution=str(exemplars.get("attribution", cls.attribution)),
            order_by=str(themes.get("saturation", {}).get("order_by", "interview_date")),
        )


@dataclass(frozen=True)
class Participant:
    id: str
    attributes: dict[str, str]  # every column of participants.csv but transcript_id


def participants_by_transcript(
    rows: Sequence[dict[str, str]], transcripts: Sequence[str], columns: Sequence[str]
) -> dict[str, Participant]:
    """Transcript ID → participant, for the given transcripts.

    Missing rows and blank cells read as ``not recorded``; ``columns``: every attribute wanted.
    """
    by_transcript = {row["transcript_id"]: row for row in rows}
    result = {}
    for transcript_id in sorted(transcripts):
        row = by_transcript.get(transcript_id, {})
        participant_id = row.get("participant_id") or transcript_id
        attributes = {column: (row.get(column) or NOT_RECORDED) for column in columns}
        result[transcript_id] = Participant(participant_id, attributes)
    return result


def check_settings(
    settings: ThemeSettings, participant_columns: Sequence[str], path: str | Path
) -> None:
    """The attribution template and the saturation order name columns that exist."""
    available = {"participant_id", "transcript_id", *participant_columns}
    fields = [
        name for _, name, _, _ in string.Formatter().parse(settings.attribution) if name is not None
    ]
    unknown = sorted({name for name in fields if name not in available})
    if unknown or any(not name for name in fields):
        raise ConfigurationError(
            "config.yaml",
            f"themes.exemplars.attribution names {', '.join(unknown) or 'an empty field {}'}, which is not a column of {path}",
            f"Use participant_id, transcript_id or a column of {path} in braces, e.g. {{participant_id}}, {{role}}",
        )
    if settings.order_by not in available:
        raise ConfigurationError(
            "config.yaml",
            f"themes.saturation.order_by is {settings.order_by}, which is not a column of {path}",
            f"Set it to transcript_id, or add the column to {path} (dates as YYYY-MM-DD)",
        )


# ---------------------------------------------------------------------------------------------
# The coded corpus
# ---------------------------------------------------------------------------------------------


@dataclass
class CodedCorpus:
    """The final coding, segment by segment, with each segment's participant."""

    codebook: Codebook
    segments: list[dict[str, str]]  # coded segments, corpus order
    labels: np.ndarray  # len(segments) x len(codes), 0/1
    participants: dict[str, Participant]  # transcript ID → participant
    exemplars: frozenset[tuple[str, str]] = frozenset()  # (segment_id, code_id) a memo marks

    @property
    def code_ids(self) -> tuple[str, ...]:
        return self.codebook.code_ids

    @property
    def participant_ids(self) -> list[str]:
        """Participants with coded segments, sorted."""
        return sorted({self.participants[row["transcript_id"]].id for row in self.segments})

    def participant_of(self, row: dict[str, str]) -> Participant:
        return self.participants[row["transcript_id"]]

    def theme_labels(self) -> np.ndarray:
        """len(segments) x len(themes), 1 where the segment carries any code of the theme."""
        columns = {code_id: k for k, code_id in enumerate(self.code_ids)}
        result = np.zeros((len(self.segments), len(self.codebook.themes)), dtype=int)
        for t, theme in enumerate(self.codebook.themes):
            indices = [columns[code_id] for code_id in theme.code_ids]
            if indices and len(self.segments):
                result[:, t] = self.labels[:, indices].max(axis=1)
        return result

    def presence(self, labels: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Participants (sorted), segment counts (participants x columns), presence 0/1."""
        ids = self.participant_ids
        position = {participant: i for i, participant in enumerate(ids)}
        counts = np.zeros((len(ids), labels.shape[1]), dtype=int)
        for row, values in zip(self.segments, labels):
            counts[position[self.participant_of(row).id]] += values
        return ids, counts, (counts > 0).astype(int)


def coded_corpus(
    final,
    codebook: Codebook,
    participants: dict[str, Participant],
    parsed: dict[str, coding_records.CoderFiles],
) -> CodedCorpus:
    """From :class:`scripts.learned.FinalCoding` and the parsed coder files (for exemplar memos)."""
    rows = [final.segments.rows[i] for i in final.coded]
    marked = frozenset(
        (mention.segment_id, mention.code_id)
        for files in parsed.values()
        for mention in files.mentions
        if mention.exemplar and mention.code_id
    )
    return CodedCorpus(
        codebook,
        rows,
        np.asarray(final.labels, dtype=int).reshape(len(rows), len(codebook.code_ids)),
        participants,
        marked,
    )
