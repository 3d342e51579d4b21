"""Run the real workflow (Snakemake CLI, the repository's Snakefile) on small data in a temporary folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "data" / "mini"
CONFIGS = REPO / "tests" / "data" / "configs"


def make_docx(path: Path, paragraphs: list[tuple[str, str]]) -> Path:
    """A Word transcript with bold speaker labels, as transcribers write them."""
    import docx

    document = docx.Document()
    for label, text in paragraphs:
        paragraph = document.add_paragraph()
        paragraph.add_run(label).bold = True
        paragraph.add_run(f": {text}")
    document.save(str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A study folder: the mini data (txt, vtt, srt, docx) and the repository's config.yaml."""
    shutil.copytree(MINI / "data", tmp_path / "data")
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    make_docx(
        tmp_path / "data" / "raw" / "B02.docx",
        [
            ("Interviewer", "Where do you get your HIV care?"),
            ("Participant", "At Jua Kali, but mental health is across town."),
            ("Interviewer", "Is that hard?"),
            ("Participant", "Three places, three sets of forms."),
        ],
    )
    return tmp_path


def _merged(base: dict, change: dict) -> dict:
    merged = dict(base)
    for key, value in change.items():
        merged[key] = (
            _merged(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return merged


def use_config(project: Path, name: str) -> None:
    """Merge the named test configuration (tests/data/configs/{name}.yaml) into the project's
    config.yaml: a test's settings in a file of their own, not a string replaced in the config."""
    import yaml

    config = project / "config.yaml"
    change = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text(encoding="utf-8"))
    merged = _merged(yaml.safe_load(config.read_text(encoding="utf-8")), change)
    config.write_text(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), encoding="utf-8")


def run_workflow(
    project: Path, *arguments: str, snakefile: Path = REPO / "Snakefile"
) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--directory",
        str(project),
        # no --workflow-profile: plain snakemake finds profiles/default/ beside the Snakefile
        "--cores",
        "2",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


PART_RULE = re.compile(
    r"^(?P<stage>ingest|parse|deidentify|segment|candidate_codes|coding_sheets)_(?P<part>\d\d)$"
)


def stage_counts(counts: dict[str, int]) -> dict[str, int]:
    """Job counts with the per-part rules ({stage}_{part}, scripts/parts.py) counted by stage: how
    many parts of the corpus each stage runs."""
    staged: dict[str, int] = {}
    for rule, count in counts.items():
        found = PART_RULE.match(rule)
        key = found["stage"] if found else rule
        staged[key] = staged.get(key, 0) + count
    return staged


def parts_of(transcripts) -> int:
    """How many parts of the corpus these transcripts fall into."""
    from scripts.parts import by_part

    return len(by_part(transcripts))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Rule → number of jobs, from the 'Job stats' table of a dry run."""
    counts: dict[str, int] = {}
    lines = dry_run_output.splitlines()
    if "Job stats:" not in lines:
        return counts
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts
