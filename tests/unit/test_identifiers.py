"""The identifier list's stable placeholders, the study secret, and which entries a transcript
depends on (scripts/identifiers.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scripts import deidentify as deid
from scripts import identifier_relevance, identifiers
from scripts.errors import ConfigurationError

SECRET = bytes(range(32))
LIST = """\
# a comment
people:
  - id: 22
    name: Amina Juma
    role: participant
    aliases: [Mama Amina]
  - name: Hamisi Mrisho
    role: participant
places:
  - name: Temeke
not_identifiers: [methadone, hep C]
"""


def load(
    tmp_path: Path, text: str, secret: bytes = SECRET, name: str = "identifiers.yaml"
) -> identifiers.IdentifierList:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return identifiers.load_identifier_list(path, secret=secret)


def replace(text: str, listed: identifiers.IdentifierList) -> str:
    detector = deid.Detector(listed, layers=("identifiers", "patterns"))
    return deid.replace_spans(text, deid.detect(text, None, detector), listed)[0]


TEXT = "Amina met Hamisi Mrisho in Temeke; Mama Amina said so."


def test_an_id_gives_the_placeholder_and_a_name_without_one_a_keyed_hash(tmp_path: Path) -> None:
    listed = load(tmp_path, LIST)
    hamisi = identifiers.hashed_placeholder(SECRET, "PERSON", "Hamisi Mrisho")
    assert (
        replace(TEXT, listed)
        == f"[PERSON_22] met {hamisi} in {identifiers.hashed_placeholder(SECRET, 'PLACE', 'Temeke')}; [PERSON_22] said so."
    )
    assert hamisi.startswith("[PERSON_u") and hamisi != identifiers.hashed_placeholder(
        b"another", "PERSON", "Hamisi Mrisho"
    )


def test_adding_removing_reordering_entries_or_comments_moves_no_other_placeholder(
    tmp_path: Path,
) -> None:
    before = replace(TEXT, load(tmp_path, LIST))
    grown = LIST.replace(
        "people:\n", "people:\n  - name: Wilhelmina Zzyzx\n  # another comment\n", 1
    )
    reordered = LIST.replace(
        "  - id: 22\n    name: Amina Juma\n    role: participant\n    aliases: [Mama Amina]\n  - name: Hamisi Mrisho\n    role: participant\n",
        "  - name: Hamisi Mrisho\n    role: participant\n  - id: 22\n    name: Amina Juma\n    role: participant\n    aliases: [Mama Amina]\n",
    )
    assert reordered != LIST
    for index, text in enumerate(
        (
            grown,
            reordered,
            LIST.replace(
                "places:\n  - name: Temeke\n", "places:\n  - name: Temeke\n  - name: Ilala\n"
            ),
        )
    ):
        assert replace(TEXT, load(tmp_path, text, name=f"list{index}.yaml")) == before


def test_listing_a_name_the_ner_caught_keeps_its_tag(tmp_path: Path) -> None:
    """An unlisted full name and the same name listed without an id get the same placeholder."""
    unlisted = identifiers.hashed_placeholder(SECRET, "PERSON", "Fatuma Ali")
    grown = load(
        tmp_path, LIST.replace("places:", "  - name: Fatuma Ali\nplaces:"), name="grown.yaml"
    )
    assert replace("I told Fatuma Ali.", grown) == f"I told {unlisted}."
    assert (
        replace("Fatuma came.", grown) == f"{unlisted} came."
    )  # her first name alone: the same person


def test_ids_are_unique_and_names_without_ids_distinct(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"people\[0\] and people\[1\] have the same id"):
        load(tmp_path, "people:\n  - {id: 3, name: Amina Juma}\n  - {id: 3, name: Zawadi Mbwana}\n")
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, "people:\n  - name: John Smith\n  - name: john  smith\n", name="two.yaml")
    assert "people[0] and people[1] have the same name" in str(error.value) and "John" not in str(
        error.value
    )
    # the same name twice with ids is two people
    load(
        tmp_path,
        "people:\n  - {id: 1, name: John Smith}\n  - {id: 2, name: John Smith}\n",
        name="ids.yaml",
    )


# --- the study secret ---------------------------------------------------------------------------


def test_the_study_secret_is_created_once_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "study.key"
    assert identifiers.ensure_study_secret(path, tmp_path / "keys") is True
    assert (
        stat.S_IMODE(os.stat(path).st_mode) == 0o600
        and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    )
    secret = identifiers.load_study_secret(path)
    assert len(secret) == 32
    assert identifiers.ensure_study_secret(path, tmp_path / "keys") is False
    assert identifiers.load_study_secret(path) == secret


def test_a_missing_secret_after_de_identification_is_an_error_not_a_new_secret(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "T01.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="the study secret is missing"):
        identifiers.ensure_study_secret(tmp_path / "study.key", keys)
    assert not (tmp_path / "study.key").exists()


def test_a_bad_secret_file_is_refused_without_printing_it(tmp_path: Path) -> None:
    path = tmp_path / "study.key"
    path.write_text("# comment\nnot-hex-at-all-0123\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        identifiers.load_study_secret(path)
    assert "not-hex" not in str(error.value) and "study.key" in str(error.value)
    path.write_text("# comment\n" + "ab" * 32 + "\n", encoding="utf-8")
    assert identifiers.load_study_secret(path) == bytes.fromhex("ab" * 32)


def test_the_demo_secret_is_marked_as_public() -> None:
    repository = Path(__file__).resolve().parents[2]
    assert identifiers.is_demo_secret(repository / "data" / "study_secret.key")
    assert len(identifiers.load_study_secret(repository / "data" / "study_secret.key")) == 32


# --- which entries a transcript depends on -----------------------------------------------------


def relevance_of(
    tmp_path: Path, text: str, words: str, name: str = "l.yaml"
) -> identifier_relevance.Relevance:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return identifier_relevance.relevance(
        identifier_relevance.list_content(path, True), identifier_relevance.words_of(words)
    )


def test_an_entry_matters_to_a_transcript_only_if_its_words_are_there(tmp_path: Path) -> None:
    words = "Interviewer: Did Amina go? Participant: Yes, with Mama Amina, to Temeke. She takes methadone."
    before = relevance_of(tmp_path, LIST, words)
    # a person named nowhere, at the top: nothing changes
    elsewhere = relevance_of(
        tmp_path,
        LIST.replace("people:\n", "people:\n  - name: Wilhelmina Zzyzx\n", 1),
        words,
        "a.yaml",
    )
    assert elsewhere == before
    # a place named here: de-identification changes, ingest (people only) does not
    place = relevance_of(
        tmp_path, LIST.replace("places:\n", "places:\n  - name: Participant Yes\n"), words, "b.yaml"
    )
    assert place.deidentify != before.deidentify and place.ingest == before.ingest
    # a person whose first name alone is here (a name part): both change
    person = relevance_of(
        tmp_path, LIST.replace("places:", "  - name: Amina Said\nplaces:"), words, "c.yaml"
    )
    assert person.deidentify != before.deidentify and person.ingest != before.ingest
    # a not_identifiers term that is not in the text changes nothing; one that is, changes
    assert (
        relevance_of(tmp_path, LIST.replace("hep C]", "hep C, Narcan]"), words, "d.yaml") == before
    )
    assert (
        relevance_of(tmp_path, LIST.replace("[methadone, ", "["), words, "e.yaml").deidentify
        != before.deidentify
    )
    # an entry's role or an alias changed: it matters where its words are
    assert (
        relevance_of(
            tmp_path,
            LIST.replace("role: participant\n    aliases", "role: interviewer\n    aliases"),
            words,
            "f.yaml",
        ).ingest
        != before.ingest
    )


def test_relevance_is_cached_by_raw_file_and_list(tmp_path: Path, monkeypatch) -> None:
    from scripts import transcript_text

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "T01.txt").write_text(
        "Interviewer: Where?\nParticipant: Temeke, with Amina.\n", encoding="utf-8"
    )
    (raw / "T02.txt").write_text("Interviewer: Where?\nParticipant: Nowhere.\n", encoding="utf-8")
    listed = tmp_path / "identifiers.yaml"
    listed.write_text(LIST, encoding="utf-8")
    cache = tmp_path / ".snakemake" / "relevance"
    transcripts = {"T01": raw / "T01.txt", "T02": raw / "T02.txt"}
    first = identifier_relevance.relevance_by_transcript(transcripts, listed, True, cache, SECRET)
    read = []
    original = transcript_text.raw_text
    monkeypatch.setattr(
        transcript_text, "raw_text", lambda path: read.append(path.name) or original(path)
    )
    assert (
        identifier_relevance.relevance_by_transcript(transcripts, listed, True, cache, SECRET)
        == first
        and read == []
    )
    listed.write_text(LIST.replace("places:\n", "places:\n  - name: Nowhere\n"), encoding="utf-8")
    changed = identifier_relevance.relevance_by_transcript(transcripts, listed, True, cache, SECRET)
    assert read == []  # the list changed: the cached words are read, not the raw files
    assert changed["T01"] == first["T01"] and changed["T02"] != first["T02"]
    # the cache holds keyed hashes of words, never the words
    everything = "".join(path.read_text(encoding="utf-8") for path in cache.rglob("*.json")).lower()
    assert "amina" not in everything and "temeke" not in everything and "where" not in everything
    (raw / "T02.txt").write_text(
        "Interviewer: Where?\nParticipant: Somewhere else.\n", encoding="utf-8"
    )
    identifier_relevance.relevance_by_transcript(transcripts, listed, True, cache, SECRET)
    assert read == ["T02.txt"]  # a changed raw file is read again
    assert identifier_relevance.relevance_by_transcript(
        transcripts, listed, True, cache, b"another secret"
    ) == identifier_relevance.relevance_by_transcript(
        transcripts, listed, True, cache, SECRET
    )  # the same entries matter


def test_deferred_digests_are_worked_out_when_first_read() -> None:
    import copy
    import pickle

    computed = []

    def digests() -> dict[str, str]:
        computed.append(1)
        return {"T02": "b", "T01": "a"}

    value = identifier_relevance.DeferredDigests(digests)
    assert isinstance(value, dict) and computed == []  # made, held by Snakemake: not worked out
    assert repr(value) == repr({"T02": "b", "T01": "a"}) and computed == [1]
    assert value == {"T01": "a", "T02": "b"} and value["T01"] == "a" and computed == [1]
    for reads in (
        lambda deferred: dict(deferred),
        lambda deferred: {**deferred},
        lambda deferred: pickle.loads(pickle.dumps(deferred)),
        copy.copy,
        copy.deepcopy,
        lambda deferred: dict(deferred.items()),
        lambda deferred: {key: deferred[key] for key in deferred},
    ):
        fresh = identifier_relevance.DeferredDigests(digests)
        assert reads(fresh) == {"T01": "a", "T02": "b"}
    assert type(pickle.loads(pickle.dumps(value))) is dict
    assert len(identifier_relevance.DeferredDigests(digests)) == 2


def test_relevance_index_reads_only_the_transcripts_asked_for(tmp_path: Path, monkeypatch) -> None:
    from scripts import transcript_text

    raw = tmp_path / "raw"
    raw.mkdir()
    for name, said in (("T01", "Temeke, with Amina."), ("T02", "Nowhere."), ("T03", "Amina.")):
        (raw / f"{name}.txt").write_text(f"Interviewer: Where?\nParticipant: {said}\n", "utf-8")
    listed = tmp_path / "identifiers.yaml"
    listed.write_text(LIST, encoding="utf-8")
    cache = tmp_path / "relevance"
    transcripts = {name: raw / f"{name}.txt" for name in ("T01", "T02", "T03")}
    everything = identifier_relevance.relevance_by_transcript(
        transcripts, listed, True, tmp_path / "all", SECRET
    )
    read = []
    original = transcript_text.raw_text
    monkeypatch.setattr(
        transcript_text, "raw_text", lambda path: read.append(path.name) or original(path)
    )
    index = identifier_relevance.RelevanceIndex(transcripts, listed, True, cache, SECRET)
    assert read == [] and not cache.exists()  # nothing read until asked
    assert index.of(["T03"]) == {"T03": everything["T03"]} and read == ["T03.txt"]
    assert index.of(["T01", "T03"]) == {"T01": everything["T01"], "T03": everything["T03"]}
    assert read == ["T03.txt", "T01.txt"]
    # a later run finds them in the index, and reads only the transcript not asked for before
    again = identifier_relevance.RelevanceIndex(transcripts, listed, True, cache, SECRET)
    assert again.of(["T01", "T02", "T03"]) == everything and read[2:] == ["T02.txt"]
