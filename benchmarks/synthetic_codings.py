"""Synthetic human codings: the demo codings in data/coding/ and the agreement benchmark's.

A "true" coding comes from simple keyword rules (a code applies to a participant segment whose
text contains one of the code's keywords, not just after a negation such as "never"). Each
synthetic coder then misses some true codes, adds a few wrong ones and has a habit or two (one
over-applies a code, another under-applies one), all from a seeded numpy Generator, so coders
disagree the way real coders do: mostly on the edges, more on some codes than on others. The
consensus is the majority of the coders who coded the transcript (ties: the keyword rule).

Regenerate the demo codings after ``make run`` (segments in results/segments/):

    .venv/bin/python benchmarks/synthetic_codings.py --segments results/segments \
        --codebook data/codebook.yaml --out data/coding

Writes coder_a (two CSV files, one per site, and transcripts.txt), coder_b (a filled-in XLSX
coding sheet), coder_c (CSV, and does not code NYC06) and consensus (CSV). The CSVs carry each
segment's text_sha1, so a later change of the segments is detected.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.codebook import Codebook, load_codebook  # noqa: E402
from scripts.coding_sheets import save_deterministic  # noqa: E402
from scripts.contracts import read_tsv  # noqa: E402

NEGATION = re.compile(
    r"\b(never|not|no|nobody|don't|didn't|doesn't|n't|without)\b(\W+\w+){0,2}\W*$"
)
SHEET_COLUMNS = ["segment_id", "transcript_id", "turn", "role", "text", "text_sha1"]


@dataclass(frozen=True)
class CoderStyle:
    """How a synthetic coder departs from the keyword rules."""

    miss: float = 0.15  # share of true codes not applied
    extra: float = 0.01  # chance, per segment, of one wrong code
    over: dict[str, float] = field(default_factory=dict)  # code -> chance of applying it anyway
    under: dict[str, float] = field(default_factory=dict)  # code -> extra chance of missing it
    skip: tuple[str, ...] = ()  # transcripts this coder did not code


DEMO_CODERS = {
    "coder_a": CoderStyle(miss=0.12, extra=0.01, over={"psychosocial_care": 0.03}),
    "coder_b": CoderStyle(
        miss=0.18,
        extra=0.015,
        under={"overburdened_services": 0.4},
        over={"social_connection": 0.04},
    ),
    "coder_c": CoderStyle(
        miss=0.10, extra=0.02, under={"medication_adherence": 0.5}, skip=("NYC06",)
    ),
}


def keyword_rules(codebook: Codebook) -> list[tuple[str, re.Pattern]]:
    """(code ID, regular expression of its keywords) for every code with keywords."""
    rules = []
    for code in codebook.codes:
        if code.keywords:
            words = "|".join(
                re.escape(keyword.lower())
                for keyword in sorted(code.keywords, key=len, reverse=True)
            )
            rules.append((code.id, re.compile(rf"\b({words})\b")))
    return rules


def keyword_codes(text: str, rules: Sequence[tuple[str, re.Pattern]]) -> set[str]:
    """Codes whose keywords occur in the text, except right after a negation."""
    lowered = text.lower()
    found = set()
    for code_id, pattern in rules:
        for match in pattern.finditer(lowered):
            if not NEGATION.search(lowered[: match.start()]):
                found.add(code_id)
                break
    return found


def true_coding(
    segments: Iterable[dict], codebook: Codebook, roles: Sequence[str] = ("participant",)
) -> dict[str, set[str]]:
    """segment_id -> codes by the keyword rules, for the segments of the coded roles."""
    rules = keyword_rules(codebook)
    return {
        row["segment_id"]: keyword_codes(row["text"], rules)
        for row in segments
        if row["role"] in roles
    }


def simulate(
    segments: Sequence[dict],
    truth: dict[str, set[str]],
    codebook: Codebook,
    styles: dict[str, CoderStyle],
    seed: int,
) -> dict[str, dict[str, set[str]]]:
    """coder -> segment_id -> codes applied, for the segments of the transcripts each coder coded."""
    code_ids = list(codebook.code_ids)
    out: dict[str, dict[str, set[str]]] = {}
    for number, (coder, style) in enumerate(sorted(styles.items())):
        rng = np.random.default_rng([seed, number])
        applied: dict[str, set[str]] = {}
        for row in segments:
            segment_id = row["segment_id"]
            if segment_id not in truth or row["transcript_id"] in style.skip:
                continue
            codes = set()
            for code_id in sorted(truth[segment_id]):
                if rng.random() >= style.miss + style.under.get(code_id, 0.0):
                    codes.add(code_id)
            if rng.random() < style.extra:
                codes.add(code_ids[int(rng.integers(len(code_ids)))])
            for code_id, chance in sorted(style.over.items()):
                if rng.random() < chance:
                    codes.add(code_id)
            applied[segment_id] = codes
        out[coder] = applied
    return out


def consensus_of(
    codings: dict[str, dict[str, set[str]]], truth: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Majority of the coders who coded each segment; a tie goes to the keyword rule."""
    out = {}
    for segment_id in sorted(truth):
        coded = [applied[segment_id] for applied in codings.values() if segment_id in applied]
        if not coded:
            continue
        votes: dict[str, int] = {}
        for codes in coded:
            for code_id in codes:
                votes[code_id] = votes.get(code_id, 0) + 1
        out[segment_id] = {
            code_id
            for code_id, count in votes.items()
            if 2 * count > len(coded) or (2 * count == len(coded) and code_id in truth[segment_id])
        }
    return out


MEMOS = [
    "borderline",
    "check definition at meeting",
    "could also be another code",
    "applied for the whole turn",
]


def write_csv(
    path: Path,
    applied: dict[str, set[str]],
    sha1: dict[str, str],
    rng: np.random.Generator | None = None,
    exemplars: frozenset[tuple[str, str]] = frozenset(),
) -> int:
    """Long CSV (segment_id, code_id, text_sha1, memo), sorted; returns the number of rows.

    ``exemplars``: (segment, code) pairs whose memo marks them as exemplar quotes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["segment_id", "code_id", "text_sha1", "memo"])
        for segment_id in sorted(applied):
            for code_id in sorted(applied[segment_id]):
                memo = (
                    MEMOS[int(rng.integers(len(MEMOS)))]
                    if rng is not None and rng.random() < 0.03
                    else ""
                )
                if (segment_id, code_id) in exemplars:
                    memo = "exemplar: clear and vivid, quote it"
                writer.writerow([segment_id, code_id, sha1[segment_id], memo])
                rows += 1
    return rows


def write_sheet(
    path: Path, segments: Sequence[dict], applied: dict[str, set[str]], codebook: Codebook
) -> int:
    """A filled-in coding sheet (workflow/schemas/coding_sheet.md): one row per segment coded."""
    import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.properties.created = workbook.properties.modified = datetime.datetime(2024, 6, 1)
    sheet = workbook.active
    sheet.title = "coding"
    code_ids = list(codebook.code_ids)
    sheet.append([*SHEET_COLUMNS, *code_ids, "memo"])
    rows = 0
    for row in segments:
        if row["segment_id"] not in applied:
            continue
        codes = applied[row["segment_id"]]
        sheet.append(
            [
                row["segment_id"],
                row["transcript_id"],
                int(row["turn"]),
                row["role"],
                row["text"],
                row["text_sha1"],
                *[1 if code_id in codes else None for code_id in code_ids],
                None,
            ]
        )
        rows += 1
    sheet.freeze_panes = "B2"
    book = workbook.create_sheet("codebook")
    book.append(["theme_id", "code_id", "label", "definition"])
    for code in codebook.codes:
        book.append([code.theme_id, code.id, code.label, code.definition])
    save_deterministic(workbook, path)  # the same codings give the same bytes
    return rows


def load_segment_rows(folder: Path) -> list[dict]:
    return [row for path in sorted(Path(folder).glob("*.tsv")) for row in read_tsv(path)]


def write_demo(segments_folder: Path, codebook_path: Path, out: Path, seed: int) -> dict[str, int]:
    """The demo codings; returns rows written per file."""
    codebook = load_codebook(codebook_path)
    segments = load_segment_rows(segments_folder)
    truth = true_coding(segments, codebook)
    sha1 = {row["segment_id"]: row["text_sha1"] for row in segments}
    codings = simulate(segments, truth, codebook, DEMO_CODERS, seed)
    rng = np.random.default_rng([seed, 99])
    written = {}
    a = codings["coder_a"]
    for site in ("DSM", "NYC"):
        part = {segment_id: codes for segment_id, codes in a.items() if segment_id.startswith(site)}
        written[f"coder_a/{site.lower()}_codings.csv"] = write_csv(
            out / "coder_a" / f"{site.lower()}_codings.csv", part, sha1, rng
        )
    transcripts = sorted({segment_id.rsplit("-", 2)[0] for segment_id in a})
    (out / "coder_a" / "transcripts.txt").write_text(
        "# Transcripts coder_a coded (including any where no code applied)\n"
        + "\n".join(transcripts)
        + "\n",
        encoding="utf-8",
    )
    written["coder_b/coding_sheet.xlsx"] = write_sheet(
        out / "coder_b" / "coding_sheet.xlsx", segments, codings["coder_b"], codebook
    )
    written["coder_c/codings.csv"] = write_csv(
        out / "coder_c" / "codings.csv", codings["coder_c"], sha1, rng
    )
    consensus = consensus_of(codings, truth)
    written["consensus/consensus.csv"] = write_csv(
        out / "consensus" / "consensus.csv",
        consensus,
        sha1,
        exemplars=marked_exemplars(consensus, segments, seed),
    )
    return written


def marked_exemplars(
    applied: dict[str, set[str]], segments: Sequence[dict], seed: int, share: float = 0.3
) -> frozenset[tuple[str, str]]:
    """About ``share`` of the codes get one segment of 15 words or more marked as an exemplar."""
    rng = np.random.default_rng([seed, 7])
    words = {row["segment_id"]: len(row["text"].split()) for row in segments}
    marked = set()
    for code_id in sorted({code for codes in applied.values() for code in codes}):
        long_enough = sorted(
            segment_id
            for segment_id, codes in applied.items()
            if code_id in codes and words[segment_id] >= 15
        )
        if long_enough and rng.random() < share:
            marked.add((long_enough[int(rng.integers(len(long_enough)))], code_id))
    return frozenset(marked)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", default="results/segments", type=Path)
    parser.add_argument("--codebook", default="data/codebook.yaml", type=Path)
    parser.add_argument("--out", default="data/coding", type=Path)
    parser.add_argument("--seed", default=20240601, type=int)
    args = parser.parse_args(argv)
    for name, rows in write_demo(args.segments, args.codebook, args.out, args.seed).items():
        print(f"{args.out / name}: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
