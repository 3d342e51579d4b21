"""The codebook (data/codebook.yaml): themes made of codes, validated against
workflow/schemas/codebook.schema.yaml.

Errors name the file, the line and the code (or theme) concerned. Later stages (candidate coding,
coding sheets, agreement, themes) read the codebook through :func:`load_codebook`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from scripts import settings
from scripts.errors import ConfigurationError

SCHEMA = "codebook.schema.yaml"
FIX = "Fix the codebook (schema: workflow/schemas/codebook.schema.yaml)"
#: Column names of the coding sheet (see workflow/schemas/coding_sheet.md): a code may not use one
#: as its ID, or the sheet's code columns could not be told from its other columns.
RESERVED_IDS = frozenset(
    {
        "segment_id",
        "transcript_id",
        "turn",
        "sentence",
        "role",
        "speaker",
        "text",
        "context",
        "text_sha1",
        "memo",
        "suggested",
        "coder",
        "code_id",
    }
)


class CodebookError(ConfigurationError):
    """A codebook that does not follow its schema, or with duplicate IDs."""


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    definition: str
    theme_id: str
    keywords: tuple[str, ...] = ()
    line: int | None = None
    exclude_terms: tuple[str, ...] = ()
    patterns: tuple[tuple[dict, ...], ...] = ()


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    code_ids: tuple[str, ...]


@dataclass(frozen=True)
class CodeChange:
    """What became of an old code ID: ``renamed`` or ``merged`` into one code, or ``split`` into
    several (whose codings a person must re-check)."""

    kind: str
    code_ids: tuple[str, ...]


@dataclass(frozen=True)
class Codebook:
    """The codebook as read: ``codes`` in file order (theme by theme); ``changes``: old code IDs
    (renamed_from, merged_from, split_from) and what became of each."""

    path: str
    version: str
    themes: tuple[Theme, ...]
    codes: tuple[Code, ...]
    document: dict
    changes: dict[str, CodeChange] = field(default_factory=dict)

    @property
    def code_ids(self) -> tuple[str, ...]:
        return tuple(code.id for code in self.codes)

    def code(self, code_id: str) -> Code:
        return next(code for code in self.codes if code.id == code_id)


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook; the error names the file, the line and the code.

    Read once per process and file version: a worker process runs many transcripts' jobs, and
    validation costs ~10 ms each time. Callers must not change what it returns.
    """
    path = Path(path)
    status = path.stat() if path.exists() else None
    return _read_codebook(
        path, path.resolve(), (status.st_mtime_ns, status.st_size) if status else None
    )


@lru_cache(maxsize=8)
def _read_codebook(path: Path, resolved: Path, version: tuple[int, int] | None) -> Codebook:
    try:
        document, text = settings.load_yaml(path, FIX)
    except ConfigurationError as error:
        raise CodebookError(error.path, error.problem, error.fix, line=error.line) from None
    if not isinstance(document, dict):
        raise CodebookError(path, "is not a mapping with version and themes", FIX, line=1)
    settings.validate_document(
        document, text, SCHEMA, path, FIX, owner=_owner, error_type=CodebookError
    )
    return _build(document, settings.compose(text), path)


def _owner(document: dict, location: list) -> str:
    """'code X: ' or 'theme Y: ' for an error inside a code or a theme, else ''."""
    if len(location) >= 2 and location[0] == "themes" and isinstance(location[1], int):
        theme = _item(document.get("themes"), location[1])
        if len(location) >= 4 and location[2] == "codes" and isinstance(location[3], int):
            code = _item(theme.get("codes") if isinstance(theme, dict) else None, location[3])
            code_id = code.get("id") if isinstance(code, dict) else None
            return (
                f"code {code_id}: "
                if isinstance(code_id, str)
                else f"code {location[3] + 1} of theme {location[1] + 1}: "
            )
        theme_id = theme.get("id") if isinstance(theme, dict) else None
        return f"theme {theme_id}: " if isinstance(theme_id, str) else f"theme {location[1] + 1}: "
    return ""


def _item(items: Any, index: int) -> Any:
    return items[index] if isinstance(items, list) and index < len(items) else None


def _build(document: dict, root: yaml.Node, path: Path) -> Codebook:
    themes: list[Theme] = []
    codes: list[Code] = []
    seen_codes: dict[str, int | None] = {}
    seen_themes: dict[str, int | None] = {}
    for t, theme in enumerate(document["themes"]):
        theme_line = settings.line_of(root, ["themes", t, "id"])
        if theme["id"] in seen_themes:
            raise CodebookError(
                path,
                f"theme ID {theme['id']} is used twice (first on line {seen_themes[theme['id']]})",
                "Give every theme its own ID",
                line=theme_line,
            )
        seen_themes[theme["id"]] = theme_line
        for c, code in enumerate(theme["codes"]):
            line = settings.line_of(root, ["themes", t, "codes", c, "id"])
            if code["id"] in seen_codes:
                raise CodebookError(
                    path,
                    f"code ID {code['id']} is used twice (first on line {seen_codes[code['id']]})",
                    "Give every code its own ID",
                    line=line,
                )
            if code["id"] in RESERVED_IDS:
                raise CodebookError(
                    path,
                    f"code ID {code['id']} is a column name of the coding sheet",
                    "Choose another ID for this code",
                    line=line,
                )
            seen_codes[code["id"]] = line
            if not code.get("keywords") and not code.get("patterns"):
                raise CodebookError(
                    path,
                    f"code {code['id']}: has no keywords and no patterns, so candidate coding can never suggest it",
                    "Give the code at least one keyword (or a spaCy pattern)",
                    line=line,
                )
            for p, pattern in enumerate(code.get("patterns", ())):
                problem = pattern_problem(pattern)
                if problem:
                    raise CodebookError(
                        path,
                        f"code {code['id']}: patterns[{p}] is not a valid spaCy Matcher pattern ({problem})",
                        "Write each pattern as a list of token patterns, e.g. [{LEMMA: feel}, {LOWER: judged}]"
                        " (https://spacy.io/usage/rule-based-matching)",
                        line=settings.line_of(root, ["themes", t, "codes", c, "patterns", p])
                        or line,
                    )
            codes.append(
                Code(
                    id=code["id"],
                    label=code["label"],
                    definition=code["definition"],
                    theme_id=theme["id"],
                    keywords=tuple(code.get("keywords", ())),
                    line=line,
                    exclude_terms=tuple(code.get("exclude_terms", ())),
                    patterns=tuple(
                        tuple(token for token in pattern) for pattern in code.get("patterns", ())
                    ),
                )
            )
        themes.append(
            Theme(
                id=theme["id"],
                label=theme["label"],
                description=theme.get("description", ""),
                code_ids=tuple(code["id"] for code in theme["codes"]),
            )
        )
    changes = _code_changes(document, root, path, seen_codes)
    return Codebook(
        path=str(path),
        version=str(document["version"]),
        themes=tuple(themes),
        codes=tuple(codes),
        document=document,
        changes=changes,
    )


def _code_changes(
    document: dict, root: yaml.Node, path: Path, current: dict[str, int | None]
) -> dict[str, CodeChange]:
    """Old code IDs → what became of them; an old ID claimed twice, or still a code, is an error."""
    claims: dict[str, list[tuple[str, str, int | None]]] = {}
    for t, theme in enumerate(document["themes"]):
        for c, code in enumerate(theme["codes"]):
            for kind, key in (
                ("renamed", "renamed_from"),
                ("merged", "merged_from"),
                ("split", "split_from"),
            ):
                for o, old in enumerate(code.get(key, ())):
                    line = settings.line_of(root, ["themes", t, "codes", c, key, o])
                    if old in current:
                        raise CodebookError(
                            path,
                            f"code {code['id']}: {key} names {old}, which is a code of this codebook",
                            f"An old ID must be gone from the codebook: remove code {old}, or {old} from {key}",
                            line=line,
                        )
                    claims.setdefault(old, []).append((kind, code["id"], line))
    changes = {}
    for old, claimed in sorted(claims.items()):
        kinds = {kind for kind, _, _ in claimed}
        if kinds == {"split"}:
            changes[old] = CodeChange("split", tuple(sorted(code_id for _, code_id, _ in claimed)))
            continue
        if len(claimed) > 1:
            raise CodebookError(
                path,
                f"old code ID {old} is claimed by {len(claimed)} codes ({', '.join(code for _, code, _ in claimed)})",
                "A code renamed or merged goes to one code; a code split into several: list it under split_from of each",
                line=claimed[-1][2],
            )
        kind, code_id, _ = claimed[0]
        changes[old] = CodeChange(kind, (code_id,))
    return changes


def pattern_problem(pattern: list) -> str:
    """Why spaCy's Matcher refuses a pattern ('' if it accepts it), tried on a blank English vocab.

    The message is spaCy's first line, which names the offending token attribute.
    """
    from spacy.errors import MatchPatternError
    from spacy.matcher import Matcher

    from scripts.parse import blank_vocab

    matcher = Matcher(blank_vocab(), validate=True)
    try:
        matcher.add("pattern", [pattern])
    except (MatchPatternError, ValueError, TypeError, KeyError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = next(
            (line for line in lines if line.startswith("-")),
            lines[0] if lines else type(error).__name__,
        )
        return detail.lstrip("- ").strip()
    return ""
