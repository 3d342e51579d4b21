"""The code passes ruff's linter and formatter check (line length 100, pyproject.toml), and the workflow
Snakemake's linter and snakefmt's formatting check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_snakefmt_check() -> None:
    completed = subprocess.run([str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_snakemake_lint() -> None:
    completed = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0 and "Congratulations" in completed.stdout + completed.stderr, completed.stdout + completed.stderr


def test_ruff_check() -> None:
    completed = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-5000:]


def test_ruff_format_check() -> None:
    completed = subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-5000:]
