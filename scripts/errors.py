"""The kinds of user mistake qualflow reports, one exception type each.

Every message names the file (and the line or row where there is one), says what is wrong and
what to do. Messages never quote the content of a transcript: raw text must not reach logs.
"""

from __future__ import annotations

from pathlib import Path


class QualflowError(Exception):
    """A problem the user can fix; the message is complete and safe to print."""

    def __init__(self, path: str | Path | None, problem: str, fix: str, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.problem = problem
        self.fix = fix
        where = self.path or "qualflow"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {problem}. {fix}")

    def __reduce__(self):
        # rebuilt from its parts when it comes back from a worker process (scripts/workers.py)
        return type(self), (self.path, self.problem, self.fix, self.line)


class InputFormatError(QualflowError):
    """A raw transcript that cannot be read (empty, binary, unknown format, broken captions)."""


class ConfigurationError(QualflowError):
    """A malformed config.yaml, identifiers.yaml or participants.csv."""


class PrivacyError(QualflowError):
    """An identifier survived de-identification, or private material is exposed."""
