"""De-identification: replace names, places, organisations, dates, ages, phones, emails, URLs and
ID numbers in normalized transcripts by typed placeholders.

Three layers, in order of precedence: the study identifier list
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

The turns' spaCy parse is made once, by rule ``parse`` (scripts/parse.py); this stage reads it
and runs no model. The leak check is in scripts/leak_check.py, the scoring against gold
annotations in scripts/deidentification_evaluation.py.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from scripts import parts
from scripts.contracts import read_jsonl, read_tsv, write_jsonl, write_text, write_tsv
from scripts.deidentified_tokens import deidentified_tokens, tokens_jsonl, tokens_record
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
from scripts.parse import (
    Tokens,
    english_words,
    load_pipeline,
    parsed_turns,
    sentence_spans,
    token_columns,
)
from scripts.placeholders import consistent_spans, replace_spans
from scripts.recognisers import find_pattern_spans
from scripts.rule_jobs import job_log, rule_job
from scripts.spans import LABELS, LAYER_PRECEDENCE, Span

LOGGER = logging.getLogger("qualflow.deidentify")

# ---------------------------------------------------------------------------------------------
# Layer 1: the study identifier list (scripts/identifiers.py); layer 2: the pattern recognisers
# (scripts/recognisers.py); layer 3: the named-entity layer (scripts/named_entities.py)


def find_list_spans(text: str, identifiers: IdentifierList) -> list[Span]:
    return [
        Span(
            start, end, entry.label, "identifiers", entry.placeholder, recogniser="identifier_list"
        )
        for start, end, entry in identifiers.find(text)
    ]


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


def analysis_of(doc, request: ParseRequest) -> Analysis:
    """What de-identification needs from one parsed text: the entity spans it keeps (with the
    proper nouns the recogniser passed over), the sentences and the tokens."""
    return Analysis(
        tuple(
            find_ner_spans(
                doc, dict(request.ner_labels), request.not_identifiers, english_words(request.model)
            )
        ),
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
# Combining the layers


@dataclass(frozen=True)
class Detector:
    """Everything the three layers need, built once per job."""

    identifiers: IdentifierList
    layers: tuple[str, ...] = ("identifiers", "patterns", "ner")
    ner_labels: dict[str, str] = field(
        default_factory=lambda: {
            "PERSON": "PERSON",
            "GPE": "PLACE",
            "LOC": "PLACE",
            "FAC": "PLACE",
            "ORG": "ORG",
            "DATE": "DATE",
        }
    )
    entity_types: frozenset[str] = frozenset(LABELS)


def detector_from_config(config: dict, identifiers: IdentifierList) -> Detector:
    """The detector the configuration asks for. The configured ``not_identifiers`` and
    ``public_institutions`` join the list's not_identifiers (never replaced); ADDRESS is replaced
    wherever PLACE is (street addresses were places before they had a type of their own)."""
    settings = config["deidentify"]
    keep = frozenset(
        " ".join(term.lower().split())
        for term in [*settings.get("not_identifiers", []), *settings.get("public_institutions", [])]
    )
    if keep - identifiers.not_identifiers:
        identifiers = replace(identifiers, not_identifiers=identifiers.not_identifiers | keep)
    entity_types = set(settings["entity_types"]) | (
        {"ADDRESS"} if "PLACE" in settings["entity_types"] else set()
    )
    return Detector(
        identifiers=identifiers,
        layers=tuple(settings["layers"]),
        ner_labels=dict(settings["ner_labels"]),
        entity_types=frozenset(entity_types),
    )


def parse_request(detector: Detector, model: str, batch_size: int = 64) -> ParseRequest:
    return ParseRequest(
        model,
        tuple(sorted(detector.ner_labels.items())),
        detector.identifiers.not_identifiers,
        batch_size,
    )


def detect(text: str, entities: Sequence[Span] | None, detector: Detector) -> list[Span]:
    """All identifier spans in one text, overlaps merged, in order."""
    spans: list[Span] = []
    if "identifiers" in detector.layers:
        spans += find_list_spans(text, detector.identifiers)
    if "patterns" in detector.layers:
        kept = detector.identifiers.not_identifiers
        spans += [
            span
            for span in find_pattern_spans(text)
            if not _all_listed(text[span.start : span.end], kept)
        ]
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
        trusted = min(
            group,
            key=lambda s: (LAYER_PRECEDENCE[s.layer], -(s.end - s.start), -s.priority, s.start),
        )
        covering = [s for s in group if (s.start, s.end) == (start, end)]
        best = trusted
        if covering and trusted.label not in {s.label for s in covering}:
            best = min(covering, key=lambda s: LAYER_PRECEDENCE[s.layer])
        placeholder = best.placeholder if best.layer == "identifiers" else ""
        result.append(Span(start, end, best.label, best.layer, placeholder, best.recogniser))
    return result


def map_sentences(
    sentences: Sequence[tuple[int, int]], replaced: Sequence[tuple[Span, str]]
) -> list[list[int]]:
    """Sentence boundaries in the original text → boundaries in the replaced text.

    A replacement that straddles a sentence boundary joins the two sentences; a boundary inside
    a replacement moves to its edge.
    """
    joined: list[list[int]] = []
    for start, end in sentences:
        if joined and any(
            span.start < start < span.end or span.start < joined[-1][1] < span.end
            for span, _ in replaced
        ):
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
    turns: Sequence[dict],
    analyses: Sequence[Analysis | None],
    detector: Detector,
    english: frozenset[str] = frozenset(),
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
    found = [
        detect(text, analysis.entities if analysis else None, detector)
        for text, analysis in zip(texts, analyses, strict=True)
    ]
    starts = [
        [start for start, _ in analysis.sentences] if analysis else [0] for analysis in analyses
    ]
    found = consistent_spans(texts, found, starts, detector.identifiers, english)
    for turn, analysis, spans in zip(turns, analyses, found, strict=True):
        text = turn["text"]
        spans = [span for span in spans if span.label in detector.entity_types]
        new_text, replaced = replace_spans(text, spans, detector.identifiers)
        for span, placeholder in replaced:
            key[placeholder].add(text[span.start : span.end])
            counts[(span.label, span.layer, span.recogniser, placeholder)] += 1
        sentences = list(analysis.sentences) if analysis else [(0, len(text))]
        record = {name: turn[name] for name in ("transcript_id", "turn")}
        record["speaker"] = roles[turn["speaker"]]
        record["role"] = turn["role"]
        for optional in ("start_s", "end_s"):
            if optional in turn:
                record[optional] = turn[optional]
        record["text"] = new_text
        record["sentences"] = [
            pair
            for pair in map_sentences(sentences, replaced)
            if new_text[pair[0] : pair[1]].strip()
        ]
        output.append(record)
        turn_tokens, stretches = deidentified_tokens(
            text, analysis.tokens if analysis else None, replaced, new_text
        )
        tokens.append(tokens_record(turn["turn"], turn_tokens))
        retokenised += stretches
    for speaker, label in roles.items():
        counts[("SPEAKER", "speakers", "speaker_label", label)] += sum(
            1 for turn in turns if turn["speaker"] == speaker
        )
    transcript_id = turns[0]["transcript_id"] if turns else ""
    audit = [
        {
            "transcript_id": transcript_id,
            "type": label,
            "layer": layer,
            "recogniser": recogniser,
            "placeholder": placeholder,
            "count": count,
        }
        for (label, layer, recogniser, placeholder), count in sorted(counts.items())
    ]
    key_document = {
        "transcript_id": transcript_id,
        "placeholders": {placeholder: sorted(forms) for placeholder, forms in sorted(key.items())},
        "speakers": {
            label: speaker for speaker, label in sorted(roles.items(), key=lambda item: item[1])
        },
    }
    return DeidentifiedTranscript(output, key_document, audit, tokens, retokenised)


def deidentify_here(
    turns: list[dict], request: ParseRequest, detector: Detector
) -> DeidentifiedTranscript:
    """Parse a transcript's turns once and de-identify them, in this process (what a worker runs)."""
    return deidentify_transcript(
        turns,
        analyse_here([turn["text"] for turn in turns], request),
        detector,
        english_words(request.model),
    )


def deidentify_from_parse(
    turns: Sequence[dict], docs: Sequence, request: ParseRequest, detector: Detector
) -> DeidentifiedTranscript:
    """De-identify a transcript from its cached parse (:func:`parsed_turns`): no model runs."""
    return deidentify_transcript(
        turns, [analysis_of(doc, request) for doc in docs], detector, english_words(request.model)
    )


def deidentify_parsed(
    turns: Sequence[dict], request: ParseRequest, detector: Detector, processes: int = 0
) -> DeidentifiedTranscript:
    """Parse and de-identify a transcript in this thread (processes=0) or in the run's shared
    worker processes: there, detection and the tokens are worked out off the Snakemake process
    too, whose job threads share one core."""
    from scripts import workers

    return workers.call(
        processes, "scripts.deidentify:deidentify_here", list(turns), request, detector
    )


#: One row per placeholder of a transcript's de-identification audit.
AUDIT_COLUMNS = ["transcript_id", "type", "layer", "recogniser", "placeholder", "count"]


@rule_job
def deidentify(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule deidentify (a part of the corpus): outputs transcript (de-identified JSON lines),
    tokens (the de-identified turns' tokens), audit (TSV), key (private JSON), a list each. From
    each transcript's parse: no model runs here, so a change of the identifier list or of the
    settings re-applies replacements without parsing again."""
    from scripts.identifiers import load_study_secret

    with job_log(log) as logger:
        config = params["config"]
        identifier_list = load_identifier_list(
            input["identifiers"],
            name_parts=config["deidentify"]["name_parts"],
            secret=load_study_secret(input["secret"]),
        )
        detector = detector_from_config(config, identifier_list)
        request = parse_request(detector, config["spacy"]["model"], config["spacy"]["batch_size"])

        def work_on(work: parts.Work) -> None:
            ingested, parsed = work.inputs
            turns = read_jsonl(Path(ingested), "transcript.schema.yaml")
            docs = parsed_turns(Path(parsed).read_bytes(), [turn["text"] for turn in turns], parsed)
            result = deidentify_from_parse(turns, docs, request, detector)
            write_jsonl(Path(work.outputs["transcript"]), result.turns, "transcript.schema.yaml")
            # (the tokens are validated where they are read, rule candidate_codes: once is enough)
            write_text(Path(work.outputs["tokens"]), tokens_jsonl(result.tokens))
            write_tsv(Path(work.outputs["audit"]), result.audit, AUDIT_COLUMNS)
            write_text(
                Path(work.outputs["key"]),
                json.dumps(result.key, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            )
            replaced = sum(row["count"] for row in result.audit if row["type"] != "SPEAKER")
            logger.info("%s: %d turns, %d replacements", work.transcript, len(turns), replaced)

        works = parts.works_of(
            params,
            {"ingested": input["ingested"], "parsed": input["parsed"]},
            output,
            params["identifiers"],
        )
        settings = parts.settings_text(
            config["deidentify"],
            config["spacy"]["model"],
            parts.file_digest(input["secret"]),
            params["code"],
        )
        done = parts.run_part("deidentify", params["part"], works, settings, work_on, logger=logger)
        parts.report_done(logger, "deidentify", done)


AUDIT_SUMMARY_COLUMNS = [
    "type",
    "layer",
    "recogniser",
    "replacements",
    "distinct_placeholders",
    "transcripts",
]


@rule_job
def audit_summary(input: dict, output: dict, params: dict, log: str) -> None:
    """Replacements by type, layer and recogniser over the corpus (counts only), from the corpus
    parts' audit tables."""
    with job_log(log) as logger:
        totals: dict[tuple[str, str, str], dict] = {}
        for path in input["audits"]:
            for row in read_tsv(Path(path)):
                entry = totals.setdefault(
                    (row["type"], row["layer"], row["recogniser"]),
                    {"replacements": 0, "placeholders": set(), "transcripts": set()},
                )
                entry["replacements"] += int(row["count"])
                entry["placeholders"].add(row["placeholder"])
                entry["transcripts"].add(row["transcript_id"])
        rows = [
            {
                "type": label,
                "layer": layer,
                "recogniser": recogniser,
                "replacements": entry["replacements"],
                "distinct_placeholders": len(entry["placeholders"]),
                "transcripts": len(entry["transcripts"]),
            }
            for (label, layer, recogniser), entry in sorted(totals.items())
        ]
        write_tsv(Path(output["summary"]), rows, AUDIT_SUMMARY_COLUMNS)
        logger.info("%d audit files summarised", len(input["audits"]))
