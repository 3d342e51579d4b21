"""Benchmark the workflow against the best bare spaCy pass on this machine, in one run.

Builds a corpus of N synthetic transcripts by varying the demo interviews (new IDs, a varied
closing turn for the text formats; .docx copied as is), with a row of participants.csv each, and
the demo config as it is (no flag the defaults do not have). Then measures, each on the corpus
as the step before left it:

1. the full workflow (plain ``snakemake --cores C``), from an empty results/;
2. a rerun after adding interviews (``--add``, default 10), each with its participants.csv row,
   as a data manager adds them;
3. a no-op rerun;
4. a rerun after adding one name to the identifier list that one transcript holds (its closing
   turn names a visitor, "Zuberi Kassim", that the corpus's other transcripts do not);
5. a rerun after adding one name that one demo interview in 13 holds, so a 13th of the corpus
   ("Fatuma Ali", a neighbour in DSM03 whom the NER had caught);
6. a rerun after correcting one word in one transcript, a correction that makes spaCy cut its
   sentence in two ("The cough finished" -> "The cough vanished" in a copy of DSM01);
7. bare spaCy ``nlp.pipe`` passes over the same turn texts, each in its own process, model load
   included: with ``n_process`` = the cores given to the workflow (the floor a spaCy user gets on
   this machine) and with one process; both with the pipeline the workflow parses with.

Prints wall times, each rerun as a share of the full run, the ratio full run / floor, and the
peak resident memory of the largest process of each run (the Snakemake process and every worker
it started: ``RUSAGE_CHILDREN``).

    python benchmarks/bench_workflow.py [--transcripts 1000] [--add 10] [--cores 2] [--keep DIR]
        [--dry-run-only] [--steps full,add,noop,name_one,name_many,correct] [--no-bare]

--dry-run-only times only the DAG build (``snakemake -n``) of the corpus, e.g. 5,000 transcripts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data"
STEPS = ("full", "add", "noop", "name_one", "name_many", "correct")
#: The visitor one transcript of the corpus names (step name_one).
VISITOR = "Zuberi Kassim"

BARE_SPACY = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
import spacy
nlp = spacy.load(sys.argv[1])
loaded = time.perf_counter()
texts = [json.loads(line)["text"] for path in sorted(Path(sys.argv[2]).glob("*.jsonl")) for line in open(path, encoding="utf-8")]
entities = sentences = 0
for doc in nlp.pipe(texts, batch_size=64, n_process=int(sys.argv[3])):
    entities += len(doc.ents)
    sentences += sum(1 for _ in doc.sents)
finished = time.perf_counter()
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"load_s": loaded - started, "pipe_s": finished - loaded, "total_s": finished - started,
                  "texts": len(texts), "words": sum(len(t.split()) for t in texts), "entities": entities,
                  "sentences": sentences, "pipes": nlp.pipe_names, "max_rss_mib": peak / 1024}))
"""


def vary(text: str, copy: int) -> str:
    """A copy of a text transcript that differs from the others (a varied closing turn)."""
    visitor = f" Oh, and {VISITOR} from the church came by." if copy == 1 else ""
    return (
        text.rstrip("\n")
        + f"\n\nInterviewer: Anything else, before we stop (recording {copy})?{visitor}\n"
    )


def vary_captions(text: str, copy: int, srt: bool) -> str:
    separator = "," if srt else "."
    number = f"{9000 + copy}\n" if srt else ""
    return (
        text.rstrip("\n")
        + f"\n\n{number}09:59:58{separator}000 --> 09:59:59{separator}500\nINTERVIEWER: Thank you (recording {copy}).\n"
    )


def write_copy(source: Path, target: Path, copy: int) -> None:
    """A varied copy of a demo interview, in its format and encoding (.docx copied as is)."""
    if source.suffix == ".docx":
        shutil.copy(source, target)
        return
    data = source.read_bytes()
    encoding = (
        "utf-16"
        if data[:2] in (b"\xff\xfe", b"\xfe\xff")
        else ("utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else None)
    )
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


def participant_row(copy: int) -> str:
    return f"S{copy:05d},P{copy:05d},{'client' if copy % 4 else 'provider'},{'AB'[copy % 2]},woman,30-44,2024-01-01"


def build_corpus(folder: Path, count: int) -> None:
    """N transcripts under folder/data/raw, cycling through the demo interviews (the first copy of
    a text interview names the visitor), and the demo's list, codebook, secret and config."""
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    demo = sorted((DEMO / "raw").iterdir())
    for name in ("identifiers.yaml", "codebook.yaml", "study_secret.key"):
        shutil.copy(DEMO / name, folder / "data" / name)
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    rows = ["transcript_id,participant_id,role,site,gender,age_group,interview_date"]
    for copy in range(count):
        source = demo[copy % len(demo)]
        write_copy(source, raw / f"S{copy:05d}{source.suffix}", copy)
        rows.append(participant_row(copy))
    (folder / "data" / "participants.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


#: Runs a command and prints, last, the peak RSS (KiB) of the largest process it waited for: the
#: run's Snakemake process and every worker it started (RUSAGE_CHILDREN, per run).
PEAK = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print(f"\\npeak-rss-kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def snakemake(folder: Path, cores: str, *arguments: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB of the largest process of the run, output) of one plain run."""
    command = [
        sys.executable,
        "-c",
        PEAK,
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        cores,
        *arguments,
    ]
    started = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, text=True, cwd=folder, env=_with_profile(folder)
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"snakemake failed:\n{completed.stderr[-4000:]}")
    peak = int(re.findall(r"peak-rss-kib (\d+)", completed.stderr)[-1]) / 1024
    return wall, peak, completed.stdout + completed.stderr


def _with_profile(folder: Path) -> dict:
    """The environment of a run in the corpus folder: the workflow found as a data manager finds it."""
    for name in ("Snakefile", "workflow", "scripts", "profiles"):
        target = folder / name
        if (REPO / name).exists() and not target.exists():
            target.symlink_to(REPO / name)
    return dict(os.environ)


def measured(label: str, step: tuple[float, float, str], full: float | None = None) -> str:
    wall, peak, _ = step
    share = f"  ({100 * wall / full:.1f}% of the full run)" if full else ""
    return f"{label:<44}{wall:8.1f} s{share}   peak RSS {peak:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--cores", default=str(os.cpu_count() or 1))
    parser.add_argument(
        "--keep", type=Path, help="build the corpus here and keep it (default: a temporary folder)"
    )
    parser.add_argument("--add", type=int, default=10, help="interviews added before the rerun")
    parser.add_argument(
        "--no-bare",
        action="store_true",
        help="skip the bare spaCy passes (to compare two versions of the workflow, alternated)",
    )
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"which of {','.join(STEPS)} to run"
    )
    parser.add_argument(
        "--dry-run-only", action="store_true", help="time only the DAG build (snakemake -n)"
    )
    arguments = parser.parse_args()
    steps = set(arguments.steps.split(","))
    folder = arguments.keep or Path(tempfile.mkdtemp(prefix="qualflow-bench-"))
    if arguments.keep and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_corpus(folder, arguments.transcripts)
    cores = arguments.cores
    if arguments.dry_run_only:
        # the first build reads every raw transcript once (which entries of the identifier list
        # each depends on; kept as keyed hashes in .snakemake/qualflow/), every later one does not
        for when in ("first", "again"):
            wall, rss, output = snakemake(folder, cores, "--dry-run")
            total = next(
                (line.split()[-1] for line in output.splitlines() if line.startswith("total")),
                "?",
            )
            print(
                f"corpus: {arguments.transcripts} transcripts; DAG build (snakemake -n, {total} jobs), "
                f"{when}: {wall:.1f} s, peak RSS {rss:.0f} MiB"
            )
        if not arguments.keep:
            shutil.rmtree(folder)
        return

    lines = []
    full = snakemake(folder, cores)
    lines.append(measured("full workflow run:", full))
    if "add" in steps:
        demo = sorted((DEMO / "raw").iterdir())
        participants = folder / "data" / "participants.csv"
        for extra in range(arguments.add):
            copy = arguments.transcripts + extra
            source = demo[extra % len(demo)]
            write_copy(
                source, folder / "data" / "raw" / f"S{copy:05d}{source.suffix}", 90000 + extra
            )
            participants.write_text(
                participants.read_text(encoding="utf-8") + participant_row(copy) + "\n",
                encoding="utf-8",
            )
        lines.append(
            measured(
                f"rerun after adding {arguments.add} (with participant rows):",
                snakemake(folder, cores),
                full[0],
            )
        )
    if "noop" in steps:
        noop = snakemake(folder, cores)
        assert "Nothing to be done" in noop[2], "the no-op rerun did work"
        lines.append(measured("no-op rerun:", noop))
    identifiers = folder / "data" / "identifiers.yaml"
    for step, name, label in (
        ("name_one", VISITOR, "a name in 1 transcript"),
        ("name_many", "Fatuma Ali", "a name in 1 of 13"),
    ):
        if step in steps:
            identifiers.write_text(
                identifiers.read_text(encoding="utf-8").replace(
                    "places:\n", f"  - name: {name}\n    role: other\nplaces:\n", 1
                ),
                encoding="utf-8",
            )
            run = snakemake(folder, cores)
            worked = len(re.findall(r"^localrule deidentify_\d+:$", run[2], re.MULTILINE))
            lines.append(
                measured(f"rerun after listing {label}:", run, full[0])
                + f"   ({worked} part(s) de-identified again)"
            )
    if "correct" in steps:
        corrected = next(
            path
            for path in sorted((folder / "data" / "raw").glob("S*.txt"))
            if "The cough finished" in path.read_text(encoding="utf-8")
        )
        corrected.write_text(
            corrected.read_text(encoding="utf-8").replace(
                "The cough finished", "The cough vanished", 1
            ),
            encoding="utf-8",
        )
        lines.append(
            measured(
                "rerun after correcting a word in 1 transcript:", snakemake(folder, cores), full[0]
            )
        )

    model = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import yaml,sys,json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))['spacy']['model']))",
                str(folder / "config.yaml"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    ingested = str(folder / "results" / "private" / "ingested")

    def bare_pass(processes: int) -> dict:
        run = subprocess.run(
            [sys.executable, "-c", BARE_SPACY, model, ingested, str(processes)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(run.stdout)

    cores_number = os.cpu_count() if cores == "all" else int(cores)
    if arguments.no_bare:
        print(f"corpus: {arguments.transcripts} transcripts; cores: {cores}; default config.yaml")
        for line in lines:
            print(line)
        if not arguments.keep:
            shutil.rmtree(folder)
        return
    floor = bare_pass(cores_number)
    single = bare_pass(1) if cores_number > 1 else floor
    print(
        f"corpus: {arguments.transcripts} transcripts, {floor['texts']} turns, {floor['words']} words; cores: {cores}; default config.yaml"
    )
    for line in lines:
        print(line)
    for name, result in (
        (f"bare spaCy, n_process={cores_number} (the floor):", floor),
        ("bare spaCy, one process:", single),
    ):
        print(
            f"{name:<44}{result['total_s']:8.1f} s   (load {result['load_s']:.1f} s + nlp.pipe {result['pipe_s']:.1f} s; "
            f"peak RSS {result['max_rss_mib']:.0f} MiB; pipes {','.join(result['pipes'])})"
        )
    print(
        f"ratio full run / floor:                     {full[0] / floor['total_s']:8.2f}   (/ one process: {full[0] / single['total_s']:.2f})"
    )
    if not arguments.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
