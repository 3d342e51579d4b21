"""The study identifier list (``data/identifiers.yaml``), the study secret, and which entries of
the list each transcript depends on.

Placeholders do not move (docs/architecture.md, "Privacy boundary"). A listed entry's placeholder depends on
that entry alone: ``[PERSON_22]`` when the entry has ``id: 22``; otherwise a keyed hash of its
name, ``[PERSON_u1a2b3c]``, the same tag the name gets when the patterns or NER find it unlisted
(so that listing a name the NER had caught leaves its placeholder as it was). Hashes are keyed by
the **study secret**, a random key created once and kept as a private input apart from the
transcripts and the list (``paths.study_secret``): never derived from the list's content, so that
adding, removing or reordering entries changes nothing in a transcript that does not contain them.

Which transcripts a change of the list touches is worked out when Snakemake asks for a job's
params, from the words of each raw transcript (``identifier_relevance``): an entry matters
to a transcript only if every word of one of its forms occurs there. The digest of the entries
that matter is a param of the transcript's ingest and deidentify jobs, so a list change reruns
the transcripts it touches and no other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from scripts.errors import ConfigurationError
from scripts.settings import load_yaml, validate_document
from scripts.transcript_text import label_key, normalize_text

LIST_SECTIONS = {"people": "PERSON", "places": "PLACE", "organisations": "ORG", "other": "OTHER"}
# Words before a name that are not part of it; they are not matched as name parts either.
TITLES = frozenset(
    "dr dr. doctor mr mr. mrs mrs. ms ms. miss mister madam sister brother nurse mama baba bibi "
    "babu auntie aunty aunt uncle pastor father mother officer professor prof sheikh mzee don "
    "dada kaka".split()
)
LIST_FIX = "Fix data/identifiers.yaml (see workflow/schemas/identifiers.schema.yaml)"


@dataclass(frozen=True)
class ListedIdentifier:
    label: str
    placeholder: str
    source: str  # position in identifiers.yaml, e.g. people[2].aliases[0]: safe to print


@dataclass
class IdentifierList:
    """The compiled study identifier list."""

    forms: dict[str, ListedIdentifier]  # normalized surface form → entry (case-insensitive forms)
    case_sensitive_forms: dict[str, ListedIdentifier]
    not_identifiers: frozenset[str]
    people_roles: dict[str, str]  # label_key of a person's name or alias → speaker role
    key: bytes  # the study secret: keys the hashed placeholders
    _patterns: tuple[re.Pattern | None, ...] = (None, None, None)

    def __post_init__(self) -> None:
        self._patterns = (
            _alternation(self.forms, re.IGNORECASE),
            _alternation(self.case_sensitive_forms, 0),
            # the case-insensitive forms (stored in lower case) against lower-cased text
            None
            if any(LOWER_CASE_UNSAFE.search(form) for form in self.forms)
            else _alternation(self.forms, 0),
        )

    def find(self, text: str) -> list[tuple[int, int, ListedIdentifier]]:
        """Every occurrence of a listed form, as (start, end, entry)."""
        found = []
        ignoring_case, case_sensitive, lower_case = self._patterns
        # re.IGNORECASE costs ~10x a case-sensitive search: where lower-casing the text is the
        # same comparison (no character below in text or forms), search the lower-cased text.
        folded, folded_text = ignoring_case, text
        if lower_case is not None and LOWER_CASE_UNSAFE.search(text) is None:
            folded, folded_text = lower_case, text.lower()
        for pattern, table, fold, searched in (
            (folded, self.forms, True, folded_text),
            (case_sensitive, self.case_sensitive_forms, False, text),
        ):
            if pattern is None:
                continue
            for match in pattern.finditer(searched):
                found.append(
                    (
                        match.start(),
                        match.end(),
                        _entry(text[match.start() : match.end()], table, fold),
                    )
                )
        return found

    def only(self, forms: Iterable[str]) -> "IdentifierList":
        """The same list searching only some of its forms (the leak check of new forms)."""
        wanted = set(forms)
        return IdentifierList(
            {form: entry for form, entry in self.forms.items() if form in wanted},
            {form: entry for form, entry in self.case_sensitive_forms.items() if form in wanted},
            self.not_identifiers,
            self.people_roles,
            self.key,
        )


def _entry(matched: str, table: dict[str, ListedIdentifier], fold: bool) -> ListedIdentifier:
    """The entry of a matched form. re.IGNORECASE also pairs letters that lower() keeps apart
    ('İ' and 'i'), so a match may not be a table key: then the form it matches is looked for."""
    entry = table.get(_form_key(matched, fold))
    if entry is not None:
        return entry
    for form, entry in sorted(table.items()):
        if re.fullmatch(_trie([form]), matched, re.IGNORECASE if fold else 0):
            return entry
    raise AssertionError(
        "a matched identifier form is not in the identifier list"
    )  # never says which


#: Characters for which str.lower() and re.IGNORECASE disagree (re matches 'ı' with 'i', 'ſ'
#: with 's', 'µ' with 'μ'; 'İ'.lower() is two characters). Checked against every code point by
#: tests/unit/test_deidentify.py.
LOWER_CASE_UNSAFE = re.compile(
    "[\u00b5\u0130-\u0131\u017f\u0345\u03c2\u03d0-\u03d1\u03d5-\u03d6\u03f0-\u03f1\u03f5\u1c80-\u1c88\u1e9b\u1fbe]"
)


def _form_key(form: str, fold: bool) -> str:
    form = " ".join(normalize_text(form).split())
    return form.lower() if fold else form


def _alternation(forms: dict[str, ListedIdentifier], flags: int) -> re.Pattern | None:
    """One regular expression for all forms, bounded by non-word characters; at each position the
    longest form that matches.

    The forms are merged into a trie (``amina(?: juma)?|ami``...): Python's re tries every branch
    of a flat alternation at every position, a trie only the branches that share the text's next
    character (~4x faster on a corpus; no library does this for re). Non-word boundaries (not
    \\b) so that "Amina's", "Amina-like" and "(Amina)" match, and a form ending in "." still ends
    a match.
    """
    return _compiled_alternation(tuple(sorted(forms)), flags)


@lru_cache(maxsize=16)
def _compiled_alternation(forms: tuple[str, ...], flags: int) -> re.Pattern | None:
    # cached: each transcript's detector copies the list (dataclasses.replace), which would
    # otherwise compile the same patterns again (~16 ms a transcript)
    if not forms:
        return None
    # The boundary before a form is checked after its first character ((?<!\w.): the character
    # before that one is not a word character), so that the pattern starts with the trie's first
    # characters, which re uses to skip the positions where no form can start (the leak check of
    # a corpus: 3.9 ms a file before, 2.9 ms after).
    return re.compile(_trie(forms, after_first=r"(?<!\w.)") + r"(?!\w)", flags)


def _trie(forms: Iterable[str], after_first: str = "") -> str:
    """A regular expression matching exactly the forms (whitespace inside a form: any run of
    whitespace), longest first where one form is the beginning of another; ``after_first``: an
    assertion put after each form's first character."""
    root: dict = {}
    for form in forms:
        node = root
        for piece in re.split(r"(\s+)", form):
            for unit in (
                [r"\s+"] if piece.isspace() else [re.escape(character) for character in piece]
            ):
                node = node.setdefault(unit, {})
        node[""] = {}

    def expression(node: dict, first: bool = False) -> str:
        branches = [
            unit + (after_first if first else "") + expression(child)
            for unit, child in sorted(node.items())
            if unit
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # a form ends here but longer ones go on: try the longer first (greedy), as before
        return "(?:" + body + ")?" if "" in node else body

    return "(?:" + expression(root, first=True) + ")"


# ---------------------------------------------------------------------------------------------
# Placeholders


def surface_key(text: str) -> str:
    """The normalized form a hashed placeholder is keyed on: no titles, no possessive, lower case."""
    words = [word for word in re.sub(r"'s$", "", text.strip()).lower().split()]
    while len(words) > 1 and words[0] in TITLES:
        words = words[1:]
    return " ".join(words)


def hashed_placeholder(key: bytes, label: str, surface: str) -> str:
    """``[LABEL_u1a2b3c]``: a keyed hash of a name's surface form (the study secret is the key, so
    the tag cannot be reversed by hashing a dictionary of names without it).

    The tag depends on the name alone, not on its type: where two transcripts type one name
    differently (the model's guess in context), ``[PERSON_u1a2b3c]`` and ``[ORG_u1a2b3c]`` still
    show a coder that it is the same name."""
    tag = hmac.new(key, f"name:{surface_key(surface)}".encode(), hashlib.sha256)
    return f"[{label}_u{tag.hexdigest()[:6]}]"


def entry_placeholder(label: str, entry: Mapping, key: bytes) -> str:
    """A listed entry's placeholder: from its ``id`` if it has one, else from its name alone."""
    if "id" in entry:
        return f"[{label}_{entry['id']}]"
    return hashed_placeholder(key, label, entry["name"])


# ---------------------------------------------------------------------------------------------
# Loading the list


@dataclass(frozen=True)
class ListEntry:
    """One entry of the list as it bears on transcripts: where it is (safe to print), its forms
    (compared in lower case), and a canonical text of everything that changes its replacements."""

    section: str
    position: int
    forms: tuple[str, ...]
    canonical: str

    @property
    def source(self) -> str:
        return f"{self.section}[{self.position}]"


@dataclass(frozen=True)
class ListContent:
    """What relevance is worked out from: the entries and the list's not_identifiers."""

    entries: tuple[ListEntry, ...]
    not_identifiers: tuple[str, ...]
    name_parts: bool
    digest: str = field(default="")


def load_identifier_list(
    path: Path, name_parts: bool = True, secret: bytes = b""
) -> IdentifierList:
    """Read and validate identifiers.yaml; errors name the entry's position, never its text.

    ``secret``: the study secret (:func:`load_study_secret`), which keys the placeholders of
    entries without an ``id``; jobs that only search for the forms (ingest, the leak check) may
    leave it out. Compiled once per process, file version and secret: jobs running as threads
    share it.
    """
    path = Path(path)
    status = path.stat() if path.exists() else None
    version = (status.st_mtime_ns, status.st_size) if status else None
    return _compiled_identifier_list(path.resolve(), version, name_parts, secret)


def load_list_document(path: Path) -> dict:
    document, text = load_yaml(path, LIST_FIX)
    document = document if document is not None else {}
    if not isinstance(document, dict):
        raise ConfigurationError(
            path, "must be a mapping with people, places, organisations, other", LIST_FIX, line=1
        )
    validate_document(document, text, "identifiers.schema.yaml", path, LIST_FIX)
    _check_ids(document, path)
    return document


def _check_ids(document: dict, path: Path) -> None:
    """Given ids are unique in their section; entries without one need distinct names (the name
    keys their placeholder)."""
    for section in LIST_SECTIONS:
        given: dict[int, int] = {}
        named: dict[str, int] = {}
        for index, entry in enumerate(document.get(section, [])):
            if "id" in entry:
                if entry["id"] in given:
                    raise ConfigurationError(
                        path,
                        f"{section}[{given[entry['id']]}] and {section}[{index}] have the same id",
                        "Give each entry its own id (ids are never reused: keep the old entry's id with the old entry)",
                    )
                given[entry["id"]] = index
                continue
            key = surface_key(normalize_text(entry["name"]))
            if key in named:
                raise ConfigurationError(
                    path,
                    f"{section}[{named[key]}] and {section}[{index}] have the same name and no id",
                    "Give the two entries ids (id: a number) so that they get different placeholders, or merge them",
                )
            named[key] = index


@lru_cache(maxsize=8)
def _compiled_identifier_list(
    path: Path, version: tuple | None, name_parts: bool, secret: bytes
) -> IdentifierList:
    document = load_list_document(path)
    explicit: dict[tuple[str, bool], ListedIdentifier] = {}
    parts: dict[tuple[str, bool], list[ListedIdentifier]] = defaultdict(list)
    people_roles: dict[str, str] = {}
    for section, label in LIST_SECTIONS.items():
        for index, entry in enumerate(document.get(section, [])):
            placeholder = entry_placeholder(label, entry, secret)
            match_case = bool(entry.get("match_case", False))
            names = [entry["name"], *entry.get("aliases", [])]
            for position, name in enumerate(names):
                source = f"{section}[{index}]" + (
                    "" if position == 0 else f".aliases[{position - 1}]"
                )
                key = (_form_key(name, not match_case), match_case)
                explicit.setdefault(key, ListedIdentifier(label, placeholder, source))
                if section == "people":
                    people_roles[label_key(name)] = person_role(entry)
            if section == "people" and name_parts:
                for word in name_words(entry["name"]):
                    parts[(_form_key(word, not match_case), match_case)].append(
                        ListedIdentifier(label, placeholder, f"{section}[{index}].name")
                    )
    for key, entries in parts.items():
        if key in explicit:
            continue
        placeholders = {entry.placeholder for entry in entries}
        # A first name shared by two listed people: replaced, but it cannot say which person.
        explicit[key] = (
            entries[0]
            if len(placeholders) == 1
            else ListedIdentifier("PERSON", "[PERSON]", entries[0].source)
        )
    return IdentifierList(
        forms={form: entry for (form, case), entry in explicit.items() if not case},
        case_sensitive_forms={form: entry for (form, case), entry in explicit.items() if case},
        not_identifiers=frozenset(
            " ".join(word.lower().split()) for word in document.get("not_identifiers", [])
        ),
        people_roles=people_roles,
        key=secret,
    )


def person_role(entry: Mapping) -> str:
    """The speaker role of a listed person: staff speak as participants (they are interviewed)."""
    return {"interviewer": "interviewer", "other": "other"}.get(
        entry.get("role", "other"), "participant"
    )


def name_words(name: str) -> list[str]:
    """The parts of a person's name matched on their own ("Amina" of "Amina Juma"): no titles, no
    single letters."""
    words = []
    for word in name.split():
        bare = word.strip(".,")
        if len(bare) >= 2 and bare.lower() not in TITLES:
            words.append(bare)
    return words


def empty_identifier_list() -> IdentifierList:
    return IdentifierList({}, {}, frozenset(), {}, b"qualflow")


# ---------------------------------------------------------------------------------------------
# The study secret

SECRET_FIX = "Restore the study secret from your backup (it keys every placeholder of a name)"
DEMO_SECRET_MARK = "qualflow demo study"


def load_study_secret(path: str | Path) -> bytes:
    """The study secret: the one line of hexadecimal digits (at least 32 bytes) of the file;
    lines starting with # are comments. Errors never print the secret."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(path, "the study secret is missing", SECRET_FIX) from None
    except (OSError, UnicodeDecodeError):
        raise ConfigurationError(path, "the study secret cannot be read", SECRET_FIX) from None
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(lines) != 1 or not re.fullmatch(r"[0-9a-fA-F]{64,}", lines[0]) or len(lines[0]) % 2:
        raise ConfigurationError(
            path,
            "is not a study secret (one line of at least 64 hexadecimal digits)",
            SECRET_FIX,
        )
    return bytes.fromhex(lines[0])


def is_demo_secret(path: str | Path) -> bool:
    """The demo study's secret is public (it is in the repository): fine for synthetic data only."""
    try:
        return DEMO_SECRET_MARK in Path(path).read_text(encoding="utf-8")
    except OSError:
        return False


def ensure_study_secret(path: str | Path, keys: str | Path) -> bool:
    """Create the study secret if it does not exist yet and the study has no placeholders yet (no
    re-identification keys in ``keys``); returns whether it was created.

    Created once, owner-only (folder 0700 where the workflow makes it, file 0600). With keys
    already made, a missing secret is an error: a new one would give every hashed placeholder a
    new tag, so the key and the coders' files would no longer match the transcripts.
    """
    path = Path(path)
    if path.exists():
        return False
    keys = Path(keys)
    if keys.is_dir() and any(keys.iterdir()):
        raise ConfigurationError(
            path,
            "the study secret is missing, but transcripts were de-identified with one (results/private/keys/)",
            SECRET_FIX + "; only if this is a new study, delete results/ to start again",
        )
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            "# qualflow study secret: keys the placeholders of names (the hashed [PERSON_u...] tags).\n"
            "# Created once. Keep it private and back it up with the re-identification key\n"
            "# (results/private/keys/); never commit or share it. Losing it changes every hashed tag.\n"
            f"{secrets.token_hex(32)}\n"
        )
    return True
