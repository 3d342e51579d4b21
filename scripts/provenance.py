"""Provenance: what a result set was made from, so a reviewer can tell whether two match.

``results/provenance.json`` records the codebook version, a hash of the configuration (every
setting, defaults filled in), a SHA-256 of every input file (raw transcripts, participants,
codebook, coders' files), the version of Python and of every package that shapes the numbers,
the spaCy model, the git commit of the workflow and a digest of its code (Snakefile, rules,
scripts, schemas: meaningful without git too). No timestamps: the same inputs give the same file.

The private inputs (the identifier list and the study secret, which keys the hashed placeholders:
scripts/identifiers.py) are hashed with a prefix, so that the record tells whether two result
sets used the same ones without publishing a digest anyone could test a guessed list against.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

from scripts.contracts import read_tsv, write_text
from scripts.rule_jobs import job_log, rule_job

#: Packages whose versions can change a number in the results.
PACKAGES = (
    "snakemake",
    "spacy",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "krippendorff",
    "matplotlib",
    "python-docx",
    "openpyxl",
    "webvtt-py",
    "lxml",
    "PyYAML",
    "jsonschema",
    "fastjsonschema",
)
#: The workflow's own code: what ``workflow_digest`` covers (relative to the repository).
CODE = ("Snakefile", "workflow/rules", "workflow/schemas", "workflow/report", "scripts")
IDENTIFIER_PREFIX = b"qualflow provenance of the identifier list\0"


def file_digest(path: str | Path, prefix: bytes = b"") -> str:
    """SHA-256 of a file's bytes (after ``prefix``)."""
    digest = hashlib.sha256(prefix)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_digest(config: Mapping[str, Any]) -> str:
    """SHA-256 of the configuration as canonical JSON (sorted keys)."""
    return hashlib.sha256(
        json.dumps(config, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def workflow_digest(root: str | Path) -> str:
    """SHA-256 over the workflow's code files (paths and bytes, sorted; caches and bytecode skipped)."""
    root = Path(root)
    digest = hashlib.sha256()
    files = []
    for entry in CODE:
        path = root / entry
        files.extend(
            [path]
            if path.is_file()
            else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        )
    for path in sorted(files):
        digest.update(
            path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    return digest.hexdigest()


def git_commit(root: str | Path) -> dict[str, Any]:
    """The commit of the workflow's repository and whether its code differs from that commit.

    Only the workflow's code counts (:data:`CODE`): data kept in the same repository may change
    between runs without making the code "modified".
    """

    def git(*arguments: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *arguments], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "code_modified": None}
    changed = git("status", "--porcelain", "--untracked-files=no", "--", *CODE)
    return {"commit": commit, "code_modified": bool(changed)}


def package_versions(model: str) -> dict[str, str | None]:
    """Installed versions of :data:`PACKAGES` and of the spaCy model package (None: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*PACKAGES, *([model] if model else [])):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance_record(
    inputs: Mapping[str, Sequence[str]],
    private_inputs: Mapping[str, str],
    config: Mapping[str, Any],
    codebook_version: str,
    root: str | Path,
    commit: Mapping[str, Any] | None = None,
    digests: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The provenance record (plain data, sorted). digests: inputs whose SHA-256 is known
    already, by kind (the raw transcripts', from the corpus parts' tables)."""
    files = {
        kind: {str(path): file_digest(path) for path in sorted(paths)}
        for kind, paths in sorted(inputs.items())
    }
    for kind, known in sorted((digests or {}).items()):
        files[kind] = {str(path): digest for path, digest in sorted(known.items())}
    for kind, path in sorted(private_inputs.items()):
        files[kind] = {str(path): "prefixed-sha256:" + file_digest(path, IDENTIFIER_PREFIX)}
    return {
        "qualflow_provenance": 1,
        "codebook_version": codebook_version,
        "config_sha256": config_digest(config),
        "spacy_model": config.get("spacy", {}).get("model"),
        "workflow": {
            **(commit if commit is not None else git_commit(root)),
            "code_sha256": workflow_digest(root),
        },
        "packages": package_versions(config.get("spacy", {}).get("model", "")),
        "inputs": files,
        "input_counts": {kind: len(paths) for kind, paths in sorted(files.items())},
    }


@rule_job
def provenance(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule ``provenance`` → results/provenance.json (output ``record``). The raw transcripts'
    SHA-256 come from the corpus parts' tables (input ``parts``, rule corpus_part), which hashed
    them; the identifier list and the study secret (inputs ``identifiers``, ``secret``) are hashed
    with a prefix. params: the whole configuration (``config``, its digest is recorded), the git
    ``commit`` (:func:`git_commit`) and the workflow's folder (``root``)."""
    from scripts.codebook import load_codebook

    with job_log(log) as logger:
        inputs = {
            "participants": [input["participants"]],
            "codebook": [input["codebook"]],
            "codings": list(input["codings"]),
        }
        transcripts = {
            row["raw_file"]: row["raw_sha256"]
            for path in input["parts"]
            for row in read_tsv(Path(path))
        }
        record = provenance_record(
            inputs,
            {"identifiers": input["identifiers"], "study_secret": input["secret"]},
            params["config"],
            load_codebook(input["codebook"]).version,
            params["root"],
            params["commit"],
            digests={"transcripts": transcripts},
        )
        write_text(
            Path(output["record"]),
            json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        )
        logger.info(
            "provenance: %d input files, commit %s",
            sum(record["input_counts"].values()),
            record["workflow"]["commit"],
        )
