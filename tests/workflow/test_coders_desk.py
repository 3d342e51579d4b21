"""The files coders and reviewers open, opened the way they do: the coding sheet in LibreOffice
Calc (printed to PDF: no text drawn over the next row, every word printed), the codebook CSV
imported by Taguette's own code, and what the workflow says about a sheet, a semicolon CSV and
a mistyped code ID. On the mini study (tests/data/mini), run once for the module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest

from . import office
from .conftest import MINI, REPO, run_workflow

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    project = tmp_path_factory.mktemp("desk")
    shutil.copytree(MINI / "data", project / "data")
    shutil.copy(REPO / "config.yaml", project / "config.yaml")
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return project


def wrapped_texts(path: Path) -> list[str]:
    """The text of every visible cell that wraps, on every tab."""
    workbook = openpyxl.load_workbook(path)
    return [
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value
        and cell.alignment.wrap_text
        and not sheet.column_dimensions[cell.column_letter].hidden
    ]


def long_sheet(desk: Path, folder: Path) -> Path:
    """The A01 sheet with a long turn of context and a long sentence, written by the workflow's
    own function: rows several lines tall."""
    from scripts import coding_sheets
    from scripts.codebook import load_codebook

    rows = coding_sheets.sheet_rows(
        [str(desk / "results" / "segments" / "A01.tsv")], ["participant"]
    )
    rows[0] = {
        **rows[0],
        "context": coding_sheets.shortened_context(
            "We talked about the clinic and the queue. " * 30
        ),
        "text": "Every morning I walk to the clinic, wait in the queue with the others, take my dose and then "
        "go to the market to sell vegetables until the evening, when I come home tired but calm. "
        * 3,
    }
    path = folder / "long.xlsx"
    coding_sheets.save_deterministic(
        coding_sheets.build_workbook(
            rows, load_codebook(desk / "data" / "codebook.yaml"), None, "coder_a"
        ),
        path,
    )
    return path


def test_a_coding_sheet_prints_in_libreoffice_with_nothing_clipped(
    desk: Path, tmp_path: Path
) -> None:
    if office.find_office() is None:
        pytest.skip(
            "LibreOffice or pdftotext is not installed and could not be installed (make test runs: "
            "apt-get install libreoffice-calc libreoffice-writer poppler-utils)"
        )
    for sheet in (
        desk / "results" / "coding_sheets" / "coder_a" / "A01.xlsx",
        long_sheet(desk, tmp_path),
    ):
        drawn = office.words(office.to_pdf(sheet, tmp_path / sheet.stem))
        assert office.overlapping(drawn) == [], sheet  # no row's text runs into the next
        assert office.missing_words(wrapped_texts(sheet), drawn) == {}, sheet  # every word printed
    # the check sees clipping: the same long sheet with rows one line high is drawn over itself
    workbook = openpyxl.load_workbook(tmp_path / "long.xlsx")
    for number in range(2, workbook["coding"].max_row + 1):
        workbook["coding"].row_dimensions[number].height = 15
    workbook.save(tmp_path / "short_rows.xlsx")
    assert office.overlapping(
        office.words(office.to_pdf(tmp_path / "short_rows.xlsx", tmp_path / "short"))
    )


def test_each_coders_sheet_says_whose_it_is(desk: Path) -> None:
    sheets = desk / "results" / "coding_sheets"
    first, second = sheets / "coder_a" / "A01.xlsx", sheets / "coder_b" / "A01.xlsx"
    assert first.read_bytes() != second.read_bytes()
    for coder, path in (("coder_a", first), ("coder_b", second)):
        workbook = openpyxl.load_workbook(path)
        assert {item.name: item.value for item in workbook.custom_doc_props}[
            "qualflow coder"
        ] == coder
        about = dict(workbook["about"].iter_rows(values_only=True))
        assert about["coder"] == coder and about["codebook version"]
        for sheet in workbook.worksheets:
            assert all(sheet.column_dimensions[letter].width for letter in "AB"), sheet.title


def test_a_sheet_in_the_wrong_folder_a_semicolon_csv_and_a_mistyped_code(
    desk: Path, tmp_path: Path
) -> None:
    """coder_b's folder gets coder_a's sheet, marked done; coder_a's CSV is saved with ';' by a
    European Excel, with a code typed ' Stability ' (capital, spaces): one warning, the CSV read,
    then a run that stops naming the file, the row and the code meant."""
    import shutil

    project = tmp_path / "study"
    shutil.copytree(desk / "data", project / "data")
    shutil.copy(desk / "config.yaml", project / "config.yaml")
    shutil.copytree(desk / "results", project / "results")
    workbook = openpyxl.load_workbook(desk / "results" / "coding_sheets" / "coder_a" / "A01.xlsx")
    workbook["transcripts"]["C2"] = 1
    workbook.save(project / "data" / "coding" / "coder_b" / "A01.xlsx")
    coding = project / "data" / "coding" / "coder_a" / "codings.csv"
    rows = coding.read_text(encoding="utf-8").splitlines()
    coding.write_text(
        "\r\n".join(row.replace(",", ";") for row in rows) + "\r\n", encoding="utf-8-sig"
    )
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    problems = (project / "results" / "agreement" / "coding_problems.tsv").read_text(
        encoding="utf-8"
    )
    assert "another_coders_sheet\tcoder_b\t" in problems and "made for coder_a" in problems
    codings = (project / "results" / "coding" / "coder_a" / "codings.tsv").read_text(
        encoding="utf-8"
    )
    assert codings.count("\n") - 1 == len(rows) - 1  # every row of the semicolon file read
    coding.write_text(
        coding.read_text(encoding="utf-8-sig").replace(";stability", "; Stability ", 1),
        encoding="utf-8",
    )
    completed = run_workflow(project)
    assert completed.returncode != 0
    assert (
        "codings.csv, row" in completed.stderr
        and "code Stability is not in the codebook" in completed.stderr
    )
    assert "Did you mean stability? Use a code ID of data/codebook.yaml" in completed.stderr


TAGUETTE_IMPORT = textwrap.dedent("""
    import json, sys
    from taguette import import_codebook, validate
    from taguette.database import connect, Project, Tag
    with open(sys.argv[1], "rb") as handle:
        tags = import_codebook.list_tags(handle)          # what "Import codebook" reads
    for tag in tags:
        validate.tag_path(tag["path"]); validate.description(tag["description"])
    db = connect("sqlite://")()                             # and stores, in its own database
    project = Project(name="qualflow", description="")
    db.add(project)
    db.add_all([Tag(project=project, path=tag["path"], description=tag["description"]) for tag in tags])
    db.commit()
    print(json.dumps(sorted((tag.path, tag.description) for tag in db.query(Tag).all())))
""")


def test_taguette_imports_the_codebook_csv_as_it_is(desk: Path, tmp_path: Path) -> None:
    """Taguette installed from PyPI into a throwaway environment reads the CSV through its own
    import code: one tag per code, named by its ID, described by its label and definition."""
    from scripts.codebook import load_codebook

    environment = tmp_path / "taguette"
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(environment)], capture_output=True, text=True
    )
    python = environment / "bin" / "python"
    installed = made.returncode == 0 and subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "taguette"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not installed or installed.returncode != 0:
        pytest.skip(
            f"Taguette could not be installed from PyPI: {(made.stderr or (installed and installed.stderr) or '')[-500:]}"
        )
    path = desk / "results" / "exchange" / "taguette_codebook.csv"
    imported = subprocess.run(
        [str(python), "-c", TAGUETTE_IMPORT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    tags = dict(json.loads(imported.stdout))
    codebook = load_codebook(desk / "data" / "codebook.yaml")
    assert sorted(tags) == sorted(codebook.code_ids)
    for code in codebook.codes:
        assert (
            tags[code.id].startswith(f"{code.label} (theme: ")
            and " ".join(code.definition.split()) in tags[code.id]
        )


def test_the_report_shows_what_each_rule_runs(desk: Path) -> None:
    from scripts.rule_jobs import find_jobs
    from scripts.workflow_code import rules_of

    page = (desk / "results" / "workflow_code.html").read_text(encoding="utf-8")
    jobs = find_jobs(REPO / "scripts")
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for rule in rules_of(smk.read_text(encoding="utf-8"), smk.name, jobs):
            assert f'id="rule-{rule.name}"' in page, rule.name
            for target in rule.targets:
                assert f"def {target.split(':')[1]}(" in page, target
    assert (
        "def coding_sheets(input: dict, output: dict, params: dict, log: str) -&gt; None:" in page
    )
