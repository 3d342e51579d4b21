"""Theme tables: prevalence with small-cell suppression, co-occurrence, saturation, exemplar quotes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scripts import coded_corpus, exemplar_quotes, publication_tables, theme_counts
from scripts.codebook import load_codebook
from scripts.errors import ConfigurationError

from .coding_helpers import CODEBOOK

# transcript -> (participant_id, role, site, [(words, codes)] per participant segment)
STUDY = {
    "T1": ("P1", "client", "A", [(12, {"calm"}), (30, {"calm", "work"}), (5, {"queue"})]),
    "T2": ("P2", "client", "A", [(28, {"calm"}), (40, set())]),
    "T3": ("P3", "client", "B", [(25, {"work"}), (9, {"work"})]),
    "T4": ("P4", "client", "B", [(31, {"calm"})]),
    "T5": ("P5", "client", "A", [(20, {"calm", "queue"})]),
    "T6": ("P6", "client", "B", [(8, {"calm"})]),
    "T7": ("P7", "provider", "A", [(15, {"queue"})]),
    "T8": ("P7", "provider", "A", [(33, {"queue", "calm"})]),  # P7 interviewed twice
}
DATES = {
    "T1": "2024-03-01",
    "T2": "2024-01-10",
    "T3": "",
    "T4": "2024-02-01",
    "T5": "2024-02-01",
    "T6": "2024-04-01",
    "T7": "2024-05-01",
    "T8": "2024-06-01",
}


@pytest.fixture
def codebook(tmp_path: Path):
    path = tmp_path / "codebook.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return load_codebook(path)


def participant_rows() -> list[dict[str, str]]:
    return [
        {
            "transcript_id": t,
            "participant_id": p,
            "role": role,
            "site": site,
            "interview_date": DATES[t],
        }
        for t, (p, role, site, _) in STUDY.items()
    ]


def make_corpus(codebook, exemplars=frozenset()) -> coded_corpus.CodedCorpus:
    segments, labels = [], []
    for transcript, (_, _, _, coded) in STUDY.items():
        for n, (words, codes) in enumerate(coded, start=1):
            segments.append(
                {
                    "segment_id": f"{transcript}-0002-{n:03d}",
                    "transcript_id": transcript,
                    "role": "participant",
                    "text": " ".join(["word"] * words),
                }
            )
            labels.append([int(code in codes) for code in codebook.code_ids])
    participants = coded_corpus.participants_by_transcript(
        participant_rows(), list(STUDY), ["role", "site", "interview_date"]
    )
    return coded_corpus.CodedCorpus(
        codebook, segments, np.array(labels), participants, frozenset(exemplars)
    )


def independent_counts(code_id: str, role: str | None = None) -> tuple[int, int]:
    """(participants, segments) with the code, straight from STUDY."""
    people, segments = set(), 0
    for participant, group, _, coded in STUDY.values():
        if role is not None and group != role:
            continue
        hits = sum(1 for _, codes in coded if code_id in codes)
        segments += hits
        if hits:
            people.add(participant)
    return len(people), segments


def rows_of(prevalence, attribute, group=None):
    return {
        (row["level"], row["code_id"] or row["theme_id"]): row
        for row in prevalence
        if row["attribute"] == attribute and (group is None or row["group"] == group)
    }


@pytest.mark.parametrize(
    "counts, sizes, k, expected",
    [
        (
            [10, 3, 1],
            [10, 4, 2],
            5,
            ["", "<5", "<5"],
        ),  # two hidden: the total does not give either away
        ([9, 7, 3], [12, 8, 6], 5, ["", "x", "<5"]),  # one hidden: the next smallest goes too
        ([9, 0, 6], [12, 8, 6], 5, ["", "", ""]),  # zero in a large group is shown
        ([2, 0], [12, 3], 5, ["<5", "<5"]),  # any count of a group smaller than k
        ([2, 1], [12, 3], 0, ["", ""]),  # switched off
        ([3], [12], 5, ["<5"]),  # a single group: nothing to protect it with
    ],
)
def test_primary_suppression_of_a_row(counts, sizes, k, expected) -> None:
    from scripts import disclosure

    groups = [f"g{index}" for index in range(len(counts))]
    release = disclosure.Counts(
        ["calm"],
        {},
        {"role": groups},
        {("calm", "role", g): n for g, n in zip(groups, counts)},
        {("calm", "role", g): n for g, n in zip(groups, counts)},
        {("role", g): n for g, n in zip(groups, sizes)},
        sum(sizes),
    )
    marks = disclosure.primary_marks(release, k)
    assert [marks.cells.get(("calm", "role", g), "") for g in groups] == expected


def test_overall_prevalence_matches_an_independent_count(codebook) -> None:
    corpus = make_corpus(codebook)
    rows = rows_of(
        theme_counts.prevalence(
            corpus, coded_corpus.ThemeSettings(attributes=("role",), suppress_below=5)
        ),
        "all",
    )
    assert len(corpus.participant_ids) == 7  # P7 counts once
    for code_id in codebook.code_ids:
        participants, segments = independent_counts(code_id)
        assert rows[("code", code_id)]["participants"] == participants
        assert rows[("code", code_id)]["segments"] == segments
        assert rows[("code", code_id)]["participants_share"] == f"{participants / 7:.3f}"
    # a theme is voiced when any of its codes is; its segments are counted once
    good_people = {
        p
        for p, _, _, coded in STUDY.values()
        if any(codes & {"calm", "work"} for _, codes in coded)
    }
    good_segments = sum(
        1 for *_, coded in STUDY.values() for _, codes in coded if codes & {"calm", "work"}
    )
    assert rows[("theme", "good")]["participants"] == len(good_people)
    assert rows[("theme", "good")]["segments"] == good_segments


def test_breakdown_is_suppressed_and_unsuppressed_when_k_allows(codebook) -> None:
    corpus = make_corpus(codebook)
    suppressed = theme_counts.prevalence(
        corpus, coded_corpus.ThemeSettings(attributes=("role",), suppress_below=5)
    )
    provider = rows_of(suppressed, "role", "provider")
    client = rows_of(suppressed, "role", "client")
    assert (
        provider[("code", "queue")]["group_participants"] == 1
    )  # group sizes are the sample: shown
    assert provider[("code", "work")]["participants"] == "<5"  # even a zero, in a group that small
    assert provider[("code", "queue")]["participants_share"] == ""
    # one hidden count in the row (provider): the client count goes too, or total - client = provider
    assert client[("code", "queue")]["participants"] == "<5"  # two clients
    assert (
        client[("code", "calm")]["participants"] == "x"
        and client[("code", "calm")]["segments"] == "x"
    )
    # without suppression, every breakdown count is the independent one
    open_rows = theme_counts.prevalence(
        corpus, coded_corpus.ThemeSettings(attributes=("role",), suppress_below=0)
    )
    for role in ("client", "provider"):
        rows = rows_of(open_rows, "role", role)
        for code_id in codebook.code_ids:
            assert (
                rows[("code", code_id)]["participants"],
                rows[("code", code_id)]["segments"],
            ) == independent_counts(code_id, role)


def test_not_recorded_participants_form_their_own_group(codebook) -> None:
    rows = [row for row in participant_rows() if row["transcript_id"] != "T6"]
    participants = coded_corpus.participants_by_transcript(rows, list(STUDY), ["role", "site"])
    assert participants["T6"] == coded_corpus.Participant(
        "T6", {"role": "not recorded", "site": "not recorded"}
    )
    corpus = make_corpus(make_corpus.__globals__["load_codebook"](Path(codebook.path)))
    corpus.participants = participants
    assert list(theme_counts.group_sizes(corpus, "site")) == ["A", "B", "not recorded"]


def test_cooccurrence_and_code_by_participant(codebook) -> None:
    corpus = make_corpus(codebook)
    by_segment = {row["code_id"]: row for row in theme_counts.cooccurrence(corpus, "segments")}
    assert by_segment["calm"]["calm"] == independent_counts("calm")[1]
    assert by_segment["calm"]["work"] == by_segment["work"]["calm"] == 1  # T1's second segment
    assert by_segment["calm"]["queue"] == 2  # T5 and T8
    by_participant = {
        row["code_id"]: row for row in theme_counts.cooccurrence(corpus, "participants")
    }
    assert by_participant["calm"]["work"] == 1  # only P1 has both (P3 has work without calm)
    assert by_participant["queue"]["queue"] == independent_counts("queue")[0]
    matrix, columns = theme_counts.code_by_participant(corpus)
    assert columns == [
        "theme_id",
        "code_id",
        "code_label",
        "P1",
        "P2",
        "P3",
        "P4",
        "P5",
        "P6",
        "P7",
    ]
    queue = next(row for row in matrix if row["code_id"] == "queue")
    assert (queue["P1"], queue["P7"], queue["P2"]) == (1, 2, 0)


def test_saturation_follows_the_interview_dates_with_blanks_last(codebook) -> None:
    corpus = make_corpus(codebook)
    rows = theme_counts.saturation(corpus, participant_rows(), "interview_date")
    assert [row["transcript_id"] for row in rows] == [
        "T2",
        "T4",
        "T5",
        "T1",
        "T6",
        "T7",
        "T8",
        "T3",
    ]
    assert [row["new_codes"] for row in rows] == [1, 0, 1, 1, 0, 0, 0, 0]
    assert rows[-1]["cumulative_codes"] == 3 and rows[3]["new_code_ids"] == "work"
    by_id = theme_counts.saturation(corpus, participant_rows(), "transcript_id")
    assert [row["transcript_id"] for row in by_id][:2] == ["T1", "T2"] and by_id[0][
        "new_codes"
    ] == 3


def test_exemplars_are_spread_across_participants_and_marked_ones_come_first(codebook) -> None:
    corpus = make_corpus(codebook)
    settings = coded_corpus.ThemeSettings(
        per_code=3,
        min_words=10,
        ideal_words=30,
        attribution="{participant_id}, {role}, site {site}",
    )
    calm = [
        row
        for row in exemplar_quotes.choose_exemplars(corpus, settings)
        if row["code_id"] == "calm"
    ]
    assert len(calm) == 3 and len({row["participant_id"] for row in calm}) == 3
    assert calm[0]["segment_id"] == "T1-0002-002"  # 30 words: the ideal length
    assert all(row["words"] >= 10 for row in calm)  # the 8-word segment of P6 is not needed
    assert calm[0]["attribution"] == "P1, client, site A"
    marked = make_corpus(codebook, exemplars={("T6-0002-001", "calm")})
    first = next(
        row
        for row in exemplar_quotes.choose_exemplars(marked, settings)
        if row["code_id"] == "calm"
    )
    assert first["segment_id"] == "T6-0002-001" and first["marked_exemplar"] == "yes"
    # the same corpus gives the same quotes
    assert exemplar_quotes.choose_exemplars(corpus, settings) == exemplar_quotes.choose_exemplars(
        corpus, settings
    )


def test_attribution_and_order_must_name_real_columns() -> None:
    with pytest.raises(ConfigurationError, match="themes.exemplars.attribution names name"):
        coded_corpus.check_settings(
            coded_corpus.ThemeSettings(attribution="{participant_id} ({name})"),
            ["role"],
            "participants.csv",
        )
    with pytest.raises(ConfigurationError, match="themes.saturation.order_by"):
        coded_corpus.check_settings(
            coded_corpus.ThemeSettings(attribution="{role}", order_by="visit"),
            ["role"],
            "participants.csv",
        )
    coded_corpus.check_settings(
        coded_corpus.ThemeSettings(
            attribution="{participant_id}, {role}", order_by="transcript_id"
        ),
        ["role"],
        "p.csv",
    )


def test_publication_tables_markdown_and_word(codebook, tmp_path: Path) -> None:
    corpus = make_corpus(codebook)
    settings = coded_corpus.ThemeSettings(attributes=("role", "site"), suppress_below=5)
    rows = theme_counts.prevalence(corpus, settings)
    tables = publication_tables.publication_tables(
        rows, settings, len(corpus.participant_ids), codebook.version
    )
    assert [table.title for table in tables][1:] == [
        "Themes and codes by role",
        "Themes and codes by site",
    ]
    assert tables[1].header == ["Theme / code", "client (n = 6)", "provider (n = 1)"]
    exemplars = exemplar_quotes.choose_exemplars(corpus, settings)
    text = publication_tables.markdown(tables, exemplars, codebook)
    assert (
        "| **Good things** | 7 (100%) | 9 |" in text
    )  # every participant; 9 segments with calm or work
    assert "| Queues | 3 (43%) | 4 |" in text  # P1, P5, P7
    assert "<5: between 1 and 4 participants" in text
    assert "(P1, client, site A)" in text
    first, second = tmp_path / "a.docx", tmp_path / "b.docx"
    publication_tables.save_word_document(
        publication_tables.word_document(tables, exemplars, codebook), first
    )
    publication_tables.save_word_document(
        publication_tables.word_document(tables, exemplars, codebook), second
    )
    assert first.read_bytes() == second.read_bytes()  # no save time inside
    with zipfile.ZipFile(io.BytesIO(first.read_bytes())) as document:
        body = document.read("word/document.xml").decode()
    assert "Themes and codes by site" in body and "Good things" in body and "&lt;5" in body


def test_word_tables_repeat_their_header_on_every_page_and_name_who_is_not_coded(
    codebook, tmp_path: Path
) -> None:
    import docx
    from docx.oxml.ns import qn

    corpus = make_corpus(codebook)
    settings = coded_corpus.ThemeSettings(attributes=("role", "site"), suppress_below=5)
    rows = theme_counts.prevalence(corpus, settings)
    not_coded = publication_tables.uncoded_participants(
        [*participant_rows(), {"transcript_id": "X9", "participant_id": "P9"}],
        ["X9", "X10", *corpus.participants],
        corpus.participant_ids,
    )
    assert not_coded == ["P9", "X10"]  # participants.csv's ID, else the transcript's
    tables = publication_tables.publication_tables(
        rows, settings, len(corpus.participant_ids), codebook.version, not_coded
    )
    assert (
        "Not coded yet, so not counted: 2 participant(s) interviewed, P9, X10"
        in tables[0].notes[-1]
    )
    assert "Every participant interviewed so far (7)" in publication_tables.coverage_note(7, [])
    path = tmp_path / "tables.docx"
    publication_tables.save_word_document(
        publication_tables.word_document(tables, [], codebook), path
    )
    for table in docx.Document(str(path)).tables:
        properties = [row._tr.trPr for row in table.rows]
        assert properties[0].find(qn("w:tblHeader")) is not None
        assert all(item.find(qn("w:tblHeader")) is None for item in properties[1:])
        assert all(item.find(qn("w:cantSplit")) is not None for item in properties[1:])
    assert "P9, X10" in publication_tables.markdown(tables, [], codebook)


def test_a_group_size_not_shown_has_a_note_never_a_bare_x() -> None:
    assert publication_tables.group_header("client", 6) == ("client (n = 6)", None)
    header, note = publication_tables.group_header("provider", "x")
    assert header == "provider (n not shown)" and "not shown" in note
    header, note = publication_tables.group_header("provider", "<5")
    assert header == "provider (n <5)" and "<5" in note
