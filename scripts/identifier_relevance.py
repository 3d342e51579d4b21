"""Which entries of the identifier list each transcript depends on (read while the workflow is
parsed): a digest of the entries whose words a transcript holds, one for ingest (people, whose
names may be speaker labels) and one for de-identification. They are params of the transcript's
ingest and deidentify work, so a change of the list reruns only the transcripts it touches. The
words are kept between runs as keyed hashes (``.snakemake/qualflow/relevance/``), never as words.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from scripts.identifiers import (
    LIST_SECTIONS,
    LOWER_CASE_UNSAFE,
    ListContent,
    ListEntry,
    load_list_document,
    name_words,
)
from scripts.transcript_text import normalize_text

# ---------------------------------------------------------------------------------------------
# Which entries each transcript depends on

_WORD = re.compile(r"\w+")


def words_of(text: str, key: bytes = b"") -> frozenset[str]:
    """The words of a text, case-folded: what an entry's forms are looked for in. With ``key``,
    each word as a keyed hash (16 hex digits): a set that can be kept outside results/private/
    and tells nothing of the words without the study secret."""
    words = frozenset(_WORD.findall(text.casefold())) | frozenset(_WORD.findall(text.lower()))
    if not key:
        return words
    # BLAKE2b keyed (in C): HMAC-SHA256 in Python cost ~15 s over the words of 5,000 transcripts
    return frozenset(
        hashlib.blake2b(word.encode("utf-8"), key=key[:64], digest_size=8).hexdigest()
        for word in words
    )


def list_content(path: str | Path, name_parts: bool) -> ListContent:
    """The entries of identifiers.yaml with their forms and canonical text (for relevance)."""
    document = load_list_document(Path(path))
    entries = []
    for section, _label in LIST_SECTIONS.items():
        for index, entry in enumerate(document.get(section, [])):
            names = [entry["name"], *entry.get("aliases", [])]
            forms = [
                *names,
                *(name_words(entry["name"]) if section == "people" and name_parts else []),
            ]
            canonical = json.dumps([section, entry], sort_keys=True, ensure_ascii=False)
            entries.append(
                ListEntry(
                    section,
                    index,
                    tuple(sorted({" ".join(normalize_text(form).split()) for form in forms})),
                    canonical,
                )
            )
    not_identifiers = tuple(
        sorted({" ".join(term.split()) for term in document.get("not_identifiers", [])})
    )
    digest = hashlib.sha256(
        json.dumps(
            [[entry.canonical, entry.forms] for entry in entries]
            + [list(not_identifiers), name_parts],
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    return ListContent(tuple(entries), not_identifiers, name_parts, digest)


@dataclass(frozen=True)
class Relevance:
    """Digests of the list entries a transcript depends on: for ingest (people, whose names may be
    speaker labels) and for de-identification (every entry, and the list's not_identifiers)."""

    ingest: str
    deidentify: str


def relevance(
    content: ListContent, words: frozenset[str], key: bytes = b"", unsafe: bool = False
) -> Relevance:
    """The entries (and not_identifiers) every word of one of whose forms is among ``words``
    (hashed with ``key`` if they were: :func:`words_of`). ``unsafe``: the text has characters for
    which lower-casing and re.IGNORECASE disagree; every entry is taken to matter.

    A superset of the entries the identifier layer can match in the text: a form matches only
    between non-word characters, so each of its words is a whole word of the text.
    """

    def present(form: str) -> bool:
        if unsafe or LOWER_CASE_UNSAFE.search(form):
            return True
        form_words = _form_words(form, key)
        return bool(form_words) and form_words <= words

    matched = [entry for entry in content.entries if any(present(form) for form in entry.forms)]
    terms = [term for term in content.not_identifiers if present(term)]
    people = sorted(entry.canonical for entry in matched if entry.section == "people")
    everything = sorted(entry.canonical for entry in matched)
    return Relevance(
        ingest=_digest(["ingest", people]),
        deidentify=_digest(["deidentify", everything, terms, content.name_parts]),
    )


@lru_cache(maxsize=65536)
def _form_words(form: str, key: bytes) -> frozenset[str]:
    """words_of a form of a list entry, computed once per form and key, not once per transcript
    (800,000 times over 5,000 transcripts: 13 s of a first run)."""
    return words_of(form, key)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()[:16]


def relevance_by_transcript(
    transcripts: Mapping[str, str | Path],
    identifiers: str | Path,
    name_parts: bool,
    cache: str | Path,
    key: bytes,
) -> dict[str, Relevance]:
    """Each transcript's :class:`Relevance`, for the params of its ingest and deidentify jobs.

    Called while Snakemake builds its job graph, so it is cached in ``cache``:
    ``words/{transcript}.json``, the words of a raw file (keyed hashes: ``key`` is the study
    secret, so the cache tells nothing of the words) by its size and modification time, and
    ``index.json``, the digests by list version. A run with no change reads the index alone; a
    new transcript reads its own raw file; a change of the list reads the cached words of every
    transcript, not the raw files.
    """
    from scripts.contracts import write_text
    from scripts.transcript_text import raw_text

    cache = Path(cache)
    content = list_content(identifiers, name_parts)
    version = hashlib.sha256(
        content.digest.encode() + b"\0" + hashlib.sha256(key).digest()
    ).hexdigest()
    index_path = cache / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        if not isinstance(index, dict) or index.get("version") != version:
            index = {}
    except (OSError, ValueError):
        index = {}
    known = index.get("transcripts", {}) if isinstance(index.get("transcripts"), dict) else {}
    key_digest = hashlib.sha256(b"qualflow relevance\0" + key).hexdigest()
    result: dict[str, Relevance] = {}
    fresh: dict[str, list] = {}
    read = 0
    for transcript_id, raw in sorted(transcripts.items()):
        status = os.stat(raw)
        signature = [status.st_size, status.st_mtime_ns]
        entry = known.get(transcript_id)
        if isinstance(entry, list) and len(entry) == 3 and entry[0] == signature:
            result[transcript_id] = Relevance(entry[1], entry[2])
            fresh[transcript_id] = entry
            continue
        words_path = cache / "words" / f"{transcript_id}.json"
        words, unsafe = None, False
        try:
            stored = json.loads(words_path.read_text(encoding="utf-8"))
            if stored.get("raw") == signature and stored.get("key") == key_digest:
                words, unsafe = frozenset(stored["words"]), bool(stored["unsafe"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            words = None
        if words is None:
            # Reading a .docx leaves reference cycles, and the Snakemake process collects them
            # rarely (scripts/workers.py): 5,000 new transcripts read at once grew it to 1 GB.
            # Collected every 100 files, with what was alive before the reading frozen (unfrozen
            # after it): each collection walks only the objects made since.
            read += 1
            if read == 1:
                gc.freeze()
            elif read % 100 == 0:
                gc.collect()
            try:
                text = raw_text(Path(raw))
            except Exception:  # noqa: BLE001 - a file ingest cannot read: ingest reports it, with file and line
                text = None
            if text is not None:
                words, unsafe = words_of(text, key), LOWER_CASE_UNSAFE.search(text) is not None
                stored = {
                    "key": key_digest,
                    "raw": signature,
                    "unsafe": unsafe,
                    "words": sorted(words),
                }
                write_text(words_path, json.dumps(stored) + "\n")
        found = (
            relevance(content, words, key, unsafe)
            if words is not None
            else Relevance("unreadable", "unreadable")
        )
        result[transcript_id] = found
        if words is not None:
            fresh[transcript_id] = [signature, found.ingest, found.deidentify]
    if read:
        gc.unfreeze()
    if fresh != known or index.get("version") != version:
        write_text(
            index_path,
            json.dumps({"transcripts": fresh, "version": version}, sort_keys=True) + "\n",
        )
    return result
