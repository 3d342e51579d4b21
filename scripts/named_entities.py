"""Layer 3 of de-identification: the spaCy parse's named entities, and the names it passed over.

Three recognisers read one parsed text (a spaCy ``Doc``, fresh or from the private parse cache):

* ``named_entity``: the model's entities of the configured labels (PERSON, GPE, LOC, FAC, ORG,
  DATE), cleaned: titles and roles before a name are not part of it ("District Judge [Harcourt]"),
  a year alone, a month alone or a duration is not a date, "52-year-old" is an age;
* ``proper_noun``: capitalised words the tagger calls proper nouns that the model did not take
  for an entity (it misses names it has not seen: Tumaini, Anjali, Manguinhos);
* ``lower_case_name``: names typed in lower case after a word that introduces a person.

Each candidate then passes the same tests of what identifies no one, so that precision is kept
as carefully as recall: the study's ``not_identifiers`` (and the configured public institutions)
always win, inside a longer span too; a capitalised phrase of dictionary words whose head noun
names a role, an office, a public service or a document ("the Magistrate", "Board of Health",
"Housing Benefit", "Discharge Summary") stays; so do school years ("Form Three"), interjections
("Nah"), vehicle models ("Toyota Noah") and US state abbreviations.
"""

from __future__ import annotations

import re
from typing import Sequence

from scripts.identifiers import TITLES
from scripts.recognisers import MONTH, NUMERIC_DATE
from scripts.spans import NUMBERED_LABELS, Span
from scripts.word_lists import (
    DOCUMENT_NOUNS,
    INSTITUTION_NOUNS,
    INTERJECTIONS,
    JOINING_WORDS,
    NUMBER_WORDS,
    ROLE_NOUNS,
    SEQUENCE_NOUNS,
    US_STATES,
    VEHICLE_MAKES,
)

_PRONOUNS = frozenset(
    "i me my he him his she her they them their we us our you your it its".split()
)
_ARTICLES = frozenset("the a an my our his her their your this that".split())
#: Words before a name that are not part of it: titles and forms of address; before a person's
#: name, ranks and offices too ("District Judge [Harcourt]").
_TITLES = TITLES | frozenset(
    "dear hon hon. honorable honourable rev rev. reverend dona dom seu senhor senhora sr sr. sra sra.".split()
)
_BEFORE_NAMES = _TITLES | ROLE_NOUNS
_NOT_NAMES = frozenset(
    "I The A An And But So Then He She They We You It This That There Here What When Where Who Why How "
    "Yes No Okay Ok Well Because If Or Now Just Also Every Some Any One Two My Our Your His Her Their "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday God Allah Jesus".split()
)
_CALENDAR_WORD = re.compile(
    rf"{MONTH}|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days?|Christmas|Easter|Ramadan|Eid"
)
_DURATION = re.compile(
    r"(?i)^(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+(?:years?|months?|weeks?|days?)\b"
)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_DAY_NUMBER = re.compile(r"\b(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\b")
_MONTH_WORD = re.compile(rf"\b{MONTH}\b")
_AGE_AS_DATE = re.compile(r"(?i)^(\d{1,3})[- ]years?[- ]old$")
#: A number alone the model calls a date is an age ("two men, aged 32 and 47").
_BARE_AGE = re.compile(r"^([1-9]\d?|1[01]\d)$")
#: Words that join two dates into a range: each date is its own span.
_DATE_RANGE_WORDS = frozenset("to until till through and - –".split())
#: Lower-case prepositions inside an entity that join two things ("Lulu at Kigogo Women's Network").
_SPLIT_WORDS = frozenset("at on in from with near by".split())
#: Tags of words a name does not start with ("Outside Lucky Star Barbershop", "Tell Anjali"):
#: prepositions, adverbs, determiners, pronouns, conjunctions, interjections, verbs.
_NOT_IN_NAMES = frozenset(
    "IN RB RBR RBS DT PDT PRP PRP$ CC UH MD VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB RP TO EX".split()
)
#: Entity types of the model that are never names (the proper-noun recogniser may still look at
#: a word the model gave another type, such as PRODUCT for "Sinza").
_NEVER_NAMES = frozenset("NORP LANGUAGE CARDINAL ORDINAL QUANTITY MONEY PERCENT TIME DATE".split())
_NAME_CONTEXT_BEFORE = frozenset("called told texted asked met saw with named is".split())
_PERSON_BEFORE_AND = frozenset("me i him her you us".split())


def is_english(word: str, english: frozenset[str]) -> bool:
    """In the dictionary, or a regular inflection of a word in it (loans, sores, hustling)."""
    if word in english:
        return True
    for suffix, replacements in (
        ("ies", ("y",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ing", ("", "e")),
        ("ed", ("", "e")),
        ("er", ("", "e")),
        ("ers", ("", "e")),
    ):
        if word.endswith(suffix) and any(
            word[: -len(suffix)] + ending in english for ending in replacements
        ):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# What identifies no one


def listed_terms(words: Sequence[str], terms: frozenset[str]) -> set[int]:
    """Positions of the words that belong to a listed term (``not_identifiers``, public
    institutions; compared in lower case, a plural -s allowed: "MetroCards" for "MetroCard")."""
    lower = [word.lower() for word in words]
    singular = [word[:-1] if word.endswith("s") and len(word) > 3 else word for word in lower]
    found: set[int] = set()
    longest = max((term.count(" ") + 1 for term in terms), default=0)
    for start in range(len(lower)):
        for length in range(min(longest, len(lower) - start), 0, -1):
            if (
                length == 1
                and len(lower[start]) <= 3
                and sum(character.isupper() for character in words[start]) < 2
            ):
                continue  # a short term is an acronym: "WHO", "ART", "NA", not "Who", "art", "na"
            if {
                " ".join(lower[start : start + length]),
                " ".join(
                    lower[start : start + length - 1]
                    + singular[start + length - 1 : start + length]
                ),
            } & terms:
                found.update(range(start, start + length))
                break
    return found


def names_no_one(words: Sequence[str], label: str, english: frozenset[str]) -> bool:
    """Whether a capitalised phrase names a role, an office, a public service, a document, a
    school year or a vehicle rather than a person, an organisation or a place.

    Only a phrase all of whose words are in the dictionary counts (any word that is not, such as
    "Mwananyamala" or "Kirkgate", makes it a name); its head noun (the word before "of", else
    the last) decides.
    """
    lower = [word.lower().rstrip(".") for word in words]
    content = [word for word in lower if word not in JOINING_WORDS and word]
    if not content:
        return True
    if (len(content) == 1 and content[0] in INTERJECTIONS) or all(
        word in _BEFORE_NAMES for word in content
    ):
        return True  # "Nah", "Hon.", "Sir": no name in it
    if content[0] in VEHICLE_MAKES:
        return True
    if (
        content[0] in SEQUENCE_NOUNS
        and len(content) > 1
        and all(word.isdigit() or word in NUMBER_WORDS for word in content[1:])
    ):
        return True
    heads = (
        INSTITUTION_NOUNS if label == "PLACE" else ROLE_NOUNS | INSTITUTION_NOUNS | DOCUMENT_NOUNS
    )
    if len(content) == 1 and content[0] in heads:
        return True  # "Ref.", "Probation", "the Judge"
    if not english or not all(is_english(word, english) for word in content):
        return False
    head = lower[lower.index("of") - 1] if "of" in lower[1:] else content[-1]
    return head in heads


def identifying_date(text: str) -> bool:
    """A date that identifies: with a year, a numeric date, or a day with its month ("March 5").
    A month alone, a weekday, "week 12" or "between January and June" do not."""
    if NUMERIC_DATE.search(text) or re.search(r"\b\d{4}-\d{2}-\d{2}\b", text):
        return True
    if _YEAR.search(text) and not re.fullmatch(r"(?:the\s+)?(?:19|20)\d{2}s?", text):
        return True
    return bool(_MONTH_WORD.search(text) and _DAY_NUMBER.search(_MONTH_WORD.sub(" ", text)))


# ---------------------------------------------------------------------------------------------
# Cleaning a candidate: the stretch of tokens that is the name, or nothing


def _without_words_before_name(tokens: list, english: frozenset[str], label: str) -> list:
    """Drop articles, and titles (before a person's name, ranks and offices too) with the
    dictionary words before them ("the Honorable Judge", "Dear Probation Officer"), where a name
    follows them."""
    while tokens and (tokens[0].lower_ in _ARTICLES or tokens[0].tag_ in _NOT_IN_NAMES):
        tokens = tokens[1:]
    before = _BEFORE_NAMES if label == "PERSON" else _TITLES
    last = max((k for k, token in enumerate(tokens[:-1]) if token.lower_ in before), default=-1)
    if last >= 0 and all(
        token.lower_ in before or not english or is_english(token.lower_.rstrip("."), english)
        for token in tokens[:last]
    ):
        tokens = tokens[last + 1 :]
    while tokens and tokens[0].text in (".", ",", ":"):
        tokens = tokens[1:]
    while tokens and tokens[-1].lower_ in ("'s", "'", "s", ",", "."):
        tokens = tokens[:-1]
    return tokens


def _pieces(tokens: list, terms: frozenset[str], label: str) -> tuple[list[list], bool]:
    """The stretches of a candidate left once listed terms and joining prepositions (for a date,
    the words of a range) are taken out, and whether a listed term was."""
    listed = listed_terms([token.text for token in tokens], terms) if terms else set()
    splits = _SPLIT_WORDS | _DATE_RANGE_WORDS if label == "DATE" else _SPLIT_WORDS
    pieces, piece = [], []
    for k, token in enumerate(tokens):
        if k in listed or ((token.is_lower or not token.is_alpha) and token.lower_ in splits):
            if piece:
                pieces.append(piece)
            piece = []
        else:
            piece.append(token)
    if piece:
        pieces.append(piece)
    return pieces, bool(listed)


def _kept(
    doc, tokens: list, label: str, not_identifiers: frozenset[str], english: frozenset[str]
) -> bool:
    text = doc[tokens[0].i : tokens[-1].i + 1].text  # (not doc.text, which joins every token)
    words = [token.text for token in tokens]
    if all(word.lower() in _PRONOUNS for word in words) or not any(
        character.isalnum() for character in text
    ):
        return False
    if label in NUMBERED_LABELS and not any(character.isupper() for character in text):
        return False  # "junkie", "meth", "mosques": names are written with capitals
    if (
        len(words) <= 2
        and words[0] in US_STATES - {"LA", "DC"}
        and all(word.isdigit() or word == "," for word in words[1:])
    ):
        return False  # "NY", "NY 10451" (the ZIP code is the address recogniser's)
    before = doc[tokens[0].i - 1].lower_ if tokens[0].i > 0 else ""
    if before in VEHICLE_MAKES:
        return False  # "a grey Toyota Noah"
    return label == "DATE" or not names_no_one(words, label, english)


def _cleaned(
    doc,
    tokens: list,
    label: str,
    not_identifiers: frozenset[str],
    english: frozenset[str],
    recogniser: str,
) -> list[Span]:
    tokens = _without_words_before_name(list(tokens), english, label)
    pieces, split = _pieces(tokens, not_identifiers, label)
    spans = []
    for piece in pieces:
        piece = _without_words_before_name(piece, english, label)
        if not piece or not _kept(doc, piece, label, not_identifiers, english):
            continue
        if (
            split
            and label != "DATE"
            and english
            and all(is_english(token.lower_, english) or not token.is_alpha for token in piece)
        ):
            continue  # "the HIV Clinic": the listed term was what the model saw; "Clinic" names no one
        start, end = piece[0].idx, piece[-1].idx + len(piece[-1].text)
        text = doc[piece[0].i : piece[-1].i + 1].text
        if label == "DATE":
            age = _AGE_AS_DATE.match(text) or _BARE_AGE.match(text)
            if age:
                spans.append(
                    Span(start, start + len(age.group(1)), "AGE", "ner", recogniser=recogniser)
                )
                continue
            if _DURATION.match(text) or not identifying_date(text):
                continue
        spans.append(Span(start, end, label, "ner", recogniser=recogniser))
    return spans


def _with_capitals_after(doc, tokens: list) -> list:
    """An entity in capitals runs on over the capitalised words after it ("DAR ES" + "SALAAM")."""
    if not all(token.is_upper and token.is_alpha for token in tokens):
        return tokens
    end = tokens[-1].i + 1
    while (
        end < len(doc)
        and doc[end].is_upper
        and doc[end].is_alpha
        and len(doc[end]) > 1
        and not doc[end].ent_type_
    ):
        end += 1
    return list(doc[tokens[0].i : end])


# ---------------------------------------------------------------------------------------------
# The recognisers


def find_ner_spans(
    doc,
    ner_labels: dict[str, str],
    not_identifiers: frozenset[str],
    english: frozenset[str] = frozenset(),
) -> list[Span]:
    """Every recogniser of this layer over one parsed text."""
    spans = []
    for entity in doc.ents:
        label = ner_labels.get(entity.label_)
        if label is None:
            continue
        spans += _cleaned(
            doc,
            _with_capitals_after(doc, list(entity)),
            label,
            not_identifiers,
            english,
            "named_entity",
        )
    return spans + find_proper_noun_spans(doc, ner_labels, not_identifiers, english)


def find_proper_noun_spans(
    doc,
    ner_labels: dict[str, str],
    not_identifiers: frozenset[str],
    english: frozenset[str] = frozenset(),
) -> list[Span]:
    """Capitalised proper nouns the entity recogniser passed over, as PERSON.

    Acronyms, titles, weekdays, months and the not_identifiers list are left alone. At the start
    of a sentence, where every word is capitalised ("Stigma, that is the problem"), only words
    that are not in the English dictionary count ("Maritza used to cook").
    """
    if not doc.has_annotation("TAG"):
        return []
    spans, run = [], []
    # only tokens tagged as proper nouns can be candidates; a gap between two ends a run (None)
    tokens: list = []
    for position in _tagged(doc, ("NNP", "NNPS")):
        if tokens and tokens[-1].i != position - 1:
            tokens.append(None)
        tokens.append(doc[position])
    for token in [*tokens, None]:
        candidate = (
            token is not None
            and (
                not token.ent_type_
                or (token.ent_type_ not in ner_labels and token.ent_type_ not in _NEVER_NAMES)
                or (token.ent_type_ == "NORP" and english and not is_english(token.lower_, english))
            )
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
            spans += _cleaned(doc, run, "PERSON", not_identifiers, english, "proper_noun")
            run = []
    return spans + find_lower_case_names(doc, not_identifiers, english)


def _tagged(doc, tags: tuple[str, ...]) -> list[int]:
    """Positions of the tokens with one of ``tags`` (from the doc's arrays, no Token objects)."""
    from spacy.attrs import TAG

    wanted = {doc.vocab.strings[tag] for tag in tags}
    return [position for position, tag in enumerate(doc.to_array(TAG).tolist()) if tag in wanted]


def find_lower_case_names(
    doc, not_identifiers: frozenset[str], english: frozenset[str]
) -> list[Span]:
    """Names typed in lower case ("i called marcus", "me and tariq"), or capitalised but not
    tagged as proper nouns ("Anjali and I"), as PERSON.

    Only a word that is not in the English dictionary, tagged as a noun or an adjective, right
    after a word that introduces a person (called, told, met, "me and", "name is"), or right
    before "and i".
    """
    if not english or not doc.has_annotation("TAG"):
        return []
    spans = []
    for position in _tagged(doc, ("NN", "NNP", "NNS", "JJ", "FW")):
        token = doc[position]
        written = token.is_lower or (
            token.is_title and token.tag_ != "NNP" and not token.ent_type_
        )  # NNP: proper_noun's
        if not (
            written
            and token.is_alpha
            and len(token.text) >= 3
            and token.tag_ in ("NN", "NNP", "NNS", "JJ", "FW")
        ):
            continue
        if (
            is_english(token.lower_, english)
            or token.lower_ in not_identifiers
            or token.lower_ in TITLES
        ):
            continue
        before = doc[token.i - 1].lower_ if token.i > 0 else ""
        two_before = doc[token.i - 2].lower_ if token.i > 1 else ""
        after = doc[token.i + 1 : token.i + 3].text.lower() if token.i + 1 < len(doc) else ""
        if (
            before in _NAME_CONTEXT_BEFORE
            or (before == "and" and two_before in _PERSON_BEFORE_AND)
            or after.startswith("and i")
        ):
            spans.append(
                Span(
                    token.idx,
                    token.idx + len(token.text),
                    "PERSON",
                    "ner",
                    recogniser="name_in_context",
                )
            )
    return spans
