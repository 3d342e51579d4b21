"""Benchmark the workflow against the bare spaCy floor, in one run.

Builds a corpus of N synthetic transcripts by varying the demo interviews (new IDs, a varied
closing turn for the text formats; .docx copied as is), then measures:

1. the full workflow (snakemake, workflow profile, all cores), from an empty results/;
2. a rerun after adding transcripts (``--add``, default 1);
3. a no-op rerun;
4. one bare spaCy ``nlp.pipe`` pass over the same turn texts, in its own process, model load
   included and also reported apart: with the pipeline the workflow parses with (the model as it
   loads), and with entities and sentences only (tagger, attribute ruler, lemmatizer excluded);

and prints the wall times, the ratio full run / bare spaCy, and peak memory (max RSS) of the
Snakemake process (jobs run as its threads) and of the bare pass.

    python benchmarks/bench_workflow.py [--transcripts 100] [--add 1] [--cores all] [--keep DIR]
        [--until-segments] [--sheets-per-transcript] [--dry-run-only]

--until-segments stops at the segments (ingest, deidentify, segment: the foundation stages),
leaving out candidate coding, coding sheets and the corpus-level rules.
--sheets-per-transcript sets coding_sheets.per_transcript (what a large study would use).
--dry-run-only times only the DAG build (``snakemake -n``) of the corpus, e.g. 5,000 transcripts.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data"

BARE_SPACY = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
import spacy
exclude = [name for name in sys.argv[3].split(",") if name]
nlp = spacy.load(sys.argv[1], exclude=exclude)
loaded = time.perf_counter()
texts = [json.loads(line)["text"] for path in sorted(Path(sys.argv[2]).glob("*.jsonl")) for line in open(path, encoding="utf-8")]
entities = sentences = 0
for doc in nlp.pipe(texts, batch_size=64):
    entities += len(doc.ents)
    sentences += sum(1 for _ in doc.sents)
finished = time.perf_counter()
print(json.dumps({"load_s": loaded - started, "pipe_s": finished - loaded, "total_s": finished - started,
                  "texts": len(texts), "words": sum(len(t.split()) for t in texts), "entities": entities,
                  "sentences": sentences, "pipes": nlp.pipe_names, "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def vary(text: str, copy: int) -> str:
    """A copy of a text transcript that differs from the others (a varied closing turn)."""
    return text.rstrip("\n") + f"\n\nInterviewer: Anything else, before we stop (recording {copy})?\n"


def vary_captions(text: str, copy: int, srt: bool) -> str:
    separator = "," if srt else "."
    number = f"{9000 + copy}\n" if srt else ""
    return text.rstrip("\n") + f"\n\n{number}09:59:58{separator}000 --> 09:59:59{separator}500\nINTERVIEWER: Thank you (recording {copy}).\n"


def write_copy(source: Path, target: Path, copy: int) -> None:
    """A varied copy of a demo interview, in its format and encoding (.docx copied as is)."""
    if source.suffix == ".docx":
        shutil.copy(source, target)
        return
    data = source.read_bytes()
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else None)
    if encoding is None:
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    text = data.decode(encoding)
    if source.suffix in (".vtt", ".srt"):
        text = vary_captions(text, copy, source.suffix == ".srt")
    elif not text.lstrip().startswith("["):
        text = vary(text, copy)
    target.write_bytes(text.encode(encoding))


def build_corpus(folder: Path, count: int) -> list[str]:
    """N transcripts under folder/data/raw, cycling through the demo interviews."""
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    demo = sorted((DEMO / "raw").iterdir())
    shutil.copy(DEMO / "identifiers.yaml", folder / "data" / "identifiers.yaml")
    shutil.copy(DEMO / "codebook.yaml", folder / "data" / "codebook.yaml")
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    rows = ["transcript_id,participant_id,role,site,gender,age_group,interview_date"]
    identifiers = []
    for copy in range(count):
        source = demo[copy % len(demo)]
        transcript_id = f"S{copy:05d}"
        write_copy(source, raw / f"{transcript_id}{source.suffix}", copy)
        rows.append(f"{transcript_id},P{copy:05d},{'client' if copy % 4 else 'provider'},{'AB'[copy % 2]},woman,30-44,2024-01-01")
        identifiers.append(transcript_id)
    (folder / "data" / "participants.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return identifiers


def snakemake(folder: Path, cores: str, *arguments: str) -> tuple[float, float, str]:
    """(wall seconds, max RSS MiB of the Snakemake process, output) of one run."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
        "--workflow-profile", str(REPO / "workflow" / "profiles" / "default"), "--cores", cores, *arguments,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"snakemake failed:\n{completed.stderr[-4000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024, completed.stdout + completed.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=100)
    parser.add_argument("--cores", default="all")
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it (default: a temporary folder)")
    parser.add_argument("--until-segments", action="store_true", help="run only ingest, deidentify and segment")
    parser.add_argument("--add", type=int, default=1, help="transcripts added before the rerun")
    parser.add_argument("--sheets-per-transcript", action="store_true", help="coding_sheets.per_transcript: true")
    parser.add_argument("--dry-run-only", action="store_true", help="time only the DAG build (snakemake -n)")
    arguments = parser.parse_args()
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="qualflow-bench-"))
    if arguments.keep and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_corpus(folder, arguments.transcripts)
    if arguments.sheets_per_transcript:
        config = folder / "config.yaml"
        config.write_text(config.read_text(encoding="utf-8").replace("  per_transcript: false", "  per_transcript: true"), encoding="utf-8")
    if arguments.dry_run_only:
        wall, rss, output = snakemake(folder, arguments.cores, "--dry-run")
        total = next((line.split()[-1] for line in output.splitlines() if line.startswith("total")), "?")
        print(f"corpus: {arguments.transcripts} transcripts; DAG build (snakemake -n, {total} jobs): {wall:.1f} s, peak RSS {rss:.0f} MiB")
        if not arguments.keep:
            shutil.rmtree(folder)
        return

    def targets(count: int) -> list[str]:
        return [f"results/segments/S{copy:05d}.tsv" for copy in range(count)] if arguments.until_segments else []

    full, full_rss, _ = snakemake(folder, arguments.cores, *targets(arguments.transcripts))
    demo = sorted((DEMO / "raw").iterdir())
    for extra in range(arguments.add):
        source = demo[extra % len(demo)]
        write_copy(source, folder / "data" / "raw" / f"S{arguments.transcripts + extra:05d}{source.suffix}", 90000 + extra)
    total = arguments.transcripts + arguments.add
    added, _, _ = snakemake(folder, arguments.cores, *targets(total))
    noop, _, noop_output = snakemake(folder, arguments.cores, *targets(total))
    assert "Nothing to be done" in noop_output, "the no-op rerun did work"

    model = json.loads(subprocess.run([sys.executable, "-c", "import yaml,sys; import json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))['spacy']['model']))", str(folder / "config.yaml")], capture_output=True, text=True, check=True).stdout)
    ingested = str(folder / "results" / "private" / "ingested")

    def bare_pass(exclude: str) -> dict:
        run = subprocess.run([sys.executable, "-c", BARE_SPACY, model, ingested, exclude], capture_output=True, text=True, check=True)
        return json.loads(run.stdout)

    # The floor: the pipeline the workflow parses with (the model as it loads; the tagger,
    # attribute ruler and lemmatizer give the lemmas candidate coding matches on). Also reported:
    # entities and sentences alone, the least any de-identification by NER could do.
    bare = bare_pass("")
    bare_minimal = bare_pass("tagger,attribute_ruler,lemmatizer")

    scope = "ingest, deidentify, segment" if arguments.until_segments else "the whole workflow"
    sheets = "per transcript" if arguments.sheets_per_transcript else "per coder"
    print(f"corpus: {arguments.transcripts} transcripts (+{arguments.add} added), {bare['texts']} turns, {bare['words']} words; "
          f"cores: {arguments.cores}; scope: {scope}; coding sheets {sheets}")
    print(f"full workflow run:            {full:8.1f} s   (peak RSS of the Snakemake process: {full_rss:.0f} MiB)")
    print(f"rerun after adding {arguments.add}:{'':<{10 - len(str(arguments.add))}} {added:8.1f} s   ({100 * added / full:.1f}% of the full run)")
    print(f"no-op rerun:                  {noop:8.1f} s")
    for name, result in (("bare spaCy pass", bare), ("bare, NER+sentences only", bare_minimal)):
        print(f"{name + ' (one process):':<31}{result['total_s']:7.1f} s   (load {result['load_s']:.1f} s + nlp.pipe {result['pipe_s']:.1f} s; "
              f"peak RSS {result['max_rss_mib']:.0f} MiB; pipes {','.join(result['pipes'])})")
    print(f"ratio full run / bare spaCy:  {full / bare['total_s']:8.2f}   (NER+sentences only: {full / bare_minimal['total_s']:.2f})")
    if not arguments.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
