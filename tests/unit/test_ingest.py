"""Ingest: encodings, label styles and the messy exports real tools produce."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pytest

from scripts.errors import InputFormatError
from scripts.ingest import (
    SpeakerRules,
    decode_transcript,
    ingest_transcript,
    label_key,
    normalize_text,
)

RULES = SpeakerRules(
    known_people={
        "neema massawe": "participant",
        "rehema mollel": "interviewer",
        "dana whitfield": "interviewer",
    }
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def turns_of(path: Path, rules: SpeakerRules = RULES) -> list[tuple[str, str, str]]:
    result = ingest_transcript(path, path.stem, rules)
    return [(turn["speaker"], turn["role"], turn["text"]) for turn in result.turns]


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        "Interviewer: Karibu\n".encode("utf-8"),
        codecs.BOM_UTF8 + "Interviewer: Karibu\n".encode("utf-8"),
        "Interviewer: Karibu\r\n".encode("utf-16"),  # Word's "Unicode text": UTF-16 with BOM
        "Interviewer: Karibu\n".encode("utf-16-le"),  # without BOM
        "Interviewer: Karibu\n".encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-16-le", "cp1252"],
)
def test_decodes_the_encodings_exports_use(encoded: bytes) -> None:
    assert normalize_text(decode_transcript(encoded, "x.txt")).strip() == "Interviewer: Karibu"


def test_windows_1252_smart_quotes_become_straight(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "Q: Was it \u201cgood\u201d?\r\nA: It\u2019s fine \u2013 mostly.\r\n".encode("cp1252"),
    )
    assert turns_of(path) == [
        ("Q", "interviewer", 'Was it "good"?'),
        ("A", "participant", "It's fine \u2013 mostly."),
    ]


@pytest.mark.parametrize("content", [b"", b"   \n\n"], ids=["empty", "blank"])
def test_empty_file_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "T1.txt", content)
    with pytest.raises(InputFormatError, match=r"T1\.txt: the file is empty"):
        ingest_transcript(path, "T1", RULES)


def test_binary_file_named_txt_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.txt", bytes(range(256)) * 20)
    with pytest.raises(InputFormatError, match="is not a text file"):
        ingest_transcript(path, "T1", RULES)


def test_unknown_format_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.pdf", "%PDF-1.4")
    with pytest.raises(InputFormatError, match="unknown transcript format '.pdf'"):
        ingest_transcript(path, "T1", RULES)


# --- speaker labels in text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, expected",
    [
        ("Interviewer1", "interviewer"),
        ("[P1]", "p"),
        ("interviewee:", "interviewee"),
        ("Jane Doe (SL)", "jane doe"),
        ("Maria Lopez (she/her)", "maria lopez"),
        ("Whitfield, Dana", "dana whitfield"),
        ("INTERVIEWER 2", "interviewer"),
    ],
)
def test_label_key(label: str, expected: str) -> None:
    assert label_key(label) == expected


def test_labels_continuation_lines_and_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "Interview 7, site A\n\nInterviewer: How did it start?\nParticipant: It started\nwhen I moved.\n\n"
        "It was hard.\nInterviewer: And then?\nParticipant: Then: nothing.\n",
    )
    assert turns_of(path) == [
        ("Unknown", "other", "Interview 7, site A"),
        ("Interviewer", "interviewer", "How did it start?"),
        ("Participant", "participant", "It started when I moved. It was hard."),
        ("Interviewer", "interviewer", "And then?"),
        ("Participant", "participant", "Then: nothing."),
    ]


def test_a_colon_in_speech_is_not_a_label(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "I: What did she say?\nP: She said it plainly.\nAnd she said: go home.\n",
    )
    assert turns_of(path)[-1] == ("P", "participant", "She said it plainly. And she said: go home.")


def test_lower_case_numbered_and_timestamped_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "[00:00:05] interviewer1: first question?\n[00:00:09] interviewee: an answer\n"
        "[00:01:10] interviewer2: a follow-up?\ninterviewee: another answer\n",
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [(t["speaker"], t["role"]) for t in result.turns] == [
        ("interviewer1", "interviewer"),
        ("interviewee", "participant"),
        ("interviewer2", "interviewer"),
        ("interviewee", "participant"),
    ]
    assert result.turns[0]["start_s"] == 5.0


def test_bracketed_labels_without_colon(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.txt", "[INT] So tell me.\n[P1] Well, okay.\n[INT] Go on?\n")
    assert turns_of(path) == [
        ("INT", "interviewer", "So tell me."),
        ("P1", "participant", "Well, okay."),
        ("INT", "interviewer", "Go on?"),
    ]


def test_named_speakers_take_roles_from_the_identifier_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "Rehema Mollel: How is the clinic?\nNeema Massawe: Busy.\nRehema Mollel: Why?\n",
    )
    assert [(s, r) for s, r, _ in turns_of(path)] == [
        ("Rehema Mollel", "interviewer"),
        ("Neema Massawe", "participant"),
        ("Rehema Mollel", "interviewer"),
    ]


def test_unknown_named_speakers_are_guessed_with_a_warning_that_does_not_name_them(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "Sam Okello: How are you?\nJo Lyimo: Fine.\nSam Okello: And work?\nJo Lyimo: Good.\n",
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [t["role"] for t in result.turns] == [
        "interviewer",
        "participant",
        "interviewer",
        "participant",
    ]
    assert len(result.warnings) == 2
    assert all("Okello" not in warning and "Lyimo" not in warning for warning in result.warnings)
    assert "line 1" in result.warnings[0]


def test_no_labels_falls_back_to_one_unknown_speaker_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path, "T1.txt", "I grew up by the sea.\nIt was quiet.\n\nThen I moved to town.\n"
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [(t["speaker"], t["role"], t["text"]) for t in result.turns] == [
        ("Unknown", "other", "I grew up by the sea. It was quiet."),
        ("Unknown", "other", "Then I moved to town."),
    ]
    assert "no speaker labels" in result.warnings[0]


def test_custom_speaker_pattern(tmp_path: Path) -> None:
    rules = SpeakerRules(pattern=r"^(?P<speaker>[A-Z]{1,3})>\s*")
    path = write(tmp_path, "T1.txt", "I> Question?\nR> Answer.\n")
    assert turns_of(path, rules) == [
        ("I", "interviewer", "Question?"),
        ("R", "participant", "Answer."),
    ]


def test_consecutive_turns_by_one_speaker_are_merged(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.txt", "I: One?\nP: Two.\nP: Three.\n")
    assert turns_of(path) == [("I", "interviewer", "One?"), ("P", "participant", "Two. Three.")]


def test_zoom_saved_closed_captions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.txt",
        "[Dana Whitfield] 10:02:15\nHow are things?\n\n[Keisha Brown] 10:02:19\nOkay I guess.\nBetter.\n\n[Keisha Brown] 10:02:30\nReally.\n",
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [(t["speaker"], t["role"], t["text"]) for t in result.turns] == [
        ("Dana Whitfield", "interviewer", "How are things?"),
        ("Keisha Brown", "participant", "Okay I guess. Better. Really."),
    ]
    assert result.turns[1]["start_s"] == 10 * 3600 + 2 * 60 + 19


# --- captions ----------------------------------------------------------------------------------


def test_webvtt_voice_tags_open_and_closed_and_last_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>How long have you\n\n"
        "00:00:04.000 --> 00:00:06.500\n<v Interviewer>been coming here?\n\n"
        "00:00:07.000 --> 00:00:09.000\n<v Participant>Two years.</v>\n\n"
        "00:00:09.000 --> 00:00:12.000\n<v Whitfield, Dana>Thank you.</v> <v Participant>Sure.</v>\n",
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [
        (t["speaker"], t["role"], t["text"], t.get("start_s"), t.get("end_s")) for t in result.turns
    ] == [
        ("Interviewer", "interviewer", "How long have you been coming here?", 1.0, 6.5),
        ("Participant", "participant", "Two years.", 7.0, 9.0),
        ("Whitfield, Dana", "interviewer", "Thank you.", 9.0, 12.0),
        ("Participant", "participant", "Sure.", 9.0, 12.0),
    ]


def test_zoom_vtt_names_with_suffix_and_continuation_cues(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.vtt",
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\nDana Whitfield (SL): Can you tell me\n\n"
        "2\n00:00:03.000 --> 00:00:05.000\nabout the program?\n\n"
        "3\n00:00:05.500 --> 00:00:08.000\nLuis Ortega: Sure: it helped.\n\n"
        "4\n00:00:08.000 --> 00:00:09.000\nA lot.\n\n"
        "5\n00:00:09.500 --> 00:00:10.000\nDana Whitfield (SL): Thanks.\n",
    )
    assert turns_of(path) == [
        ("Dana Whitfield (SL)", "interviewer", "Can you tell me about the program?"),
        ("Luis Ortega", "participant", "Sure: it helped. A lot."),
        ("Dana Whitfield (SL)", "interviewer", "Thanks."),
    ]


def test_srt_names_only_on_first_cue_with_wrapped_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.srt",
        "1\n00:00:01,000 --> 00:00:03,000\nINTERVIEWER: What helped\nyou most?\n\n"
        "2\n00:00:03,500 --> 00:00:06,000\nPARTICIPANT: The nurses. They\nlistened.\n\n"
        "3\n00:00:06,000 --> 00:00:08,000\nAnd the group.\n",
    )
    result = ingest_transcript(path, "T1", RULES)
    assert [(t["speaker"], t["role"], t["text"]) for t in result.turns] == [
        ("INTERVIEWER", "interviewer", "What helped you most?"),
        ("PARTICIPANT", "participant", "The nurses. They listened. And the group."),
    ]
    assert (result.turns[1]["start_s"], result.turns[1]["end_s"]) == (3.5, 8.0)


def test_broken_caption_timestamp_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "T1.vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v I>Hi\n\n00:00:04.000 --> 00:0x:05.000\n<v P>Hey\n",
    )
    with pytest.raises(InputFormatError, match=r"T1\.vtt, line 6: broken caption timestamp"):
        ingest_transcript(path, "T1", RULES)


def test_vtt_without_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.vtt", "00:00:01.000 --> 00:00:03.000\n<v I>Hi\n")
    with pytest.raises(InputFormatError, match="not a valid WebVTT"):
        ingest_transcript(path, "T1", RULES)


# --- Word ---------------------------------------------------------------------------------------


def make_docx(path: Path, paragraphs: list[tuple[str | None, str]]) -> Path:
    import docx

    document = docx.Document()
    for bold, text in paragraphs:
        paragraph = document.add_paragraph()
        if bold:
            paragraph.add_run(bold).bold = True
        paragraph.add_run(text)
    document.save(str(path))
    return path


def test_docx_bold_labels_and_continuation_paragraphs(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "T1.docx",
        [
            (None, "Interview T1"),
            ("Interviewer", ": How was it?"),
            ("Participant", " Fine."),
            (None, "Mostly fine."),
            ("Interviewer:", " Good?"),
        ],
    )
    assert turns_of(path) == [
        ("Unknown", "other", "Interview T1"),
        ("Interviewer", "interviewer", "How was it?"),
        ("Participant", "participant", "Fine. Mostly fine."),
        ("Interviewer", "interviewer", "Good?"),
    ]


def test_docx_colon_labels(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "T1.docx", [(None, "Interviewer: Your role?"), (None, "Respondent: A nurse.")]
    )
    assert turns_of(path) == [
        ("Interviewer", "interviewer", "Your role?"),
        ("Respondent", "participant", "A nurse."),
    ]


def test_docx_that_is_a_zip_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "T1.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a document")
    with pytest.raises(InputFormatError, match=r"T1\.docx: is not a Word document"):
        ingest_transcript(path, "T1", RULES)


def test_docx_that_is_not_a_zip(tmp_path: Path) -> None:
    path = write(tmp_path, "T1.docx", "Interviewer: plain text saved as .docx")
    with pytest.raises(InputFormatError, match="is not a Word document"):
        ingest_transcript(path, "T1", RULES)


def test_normalize_text_maps_every_listed_character_as_the_character_map_says() -> None:
    from scripts.transcript_text import _CHARACTER_MAP

    for code, replacement in _CHARACTER_MAP.items():
        text = f"a{chr(code)}b\r\nc{chr(code)}{chr(code)}"
        mapped = "" if replacement is None else replacement
        mapped = chr(mapped) if isinstance(mapped, int) else mapped
        assert normalize_text(text) == f"a{mapped}b\nc{mapped}{mapped}", hex(code)
    assert normalize_text("Cafe\u0301 \u201cquoted\u201d") == 'Café "quoted"'
