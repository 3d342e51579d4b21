"""An identifier found in a text: its place, its type, and what found it.

Shared by the three layers of de-identification (the study list, scripts/identifiers.py; the
pattern recognisers, scripts/recognisers.py; the named-entity layer, scripts/named_entities.py)
and by scripts/deidentify.py, which merges what they find and replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The placeholder types, in the order the audit and the configuration list them.
LABELS = (
    "PERSON",
    "PLACE",
    "ORG",
    "ADDRESS",
    "DATE",
    "AGE",
    "PHONE",
    "EMAIL",
    "ID",
    "URL",
    "OTHER",
)
#: Types whose placeholders are numbered (a coder can tell two people apart); the others are
#: bare: ``[DATE]``, ``[ADDRESS]``.
NUMBERED_LABELS = ("PERSON", "PLACE", "ORG", "OTHER")
#: Which layer says what an identifier is when two find it (lower is more trusted).
LAYER_PRECEDENCE = {"identifiers": 0, "patterns": 1, "ner": 2}


@dataclass(frozen=True)
class Span:
    """A stretch of text to replace: [start, end) character offsets.

    ``recogniser`` names the rule that found it (a pattern recogniser's name, or the part of the
    named-entity layer), for the audit; ``priority`` breaks ties between two recognisers of one
    layer that find the same stretch (a number after "NHS number" is an ID, not a phone).
    """

    start: int
    end: int
    label: str
    layer: str
    placeholder: str = ""
    recogniser: str = ""
    priority: int = 0
