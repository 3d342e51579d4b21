"""Wall time of the ``agreement`` rule's job on a synthetic corpus.

Default: 200 transcripts (about 150 segments each, 120 of them participant segments, as in the
demo), a codebook of 20 codes, 3 coders (long CSV files, one coder also skipping a few
transcripts) and a consensus, 1,000 bootstrap iterations. Builds the segments and codings in a
temporary folder and anchors the codings to them (rule anchor_codings; not timed), then times
the function the rule runs (``scripts.agreement_report.agreement``: read and check the codings,
compute every comparison with its bootstrap intervals, write the TSVs and the HTML report).
Target: < 30 s.

    python benchmarks/bench_agreement.py [--transcripts 200] [--codes 20] [--coders 3]
        [--iterations 1000] [--sheet] [--repeats 1] [--keep DIR]

``--sheet`` writes the last coder as a filled-in XLSX coding sheet instead of CSV (reading a
sheet with openpyxl costs about 0.15 ms a cell).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import string
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_codings import (  # noqa: E402
    CoderStyle,
    consensus_of,
    simulate,
    true_coding,
    write_csv,
    write_sheet,
)

from scripts import agreement_report  # noqa: E402
from scripts.codebook import load_codebook  # noqa: E402
from scripts.contracts import SEGMENT_COLUMNS, write_tsv  # noqa: E402

FILLER = "the a and we then my it was there clinic day people time home thing work money".split()


def build_codebook(path: Path, n_codes: int, rng: np.random.Generator) -> list[list[str]]:
    """A codebook of n codes in 4 themes; each code has three made-up keywords."""
    keywords = []
    lines = ['version: "bench"', "themes:"]
    per_theme = -(-n_codes // 4)
    for code in range(n_codes):
        if code % per_theme == 0:
            lines += [
                f"  - id: theme{code // per_theme}",
                f"    label: Theme {code // per_theme}",
                "    codes:",
            ]
        words = ["".join(rng.choice(list(string.ascii_lowercase), 7)) for _ in range(3)]
        keywords.append(words)
        lines += [
            f"      - id: code{code:02d}",
            f"        label: Code {code}",
            "        definition: A synthetic code.",
            f"        keywords: [{', '.join(words)}]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keywords


def build_segments(
    folder: Path, n_transcripts: int, keywords: list[list[str]], rng: np.random.Generator
) -> list[dict]:
    """Per transcript: 30 exchanges of an interviewer question and a 4-sentence participant turn.

    Each participant sentence carries a code's keyword with a probability that differs by code
    (rare and common codes, about 2% of sentences on average).
    """
    prevalence = rng.uniform(0.003, 0.04, len(keywords))
    all_rows = []
    for t in range(n_transcripts):
        transcript = f"S{t:04d}"
        rows = []
        for exchange in range(30):
            for offset, role, sentences in ((1, "interviewer", 1), (2, "participant", 4)):
                turn = 2 * exchange + offset
                start = 0
                for sentence in range(1, sentences + 1):
                    words = list(rng.choice(FILLER, 8))
                    if role == "participant":
                        for code in np.nonzero(rng.random(len(keywords)) < prevalence)[0]:
                            words.insert(
                                int(rng.integers(len(words))), keywords[code][int(rng.integers(3))]
                            )
                    text = " ".join(words).capitalize() + "."
                    rows.append(
                        {
                            "segment_id": f"{transcript}-{turn:04d}-{sentence:03d}",
                            "transcript_id": transcript,
                            "turn": turn,
                            "sentence": sentence,
                            "role": role,
                            "speaker": role.title(),
                            "start_char": start,
                            "end_char": start + len(text),
                            "text": text,
                            "text_sha1": hashlib.sha1(text.encode()).hexdigest(),
                        }
                    )
                    start += len(text) + 1
        write_tsv(folder / f"{transcript}.tsv", rows, SEGMENT_COLUMNS)
        all_rows += rows
    return all_rows


def build(
    folder: Path, n_transcripts: int, n_codes: int, n_coders: int, sheet: bool, seed: int = 1
) -> dict:
    rng = np.random.default_rng(seed)
    keywords = build_codebook(folder / "codebook.yaml", n_codes, rng)
    codebook = load_codebook(folder / "codebook.yaml")
    segments = build_segments(folder / "segments", n_transcripts, keywords, rng)
    truth = true_coding(segments, codebook)
    transcripts = sorted({row["transcript_id"] for row in segments})
    styles = {
        f"coder_{chr(97 + c)}": CoderStyle(
            miss=0.1 + 0.04 * c,
            extra=0.01 + 0.005 * c,
            skip=tuple(transcripts[-(c + 1) :]) if c == n_coders - 1 else (),
            over={codebook.code_ids[c % n_codes]: 0.02},
        )
        for c in range(n_coders)
    }
    codings = simulate(segments, truth, codebook, styles, seed)
    sha1 = {row["segment_id"]: row["text_sha1"] for row in segments}
    files = []
    for number, (coder, applied) in enumerate(sorted(codings.items())):
        if sheet and number == n_coders - 1:
            files.append(folder / "coding" / coder / "sheet.xlsx")
            write_sheet(files[-1], segments, applied, codebook)
        else:
            files.append(folder / "coding" / coder / "codings.csv")
            write_csv(files[-1], applied, sha1)
    files.append(folder / "coding" / "consensus" / "consensus.csv")
    write_csv(files[-1], consensus_of(codings, truth), sha1)
    return {
        "codebook": str(folder / "codebook.yaml"),
        "codings": [str(f) for f in files],
        "segments": [str(p) for p in sorted((folder / "segments").glob("*.tsv"))],
        "transcripts": transcripts,
        "n_segments": len(segments),
        "n_participant_segments": len(truth),
        "n_codings": sum(len(codes) for applied in codings.values() for codes in applied.values()),
    }


def anchored(folder: Path, corpus: dict, coding: dict) -> dict[str, list[str]]:
    """Rule anchor_codings on every coder's files (not timed): its tables, as the agreement
    rule's inputs (a list of each)."""
    from scripts.anchor_codings import anchor_codings

    tables = {
        name: str(folder / "anchored" / f"{name}.tsv")
        for name in ("codings", "transcripts", "problems", "anchoring")
    }
    anchor_codings(
        corpus["codebook"],
        corpus["codings"],
        corpus["segments"],
        [],
        tables,
        coding,
        str(folder / "anchored" / "anchor_codings.log"),
    )
    return {name: [path] for name, path in tables.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transcripts", type=int, default=200)
    parser.add_argument("--codes", type=int, default=20)
    parser.add_argument("--coders", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument(
        "--sheet", action="store_true", help="the last coder codes in an XLSX sheet"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qualflow-bench-agreement-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        corpus = build(folder, args.transcripts, args.codes, args.coders, args.sheet)
        built = time.perf_counter() - started
        coding = {"roles": ["participant"], "consensus": "consensus", "coders": []}
        agreement = {
            "unit": "segment",
            "bootstrap_iterations": args.iterations,
            "seed": 1,
            "confidence": 0.95,
            "paradox_gap": 0.3,
            "minimum_alpha": 0.667,
            "on_low_alpha": "warn",
        }
        inputs = {
            **anchored(folder, corpus, coding),
            "codebook": corpus["codebook"],
            "segments": corpus["segments"],
        }
        outputs = {
            name: str(folder / "results" / f"{name}.{'html' if name == 'report' else 'tsv'}")
            for name in ("by_code", "by_pair", "summary", "disagreements", "problems", "report")
        }
        params = {
            "coders": sorted({Path(path).parent.name for path in corpus["codings"]}),
            "transcripts": corpus["transcripts"],
            "config": {"coding": coding, "agreement": agreement},
            "code": "",
        }
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            agreement_report.agreement(
                inputs, outputs, params, str(folder / "results" / "agreement.log")
            )
            times.append(time.perf_counter() - started)
        summary = (folder / "results" / "summary.tsv").read_text(encoding="utf-8").splitlines()
        print(
            json.dumps(
                {
                    "transcripts": args.transcripts,
                    "codes": args.codes,
                    "coders": args.coders,
                    "iterations": args.iterations,
                    "sheet": args.sheet,
                    "segments": corpus["n_segments"],
                    "participant_segments": corpus["n_participant_segments"],
                    "codings": corpus["n_codings"],
                    "build_s": round(built, 2),
                    "agreement_job_s": [round(t, 2) for t in times],
                    "report_html_bytes": Path(outputs["report"]).stat().st_size,
                    "disagreements": len(
                        (folder / "results" / "disagreements.tsv")
                        .read_text(encoding="utf-8")
                        .splitlines()
                    )
                    - 1,
                    "pooled_alpha_all_coders": dict(
                        zip(summary[0].split("\t"), summary[1].split("\t"))
                    )["krippendorff_alpha"],
                },
                indent=1,
            )
        )
        print(f"agreement job: {min(times):.2f} s wall (target < 30 s)")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
