"""The code passes ruff's linter and formatter check (line length 100, pyproject.toml), and the workflow
Snakemake's linter and snakefmt's formatting check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_snakefmt_check() -> None:
    completed = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


def test_snakemake_lint() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0 and "Congratulations" in completed.stdout + completed.stderr, (
        completed.stdout + completed.stderr
    )


def test_ruff_check() -> None:
    completed = subprocess.run(
        [str(BIN / "ruff"), "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout[-5000:]


def test_ruff_format_check() -> None:
    completed = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout[-5000:]


def test_a_rule_without_its_job_function_stops_the_workflow_when_it_is_parsed(
    tmp_path: Path,
) -> None:
    import shutil

    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("workflow", "scripts", "data", "profiles"):
        shutil.copytree(
            REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    themes = tmp_path / "scripts" / "themes.py"
    themes.write_text(
        themes.read_text(encoding="utf-8").replace("def themes(", "def theme_tables("),
        encoding="utf-8",
    )
    completed = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n"], cwd=tmp_path, capture_output=True, text=True
    )
    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    assert "rule themes has no job function: define @rule_job def themes" in output, output[-3000:]
    assert not (tmp_path / "results" / "logs").exists()  # nothing ran
