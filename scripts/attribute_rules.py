"""The model's attribute ruler, matched faster: the same rules, the same matches.

spaCy's ``attribute_ruler`` (in en_core_web_sm: 179 rules mapping a token's tag, word and
dependency label to its part of speech, morphology and lemma) runs its rules through spaCy's
general ``Matcher``, which costs about 18% of the whole parse (1.8 s of 10 s on 2,200 turns),
more than the tagger and the parser together. Nearly every rule is one token tested for equality
or membership (``{"TAG": "NNS"}``, ``{"LOWER": "ai", "TAG": {"IN": ["VBP", "VBZ"]}}``): those are
looked up here in a table indexed by tag and word; the few others (two tokens, ``REGEX``,
``NOT_IN``) stay with a ``Matcher`` of their own. The matches are handed to the ruler's own
``set_annotations``, sorted as the ruler sorts them, so the result is the ruler's, attribute for
attribute (tests/unit/test_attribute_rules.py compares every token of the demo corpus; nothing
here changes what a parse gives, only how long it takes).

Written by hand because no library indexes Matcher rules by their values; spaCy's
``PhraseMatcher`` matches one attribute only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

#: Token attributes a rule may test here, with how a token's value is read from the doc's arrays.
_SIMPLE_KEYS = ("TAG", "LOWER", "DEP", "IS_SPACE")


def _token_test(token_pattern: dict, regex: bool = False) -> dict[str, tuple[str, Any]] | None:
    """{attribute: (how, what)} for a one-token test: ``("in", values)`` for equality or
    membership, ``("not in", values)``, and with ``regex`` ``("regex", pattern)``; None for
    anything else (an operator, another attribute)."""
    import re

    tests = {}
    for key, value in token_pattern.items():
        if key not in _SIMPLE_KEYS:
            return None
        if isinstance(value, (str, bool)):
            tests[key] = ("in", frozenset([value]))
        elif isinstance(value, dict) and set(value) == {"IN"}:
            tests[key] = ("in", frozenset(value["IN"]))
        elif isinstance(value, dict) and set(value) == {"NOT_IN"}:
            tests[key] = ("not in", frozenset(value["NOT_IN"]))
        elif regex and isinstance(value, dict) and set(value) == {"REGEX"}:
            tests[key] = ("regex", re.compile(value["REGEX"]))
        else:
            return None
    return tests


def _passes(values: dict[str, Any], tests: dict[str, tuple[str, Any]]) -> bool:
    for name, (how, what) in tests.items():
        value = values[name]
        if how == "in" and value not in what or how == "not in" and value in what:
            return False
        if how == "regex" and not (isinstance(value, str) and what.search(value)):
            return False
    return True


class IndexedRules:
    """The rules of one attribute ruler, split into indexed one-token tests and a residual
    Matcher; :meth:`match` returns what ``AttributeRuler.match`` returns."""

    def __init__(self, ruler: Any):
        from spacy.matcher import Matcher

        self.vocab = ruler.vocab
        self.residual = Matcher(ruler.vocab, validate=False)
        self.by_tag: dict[str, list[tuple[int, dict]]] = defaultdict(
            list
        )  # rules testing a tag, by tag
        self.by_lower: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        self.other: list[tuple[int, dict]] = []
        self.triggers: list[
            dict[str, tuple[str, Any]] | None
        ] = []  # first-token tests of the residual rules
        for key, entry in enumerate(ruler.patterns):
            residual = []
            for alternative in entry["patterns"]:
                tests = _token_test(alternative[0]) if len(alternative) == 1 else None
                if tests is None:
                    residual.append(alternative)
                    self.triggers.append(_token_test(alternative[0], regex=True))
                elif "TAG" in tests and tests["TAG"][0] == "in":
                    for tag in tests["TAG"][1]:
                        self.by_tag[tag].append((key, tests))
                elif "LOWER" in tests and tests["LOWER"][0] == "in":
                    for lower in tests["LOWER"][1]:
                        self.by_lower[lower].append((key, tests))
                else:
                    self.other.append((key, tests))
            if residual:
                self.residual.add(str(key), residual)
        self.match_ids = [self.vocab.strings.add(str(key)) for key in range(len(ruler.patterns))]
        self._hits_of: dict[tuple[int, int, int, int], tuple[tuple[int, int], ...]] = {}

    def _hits(
        self, row: tuple[int, int, int, int], strings
    ) -> tuple[bool, tuple[tuple[int, int], ...]]:
        """Whether a token with these array values may start a residual rule, and (rule, match
        ID) of the one-token rules it matches."""
        tag, lower, dependency, space = row
        values = {
            "TAG": strings[tag] if tag else "",
            "LOWER": strings[lower] if lower else "",
            "DEP": strings[dependency] if dependency else "",
            "IS_SPACE": bool(space),
        }
        candidates = (
            self.by_tag.get(values["TAG"], []) + self.by_lower.get(values["LOWER"], []) + self.other
        )
        keys = sorted({key for key, tests in candidates if _passes(values, tests)})
        starts = any(tests is None or _passes(values, tests) for tests in self.triggers)
        return starts, tuple((key, self.match_ids[key]) for key in keys)

    def match(self, doc) -> list[tuple[int, int, int, int]]:
        """(rule, match ID, start, end) of every match, sorted as ``AttributeRuler.match`` sorts."""
        from spacy.attrs import DEP, IS_SPACE, LOWER, TAG

        strings = doc.vocab.strings
        found = []
        hits_of = self._hits_of
        residual = False
        # a token's matches depend on its four values alone: worked out once per distinct four
        for position, row in enumerate(
            map(tuple, doc.to_array([TAG, LOWER, DEP, IS_SPACE]).tolist())
        ):
            known = hits_of.get(row)
            if known is None:
                if len(hits_of) > 500_000:
                    hits_of.clear()
                known = hits_of[row] = self._hits(row, strings)
            residual = residual or known[0]
            for key, match_id in known[1]:
                found.append((key, match_id, position, position + 1))
        if residual:  # the other rules only where one of them can start
            for match_id, start, end in self.residual(doc, allow_missing=True, as_spans=False):
                found.append((int(strings[match_id]), match_id, start, end))
        return sorted(set(found))


def use_indexed_rules(nlp) -> None:
    """Let the pipeline's attribute ruler match through :class:`IndexedRules` (if it has one)."""
    if "attribute_ruler" not in nlp.pipe_names:
        return
    ruler = nlp.get_pipe("attribute_ruler")
    ruler.match = IndexedRules(ruler).match
