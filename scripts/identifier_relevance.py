"""Which entries of the identifier list each transcript depends on (worked out when Snakemake
first asks for a job's params): a digest of the entries whose words a transcript holds, one for
ingest (people, whose names may be speaker labels) and one for de-identification. They are
params of the transcript's ingest and deidentify work, so a change of the list reruns only the
transcripts it touches. The words are kept between runs as keyed hashes
(``.snakemake/qualflow/relevance/``), never as words.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
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
    """Each transcript's :class:`Relevance` (all of them at once: :class:`RelevanceIndex`)."""
    return RelevanceIndex(transcripts, identifiers, name_parts, cache, key).of(sorted(transcripts))


class RelevanceIndex:
    """Each transcript's :class:`Relevance`, for the params of its ingest and deidentify jobs,
    worked out when first asked for.

    Snakemake asks for a job's params only when it needs them: to check a job whose outputs are
    there, or to run one. A new study's job graph is therefore built without reading a raw file;
    each raw file is read when its part's ingest job is about to run.

    Kept between runs in ``cache``: ``words/{transcript}.json``, the words of a raw file (keyed
    hashes: ``key`` is the study secret, so the cache tells nothing of the words) by its size and
    modification time, and ``index.json``, the digests by list version. A run with no change
    reads the index alone; a new transcript reads its own raw file; a change of the list reads
    the cached words of every transcript, not the raw files.
    """

    def __init__(
        self,
        transcripts: Mapping[str, str | Path],
        identifiers: str | Path,
        name_parts: bool,
        cache: str | Path,
        key: bytes,
    ) -> None:
        self._transcripts = dict(transcripts)
        self._cache = Path(cache)
        self._key = key
        self._content = list_content(identifiers, name_parts)
        self._version = hashlib.sha256(
            self._content.digest.encode() + b"\0" + hashlib.sha256(key).digest()
        ).hexdigest()
        self._key_digest = hashlib.sha256(b"qualflow relevance\0" + key).hexdigest()
        self._index: dict[str, list] | None = None  # read at the first question
        self._found: dict[str, Relevance] = {}
        self._changed = False
        # Snakemake runs jobs (and reads their params) in threads of its own process
        self._lock = threading.Lock()

    def of(self, transcript_ids: list[str]) -> dict[str, Relevance]:
        """The :class:`Relevance` of each of these transcripts (the index is written again if
        any was not in it)."""
        with self._lock:
            return self._of(transcript_ids)

    def _of(self, transcript_ids: list[str]) -> dict[str, Relevance]:
        if self._index is None:
            self._index = self._read_index()
        read = 0
        for transcript_id in transcript_ids:
            if transcript_id in self._found:
                continue
            raw = self._transcripts[transcript_id]
            status = os.stat(raw)
            signature = [status.st_size, status.st_mtime_ns]
            entry = self._index.get(transcript_id)
            if isinstance(entry, list) and len(entry) == 3 and entry[0] == signature:
                self._found[transcript_id] = Relevance(entry[1], entry[2])
                continue
            words, unsafe = self._cached_words(transcript_id, signature)
            if words is None:
                # Reading a .docx leaves reference cycles, and the Snakemake process collects
                # them rarely (scripts/workers.py): 5,000 new transcripts read grew it to 1 GB.
                # Collected every 100 files and once the files asked for are read, with what was
                # alive before the reading frozen (unfrozen after it): each collection walks only
                # the objects made since.
                read += 1
                if read == 1:
                    gc.freeze()
                elif read % 100 == 0:
                    gc.collect()
                words, unsafe = self._read_words(transcript_id, raw, signature)
            found = (
                relevance(self._content, words, self._key, unsafe)
                if words is not None
                else Relevance("unreadable", "unreadable")
            )
            self._found[transcript_id] = found
            if words is not None:
                self._index[transcript_id] = [signature, found.ingest, found.deidentify]
            else:
                self._index.pop(transcript_id, None)
            self._changed = True
        if read:
            gc.collect()
            gc.unfreeze()
        if self._changed:
            self._write_index()
        return {transcript_id: self._found[transcript_id] for transcript_id in transcript_ids}

    def _read_index(self) -> dict[str, list]:
        """The stored digests of this list version, of the transcripts there are now."""
        try:
            index = json.loads((self._cache / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = None
        if not isinstance(index, dict) or index.get("version") != self._version:
            self._changed = True
            return {}
        known = index.get("transcripts")
        if not isinstance(known, dict):
            self._changed = True
            return {}
        current = {
            transcript_id: entry
            for transcript_id, entry in known.items()
            if transcript_id in self._transcripts
        }
        self._changed = len(current) != len(known)
        return current

    def _write_index(self) -> None:
        from scripts.contracts import write_text

        write_text(
            self._cache / "index.json",
            json.dumps({"transcripts": self._index, "version": self._version}, sort_keys=True)
            + "\n",
        )
        self._changed = False

    def _cached_words(
        self, transcript_id: str, signature: list[int]
    ) -> tuple[frozenset[str] | None, bool]:
        """The keyed words of a raw file kept by an earlier run, if the file has not changed."""
        try:
            stored = json.loads(
                (self._cache / "words" / f"{transcript_id}.json").read_text(encoding="utf-8")
            )
            if stored.get("raw") == signature and stored.get("key") == self._key_digest:
                return frozenset(stored["words"]), bool(stored["unsafe"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
        return None, False

    def _read_words(
        self, transcript_id: str, raw: str | Path, signature: list[int]
    ) -> tuple[frozenset[str] | None, bool]:
        """The keyed words of a raw file, read (and kept in the cache)."""
        from scripts.contracts import write_text
        from scripts.transcript_text import raw_text

        try:
            text = raw_text(Path(raw))
        except Exception:  # noqa: BLE001 - a file ingest cannot read: ingest reports it, with file and line
            return None, False
        words, unsafe = words_of(text, self._key), LOWER_CASE_UNSAFE.search(text) is not None
        stored = {
            "key": self._key_digest,
            "raw": signature,
            "unsafe": unsafe,
            "words": sorted(words),
        }
        write_text(self._cache / "words" / f"{transcript_id}.json", json.dumps(stored) + "\n")
        return words, unsafe


class DeferredDigests(dict):
    """A params value (a dict) worked out when it is first read.

    Snakemake evaluates every job's params while it builds the job graph (reading a job's conda
    environment takes its params, with or without conda) but reads a value only to compare it
    with the one stored for the job's outputs (``repr``) or when the job runs. A plain dict
    would have every raw file of a new study read before the graph is built (25 s at 5,000
    transcripts); this one reads a part's files when Snakemake first needs its value. Every way
    of reading it goes through :meth:`_loaded`; pickled or copied, it is a plain dict. (Not
    ``json.dumps`` before a first read: its C encoder reads a dict's storage directly; nothing
    in Snakemake or qualflow writes params as JSON, Snakemake keeps their ``repr``.)
    """

    def __init__(self, compute: Callable[[], dict[str, str]]) -> None:
        super().__init__()
        self._compute: Callable[[], dict[str, str]] | None = compute

    def _loaded(self) -> DeferredDigests:
        compute = self._compute
        if compute is not None:
            dict.update(self, compute())
            self._compute = None
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self._loaded())

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self._loaded(), key)

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self._loaded())

    def __len__(self) -> int:
        return dict.__len__(self._loaded())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self._loaded(), key)

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self._loaded(), other)

    def __ne__(self, other: object) -> bool:
        return dict.__ne__(self._loaded(), other)

    __hash__ = None  # type: ignore[assignment] - a dict

    def __reduce__(self) -> tuple:
        return (dict, (dict(self.items()),))

    def __copy__(self) -> dict[str, str]:
        return dict(self.items())

    def __deepcopy__(self, memo: dict) -> dict[str, str]:
        return dict(self.items())

    def copy(self) -> dict[str, str]:
        return dict(self.items())

    def get(self, key: str, default: object = None) -> object:
        return dict.get(self._loaded(), key, default)

    def keys(self):  # noqa: ANN201 - dict's views
        return dict.keys(self._loaded())

    def values(self):  # noqa: ANN201
        return dict.values(self._loaded())

    def items(self):  # noqa: ANN201
        return dict.items(self._loaded())
