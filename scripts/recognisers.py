"""Layer 2 of de-identification: pattern recognisers, each with a name the audit reports.

A recogniser is a regular expression, the group of it that is replaced, the type it gives, and a
check that can turn a match down (a phone number needs 7 to 15 digits; "I am 58" is not an age
when the sentence is about kilograms). Like Presidio's pattern recognisers, a recogniser that
reads its context (a number after "member number") wins over one that reads the shape alone
(the same digits as a phone number) when both find the same stretch.

Regular expressions written here, not a library's: the identifiers of speech ("on 180th", "my
member number is XJH 4471 0923", "born in '86") are not what Presidio's or spaCy's recognisers
look for, and each recogniser stays a few readable lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from scripts.identifiers import TITLES
from scripts.spans import Span
from scripts.word_lists import US_STATES

# ---------------------------------------------------------------------------------------------
# Building blocks

MONTH = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?|May)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_NOT_AGE_UNIT = (
    r"(?!\s*(?:%|percent|per\b|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?(?!\s*old)|am\b|pm\b|a\.m|p\.m|"
    r"o'clock|dollars?|bucks|shillings?|tsh|mg|milligrams?|ml|times|kg|kilos?|kilograms?|pounds?|lbs?|stone|tablets?|pills?|doses?|"
    r"bags?|people|kids|children|of\b|or\b|to\b|-\s*\d|:\d|\.\d|,\d))"
)
#: Street types after a house number ("12 Elm Court", "1540 Grand Concourse").
_STREET_AFTER_NUMBER = (
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Place|Pl\.?|Way|Court|Ct\.?|"
    r"Terrace|Parkway|Pkwy\.?|Highway|Hwy\.?|Concourse|Plaza|Square|Crescent|Close|Row|Circle|Expressway|Mtaa)"
)
#: Street types that name a street without a number ("Uhuru Street"): not "Court" (the High
#: Court), "Place" or "Way", which name other things more often than streets.
_STREET_NAMED = r"(?:Street|St\.|Avenue|Ave\.|Road|Rd\.|Boulevard|Blvd\.|Lane|Drive|Terrace|Parkway|Highway|Crescent|Mtaa)"
_DIRECTION = r"(?:(?:East|West|North|South|E\.|W\.|N\.|S\.)\s+)"
_ORDINAL = r"\d{1,3}(?:st|nd|rd|th)"
_UNIT = r"(?:(?i:Apt\.?|Apartment|Flat|Unit|Suite|Room|Rm\.?)\s+#?[A-Z0-9]{1,5},?\s+)"
_TITLE_WORDS = r"(?:Dr\.?|Doctor|Mr\.?|Mrs\.?|Ms\.?|Miss|Sister|Brother|Nurse|Mama|Baba|Bibi|Auntie|Aunty|Uncle|Pastor|Father|Officer|Sheikh|Mzee|Professor|Prof\.?)"
_RELATION_WORDS = (
    r"(?:friend|cousin|brother|sister|boyfriend|girlfriend|wife|husband|son|daughter|mother|father|mom|mum|dad|"
    r"uncle|aunt|auntie|neighbou?r|partner|niece|nephew|grandmother|grandma|grandfather|grandson|granddaughter|counsell?or|"
    r"case ?manager|navigator|sponsor|landlord|boss)"
)
_NAME = r"[A-Z][a-z]+(?:'[A-Z][a-z]+|-[A-Z]?[a-z]+)?"
#: A capitalised word in any Latin script ("Gusmões", "Ramón").
_WORD = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+"
_TENS = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_NUMBER_WORD_AGE = (
    rf"(?:{_TENS}(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|"
    r"ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
#: A year said aloud: "nineteen eighty-one", "twenty oh five".
_SPOKEN_YEAR = (
    rf"(?:nineteen|twenty)[- ](?:hundred|oh[- ](?:one|two|three|four|five|six|seven|eight|nine)|"
    rf"{_TENS}(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_AGE_SUBJECT = r"(?:I|he|she|they|we|you|my (?:son|daughter|boy|girl|baby|kid|child|brother|sister|mother|father|mom|mum|dad))"
_BUSINESS = r"(?:Bar|Barbershop|Salon|Shop|Store|Pub|Grocery|Spirits|Restaurant|Cafe|Hotel|Lodge|Kiosk|Bodega|Deli|Liquors?|Wines|Lounge|Club|Carwash)"
_SPOKEN_DIGIT = (
    r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double\s+\w+|triple\s+\w+)"
)
#: Words after which a number said aloud is a record, member or account number.
_RECORD_WORD = (
    r"(?i:\b(?:MRN|NHS|NI|SSN|NYSID|CPF|ID|IDs|card|record|file|case|chart|registration|reg\.?|"
    r"account|policy|member|client|patient|folio|insurance|Medicaid|Medicare))"
)
#: "number" alone: a phone number as often as a record number (the phone recogniser wins a tie).
_ID_KEYWORD = rf"(?:{_RECORD_WORD}|(?i:\b(?:number|no\.?|num)|#))"
_ID_LINK = r"(?:[\s,]+(?:(?i:number|no\.?|num|#|ID|is|was|it's|its)))*\s*[:#,]?\s*"

NUMERIC_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b")
_DATE_EXPRESSION = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})|{_DAY}\s+(?:of\s+)?{MONTH},?\s+{_YEAR}|"
    rf"{MONTH}\s+(?:the\s+)?{_DAY},?\s+{_YEAR}|{MONTH},?\s+{_YEAR}|{_YEAR}|'\d{{2}}|(?i:{_SPOKEN_YEAR}))"
)

# ---------------------------------------------------------------------------------------------
# Checks: a match a recogniser turns down

_PERSON_NOT_NAMES = frozenset(
    "I The A An And But So Then He She They We You It This That There Here What When Where Who Why How "
    "Yes No Okay Ok Well Because If Or Now Just Also Every Some Any One Two My Our Your His Her Their "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday God Allah Jesus".split()
)
#: Words near a number that make it a weight, a dose or a price, not an age ("I lost weight, now I
#: am 58"; "they put me up to 90").
_NOT_AGE_CONTEXT = re.compile(
    r"(?i)\b(?:weigh\w*|kilos?|kilograms?|kgs?|pounds?|lbs?|dose\w*|dosage|mg|milligrams?|mls?|price\w*|cost\w*|"
    r"dollars?|shillings?|bucks|cents?|rent|paid|pay|payment|up to|down to|score|count|CD4|viral load)\b|\$"
)


def _phone_digits(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    return 7 <= sum(
        character.isdigit() for character in value
    ) <= 15 and not NUMERIC_DATE.fullmatch(value)


def _a_name(text: str, start: int, end: int) -> bool:
    first = text[start:end].split()[0]
    return first not in _PERSON_NOT_NAMES and first.rstrip(".").lower() not in TITLES


def _an_age(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if value.isdigit() and not 0 < int(value) < 120:
        return False
    return not _NOT_AGE_CONTEXT.search(text[max(0, start - 60) : start])


_PHONE_WORDS = re.compile(
    r"(?i)\b(?:phone|mobile|cell|telephone|tel|contact|whatsapp|call|text|reach)\b"
)


def _not_after_a_phone_word(text: str, start: int, end: int) -> bool:
    """Not a number a phone word introduces ("my phone number is ...": a phone number)."""
    return not _PHONE_WORDS.search(text[max(0, start - 30) : start])


def _an_id_said_aloud(text: str, start: int, end: int) -> bool:
    """Two digits or more, five characters or more (four when letters and digits mix), not after
    a phone word."""
    if not _not_after_a_phone_word(text, start, end):
        return False
    value = text[start:end]
    characters = [character for character in value if character.isalnum()]
    digits = sum(character.isdigit() for character in characters)
    return digits >= 2 and (
        len(characters) >= 5 or (digits < len(characters) and len(characters) >= 4)
    )


def _a_numbered_street(text: str, start: int, end: int) -> bool:
    """An ordinal alone is a street where it cannot be a day of the month ("on 180th", not "on 15th")."""
    return int(re.match(r"\d+", text[start:end].split()[-1]).group()) > 31


def _a_zip_code(text: str, start: int, end: int) -> bool:
    before = re.search(r"([A-Z]{2}),?\s+$", text[:start])
    return bool(before and before.group(1) in US_STATES)


def _last_number(text: str, start: int, end: int) -> tuple[int, int]:
    """The age in "Name, 39," or "Name (19)": its last number, in digits or words."""
    match = list(re.finditer(rf"\d{{1,2}}|(?i:{_NUMBER_WORD_AGE})", text[start:end]))[-1]
    return start + match.start(), start + match.end()


def _trim_id(text: str, start: int, end: int) -> tuple[int, int]:
    """A record number said aloud ends at its last group of digits or capitals, never at a word
    ("my number is 4471 I think": not "4471 I")."""
    value = text[start:end]
    while True:
        trimmed = re.sub(r"[\s-]+(?:I|A|OK)$", "", value)
        if trimmed == value:
            return start, start + len(value)
        value = trimmed


# ---------------------------------------------------------------------------------------------
# The recognisers

_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Recogniser:
    """One named pattern: the ``group`` of each match of ``pattern`` is an identifier of type
    ``label`` unless ``check`` turns it down; ``trim`` may narrow it first."""

    name: str
    label: str
    pattern: re.Pattern
    group: int = 0
    check: Callable[[str, int, int], bool] | None = None
    trim: Callable[[str, int, int], tuple[int, int]] | None = None
    priority: int = 0
    #: what a text must hold for the pattern to be worth running: "digit", "@" or "url"
    needs: str = ""


def _recogniser(
    name: str, label: str, pattern: str, group: int = 0, flags: int = 0, **options
) -> Recogniser:
    return Recogniser(name, label, re.compile(pattern, flags), group, **options)


RECOGNISERS: tuple[Recogniser, ...] = (
    _recogniser(
        "email_address", "EMAIL", r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?<!\.)", needs="@"
    ),
    _recogniser(
        "web_address", "URL", r"(?i)\b(?:https?://|www\.)[^\s<>\"']+(?<![.,;:!?)])", needs="url"
    ),
    _recogniser(
        "social_media_handle",
        "OTHER",
        r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_]){2,}",
        needs="@",
    ),
    _recogniser(
        "vehicle_plate",
        "OTHER",
        r"\b[A-Z]\s?\d{3}\s?[A-Z]{3}\b|\bK[A-Z]{2}\s?\d{3}[A-Z]\b",
        priority=2,
        needs="digit",
    ),
    _recogniser(
        "business_name",
        "OTHER",
        rf"\b(?:(?!(?:Outside|Inside|At|In|Near|By|From|To|Behind|Opposite|The)\b){_NAME}\s+){{1,3}}(?:(?:and|&)\s+(?:{_NAME}\s+)?)?{_BUSINESS}\b",
    ),
    _recogniser("us_social_security_number", "ID", r"\b\d{3}-\d{2}-\d{4}\b", needs="digit"),
    _recogniser(
        "phone_number",
        "PHONE",
        r"(?<![\w+])(\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,5}[\s.-])\d{2,6}(?:[\s.-]\d{2,4}){0,2}(?![\w-])"
        r"|(?<![\w+])(?:\+\d{9,13}|0\d{9})(?!\w)|(?<![\w-])\d{3}-\d{4}(?![\w-])",
        check=_phone_digits,
        needs="digit",
    ),
    # "member number is XJH 4471 0923", "NHS number 612 048 3397", "Medicaid ID KX 7730 41 R"
    _recogniser(
        "number_after_record_word",
        "ID",
        rf"{_RECORD_WORD}{_ID_LINK}((?=[A-Z0-9/ -]*\d)[A-Z0-9][A-Z0-9/]*(?:(?:\s|-)[A-Z0-9/]+)*)(?![\w-])",
        1,
        check=_an_id_said_aloud,
        trim=_trim_id,
        priority=1,
        needs="digit",
    ),
    _recogniser(
        "number_after_number_word",
        "ID",
        rf"{_ID_KEYWORD}{_ID_LINK}((?=[A-Z0-9/ -]*\d)[A-Z0-9][A-Z0-9/]*(?:(?:\s|-)[A-Z0-9/]+)*)(?![\w-])",
        1,
        check=_an_id_said_aloud,
        trim=_trim_id,
        needs="digit",
    ),
    # "my ID is four four seven one nine"
    _recogniser(
        "spoken_number_after_record_word",
        "ID",
        rf"{_ID_KEYWORD}{_ID_LINK}((?:{_SPOKEN_DIGIT}[\s,-]+){{3,}}{_SPOKEN_DIGIT})\b",
        1,
        re.I,
        check=_not_after_a_phone_word,
        priority=1,
    ),
    _recogniser(
        "record_number_shape",
        "ID",
        r"\b[A-Z]{1,6}(?:[-/][A-Z]{1,6})*[-/]\d[\dA-Z/-]{2,}\b|\b\d{6,}[A-Z]?\b|\b[A-Z]{1,4}\d{6,}\b"
        r"|\b[A-Z]{2,6}(?:/[A-Z]{0,3}\d+){2,4}\b"
        r"|\b\d{2,4}-\d{4}-\d{4,6}\b|\b\d{4}-[A-Z]{1,4}-\d{3,}\b",
        needs="digit",
    ),
    # "born in 1986", "DOB 07/22/1971", "year of birth 1979", "date of birth: 9 November 1984"
    _recogniser(
        "date_of_birth",
        "DATE",
        rf"(?i:\b(?:born(?:\s+(?:in|on)(?:,\s+(?:in|on))?)?|DOB|D\.O\.B\.?|date of birth|year of birth|birth ?date|birthday))"
        rf"(?:\s+(?:is|was))?\s*[:,]?\s*({_DATE_EXPRESSION})(?![\w/-])",
        1,
        priority=1,
    ),
    _recogniser("date_numeric", "DATE", NUMERIC_DATE.pattern, needs="digit"),
    _recogniser(
        "date_day_month", "DATE", rf"\b{_DAY}\s+(?:of\s+)?{MONTH}(?:,?\s+{_YEAR})?\b", needs="digit"
    ),
    _recogniser(
        "date_month_day",
        "DATE",
        rf"\b{MONTH}\s+(?:the\s+)?{_DAY}(?:,?\s+{_YEAR})?\b(?!:)",
        needs="digit",
    ),
    _recogniser("date_month_year", "DATE", rf"\b{MONTH},?\s+{_YEAR}\b", needs="digit"),
    _recogniser(
        "age_years_old",
        "AGE",
        r"\b(\d{1,3})(?:\s*|-)(?:years?|yrs?)(?:\s*|-)old\b",
        1,
        re.I,
        check=_an_age,
        needs="digit",
    ),
    _recogniser(
        "age_after_age_word",
        "AGE",
        r"\b(?:aged?|age of|turned|turning)\s*[:\s]\s*(\d{1,3})\b" + _NOT_AGE_UNIT,
        1,
        re.I,
        check=_an_age,
        needs="digit",
    ),
    _recogniser(
        "age_after_verb",
        "AGE",
        r"\b(?:I'm|I am|I was|he's|she's|he is|she is|he was|she was|they're|when I was|since I was|by)\s+(\d{1,2})\b"
        r"(?:\s+(?:now|then|when|and)\b|[.,;!?]|$)" + _NOT_AGE_UNIT,
        1,
        re.I,
        check=_an_age,
        needs="digit",
    ),
    _recogniser(
        "age_after_subject",
        "AGE",
        rf"\b(?:when {_AGE_SUBJECT} (?:was|were)|(?:{_AGE_SUBJECT}|(?-i:[A-Z][a-z]+))(?: (?:was|were|is|am|are)|['’](?:s|m|re)) (?:only |just |about |around |barely )?)"
        rf"(\d{{1,2}}|{_NUMBER_WORD_AGE})\b(?:\s+(?:now|then|when|and|maybe|or so)\b|\s+(?:to|years)\b|\s*[.,;!?—–]|\s+-\s|$)"
        + _NOT_AGE_UNIT,
        1,
        re.I,
        check=_an_age,
    ),
    _recogniser(
        "age_in_words",
        "AGE",
        rf"\b(?:I'll be|I will be|turn|turned|turning|aged?)\s+({_NUMBER_WORD_AGE})\b",
        1,
        re.I,
    ),
    # "Ms. Grace Wambui, fifty-three, is ...", "Omari Said Kitwana, 36, on condition"
    _recogniser(
        "age_after_name",
        "AGE",
        rf"\b[A-Z][a-z]+(?:,\s+(\d{{1,2}}|(?i:{_NUMBER_WORD_AGE})),(?=\s)|\s+\((\d{{1,2}})\))",
        0,
        check=_an_age,
        trim=lambda text, start, end: _last_number(text, start, end),
    ),
    # Addresses: "Apt 6C, 455 East 158th Street", "1540 Grand Concourse", "Rua dos Gusmões, 214",
    # "125th Street", "on 180th", "LS7 3HZ", "NY 10451"
    _recogniser(
        "street_address",
        "ADDRESS",
        rf"\b{_UNIT}?\d{{1,5}}[A-Z]?\s+{_DIRECTION}?(?:(?:{_WORD}|{_ORDINAL})\s+){{1,3}}{_STREET_AFTER_NUMBER}(?!\w)",
        needs="digit",
    ),
    _recogniser(
        "street_address_number_after",
        "ADDRESS",
        rf"\b(?:Rua|Avenida|Av\.|Travessa|Alameda|Calle|Carrera|Rue)\s+(?:(?:d[aeo]s?|de la|del)\s+)?{_WORD}"
        rf"(?:\s+(?:(?:d[aeo]s?|de la|del)\s+)?{_WORD}){{0,3}}(?:,?\s+\d{{1,5}})?",
    ),
    _recogniser(
        "house_number",
        "ADDRESS",
        r"\b(?:House|H\.|Plot|Flat)\s*No\.?\s*\d+[A-Z]?(?:,\s*(?:Gali|Lane|Street|Sector|Block|Road)\s*No\.?\s*\d+[A-Z]?)?",
        needs="digit",
    ),
    _recogniser(
        "numbered_street",
        "ADDRESS",
        rf"\b{_DIRECTION}?{_ORDINAL}\s+(?:Street|St\b\.?|Avenue|Ave\b\.?|Road|Rd\b\.?|Place|Drive|Boulevard)",
        needs="digit",
    ),
    _recogniser(
        "numbered_street_alone",
        "ADDRESS",
        rf"(?i:\b(?:on|at|off|near|by|from|to|and|between|past|corner of))\s+({_DIRECTION}?\d{{2,3}}(?:st|nd|rd|th))\b"
        r"(?!\s+(?i:of|birthday|century|grade|floor|time|anniversary|place|percent)\b|-)",
        1,
        check=_a_numbered_street,
        needs="digit",
    ),
    _recogniser(
        "uk_postcode", "ADDRESS", r"\b(?!CD\d)[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b", needs="digit"
    ),
    _recogniser(
        "us_zip_code",
        "ADDRESS",
        r"(?<=\s)(\d{5})(?:-\d{4})?\b",
        1,
        check=_a_zip_code,
        needs="digit",
    ),
    # a news dateline: "DUNDEE —", "WORCESTER, Mass. —"
    _recogniser(
        "dateline",
        "PLACE",
        r"^([A-Z][A-Z'.-]+(?: [A-Z][A-Z'.-]+){0,3})(?=(?:,\s*[A-Z][a-z]+\.?)?\s+[—–]\s)",
        1,
    ),
    _recogniser(
        "place_with_particle",
        "PLACE",
        r"\b[A-Z][a-z]+ (?:es|de|da|do|dos|del|la|al|el|di|van|von) [A-Z][a-z]+\b",
    ),
    _recogniser("nickname", "PERSON", rf"\b(?:Big|Little|Lil|Young|Baby) {_NAME}\b", check=_a_name),
    _recogniser("street_name", "PLACE", rf"\b(?:{_NAME}\s+){{1,2}}{_STREET_NAMED}(?!\w)"),
    _recogniser(
        "name_after_title",
        "PERSON",
        rf"\b{_TITLE_WORDS}\s+({_NAME}(?:\s+{_NAME})?)\b",
        1,
        check=_a_name,
    ),
    _recogniser(
        "name_after_relation",
        "PERSON",
        rf"(?i:\bmy\s+{_RELATION_WORDS}),?\s+({_NAME}(?:\s+{_NAME})?)\b",
        1,
        check=_a_name,
    ),
    _recogniser(
        "name_after_naming_word",
        "PERSON",
        rf"(?i:\b(?:named|called|name is|name was|known as))\s+({_NAME}(?:\s+{_NAME})?)\b",
        1,
        check=_a_name,
    ),
)


def find_pattern_spans(text: str) -> list[Span]:
    """Every recogniser's matches in one text (overlaps are merged by the caller); a recogniser
    whose pattern needs what the text lacks (a digit, an @) is not run."""
    holds = {
        "": True,
        "digit": _DIGIT.search(text) is not None,
        "@": "@" in text,
        "url": "www" in text.lower() or "://" in text,
    }
    spans = []
    for recogniser in RECOGNISERS:
        if not holds[recogniser.needs]:
            continue
        for match in recogniser.pattern.finditer(text):
            start, end = match.span(recogniser.group)
            if start < 0 or start == end:
                continue
            if recogniser.trim is not None:
                start, end = recogniser.trim(text, start, end)
            if recogniser.check is not None and not recogniser.check(text, start, end):
                continue
            spans.append(
                Span(
                    start,
                    end,
                    recogniser.label,
                    "patterns",
                    recogniser=recogniser.name,
                    priority=recogniser.priority,
                )
            )
    return spans
