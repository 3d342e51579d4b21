"""What replaces an identifier, and one person, one placeholder.

A span of the study list keeps its entry's placeholder (``[PERSON_22]``); a name found by the
patterns or the named-entity layer gets a keyed hash of its surface form (``[PERSON_u1a2b3c]``,
scripts/identifiers.py), so the same name gets the same placeholder in every transcript; a date,
an age, an address, a phone, an email, a URL or an ID gets its bare type (``[DATE]``).

Within a transcript, :func:`consistent_spans` makes the placeholders follow the people rather
than the layers that found them:

* a name found with different types (the model calls "Rashidi" a person in one turn and an
  organisation in the next) gets one type: the one its most trusted finding gives, then the most
  frequent;
* a first name or surname used alone after the full name ("Marcus Bell" ... "Marcus") gets the
  full name's placeholder and type, wherever it is written with its capital, including where no
  layer caught it (at the start of a sentence only if it is not a dictionary word: "Will Smith"
  ... "Will you come?" stays).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Sequence

from scripts.identifiers import TITLES, IdentifierList, hashed_placeholder, surface_key
from scripts.named_entities import is_english
from scripts.spans import LABELS, LAYER_PRECEDENCE, NUMBERED_LABELS, Span

_NAME_WORD = re.compile(r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)*")
_NOT_NAME_PARTS = frozenset("the and of de da dos del van von al el la bin binti".split())


def placeholder_for(span: Span, text: str, identifiers: IdentifierList) -> str:
    if span.placeholder:
        return span.placeholder
    if span.label not in NUMBERED_LABELS:
        return f"[{span.label}]"
    # A merged span that contains a listed name keeps that name's placeholder.
    listed = identifiers.find(text[span.start : span.end])
    if listed:
        return listed[0][2].placeholder
    return hashed_placeholder(identifiers.key, span.label, text[span.start : span.end])


def replace_spans(
    text: str, spans: Sequence[Span], identifiers: IdentifierList
) -> tuple[str, list[tuple[Span, str]]]:
    """The text with each span replaced by its placeholder, and (span, placeholder) pairs."""
    pieces, replaced, cursor = [], [], 0
    for span in spans:
        placeholder = placeholder_for(span, text, identifiers)
        pieces += [text[cursor : span.start], placeholder]
        replaced.append((span, placeholder))
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), replaced


def _name_words(surface: str) -> list[str]:
    """The words of a person's name that can stand alone: capitalised, not a title or a particle."""
    return [
        word
        for word in _NAME_WORD.findall(surface)
        if len(word) >= 3 and word.lower() not in TITLES and word.lower() not in _NOT_NAME_PARTS
    ]


def _one_type_per_name(texts: Sequence[str], spans: list[list[Span]]) -> list[list[Span]]:
    """Every mention of a name (its surface form) gets one type across the transcript."""
    evidence: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for text, turn in zip(texts, spans, strict=True):
        for span in turn:
            if (
                span.label in NUMBERED_LABELS
                and span.layer != "identifiers"
                and not span.placeholder
            ):
                evidence[surface_key(text[span.start : span.end])][span.label].append(
                    LAYER_PRECEDENCE[span.layer]
                )
    chosen = {
        surface: min(
            labels, key=lambda label: (min(labels[label]), -len(labels[label]), LABELS.index(label))
        )
        for surface, labels in evidence.items()
        if len(labels) > 1
    }
    if not chosen:
        return spans
    return [
        [
            replace(span, label=chosen[surface])
            if (
                span.label in NUMBERED_LABELS
                and span.layer != "identifiers"
                and not span.placeholder
                and (surface := surface_key(text[span.start : span.end])) in chosen
            )
            else span
            for span in turn
        ]
        for text, turn in zip(texts, spans, strict=True)
    ]


def consistent_spans(
    texts: Sequence[str],
    spans: Sequence[Sequence[Span]],
    sentence_starts: Sequence[Sequence[int]],
    identifiers: IdentifierList,
    english: frozenset[str] = frozenset(),
) -> list[list[Span]]:
    """Each turn's spans, with one type per name and a name's parts given the full name's
    placeholder (see the module's docstring). ``sentence_starts``: each turn's sentence offsets."""
    spans = _one_type_per_name(texts, [list(turn) for turn in spans])
    # the full names of people, and which full name each of their words belongs to
    owners: dict[str, set[str]] = defaultdict(set)
    for text, turn in zip(texts, spans, strict=True):
        for span in turn:
            if span.label != "PERSON":
                continue
            surface = text[span.start : span.end]
            words = _name_words(surface)
            if len(words) >= 2:
                placeholder = placeholder_for(span, text, identifiers)
                for word in words:
                    if word.lower() not in identifiers.not_identifiers:
                        owners[word].add(placeholder)
    parts = {
        word: next(iter(placeholders))
        for word, placeholders in owners.items()
        if len(placeholders) == 1
    }
    if not parts:
        return spans
    result = []
    pattern = re.compile(
        r"\b(?:"
        + "|".join(re.escape(word) for word in sorted(parts, key=len, reverse=True))
        + r")\b(?!-\w)"
    )
    for text, turn, starts in zip(texts, spans, sentence_starts, strict=True):
        linked = []
        for span in turn:
            words = _name_words(text[span.start : span.end])
            owned = {parts.get(word) for word in words}
            if span.layer != "identifiers" and words and None not in owned and len(owned) == 1:
                linked.append(
                    replace(
                        span,
                        label="PERSON",
                        placeholder=owned.pop(),
                        recogniser=span.recogniser or "same_person",
                    )
                )
            else:
                linked.append(span)
        taken = [(span.start, span.end) for span in linked]
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            if (
                (start == 0 or start in starts)
                and english
                and is_english(match.group().lower(), english)
            ):
                continue
            linked.append(
                Span(start, end, "PERSON", "ner", parts[match.group()], recogniser="same_person")
            )
        result.append(sorted(linked, key=lambda span: span.start))
    return result
