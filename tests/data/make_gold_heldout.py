"""Build deidentification_heldout.jsonl from its inline-markup source and check it.

Usage: python tests/data/make_gold_heldout.py [--check]

The held-out set was written after the deidentify stage was tuned and is never used to tune it.
The source (deidentification_heldout.src.txt) has one passage per line, "hNNN: text", with
identifiers marked as [[surface|LABEL]] or [[surface|LABEL|note]]. The note (e.g. "birth" on a
date or year of birth) is used only for the report printed here and is not written to the JSONL.

With --check the JSONL is not written; the script only checks that the file on disk equals what
the source gives, and that the counts table in the .md matches.

The script also reports any identifier string (other than a PLACE or ORG, which may be real public
places and institutions) that also occurs as a span in the two earlier gold sets, so that the
held-out set stays independent of them.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "deidentification_heldout.src.txt"
OUT = HERE / "deidentification_heldout.jsonl"
MD = HERE / "deidentification_heldout.md"
EARLIER = [HERE / "deidentification_gold.jsonl", HERE / "deidentification_gold_formal.jsonl"]

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
    "PERSON": 15,
    "PLACE": 15,
    "ORG": 15,
    "DATE": 15,
    "ADDRESS": 10,
    "ID": 10,
    "AGE": 10,
    "PHONE": 6,
    "EMAIL": 6,
}
N_PASSAGES = 50
MIN_EMPTY = 8
# Genres by id range: (first, last, name, number of passages asked for).
GENRES = [
    (1, 25, "interview speech", 25),
    (26, 40, "case notes and letters", 15),
    (41, 50, "news-like and report prose", 10),
]

MARK = re.compile(r"\[\[([^\[\]|]+)\|([A-Z]+)(?:\|([a-z]+))?\]\]")
LINE = re.compile(r"^(h\d{3}): (.+)$")


def parse_passage(marked):
    """Strip the markup from one passage; return (text, spans, notes)."""
    text, spans, notes, pos, length = [], [], [], 0, 0
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
        if s < prev_end or e <= s:
            errors.append(f"{pid}: span {surface!r} overlaps, is empty or is out of order")
        prev_end = e
    return errors


def build():
    records, notes_all, errors, seen = [], [], [], set()
    for n, raw in enumerate(SRC.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        m = LINE.match(raw)
        if not m:
            errors.append(f"line {n}: not 'hNNN: text'")
            continue
        pid, marked = m.groups()
        if pid in seen:
            errors.append(f"{pid}: duplicate id")
        seen.add(pid)
        expected = f"h{len(records) + 1:03d}"
        if pid != expected:
            errors.append(f"{pid}: expected id {expected}")
        text, spans, notes = parse_passage(marked)
        errors += check_passage(pid, text, spans, notes)
        records.append({"id": pid, "text": text, "spans": spans})
        notes_all.append(notes)
    return records, notes_all, errors


def verify_records(records):
    """Independent re-check of the records as they will be written (after a JSON round trip)."""
    errors = []
    for r in (json.loads(json.dumps(r, ensure_ascii=False)) for r in records):
        text, prev_end = r["text"], -1
        for s in r["spans"]:
            piece = text[s["start"] : s["end"]]
            if not piece or piece != piece.strip() or s["start"] < prev_end:
                errors.append(f"{r['id']}: bad span {s} ({piece!r})")
            prev_end = s["end"]
    return errors


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
    return bool(re.search(r"[A-Za-z]", surface) or re.search(r"[ \-/.,]", surface))


def earlier_surfaces():
    seen = set()
    for path in EARLIER:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            for s in r["spans"]:
                if s["label"] not in ("PLACE", "ORG", "AGE"):
                    seen.add(r["text"][s["start"] : s["end"]].lower())
    return seen


def main():
    check_only = "--check" in sys.argv[1:]
    records, notes, errors = build()
    errors += verify_records(records)
    counts, n_empty, table = counts_table(records)
    flat = [n for passage in notes for n in passage]
    n_birth = sum(1 for _, label, note in flat if label == "DATE" and note == "birth")
    n_mixed = sum(1 for surface, label, _ in flat if label == "ID" and is_mixed_id(surface))

    for label, minimum in TARGETS.items():
        if counts[label] < minimum:
            errors.append(f"{label}: {counts[label]} spans, fewer than {minimum}")
    if len(records) != N_PASSAGES:
        errors.append(f"{len(records)} passages, not {N_PASSAGES}")
    if n_empty < MIN_EMPTY:
        errors.append(f"{n_empty} passages without identifiers, fewer than {MIN_EMPTY}")

    genre_lines = []
    for first, last, name, wanted in GENRES:
        part = records[first - 1 : last]
        n_spans = sum(len(r["spans"]) for r in part)
        n_none = sum(1 for r in part if not r["spans"])
        genre_lines.append(
            f"h{first:03d}-h{last:03d} {name}: {len(part)} passages "
            f"({n_none} with no identifier), {n_spans} spans"
        )
        if len(part) != wanted:
            errors.append(f"{name}: {len(part)} passages, not {wanted}")

    earlier = earlier_surfaces()
    reused = sorted(
        {s for s, label, _ in flat if label not in ("PLACE", "ORG", "AGE") and s.lower() in earlier}
    )
    if reused:
        errors.append("identifiers also used in the earlier gold sets: " + ", ".join(reused))

    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    content = "\n".join(lines) + "\n"
    if check_only:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != content:
            errors.append(f"{OUT.name} is not what the source gives; rerun without --check")
    if MD.exists() and table not in MD.read_text(encoding="utf-8"):
        errors.append(f"{MD.name}: counts table differs from the one printed below")

    print(table)
    print("\n" + "\n".join(genre_lines))
    print(
        f"\nDates or years of birth: {n_birth}; IDs with letters, spaces or separators: {n_mixed}"
    )
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
