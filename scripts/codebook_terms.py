"""The codebook's terms, lemmatised once (rule ``codebook_terms``): the keywords and exclude terms
of every code, with the lemmas candidate coding (scripts/candidates.py) matches the de-identified
turns' tokens on, so that coding a transcript runs no spaCy model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from scripts.codebook import Codebook, CodebookError, load_codebook
from scripts.contracts import ContractError, write_text
from scripts.rule_jobs import job_log, rule_job

#: Matcher attributes the tokens file does not carry (no tagger's fine tags, morphology, parse or
#: entities survive de-identification): a pattern using one could never match.
UNAVAILABLE_ATTRIBUTES = frozenset(
    {
        "TAG",
        "MORPH",
        "DEP",
        "HEAD",
        "ENT_TYPE",
        "ENT_IOB",
        "ENT_ID",
        "ENT_KB_ID",
        "IS_SENT_START",
        "SENT_START",
        "_",
    }
)
#: Pipes that lemmatise the codebook's terms (as the de-identification parse lemmatises turns).
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")
TERM_SOURCES = ("keyword", "exclude")


def check_patterns(codebook: Codebook) -> None:
    """Refuse a pattern on an attribute the tokens do not carry (it could never match)."""
    for code in codebook.codes:
        for index, pattern in enumerate(code.patterns):
            used = sorted(
                {str(name).upper() for token in pattern for name in token} & UNAVAILABLE_ATTRIBUTES
            )
            if used:
                raise CodebookError(
                    codebook.path,
                    f"code {code.id}: patterns[{index}] matches on {', '.join(used)}, which candidate coding does not have "
                    "(it matches on the de-identified tokens: their text, LEMMA and POS)",
                    "Write the pattern with ORTH, LOWER, LEMMA, POS or the IS_/LIKE_ flags instead",
                    line=code.line,
                )


def codebook_term_list(codebook: Codebook) -> list[tuple[str, str, str]]:
    """(code, source, term) of every keyword and exclusion term, in codebook order."""
    return [
        (code.id, source, term)
        for code in codebook.codes
        for source, terms in (("keyword", code.keywords), ("exclude", code.exclude_terms))
        for term in terms
    ]


def lemmatise_terms(terms: list[str], model: str) -> list[tuple[list[str], list[str]]]:
    """(lemmas, lower-cased words) of each term, lemmas lower-cased (what a worker runs).

    By the de-identification pipeline (loaded once per process) with only its tagger, attribute
    ruler and lemmatizer running; a word without a lemma (no lemmatizer) gives its lower case.
    """
    from scripts.parse import load_pipeline

    nlp = load_pipeline(model)
    disable = [name for name in nlp.pipe_names if name not in LEMMA_PIPES]
    return [
        ([(token.lemma_ or token.lower_).lower() for token in doc], [token.lower_ for token in doc])
        for doc in nlp.pipe(terms, disable=disable)
    ]


def terms_document(
    codebook: Codebook, model: str, lemmatised: Sequence[tuple[list[str], list[str]]]
) -> dict:
    """The content of codebook_terms.json: the model and one entry per term, in codebook order."""
    listed = codebook_term_list(codebook)
    return {
        "model": model,
        "terms": [
            {
                "code": code_id,
                "source": source,
                "term": term,
                "lemmas": list(lemmas),
                "lower": list(lower),
            }
            for (code_id, source, term), (lemmas, lower) in zip(listed, lemmatised, strict=True)
        ],
    }


def terms_json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


@rule_job
def codebook_terms(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule codebook_terms: input ``codebook`` -> output ``terms``
    (results/candidates/codebook_terms.json), lemmatised with params ``model``.

    Run in one of the run's worker processes, which already holds the de-identification
    pipeline: no second model load.
    """
    with job_log(log) as logger:
        book = load_codebook(input["codebook"])
        check_patterns(book)
        terms = [term for _, _, term in codebook_term_list(book)]
        lemmatised = lemmatise_terms(terms, params["model"]) if terms else []
        write_text(
            Path(output["terms"]), terms_json(terms_document(book, params["model"], lemmatised))
        )
        logger.info(
            "%d term(s) of %d code(s) lemmatised with %s",
            len(terms),
            len(book.codes),
            params["model"],
        )


def read_terms(
    path: str | Path, codebook: Codebook
) -> dict[tuple[str, str, str], tuple[tuple[str, ...], tuple[str, ...]]]:
    """(code, source, term) -> (lemmas, lower words), checked against the codebook."""
    fix = "Delete it and run the workflow again (rule codebook_terms)"
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = {
            (entry["code"], entry["source"], entry["term"]): (
                tuple(entry["lemmas"]),
                tuple(entry["lower"]),
            )
            for entry in document["terms"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        raise ContractError(
            path, "is not a codebook terms file (code, source, term, lemmas, lower)", fix
        ) from None
    if set(entries) != set(codebook_term_list(codebook)):
        raise ContractError(path, f"does not list the terms of {codebook.path}", fix)
    for lemmas, lower in entries.values():
        if len(lemmas) != len(lower) or not all(
            isinstance(word, str) and word for word in (*lemmas, *lower)
        ):
            raise ContractError(
                path, "has a term whose lemmas and words differ in number or are empty", fix
            )
    return entries
