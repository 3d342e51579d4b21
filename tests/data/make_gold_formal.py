"""Build deidentification_gold_formal.jsonl from its inline-markup source and check it.

Usage: python tests/data/make_gold_formal.py [--check]

The source (deidentification_gold_formal.src.txt) has one passage per line, "fNNN: text", with
identifiers marked as [[surface|LABEL]] or [[surface|LABEL|note]]. The note (e.g. "birth" on a
date of birth) is used only for the report printed here and is not written to the JSONL.

With --check the JSONL is not written; the script only checks that the file on disk equals what
the source gives, and that the counts table in the .md matches.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "deidentification_gold_formal.src.txt"
OUT = HERE / "deidentification_gold_formal.jsonl"
MD = HERE / "deidentification_gold_formal.md"

LABELS = [
    "PERSON",
    "ADDRESS",
    "PLACE",
    "ORG",
    "DATE",
    "AGE",
    "PHONE",
    "EMAIL",
    "ID",
    "URL",
    "OTHER",
]

# Minimum span counts asked for in the brief.
TARGETS = {
    "PERSON": 60,
    "ADDRESS": 15,
    "PLACE": 25,
    "ORG": 25,
    "DATE": 20,
    "AGE": 10,
    "PHONE": 10,
    "EMAIL": 8,
    "ID": 15,
    "URL": 4,
    "OTHER": 4,
}
MIN_PASSAGES = 60
MIN_EMPTY = 12
MIN_BIRTH_DATES = 6
MIN_MIXED_IDS = 6

MARK = re.compile(r"\[\[([^\[\]|]+)\|([A-Z]+)(?:\|([a-z]+))?\]\]")
LINE = re.compile(r"^(f\d{3}): (.+)$")


def parse_passage(marked):
    """Strip the markup from one passage; return (text, spans, notes)."""
    text, spans, notes, pos = [], [], [], 0
    length = 0
    for m in MARK.finditer(marked):
        plain = marked[pos : m.start()]
        text.append(plain)
        length += len(plain)
        surface, label, note = m.group(1), m.group(2), m.group(3)
        spans.append({"start": length, "end": length + len(surface), "label": label})
        notes.append((surface, label, note))
        text.append(surface)
        length += len(surface)
        pos = m.end()
    text.append(marked[pos:])
    return "".join(text), spans, notes


def check_passage(pid, text, spans, notes):
    errors = []
    for bad in ("[[", "]]", "|"):
        if bad in text:
            errors.append(f"{pid}: leftover markup {bad!r}")
    if text != text.strip() or "  " in text:
        errors.append(f"{pid}: stray whitespace in text")
    prev_end = -1
    for span, (surface, label, _) in zip(spans, notes):
        s, e = span["start"], span["end"]
        if label not in LABELS:
            errors.append(f"{pid}: unknown label {label}")
        if text[s:e] != surface:
            errors.append(f"{pid}: offsets give {text[s:e]!r}, not {surface!r}")
        if not surface or surface != surface.strip():
            errors.append(f"{pid}: span {surface!r} is empty or has whitespace at an edge")
        if s < prev_end:
            errors.append(f"{pid}: span {surface!r} overlaps or is out of order")
        prev_end = e
    return errors


def build():
    records, notes_all, errors, seen = [], [], [], set()
    for n, raw in enumerate(SRC.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        m = LINE.match(raw)
        if not m:
            errors.append(f"line {n}: not 'fNNN: text'")
            continue
        pid, marked = m.groups()
        if pid in seen:
            errors.append(f"{pid}: duplicate id")
        seen.add(pid)
        expected = f"f{len(records) + 1:03d}"
        if pid != expected:
            errors.append(f"{pid}: expected id {expected}")
        text, spans, notes = parse_passage(marked)
        errors += check_passage(pid, text, spans, notes)
        records.append({"id": pid, "text": text, "spans": spans})
        notes_all += notes
    return records, notes_all, errors


def counts_table(records):
    counts = Counter(s["label"] for r in records for s in r["spans"])
    n_empty = sum(1 for r in records if not r["spans"])
    total = sum(counts.values())
    lines = [
        f"{len(records)} passages ({n_empty} with no identifier), {total} spans:",
        "",
        "| Label   | Spans |",
        "|---------|------:|",
    ]
    lines += [f"| {label:<7} | {counts[label]} |" for label in LABELS]
    return counts, n_empty, "\n".join(lines)


def is_mixed_id(surface):
    return bool(re.search(r"[A-Za-z]", surface) or re.search(r"[ \-/.]", surface))


def main():
    check_only = "--check" in sys.argv[1:]
    records, notes, errors = build()
    counts, n_empty, table = counts_table(records)
    n_birth = sum(1 for _, label, note in notes if label == "DATE" and note == "birth")
    n_mixed = sum(1 for surface, label, _ in notes if label == "ID" and is_mixed_id(surface))

    for label, minimum in TARGETS.items():
        if counts[label] < minimum:
            errors.append(f"{label}: {counts[label]} spans, fewer than {minimum}")
    if len(records) < MIN_PASSAGES:
        errors.append(f"{len(records)} passages, fewer than {MIN_PASSAGES}")
    if n_empty < MIN_EMPTY:
        errors.append(f"{n_empty} passages without identifiers, fewer than {MIN_EMPTY}")
    if n_birth < MIN_BIRTH_DATES:
        errors.append(f"{n_birth} dates of birth, fewer than {MIN_BIRTH_DATES}")
    if n_mixed < MIN_MIXED_IDS:
        errors.append(f"{n_mixed} mixed/spaced IDs, fewer than {MIN_MIXED_IDS}")

    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    content = "\n".join(lines) + "\n"
    if check_only:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != content:
            errors.append(f"{OUT.name} is not what the source gives; rerun without --check")
    if MD.exists() and table not in MD.read_text(encoding="utf-8"):
        errors.append(f"{MD.name}: counts table differs from the one printed below")

    print(table)
    print(f"\nDates of birth: {n_birth}; IDs with letters, spaces or separators: {n_mixed}")
    if errors:
        print("\nERRORS:\n" + "\n".join(errors))
        if not check_only and any("counts table" not in e for e in errors):
            sys.exit(1)
    if not check_only:
        OUT.write_text(content, encoding="utf-8")
        print(f"\nwrote {OUT.name}")
    sys.exit(1 if errors and check_only else 0)


if __name__ == "__main__":
    main()
