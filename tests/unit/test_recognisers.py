"""Pattern recognisers (scripts/recognisers.py): each new identifier of speech, and what must stay."""

from __future__ import annotations

import re

import pytest

from scripts import deidentify as deid
from scripts.recognisers import RECOGNISERS, find_pattern_spans


def replaced(text: str) -> str:
    identifiers = deid.empty_identifier_list()
    detector = deid.Detector(identifiers, layers=("patterns",))
    output = deid.replace_spans(text, deid.detect(text, None, detector), identifiers)[0]
    return re.sub(r"\[(PERSON|PLACE|ORG|OTHER)_u[0-9a-f]{6}\]", r"[\1]", output)


@pytest.mark.parametrize(
    "text, expected",
    [
        # record, member and account numbers said aloud: letters and digits, spaces and dashes
        ("my member number is XJH 4471 0923, okay", "my member number is [ID], okay"),
        ("Medicaid ID KX 7730 41 R, for the induction", "Medicaid ID [ID], for the induction"),
        ("NHS number 612 048 3397)", "NHS number [ID])"),
        (
            "his National Insurance number is QQ 48 21 07 C and",
            "his National Insurance number is [ID] and",
        ),
        ("the account number, it's 4471-2209-88", "the account number, it's [ID]"),
        ("my ID is four four seven one nine", "my ID is [ID]"),
        ("record number 55218 I think", "record number [ID] I think"),
        ("(NYSID 11847263Q)", "(NYSID [ID])"),
        ("my phone number is 0713 456 789", "my phone number is [PHONE]"),
        ("she was number 2 on the list", "she was number 2 on the list"),
        # years and dates of birth
        ("Sipho, born in 1993, was released", "Sipho, born in [DATE], was released"),
        ("DOB 07/22/1971, MRN", "DOB [DATE], MRN"),
        ("J. Mushi, year of birth 1979, is", "J. Mushi, year of birth [DATE], is"),
        ("born in '86, so", "born in [DATE], so"),
        ("she was born in Mwanza", "she was born in Mwanza"),
        ("back in 2019 we moved", "back in 2019 we moved"),
        # street addresses, numbered streets, postcodes
        ("her landlord at Apt 2F, 1540 Grand Concourse has", "her landlord at [ADDRESS] has"),
        (
            "he sleeps on 180th in Washington Heights",
            "he sleeps on [ADDRESS] in Washington Heights",
        ),
        ("the pharmacy by 125th Street", "the pharmacy by [ADDRESS]"),
        ("stopped on East 138th Street", "stopped on [ADDRESS]"),
        ("Flat 3, 47 Chapeltown Road, Leeds LS7 3HZ, until", "[ADDRESS], Leeds [ADDRESS], until"),
        ("318 East 149th Street, Bronx, NY 10451", "[ADDRESS], Bronx, NY [ADDRESS]"),
        ("lives at Rua dos Gusmões, 214 in central", "lives at [ADDRESS] in central"),
        ("on the 15th of May", "on the [DATE]"),
        ("for the 100th time", "for the 100th time"),
        ("a 2009 Honda Civic", "a 2009 Honda Civic"),
        ("heard at the High Court", "heard at the High Court"),
        ("CD4 3TC", "CD4 3TC"),
        # ages only where they are ages
        ("I was 70 kilos, now I am 58.", "I was 70 kilos, now I am 58."),
        ("they put my dose up, I'm 90 now.", "they put my dose up, I'm 90 now."),
        ("I am 58 now and tired", "I am [AGE] now and tired"),
        ("Grace Wambui, fifty-three, is the guardian", "Grace Wambui, [AGE], is the guardian"),
        ("Age: 44. CTC", "Age: [AGE]. CTC"),
        ("Weight 58 kg.", "Weight 58 kg."),
        # business names start at the name
        ("Outside Lucky Star Barbershop", "Outside [OTHER]"),
        ("at Kilimanjaro Wines and Spirits on", "at [OTHER] on"),
    ],
)
def test_identifiers_of_speech(text: str, expected: str) -> None:
    assert replaced(text) == expected


def test_every_recogniser_is_named_once_and_reported_by_name() -> None:
    names = [recogniser.name for recogniser in RECOGNISERS]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z_]+", name) for name in names)
    [span] = find_pattern_spans("born in 1986")
    assert (span.label, span.recogniser) == ("DATE", "date_of_birth")


def test_a_record_word_makes_a_number_an_id_where_its_shape_is_a_phone_number() -> None:
    text = "NHS number 612 048 3397"
    merged = deid.merge_overlaps(find_pattern_spans(text))
    assert [(text[span.start : span.end], span.label, span.recogniser) for span in merged] == [
        ("612 048 3397", "ID", "number_after_record_word"),
    ]
