"""Benchmark candidate coding (rule candidate_codes) on the benchmark corpus of bench_workflow.py.

Builds N synthetic transcripts (benchmarks/bench_workflow.build_corpus, with the demo codebook),
then, with the real workflow (workflow profile, jobs as threads):

1. runs the workflow up to the segments (the segment part jobs' records as targets; the
   deidentify rule also writes each transcript's tokens, with lemmas, from its one parse);
2. times the candidate stage alone (``codebook_terms`` and the candidate_codes part jobs' records,
   ``results/parts/candidate_codes/{part}.tsv``, as targets: no spaCy model runs in it except to
   lemmatise the codebook's terms once);
3. runs the rest of the workflow (corpus summary, leak check, coding sheets, ...);

and reports the candidate stage's share of the whole run (1 + 2 + 3), plus the bare throughput of
:func:`scripts.candidates.code_segments` in one process (reading the segments and tokens files
included; vocabulary and matcher set-up reported apart), in segments per second (all segments,
and the coded-role segments that are actually matched).

    python benchmarks/bench_candidates.py [--transcripts 100] [--cores all] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_workflow import build_corpus, snakemake  # noqa: E402

from scripts.parts import by_part  # noqa: E402


def bare_throughput(folder: Path) -> dict:
    import yaml

    from scripts import candidates, codebook_terms
    from scripts.codebook import load_codebook
    from scripts.contracts import read_tsv

    config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    roles = config.get("candidates", {}).get("roles", ["participant"])
    started = time.perf_counter()
    codebook = load_codebook(folder / "data" / "codebook.yaml")
    terms = codebook_terms.read_terms(
        folder / "results" / "candidates" / "codebook_terms.json", codebook
    )
    matcher = candidates.build_matcher(codebook, terms, candidates.blank_vocab())
    loaded = time.perf_counter()
    segments = coded = found = 0
    for path in sorted((folder / "results" / "segments").glob("*.tsv")):
        rows = read_tsv(path)
        tokens = candidates.read_tokens(
            folder / "results" / "deidentified" / f"{path.stem}.tokens.jsonl"
        )
        segments += len(rows)
        coded += sum(row["role"] in roles for row in rows)
        found += len(candidates.code_segments(rows, tokens, codebook, terms, roles, matcher))
    finished = time.perf_counter()
    return {
        "load_s": loaded - started,
        "code_s": finished - loaded,
        "segments": segments,
        "coded": coded,
        "candidates": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=100)
    parser.add_argument("--cores", default="all")
    parser.add_argument(
        "--keep", type=Path, help="build the corpus here and keep it (default: a temporary folder)"
    )
    arguments = parser.parse_args()
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="qualflow-bench-candidates-"))
    if arguments.keep and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    transcripts = build_corpus(folder, arguments.transcripts)

    corpus_parts = by_part(transcripts)
    upstream, _, _ = snakemake(
        folder, arguments.cores, *(f"results/parts/segment/{part}.tsv" for part in corpus_parts)
    )
    targets = [
        "results/candidates/codebook_terms.json",
        *(f"results/parts/candidate_codes/{part}.tsv" for part in corpus_parts),
    ]
    stage, stage_rss, _ = snakemake(folder, arguments.cores, *targets)
    rest, _, _ = snakemake(folder, arguments.cores)
    whole = upstream + stage + rest
    bare = bare_throughput(folder)

    print(
        f"corpus: {len(transcripts)} transcripts, {bare['segments']} segments ({bare['coded']} of a coded role), "
        f"{bare['candidates']} candidates; cores: {arguments.cores}"
    )
    print(f"workflow up to segments:        {upstream:8.1f} s")
    print(
        f"candidate stage (workflow):     {stage:8.1f} s   {bare['segments'] / stage:8.0f} segments/s "
        f"({bare['coded'] / stage:.0f} coded-role segments/s; peak RSS {stage_rss:.0f} MiB)"
    )
    print(f"rest of the workflow:           {rest:8.1f} s")
    print(f"candidate stage / whole run:    {stage / whole:8.1%}   (whole run {whole:.1f} s)")
    print(
        f"bare code_segments, one process:{bare['code_s']:8.1f} s   {bare['segments'] / bare['code_s']:8.0f} segments/s "
        f"({bare['coded'] / bare['code_s']:.0f} coded-role segments/s; vocabulary + matcher set-up {bare['load_s']:.1f} s)"
    )
    if not arguments.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
