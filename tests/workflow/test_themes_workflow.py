"""Themes, figures, provenance and the Snakemake report, on the bundled demo data (13 synthetic
interviews, three coders and a consensus), counted again here straight from the coding files."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from .chromium import find_chromium, open_page
from .conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow
ATTRIBUTES = ["role", "site", "gender", "age_group"]
FIGURES = [
    *(f"prevalence_by_{attribute}" for attribute in ATTRIBUTES),
    "code_by_participant",
    "cooccurrence_segments",
    "saturation",
    "agreement_by_code",
]
TABLES = [
    "prevalence.tsv",
    "code_by_participant.tsv",
    "cooccurrence_segments.tsv",
    "cooccurrence_participants.tsv",
    "saturation.tsv",
    "exemplars.tsv",
    "tables.md",
    "tables.docx",
]


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "data", project / "data", ignore=shutil.ignore_patterns("README.md"))
    shutil.copy(REPO / "config.yaml", project / "config.yaml")
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(project),
            "--report",
            "results/report.html",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    return project


def independent_prevalence(project: Path) -> dict[str, tuple[set[str], int]]:
    """Code → (participants, segments) from consensus.csv, segments and participants.csv alone."""
    roles = {
        row["segment_id"]: row["role"]
        for path in (project / "results" / "segments").glob("*.tsv")
        for row in read(path)
    }
    participant = {
        row["transcript_id"]: row["participant_id"]
        for row in read(project / "data" / "participants.csv")
    }
    found: dict[str, tuple[set[str], int]] = defaultdict(lambda: (set(), 0))
    for row in read(project / "data" / "coding" / "consensus" / "consensus.csv"):
        if roles[row["segment_id"]] != "participant":
            continue
        transcript = row["segment_id"].rsplit("-", 2)[0]
        people, segments = found[row["code_id"]]
        people.add(participant.get(transcript, transcript))
        found[row["code_id"]] = (people, segments + 1)
    return found


def test_every_table_figure_and_the_report_are_made(demo: Path) -> None:
    results = demo / "results"
    for name in TABLES:
        assert (results / "themes" / name).stat().st_size > 0, name
    for name in FIGURES:
        for kind in ("png", "svg"):
            assert (results / "figures" / f"{name}.{kind}").stat().st_size > 0, f"{name}.{kind}"
    assert (results / "report.html").stat().st_size > 100_000
    provenance = json.loads((results / "provenance.json").read_text(encoding="utf-8"))
    assert (
        provenance["codebook_version"] == "1.0" and provenance["input_counts"]["transcripts"] == 13
    )


def test_prevalence_matches_the_coding_files(demo: Path) -> None:
    expected = independent_prevalence(demo)
    rows = read(demo / "results" / "themes" / "prevalence.tsv")
    overall = {
        row["code_id"]: row for row in rows if row["level"] == "code" and row["attribute"] == "all"
    }
    assert overall and set(overall) >= set(expected)
    for code_id, row in overall.items():
        people, segments = expected.get(code_id, (set(), 0))
        assert (int(row["participants"]), int(row["segments"])) == (len(people), segments), code_id
        assert row["group_participants"] == "13"
    # By site: a shown count is the independent one; a hidden one is small (or its group is).
    site = {row["transcript_id"]: row["site"] for row in read(demo / "data" / "participants.csv")}
    participant_site = {
        row["participant_id"]: row["site"] for row in read(demo / "data" / "participants.csv")
    }
    for row in rows:
        if row["attribute"] != "site" or row["level"] != "code":
            continue
        people = {
            p
            for p in expected.get(row["code_id"], (set(), 0))[0]
            if participant_site.get(p, "not recorded") == row["group"]
        }
        if row["participants"].isdigit():
            assert int(row["participants"]) == len(people), row
        else:
            assert row["participants"] in ("<5", "x")
            if row["participants"] == "<5":
                size = (
                    sum(1 for s in [*site.values(), "not recorded"] if s == row["group"])
                    if row["group"] != "not recorded"
                    else 1
                )
                assert 0 < len(people) < 5 or size < 5, row


def test_figures_are_legible_pictures(demo: Path) -> None:
    import matplotlib.image

    for name in FIGURES:
        pixels = matplotlib.image.imread(demo / "results" / "figures" / f"{name}.png")
        height, width = pixels.shape[:2]
        assert width >= 1000 and height >= 600, (name, width, height)  # 3.5 in or more at 300 dpi
        ink = (pixels[..., :3].min(axis=2) < 0.9).mean()
        assert 0.02 < ink < 0.9, (name, ink)  # neither blank nor a solid block


def test_report_opens_in_headless_chromium_with_every_image(demo: Path) -> None:
    if find_chromium() is None:
        pytest.skip(
            "Chromium is not installed and could not be installed (make test runs: apt-get install chromium)"
        )
    seen = open_page(
        demo / "results" / "report.html",
        {
            # every picture embedded in the report, decoded by the browser
            "images": """(async () => {
            const sources = [...new Set(document.documentElement.outerHTML.match(/data:image\\/(png|svg\\+xml);[^,"]*base64,[A-Za-z0-9+\\/=]+/g) || [])];
            const sizes = await Promise.all(sources.map(src => new Promise(done => {
                const image = new Image();
                image.onload = () => done([image.naturalWidth, image.naturalHeight]);
                image.onerror = () => done(null);
                image.src = src;
            })));
            return {total: sources.length, failed: sizes.filter(size => size === null || size[0] === 0).length};
        })()""",
            "text": "document.body.innerText",
            "resources": "performance.getEntriesByType('resource').map(entry => entry.name)",
        },
    )
    # Snakemake's report template embeds Tailwind's browser build, which always logs this warning
    # about itself; anything else (errors, failed loads, other warnings) fails the test.
    tailwind = "cdn.tailwindcss.com should not be used in production"
    assert [message for message in seen.errors() if tailwind not in message] == []
    images = seen.values["images"]
    assert images["total"] >= len(FIGURES) and images["failed"] == 0, images
    assert all(
        name.startswith("data:") for name in seen.values["resources"]
    )  # nothing fetched from outside
    for category in (
        "Themes",
        "Figures",
        "Agreement",
        "De-identification",
        "Provenance",
        "Workflow code",
    ):
        assert category in seen.values["text"], category


def table_pages(pdf: Path) -> list[list[str]]:
    """The lines of each page of the tables, up to the exemplar quotes."""
    from . import office

    pages = []
    for text in office.page_texts(pdf):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if "Exemplar quotes" in lines:
            pages.append(lines[: lines.index("Exemplar quotes")])
            break
        pages.append(lines)
    return pages


def pages_starting_mid_table(pages: list[list[str]], labels: set[str]) -> list[int]:
    """Pages whose first line is a table's body row (a theme or code label), not its header."""
    return [
        number
        for number, lines in enumerate(pages, start=1)
        if lines and any(lines[0].startswith(label) for label in labels)
    ]


def test_word_tables_print_in_libreoffice_with_their_header_on_every_page(
    demo: Path, tmp_path: Path
) -> None:
    """tables.docx printed by LibreOffice Writer: a table that goes on to the next page starts
    that page with its header row again, and every word of the document is printed."""
    import zipfile

    import docx

    from scripts.codebook import load_codebook

    from . import office

    if office.find_office() is None:
        pytest.skip(
            "LibreOffice or pdftotext is not installed and could not be installed (make test runs: "
            "apt-get install libreoffice-calc libreoffice-writer poppler-utils)"
        )
    codebook = load_codebook(demo / "data" / "codebook.yaml")
    labels = {code.label for code in codebook.codes} | {theme.label for theme in codebook.themes}
    path = demo / "results" / "themes" / "tables.docx"
    pdf = office.to_pdf(path, tmp_path / "tables")
    pages = table_pages(pdf)
    continued = [lines for lines in pages[1:] if lines[0].startswith("Theme / code")]
    assert continued, "no table goes on to a second page: the check would prove nothing"
    assert pages_starting_mid_table(pages, labels) == []
    text = [paragraph.text for paragraph in docx.Document(str(path)).paragraphs]
    text += [
        cell.text
        for table in docx.Document(str(path)).tables
        for row in table.rows
        for cell in row.cells
    ]
    drawn = office.words(pdf)
    assert office.missing_words(text, drawn) == {}
    # the check sees a table without repeated headers (as tables.docx was before)
    without = tmp_path / "without.docx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(without, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(
                item,
                data.replace(b'<w:tblHeader w:val="true"/>', b"")
                if item.filename == "word/document.xml"
                else data,
            )
    assert pages_starting_mid_table(
        table_pages(office.to_pdf(without, tmp_path / "without")), labels
    )


def test_markdown_tables_name_who_is_counted(demo: Path) -> None:
    tables = (demo / "results" / "themes" / "tables.md").read_text(encoding="utf-8")
    assert "Every participant interviewed so far (13) is in the final coding." in tables
    assert "(n = x)" not in tables and "n = <" not in tables


def test_the_release_passes_its_disclosure_audit(demo: Path) -> None:
    """Every hidden count keeps the protection interval against everything published together
    (the audit's linear programme), and, checked here without it, no breakdown row leaves a single
    hidden count beside its shown whole-sample count and group sizes (the demo's old Table 2 case:
    7 of 13 in Table 1, clients n = 10 "<5", non-clients shown: the "<5" was exactly 4)."""
    audit = read(demo / "results" / "themes" / "disclosure_audit.tsv")
    assert audit and {row["status"] for row in audit} <= {"protected", "secondary"}
    for row in audit:
        assert row["lowest"].isdigit() and row["highest"].isdigit(), row
        if row["status"] == "protected":  # (a secondary x needs no width of its own)
            assert int(row["highest"]) - int(row["lowest"]) >= int(row["width_needed"]), row
    prevalence = read(demo / "results" / "themes" / "prevalence.tsv")
    whole = {
        (row["level"], row["theme_id"], row["code_id"]): row["participants"]
        for row in prevalence
        if row["attribute"] == "all"
    }
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for row in prevalence:
        if row["attribute"] != "all":
            rows[(row["level"], row["theme_id"], row["code_id"], row["attribute"])].append(row)
    checked = 0
    for (level, theme, code, attribute), cells in rows.items():
        assert all(
            cell["group_participants"].isdigit() for cell in cells
        )  # group sizes are always shown
        hidden = [cell for cell in cells if not cell["participants"].isdigit()]
        if whole[(level, theme, code)].isdigit() and hidden:
            checked += 1
            assert len(hidden) != 1, (level, theme, code, attribute)
    assert checked > 10
    report = (demo / "results" / "report.html").read_text(encoding="utf-8")
    assert "disclosure_audit.tsv" in report
