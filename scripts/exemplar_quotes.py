"""Exemplar quotes of each code, and how they are attributed.

Per code, up to ``themes.exemplars.per_code`` de-identified segments, chosen by this order of
preference, one at a time: a segment a coder's memo marks ``exemplar``; a participant not quoted
yet for this code; at least ``min_words`` words; length closest to ``ideal_words``; then segment
ID (so the choice is deterministic). A quote's attribution (``themes.exemplars.attribution``)
names the participant by ID and attributes, never by name; what the attributions say counts in
the disclosure control (scripts/disclosure.py).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from scripts import disclosure
from scripts.coded_corpus import NOT_RECORDED, CodedCorpus, Participant, ThemeSettings

WORD = re.compile(r"\w+")
EXEMPLAR_COLUMNS = [
    "theme_id",
    "code_id",
    "code_label",
    "rank",
    "segment_id",
    "participant_id",
    "attribution",
    "marked_exemplar",
    "words",
    "text",
]

WITHHELD = "(not shown)"


def attribution(
    participant: Participant, transcript_id: str, template: str, withheld: Iterable[str] = ()
) -> str:
    """The quote's attribution from the template, e.g. "P07, client, site A" (never a name); an
    attribute in ``withheld`` shows as "(not shown)" (disclosure control: scripts/disclosure.py)."""
    values = {
        **participant.attributes,
        "participant_id": participant.id,
        "transcript_id": transcript_id,
    }
    return template.format(**{**values, **{attribute: WITHHELD for attribute in withheld}})


def choose_exemplars(corpus: CodedCorpus, settings: ThemeSettings) -> list[dict[str, Any]]:
    """Up to ``per_code`` quotes per code, spread across participants (see the module docstring)."""
    rows = []
    for k, code in enumerate(corpus.codebook.codes):
        candidates = []
        for index in np.flatnonzero(corpus.labels[:, k]) if len(corpus.segments) else []:
            segment = corpus.segments[int(index)]
            words = len(WORD.findall(segment["text"]))
            candidates.append(
                (segment, words, (segment["segment_id"], code.id) in corpus.exemplars)
            )
        quoted: Counter = Counter()
        chosen: list[tuple[dict, int, bool]] = []
        while candidates and len(chosen) < settings.per_code:

            def preference(candidate):
                segment, words, marked = candidate
                return (
                    not marked,
                    quoted[corpus.participant_of(segment).id],
                    words < settings.min_words,
                    abs(words - settings.ideal_words),
                    segment["segment_id"],
                )

            best = min(candidates, key=preference)
            candidates.remove(best)
            chosen.append(best)
            quoted[corpus.participant_of(best[0]).id] += 1
        for rank, (segment, words, marked) in enumerate(chosen, start=1):
            participant = corpus.participant_of(segment)
            rows.append(
                {
                    "theme_id": code.theme_id,
                    "code_id": code.id,
                    "code_label": code.label,
                    "rank": rank,
                    "segment_id": segment["segment_id"],
                    "participant_id": participant.id,
                    "attribution": attribution(
                        participant, segment["transcript_id"], settings.attribution
                    ),
                    "marked_exemplar": "yes" if marked else "no",
                    "words": words,
                    "text": segment["text"],
                }
            )
    return rows


def quotes_of(
    exemplars: Sequence[dict], corpus: CodedCorpus, settings: ThemeSettings
) -> list[disclosure.Quote]:
    """What the exemplar quotes' attributions say: a participant of these groups voiced this code."""
    shown = [
        name
        for _, name, _, _ in string.Formatter().parse(settings.attribution)
        if name in settings.attributes
    ]
    by_id = {participant.id: participant for participant in corpus.participants.values()}
    return [
        disclosure.Quote(
            row["participant_id"],
            tuple((a, by_id[row["participant_id"]].attributes.get(a, NOT_RECORDED)) for a in shown),
            f"code:{row['code_id']}",
        )
        for row in exemplars
    ]
