"""Tests for scripts/codebook.py: the demo codebook, and errors that name file, line and code."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.codebook import CodebookError, load_codebook

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
version: 3
themes:
  - id: t1
    label: Theme one
    codes:
      - id: a
        label: A
        definition: First.
        keywords: [x]
      - id: b
        label: B
        definition: Second.
        patterns: [[{LEMMA: feel}, {LOWER: judged}]]
  - id: t2
    label: Theme two
    codes:
      - id: c
        label: C
        definition: Third.
        keywords: [z]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_codebook_is_valid_and_covers_both_studies() -> None:
    codebook = load_codebook(REPO / "data" / "codebook.yaml")
    assert codebook.version == "1.0"
    assert len(codebook.themes) >= 4 and len(codebook.codes) >= 15
    assert len(set(codebook.code_ids)) == len(codebook.code_ids)
    for wanted in (
        "enacted_stigma",
        "out_of_pocket_costs",
        "family_reintegration",
        "patient_defined_goals",
        "care_fragmentation",
    ):
        assert wanted in codebook.code_ids
    assert all(code.keywords for code in codebook.codes)


def test_codes_keep_file_order_theme_and_line(tmp_path: Path) -> None:
    codebook = load_codebook(write(tmp_path, GOOD))
    assert codebook.code_ids == ("a", "b", "c")
    assert [code.theme_id for code in codebook.codes] == ["t1", "t1", "t2"]
    assert codebook.code("a").line == 6 and codebook.code("a").keywords == ("x",)
    assert codebook.code("b").keywords == ()  # default filled in
    assert codebook.code("b").patterns == (({"LEMMA": "feel"}, {"LOWER": "judged"}),)
    assert codebook.version == "3"


def test_unknown_key_names_file_line_and_code(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("        keywords: [x]\n", "        keyword: [x]\n"))
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 9: code a: unknown key(s) keyword")
    assert (
        "allowed: definition, examples, exclude, exclude_terms, id, include, keywords, label, merged_from, patterns"
        in message
    )


def test_duplicate_code_id_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("      - id: c\n", "      - id: a\n"))
    with pytest.raises(
        CodebookError, match=r"codebook.yaml, line 17: code ID a is used twice \(first on line 6\)"
    ):
        load_codebook(path)


def test_duplicate_theme_id(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("  - id: t2\n", "  - id: t1\n"))
    with pytest.raises(
        CodebookError, match=r"line 14: theme ID t1 is used twice \(first on line 3\)"
    ):
        load_codebook(path)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            GOOD.replace("      - id: b\n", "      - id: 2b\n"),
            r"line 10: code 2b: themes\[0\].codes\[1\].id must be letters, digits",
        ),
        (
            GOOD.replace("        definition: Third.\n", ""),
            r"line 17: code c: themes\[1\].codes\[0\] is missing definition",
        ),
        (GOOD.replace("version: 3\n", ""), r"line 1: \(top level\) is missing version"),
        (
            GOOD.replace("      - id: b\n", "      - id: memo\n"),
            r"line 10: code ID memo is a column name of the coding sheet",
        ),
        (
            GOOD.replace("    label: Theme two\n", "    label: Theme two\n    colour: red\n"),
            r"line 16: theme t2: unknown key\(s\) colour",
        ),
        ("version: 1\nthemes: [\n", r"line \d+: is not valid YAML"),
    ],
)
def test_schema_errors_name_the_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(CodebookError, match=expected):
        load_codebook(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="file not found"):
        load_codebook(tmp_path / "nope.yaml")


def test_code_without_keywords_or_patterns_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("        keywords: [z]\n", ""))
    with pytest.raises(CodebookError, match=r"line 17: code c: has no keywords and no patterns"):
        load_codebook(path)


@pytest.mark.parametrize(
    "pattern, expected",
    [
        (
            "[[{LEMA: feel}]]",
            r"code b: patterns\[0\] is not a valid spaCy Matcher pattern \(.*LEMA\] extra fields not permitted",
        ),
        (
            "[[{LOWER: x}], [{OP: '?!'}]]",
            r"code b: patterns\[1\] is not a valid spaCy Matcher pattern \(.*OP\] value is not a valid",
        ),
        ("[[{LOWER: {REGX: x}}]]", r"code b: patterns\[0\] .*REGX"),
    ],
)
def test_invalid_spacy_pattern_names_code_and_index(
    tmp_path: Path, pattern: str, expected: str
) -> None:
    path = write(tmp_path, GOOD.replace("[[{LEMMA: feel}, {LOWER: judged}]]", pattern))
    with pytest.raises(CodebookError, match=expected) as caught:
        load_codebook(path)
    assert str(caught.value).startswith(f"{path}, line 13:")


def test_exclude_terms_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD.replace(
            "        keywords: [x]\n", "        keywords: [x]\n        exclude_terms: [not x, y*]\n"
        ),
    )
    assert load_codebook(path).code("a").exclude_terms == ("not x", "y*")


def test_an_edited_codebook_is_read_again(tmp_path: Path) -> None:
    """load_codebook keeps what it read per file version: an edit must not be missed."""
    import os

    path = write(tmp_path, GOOD)
    assert load_codebook(path) is load_codebook(path)
    path.write_text(GOOD.replace("version: 3", "version: 4"), encoding="utf-8")
    status = path.stat()
    os.utime(
        path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000)
    )  # even within one clock tick
    assert load_codebook(path).version == "4"
    path.write_text("version: 5\nthemes: []\n", encoding="utf-8")
    with pytest.raises(CodebookError):
        load_codebook(path)
