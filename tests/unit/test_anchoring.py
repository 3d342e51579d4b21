"""Codings follow the text (scripts/anchoring.py): each status, on transcripts small enough to
read, and the cases where following would put a code on another sentence."""

from __future__ import annotations

import pytest

from scripts.anchoring import Alignment, Piece, anchor_segments, map_selection, same_words

OLD = [
    Piece("T1-0001-001", "How are you now?"),
    Piece("T1-0002-001", "Ah, very different."),
    Piece(
        "T1-0002-002",
        "The cough finished, they tested me for TB and I took the TB medicine for six months.",
    ),
    Piece("T1-0002-003", "My viral load now, the last time, they told me it is not detected."),
    Piece("T1-0002-004", "[PERSON_9] explained it to me."),
    Piece("T1-0002-005", "Mm."),
    Piece("T1-0002-006", "And the mind also."),
    Piece("T1-0002-007", "Mm."),
    Piece("T1-0002-008", "Now I can sit, I can plan."),
]


def changed(replacements: dict[str, list[str]]) -> list[Piece]:
    """The old transcript with some segments replaced by others (renumbered within turn 2)."""
    texts = []
    for piece in OLD:
        texts.extend(replacements.get(piece.segment_id, [piece.text]))
    new, sentence = [Piece("T1-0001-001", texts[0])], 0
    for text in texts[1:]:
        sentence += 1
        new.append(Piece(f"T1-0002-{sentence:03d}", text))
    return new


def test_nothing_changed_everything_unchanged() -> None:
    anchors = anchor_segments(OLD, OLD)
    assert {anchor.status for anchor in anchors.values()} == {"unchanged"}


def test_a_placeholder_that_changed_is_carried() -> None:
    new = changed({"T1-0002-004": ["[PERSON_u1a2b3c] explained it to me."]})
    anchor = anchor_segments(OLD, new)["T1-0002-004"]
    assert (anchor.status, anchor.segment_ids, anchor.similarity) == (
        "carried",
        ("T1-0002-004",),
        1.0,
    )


def test_a_name_that_became_a_placeholder_is_carried() -> None:
    old = [*OLD[:4], Piece("T1-0002-004", "Hope Mwakyusa explained it to me."), *OLD[5:]]
    anchor = anchor_segments(old, OLD)["T1-0002-004"]
    assert anchor.status == "carried"


def test_a_corrected_word_that_splits_a_sentence_splits_the_coding_and_moves_the_rest() -> None:
    new = changed(
        {
            "T1-0002-002": [
                "The cough vanished, they tested me for TB",
                "and I took the TB medicine for six months.",
            ]
        }
    )
    anchors = anchor_segments(OLD, new)
    assert anchors["T1-0002-002"].status == "split"
    assert anchors["T1-0002-002"].segment_ids == ("T1-0002-002", "T1-0002-003")
    assert (anchors["T1-0002-003"].status, anchors["T1-0002-003"].segment_ids) == (
        "moved",
        ("T1-0002-004",),
    )
    # the coded sentence's words are where the coding went: checked against the text
    by_id = {piece.segment_id: piece.text for piece in new}
    assert by_id[anchors["T1-0002-003"].segment_ids[0]] == OLD[3].text
    assert (anchors["T1-0002-008"].status, anchors["T1-0002-008"].segment_ids) == (
        "moved",
        ("T1-0002-009",),
    )


def test_repeated_sentences_are_told_apart_by_their_place() -> None:
    """'Mm.' twice: after a sentence is inserted before the first, each follows its own place."""
    new = changed({"T1-0002-001": ["Ah, very different.", "Very, very different."]})
    anchors = anchor_segments(OLD, new)
    assert anchors["T1-0002-005"].segment_ids == ("T1-0002-006",)
    assert anchors["T1-0002-007"].segment_ids == ("T1-0002-008",)


def test_a_small_edit_of_the_same_segment_is_moved_with_its_similarity() -> None:
    new = changed({"T1-0002-008": ["Now I can sit, I can make a plan."]})
    anchor = anchor_segments(OLD, new)["T1-0002-008"]
    assert (
        anchor.status == "moved"
        and anchor.segment_ids == ("T1-0002-008",)
        and 0.6 <= anchor.similarity < 1
    )


def test_a_deleted_sentence_goes_to_a_person_never_to_its_neighbour() -> None:
    new = changed({"T1-0002-006": []})
    anchors = anchor_segments(OLD, new)
    assert anchors["T1-0002-006"].status == "recheck" and anchors["T1-0002-006"].segment_ids == ()
    # its old ID now names the next 'Mm.': nothing is put there
    assert anchors["T1-0002-007"].segment_ids == ("T1-0002-006",)


def test_a_rewritten_sentence_and_a_flipped_answer_go_to_a_person() -> None:
    new = changed(
        {"T1-0002-003": ["Nobody ever told me anything about the tests."], "T1-0002-005": ["No."]}
    )
    anchors = anchor_segments(OLD, new)
    assert anchors["T1-0002-003"].status == "recheck"
    assert anchors["T1-0002-005"].status == "recheck"  # "Mm." -> "No.": below the threshold


def test_sentences_joined_are_merged() -> None:
    new = changed(
        {
            "T1-0002-001": [
                "Ah, very different, the cough finished, they tested me for TB and I took the TB medicine for six months."
            ],
            "T1-0002-002": [],
        }
    )
    anchors = anchor_segments(OLD, new)
    assert (anchors["T1-0002-001"].status, anchors["T1-0002-002"].status) == ("merged", "merged")
    assert (
        anchors["T1-0002-001"].segment_ids == anchors["T1-0002-002"].segment_ids == ("T1-0002-001",)
    )


def test_a_coding_sheet_holds_only_some_segments_and_they_still_follow() -> None:
    """Only the participant rows (as a coding sheet holds them) against the whole transcript."""
    sheet = [piece for piece in OLD if piece.segment_id != "T1-0001-001"]
    new = changed(
        {
            "T1-0002-002": [
                "The cough vanished, they tested me for TB",
                "and I took the TB medicine for six months.",
            ]
        }
    )
    anchors = anchor_segments(sheet, new)
    assert anchors["T1-0002-004"].segment_ids == ("T1-0002-005",)


@pytest.mark.parametrize("threshold, status", [(0.6, "moved"), (0.95, "recheck")])
def test_the_threshold_decides_between_following_and_asking(threshold: float, status: str) -> None:
    new = changed({"T1-0002-008": ["Now I can sit, I can make a plan."]})
    assert anchor_segments(OLD, new, threshold)["T1-0002-008"].status == status


def test_same_words_ignores_placeholders_case_and_spacing() -> None:
    assert same_words("[PERSON_1] came  home.", "[PERSON_u1a2b3c] came home.")
    assert not same_words("She came home.", "She went home.")


def test_a_selection_is_followed_into_the_new_text() -> None:
    old = "Interviewer: How are you?\nParticipant: I am calm now. The queue is long.\n"
    new = "Interviewer: Hello.\nInterviewer: How are you?\nParticipant: I am calm now. The queue is long.\n"
    start = old.index("The queue")
    found = map_selection(old, new, start, start + len("The queue is long."))
    assert (
        found is not None and new[found[0] : found[1]] == "The queue is long." and found[2] == 1.0
    )
    assert map_selection(old, "Interviewer: Something else entirely.\n", start, start + 18) is None


def test_alignment_maps_a_name_onto_its_placeholder() -> None:
    alignment = Alignment("Marcus Green came.", "[PERSON_u1a2b3c] came.")
    assert alignment.to_new == [0, 0, 1, 2]
