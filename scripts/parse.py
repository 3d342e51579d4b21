"""The spaCy parse of each transcript's turns, once (rule ``parse``; private: raw text).

The one pipeline that parses each turn (:func:`load_pipeline`) finds the entities, the sentences,
the tags and the lemmas that de-identification (scripts/deidentify.py) and candidate coding read.
Each transcript's parse is kept in ``results/private/parsed/{transcript}.spacy`` (spaCy's DocBin
behind a fingerprint of the pipeline), so that a change of the identifier list or of the
de-identification settings re-applies replacements without parsing again, and a corrected word
parses only the turns that changed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from scripts import parts
from scripts.contracts import read_jsonl, write_bytes
from scripts.rule_jobs import job_log, rule_job

_VOCABULARIES = threading.local()


def load_pipeline(model: str):
    """The one pipeline that parses each turn (entities, sentences, tags, and the attribute ruler
    and rule lemmatizer, cheap, for the lemmas candidate coding matches on), once per thread; its
    attribute ruler matches its rules through an index (scripts/attribute_rules.py: the same
    matches, an eighth of the parse saved)."""
    from scripts.attribute_rules import use_indexed_rules
    from scripts.workers import load_spacy

    nlp = load_spacy(model)
    if not getattr(nlp, "_qualflow_indexed_rules", False):
        use_indexed_rules(nlp)
        nlp._qualflow_indexed_rules = True
    return nlp


#: What ``--spans`` and ``--evaluate`` do not run: they need the entities, the tags and the
#: sentences, not the dependency parse (the model's sentence recogniser cuts the sentences) nor
#: the lemmas, which only candidate coding reads.
SPANS_ONLY_EXCLUDES = ("parser", "attribute_ruler", "lemmatizer")


def load_span_pipeline(model: str):
    """The pipeline of the command line's ``--spans``: entities, tags and sentences only."""
    from scripts.workers import load_spacy

    return load_spacy(model, exclude=SPANS_ONLY_EXCLUDES)


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
        return "".join(
            word + (" " if space else "") for word, space in zip(self.words, self.spaces)
        )

    def starts(self) -> list[int]:
        """The character offset of each token in :attr:`text`."""
        offsets, position = [], 0
        for word, space in zip(self.words, self.spaces):
            offsets.append(position)
            position += len(word) + space
        return offsets


def token_columns(doc) -> Tokens:
    """A parsed text's tokens; a token without a lemma (no lemmatizer) gets its lower-case form.
    (Read from the doc's arrays: a Token object per token costs more than the rest.)"""
    from spacy.attrs import LEMMA, LOWER, ORTH, POS, SPACY

    strings = doc.vocab.strings
    columns = doc.to_array([ORTH, SPACY, LEMMA, LOWER, POS]).tolist()
    return Tokens(
        tuple(strings[orth] for orth, _, _, _, _ in columns),
        tuple(bool(space) for _, space, _, _, _ in columns),
        tuple(strings[lemma] if lemma else strings[lower] for _, _, lemma, lower, _ in columns),
        tuple(strings[pos] if pos else "" for _, _, _, _, pos in columns),
    )


def sentence_spans(doc) -> tuple[tuple[int, int], ...]:
    """(start, end) character offsets of a parsed text's sentences, from its arrays."""
    from spacy.attrs import IDX, SENT_START

    if not len(doc):
        return ()
    rows = doc.to_array([SENT_START, IDX]).tolist()
    starts = [0] + [k for k in range(1, len(rows)) if rows[k][0] == 1]
    ends = starts[1:] + [len(rows)]
    return tuple(
        (rows[start][1], rows[end - 1][1] + len(doc[end - 1])) for start, end in zip(starts, ends)
    )


@lru_cache(maxsize=4)
def english_words(model: str) -> frozenset[str]:
    """Words of the English dictionary the model's rule lemmatizer carries (WordNet), if any.

    From the pipeline this thread parses with if it has one; else from the model's lemmatizer
    alone (a de-identification job that reuses a cached parse loads no weights)."""
    from scripts.workers import load_spacy, loaded_pipelines

    if (model, (), ()) in loaded_pipelines():
        nlp = load_pipeline(model)
    else:
        nlp = load_spacy(model, exclude=LEMMATIZER_ONLY)
    if "lemmatizer" not in nlp.component_names:
        return frozenset()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_index"):
        return frozenset()
    dictionary = {word for words in lookups.get_table("lemma_index").values() for word in words}
    if lookups.has_table("lemma_exc"):  # irregular forms: children, mice, went
        dictionary |= {form for forms in lookups.get_table("lemma_exc").values() for form in forms}
    # WordNet has no pronouns: the stop words and a few more
    return frozenset(
        dictionary
        | set(nlp.Defaults.stop_words)
        | {"everybody", "somebody", "nobody", "anybody", "yeah", "okay"}
    )


#: The components a rule lemmatizer's tables can be read without (they hold the weights).
LEMMATIZER_ONLY = ("tok2vec", "tagger", "parser", "senter", "ner", "morphologizer", "transformer")


#: The token attributes a cached parse keeps: all that de-identification and candidate coding
#: read (no dependency arcs: sentence starts are kept as such).
PARSE_ATTRIBUTES = (
    "ORTH",
    "SPACY",
    "NORM",
    "TAG",
    "POS",
    "LEMMA",
    "ENT_IOB",
    "ENT_TYPE",
    "SENT_START",
)


def pipeline_fingerprint(model: str) -> str:
    """What a cached parse depends on besides the text: the model and its version, the components
    the workflow runs, and spaCy's version (read without loading the model when it is a package)."""
    import spacy

    version = spacy.util.get_package_version(model)
    if version is None:  # a pipeline in a folder: its meta, from the loaded pipeline
        version = load_pipeline(model).meta.get("version", "")
    return json.dumps([model, version, spacy.__version__, list(PARSE_ATTRIBUTES)])


#: The first line of a parse cache file; the second is the pipeline's fingerprint, the rest
#: spaCy's DocBin. (One fingerprint for the file, not one per doc: a doc's user data is read
#: through msgpack's extension registry, which costs a millisecond a doc.)
PARSE_CACHE_MAGIC = b"qualflow parse cache 2\n"


def _parse_cache(data: bytes | None) -> tuple[str, bytes]:
    """(fingerprint, DocBin bytes) of a parse cache file; ("", b"") for another layout."""
    if not data or not data.startswith(PARSE_CACHE_MAGIC):
        return "", b""
    fingerprint, _, docbin = data[len(PARSE_CACHE_MAGIC) :].partition(b"\n")
    return fingerprint.decode("utf-8", "replace"), docbin


def parse_turns(
    texts: Sequence[str], model: str, batch_size: int = 64, cached: bytes | None = None
) -> tuple[bytes, int]:
    """Each text's spaCy parse, as a parse cache file's bytes (:data:`PARSE_CACHE_MAGIC`), and how
    many texts were parsed now.

    ``cached``: the parse cache of an earlier parse of the transcript: a text parsed there with the
    same pipeline is not parsed again (a corrected word, or a change of the identifier list that
    reruns ingest, parses only the turns that changed).
    """
    from spacy.tokens import DocBin

    fingerprint = pipeline_fingerprint(model)
    earlier = {}
    cached_fingerprint, docbin = _parse_cache(cached)
    if docbin and cached_fingerprint == fingerprint:
        for doc in DocBin().from_bytes(docbin).get_docs(blank_vocab()):
            earlier[doc.text] = doc
    waiting = sorted({text for text in texts if text not in earlier})
    if waiting:
        for text, doc in zip(
            waiting, load_pipeline(model).pipe(waiting, batch_size=batch_size), strict=True
        ):
            earlier[text] = doc
    docs = DocBin(attrs=list(PARSE_ATTRIBUTES), store_user_data=False)
    for text in texts:
        docs.add(earlier[text])
    return PARSE_CACHE_MAGIC + fingerprint.encode("utf-8") + b"\n" + docs.to_bytes(), len(waiting)


def parsed_turns(data: bytes, texts: Sequence[str], path: str | Path) -> list:
    """The parsed docs of a transcript's turns from its parse cache, checked against the turns."""
    from spacy.tokens import DocBin

    from scripts.contracts import ContractError

    _, docbin = _parse_cache(data)
    try:
        docs = list(DocBin().from_bytes(docbin).get_docs(blank_vocab())) if docbin else None
    except (ValueError, KeyError, TypeError):
        docs = None
    if docs is None or [doc.text for doc in docs] != list(texts):
        raise ContractError(
            path,
            "the parse does not match the transcript's turns",
            "Delete the file and run the workflow again",
        )
    return docs


def blank_vocab():
    """A blank English vocabulary (spaCy's English lexical attributes, no model), once per thread:
    what cached parses are read into and the candidate matchers match on."""
    vocab = getattr(_VOCABULARIES, "vocab", None)
    if vocab is None:
        import spacy

        vocab = _VOCABULARIES.vocab = spacy.blank("en").vocab
    return vocab


@rule_job
def parse(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule parse (a part of the corpus): each transcript's turns parsed with spaCy once (private).
    A transcript whose text changed is parsed again turn by turn: the turns its last parse holds,
    parsed with the same pipeline, are not parsed again."""
    with job_log(log) as logger:
        spacy_settings = params["spacy"]

        def work_on(work: parts.Work) -> None:
            texts = [
                turn["text"] for turn in read_jsonl(Path(work.inputs[0]), "transcript.schema.yaml")
            ]
            last = parts.previous("parse", work.transcript, "parsed", private=True)
            cached = last.read_bytes() if last is not None else None
            data, parsed = parse_turns(
                texts, spacy_settings["model"], spacy_settings["batch_size"], cached
            )
            write_bytes(Path(work.outputs["parsed"]), data)
            logger.info("%s: %d turns, %d parsed now", work.transcript, len(texts), parsed)

        fingerprint = pipeline_fingerprint(spacy_settings["model"])
        works = parts.works_of(params, {"ingested": input["ingested"]}, output)
        done = parts.run_part(
            "parse",
            params["part"],
            works,
            parts.settings_text(fingerprint, params["code"]),
            work_on,
            logger=logger,
        )
        parts.report_done(logger, "parse", done)
