"""Counts of the theme tables: who voiced each theme and code, by participant group
(prevalence, with small-cell suppression), codes by participant, co-occurrence and saturation.

A participant *voiced* a code when at least one of their coded segments carries it, and a theme
when they voiced any of its codes.

Small-cell suppression (``themes.suppress_below``, k): in the tables broken down by participant
attributes, a count of 1 to k-1 participants is shown as ``<k``, and every count of a group with
fewer than k participants too (a zero in a group of two says as much as a one). When a row of a
breakdown would have only one hidden count, it could be worked out from the total, so the next
smallest count of that row is hidden as well and shown as ``x`` (secondary suppression); the
same applies to the group sizes. Shares are not shown where the count or the group size is
hidden. Tables of the whole sample and by participant ID are not suppressed: they do not say
which group anyone belongs to. What to hide is decided over the whole release by
scripts/disclosure.py.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from scripts import disclosure
from scripts.codebook import Codebook
from scripts.coded_corpus import NOT_RECORDED, CodedCorpus, ThemeSettings
from scripts.disclosure import EVERYONE

PREVALENCE_COLUMNS = [
    "level",
    "theme_id",
    "theme_label",
    "code_id",
    "code_label",
    "attribute",
    "group",
    "group_participants",
    "participants",
    "participants_share",
    "segments",
]
SATURATION_COLUMNS = [
    "order",
    "transcript_id",
    "participant_id",
    "interview_date",
    "new_codes",
    "cumulative_codes",
    "new_code_ids",
]


@dataclass
class Cell:
    """One count of a breakdown, before and after suppression."""

    participants: int
    segments: int
    group_size: int
    hidden: str = ""  # "", "<k" or "x" (scripts/disclosure.py)


def _items(codebook: Codebook) -> list[dict[str, str]]:
    """Rows of the prevalence tables in reading order: each theme, then its codes."""
    labels = {code.id: code.label for code in codebook.codes}
    items = []
    for t, theme in enumerate(codebook.themes):
        items.append(
            {
                "level": "theme",
                "index": t,
                "theme_id": theme.id,
                "theme_label": theme.label,
                "code_id": "",
                "code_label": "",
            }
        )
        for code_id in theme.code_ids:
            items.append(
                {
                    "level": "code",
                    "index": codebook.code_ids.index(code_id),
                    "theme_id": theme.id,
                    "theme_label": theme.label,
                    "code_id": code_id,
                    "code_label": labels[code_id],
                }
            )
    return items


def group_sizes(corpus: CodedCorpus, attribute: str) -> dict[str, int]:
    """Participants with coded segments in each group of an attribute (groups sorted)."""
    sizes: Counter = Counter()
    seen = set()
    for row in corpus.segments:
        participant = corpus.participant_of(row)
        if participant.id not in seen:
            seen.add(participant.id)
            sizes[participant.attributes.get(attribute, NOT_RECORDED)] += 1
    return dict(sorted(sizes.items(), key=lambda item: (item[0] == NOT_RECORDED, item[0])))


def _item_key(item: dict) -> str:
    return f"{item['level']}:{item['theme_id'] if item['level'] == 'theme' else item['code_id']}"


def release_counts(
    corpus: CodedCorpus, settings: ThemeSettings
) -> tuple[disclosure.Counts, list[dict]]:
    """The true counts behind the prevalence tables (scripts/disclosure.py), and the rows' items."""
    theme_labels = corpus.theme_labels()
    ids, code_counts, code_present = corpus.presence(corpus.labels)
    _, theme_counts, theme_present = corpus.presence(theme_labels)
    attributes_of = {}
    for row in corpus.segments:
        participant = corpus.participant_of(row)
        attributes_of.setdefault(participant.id, participant.attributes)
    items = _items(corpus.codebook)

    def matrices(item):
        if item["level"] == "theme":
            return theme_counts[:, item["index"]], theme_present[:, item["index"]]
        return code_counts[:, item["index"]], code_present[:, item["index"]]

    groups = {attribute: list(group_sizes(corpus, attribute)) for attribute in settings.attributes}
    sizes = {
        (attribute, group): size
        for attribute in settings.attributes
        for group, size in group_sizes(corpus, attribute).items()
    }
    participants, segments = {}, {}
    everyone = np.ones(len(ids), dtype=bool)
    for item in items:
        counts, present = matrices(item)
        key = _item_key(item)
        for attribute, group, members in [
            (EVERYONE, EVERYONE, everyone),
            *(
                (
                    attribute,
                    group,
                    np.array(
                        [attributes_of[p].get(attribute, NOT_RECORDED) == group for p in ids],
                        dtype=bool,
                    ),
                )
                for attribute in settings.attributes
                for group in groups[attribute]
            ),
        ]:
            participants[(key, attribute, group)] = int(present[members].sum()) if len(ids) else 0
            segments[(key, attribute, group)] = int(counts[members].sum()) if len(ids) else 0
    themes = {
        f"theme:{theme.id}": [f"code:{code_id}" for code_id in theme.code_ids]
        for theme in corpus.codebook.themes
    }
    counts = disclosure.Counts(
        [_item_key(item) for item in items], themes, groups, participants, segments, sizes, len(ids)
    )
    return counts, items


def prevalence(
    corpus: CodedCorpus, settings: ThemeSettings, marks: disclosure.Marks | None = None
) -> list[dict[str, Any]]:
    """The prevalence table (columns :data:`PREVALENCE_COLUMNS`), hidden as ``marks`` say (by
    default the small counts alone, see scripts/disclosure.py: primary_marks)."""
    counts, items = release_counts(corpus, settings)
    if marks is None:
        marks = disclosure.primary_marks(counts, settings.suppress_below)
    rows = []
    for attribute in [EVERYONE, *settings.attributes]:
        groups = [EVERYONE] if attribute == EVERYONE else counts.attributes[attribute]
        for item in items:
            for group in groups:
                key = (_item_key(item), attribute, group)
                size = counts.total if attribute == EVERYONE else counts.sizes[(attribute, group)]
                cell = Cell(
                    counts.participants[key], counts.segments[key], size, marks.cells.get(key, "")
                )
                rows.append(_row(item, attribute, group, cell))
    return rows


def _row(item: dict, attribute: str, group: str, cell: Cell) -> dict[str, Any]:
    share = (
        "" if cell.hidden or cell.group_size == 0 else f"{cell.participants / cell.group_size:.3f}"
    )
    return {
        "level": item["level"],
        "theme_id": item["theme_id"],
        "theme_label": item["theme_label"],
        "code_id": item["code_id"],
        "code_label": item["code_label"],
        "attribute": attribute,
        "group": group,
        "group_participants": cell.group_size,
        "participants": cell.hidden or cell.participants,
        "participants_share": share,
        "segments": cell.hidden or cell.segments,
    }


# ---------------------------------------------------------------------------------------------
# Co-occurrence, code by participant, saturation
# ---------------------------------------------------------------------------------------------


def cooccurrence(corpus: CodedCorpus, by: str) -> list[dict[str, Any]]:
    """Code x code counts of segments (``by="segments"``) or participants where both occur.

    The diagonal holds the code's own count.
    """
    if by == "segments":
        matrix = (
            corpus.labels.T @ corpus.labels
            if len(corpus.segments)
            else np.zeros((len(corpus.code_ids),) * 2, dtype=int)
        )
    else:
        _, _, present = corpus.presence(corpus.labels)
        matrix = present.T @ present
    return [
        {
            "code_id": code_id,
            **{other: int(matrix[i, j]) for j, other in enumerate(corpus.code_ids)},
        }
        for i, code_id in enumerate(corpus.code_ids)
    ]


def code_by_participant(corpus: CodedCorpus) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows: codes (theme_id, code_id, code_label, then one column per participant: segments)."""
    ids, counts, _ = corpus.presence(corpus.labels)
    rows = []
    for k, code in enumerate(corpus.codebook.codes):
        rows.append(
            {
                "theme_id": code.theme_id,
                "code_id": code.id,
                "code_label": code.label,
                **{participant: int(counts[i, k]) for i, participant in enumerate(ids)},
            }
        )
    return rows, ["theme_id", "code_id", "code_label", *ids]


def interview_order(
    transcripts: Sequence[str], participants_rows: Sequence[dict[str, str]], order_by: str
) -> list[str]:
    """Transcripts in the order they were collected: by ``order_by`` (blank values last), then ID.

    Dates sort as text, so they must be written YYYY-MM-DD (ISO 8601).
    """
    if order_by == "transcript_id":
        return sorted(transcripts)
    values = {row["transcript_id"]: row.get(order_by, "") for row in participants_rows}
    return sorted(transcripts, key=lambda t: (not values.get(t, ""), values.get(t, ""), t))


def saturation(
    corpus: CodedCorpus, participants_rows: Sequence[dict[str, str]], order_by: str
) -> list[dict[str, Any]]:
    """New codes per added interview, in collection order, and the cumulative count."""
    codes_of: dict[str, set[str]] = defaultdict(set)
    for row, values in zip(corpus.segments, corpus.labels):
        codes_of[row["transcript_id"]].update(corpus.code_ids[k] for k in np.flatnonzero(values))
    transcripts = sorted({row["transcript_id"] for row in corpus.segments})
    dates = {row["transcript_id"]: row.get("interview_date", "") for row in participants_rows}
    seen: set[str] = set()
    rows = []
    for order, transcript_id in enumerate(
        interview_order(transcripts, participants_rows, order_by), start=1
    ):
        new = [
            code_id
            for code_id in corpus.code_ids
            if code_id in codes_of[transcript_id] and code_id not in seen
        ]
        seen.update(new)
        rows.append(
            {
                "order": order,
                "transcript_id": transcript_id,
                "participant_id": corpus.participants[transcript_id].id,
                "interview_date": dates.get(transcript_id, ""),
                "new_codes": len(new),
                "cumulative_codes": len(seen),
                "new_code_ids": ",".join(new),
            }
        )
    return rows
