"""Codings follow the text: re-anchoring a coding made on an earlier version of a transcript onto
its segments as they are now.

A transcript changes after coding has begun: a name is added to the identifier list (a
placeholder changes), a transcriber corrects a word (spaCy may then cut the sentences
differently, and every later segment ID of the turn shifts). A coding names the segment it was
made on (its ID, and in most files the SHA-1 of its text or the text itself); the workflow keeps
every de-identified segment version it has produced (rule segment, :mod:`scripts.segment`), so the
text a coder saw can be found again and aligned with the text as it is now.

The alignment is a word-level :class:`difflib.SequenceMatcher` over the whole transcript (so a
sentence that occurs twice, "Mm.", is told apart by its place), where a placeholder on either
side matches the words it replaced or the placeholder it became. Each coded segment gets a
status:

``unchanged``  the same segment ID with the same text;
``carried``    the same words under the same ID; only placeholders or spacing changed;
``moved``      the same or nearly the same text (at least ``threshold`` similar) now under
               another segment ID, or a small edit of the same segment;
``split``      the sentence is now two or more segments (each mostly made of it): the coding
               goes to each;
``merged``     the sentence is now part of a longer segment made of it and its neighbours;
``recheck``    nothing close enough: a person must look (the coding is left out until then).

Only ``recheck`` needs a person. Nothing here writes a coder's file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Iterable, Sequence

#: The statuses, in the order a report lists them.
STATUSES = ("unchanged", "carried", "moved", "split", "merged", "recheck")
PLACEHOLDER = re.compile(r"\[[A-Z]+(?:_[0-9A-Za-z]+)?\]")
_TOKEN = re.compile(r"\[[A-Z]+(?:_[0-9A-Za-z]+)?\]|\w+|[^\w\s]")
_PLACEHOLDER_KEY = "\x00placeholder"
#: Shares that decide between a split, a merge and a move (of a coded sentence's words).
_MOSTLY = 0.8
_HALF = 0.5


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    key: str  # the case-folded word, or one key for every placeholder

    @property
    def is_placeholder(self) -> bool:
        return self.key == _PLACEHOLDER_KEY


def tokens(text: str) -> list[Token]:
    """Words, punctuation and placeholders (each one token), with their offsets."""
    found = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        key = _PLACEHOLDER_KEY if PLACEHOLDER.fullmatch(word) else word.casefold()
        found.append(Token(match.start(), match.end(), key))
    return found


def same_words(old: str, new: str) -> bool:
    """The same words in the same order; placeholders, case and spacing aside."""
    return [token.key for token in tokens(old)] == [token.key for token in tokens(new)]


class Alignment:
    """Which token of an old text is which token of the new one (or none).

    Equal stretches map one to one; a stretch where one side is only placeholders maps onto the
    other side (a name that became a placeholder, or a placeholder that changed): the same place
    in the text. Anything else (a word changed, added or removed) maps nowhere.
    """

    def __init__(self, old_text: str, new_text: str):
        self.old = tokens(old_text)
        self.new = tokens(new_text)
        self.to_new: list[int | None] = [None] * len(self.old)
        matcher = SequenceMatcher(
            None, [t.key for t in self.old], [t.key for t in self.new], autojunk=False
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for offset in range(i2 - i1):
                    self.to_new[i1 + offset] = j1 + offset
            elif tag == "replace" and (
                all(t.is_placeholder for t in self.old[i1:i2])
                or all(t.is_placeholder for t in self.new[j1:j2])
            ):
                for offset in range(i2 - i1):
                    self.to_new[i1 + offset] = j1 + min(
                        offset * (j2 - j1) // (i2 - i1), j2 - j1 - 1
                    )
        self._old_starts = [t.start for t in self.old]

    def old_tokens(self, start: int, end: int) -> range:
        """The old tokens inside [start, end)."""
        from bisect import bisect_left

        first = bisect_left(self._old_starts, start)
        last = first
        while last < len(self.old) and self.old[last].end <= end:
            last += 1
        return range(first, last)

    def mapped(self, start: int, end: int) -> tuple[list[int], int]:
        """The new tokens the old tokens in [start, end) became, and how many old tokens there were."""
        inside = self.old_tokens(start, end)
        return [self.to_new[i] for i in inside if self.to_new[i] is not None], len(inside)


@dataclass(frozen=True)
class Anchor:
    """Where a coded segment is now: its status, the current segment IDs the coding goes to, and
    the similarity of the coded text to what it was aligned with (1.0: the same words)."""

    status: str
    segment_ids: tuple[str, ...]
    similarity: float


@dataclass(frozen=True)
class Piece:
    """A segment (or any coded stretch) of a transcript: its ID and text."""

    segment_id: str
    text: str


def _layout(pieces: Sequence[Piece]) -> tuple[str, list[tuple[int, int]]]:
    """The pieces joined by line breaks, and each piece's [start, end) in the joined text."""
    spans, parts, position = [], [], 0
    for piece in pieces:
        spans.append((position, position + len(piece.text)))
        parts.append(piece.text)
        position += len(piece.text) + 1
    return "\n".join(parts), spans


def anchor_segments(
    old: Sequence[Piece], new: Sequence[Piece], threshold: float = 0.6
) -> dict[str, Anchor]:
    """Each old segment's :class:`Anchor` among the new segments of the same transcript.

    ``old``: the segments of the version that was coded, in transcript order (all of them, or
    only those of the coded roles, as a coding sheet holds them); ``new``: the current segments,
    in order. ``threshold``: the least similarity (Dice coefficient over tokens, placeholders
    matching what they replaced) for a changed segment to be followed rather than sent to a person.
    """
    old_text, old_spans = _layout(old)
    new_text, new_spans = _layout(new)
    alignment = Alignment(old_text, new_text)
    segment_of_token = _owners(alignment.new, new_spans)
    sizes = Counter(owner for owner in segment_of_token if owner is not None)
    current = {piece.segment_id: piece.text for piece in new}
    where: list[
        tuple[Counter, int]
    ] = []  # per old piece: new piece -> its tokens there; its token count
    sources: dict[int, Counter] = {}  # per new piece: old piece -> tokens from it
    for number, (start, end) in enumerate(old_spans):
        mapped, total = alignment.mapped(start, end)
        counts = Counter(
            segment_of_token[index] for index in mapped if segment_of_token[index] is not None
        )
        where.append((counts, total))
        for index, count in counts.items():
            sources.setdefault(index, Counter())[number] += count
    anchors: dict[str, Anchor] = {}
    for number, piece in enumerate(old):
        if current.get(piece.segment_id) == piece.text:
            anchors[piece.segment_id] = Anchor("unchanged", (piece.segment_id,), 1.0)
            continue
        counts, total = where[number]
        merged_with = (
            [
                other
                for other, count in sources.get(max(counts, key=counts.get), Counter()).items()
                if other != number and count >= _HALF * max(1, where[other][1])
            ]
            if counts
            else []
        )
        anchors[piece.segment_id] = _decide(
            piece, counts, total, new, sizes, bool(merged_with), threshold
        )
    return anchors


def _owners(found: Sequence[Token], spans: Sequence[tuple[int, int]]) -> list[int | None]:
    """The piece each token is in."""
    owners: list[int | None] = []
    piece = 0
    for token in found:
        while piece < len(spans) and spans[piece][1] <= token.start:
            piece += 1
        owners.append(piece if piece < len(spans) and spans[piece][0] <= token.start else None)
    return owners


def _decide(
    piece: Piece,
    counts: Counter,
    total: int,
    new: Sequence[Piece],
    new_sizes: Counter,
    merged: bool,
    threshold: float,
) -> Anchor:
    """The status of one coded segment from where its tokens went (counts: new piece → tokens;
    merged: the segment most of them went to is also made of another old segment)."""
    mapped = sum(counts.values())
    if not total or not mapped:
        return Anchor("recheck", (), 0.0)
    best, found = max(counts.items(), key=lambda item: (item[1], -item[0]))
    target = new[best]
    dice = round(2 * found / (total + new_sizes[best]), 3) if new_sizes[best] else 0.0
    if found >= _MOSTLY * mapped:  # (nearly) all of it is in one segment now
        if dice >= 1.0 or (same_words(piece.text, target.text) and found == total):
            status = "carried" if target.segment_id == piece.segment_id else "moved"
            return Anchor(status, (target.segment_id,), 1.0)
        if merged and found >= _MOSTLY * total:
            # all of it, in a segment also made of a neighbour: the sentences were joined
            return Anchor("merged", (target.segment_id,), round(found / total, 3))
        if dice >= threshold:
            return Anchor("moved", (target.segment_id,), dice)
        return Anchor("recheck", (), dice)
    # spread over several segments: a split if each is mostly made of it and it is all there
    parts = sorted(
        index
        for index, count in counts.items()
        if count >= _HALF * new_sizes[index] and new_sizes[index]
    )
    if parts and sum(counts[index] for index in parts) >= _MOSTLY * total:
        return Anchor(
            "split", tuple(new[index].segment_id for index in parts), round(mapped / total, 3)
        )
    return Anchor("recheck", (), round(found / total, 3))


def text_now(segment_id: str, anchor: Anchor, current: dict[str, str]) -> str:
    """The text a coded segment is compared with now (its targets', or its own ID's)."""
    if anchor.segment_ids:
        return " ".join(current[segment] for segment in anchor.segment_ids if segment in current)
    return current.get(segment_id, "")


def map_selection(
    old_text: str, new_text: str, start: int, end: int
) -> tuple[int, int, float] | None:
    """Where a selection [start, end) of an old text is in the new text: (start, end, similarity),
    the similarity being the share of its tokens found again; None if nothing of it is."""
    alignment = Alignment(old_text, new_text)
    mapped, total = alignment.mapped(start, end)
    if not mapped or not total:
        return None
    first, last = alignment.new[min(mapped)], alignment.new[max(mapped)]
    return first.start, last.end, round(len(mapped) / total, 3)


def counts_by_status(statuses: Iterable[str]) -> dict[str, int]:
    counted = Counter(statuses)
    return {status: counted.get(status, 0) for status in STATUSES}
