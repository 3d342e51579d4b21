"""Tests for scripts/figures.py, figure_heatmaps.py and figure_style.py: every figure renders at its journal size and is not blank, the
SVG carries the labels, suppressed counts are marked, labels stay legible at the demo size
(17 codes, 13 participants, long labels), output bytes are identical across processes, and the
job writes the expected files, also from empty tables."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from scripts import figure_heatmaps, figure_style, figures

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "figures"
TABLE_FILES = {
    "prevalence": "prevalence.tsv",
    "code_by_participant": "code_by_participant.tsv",
    "cooccurrence_segments": "cooccurrence_segments.tsv",
    "cooccurrence_participants": "cooccurrence_participants.tsv",
    "saturation": "saturation.tsv",
    "agreement": "by_code.tsv",
}
CODE_LABELS = {
    "physical_stability": "Physical stability",
    "family_reintegration": "Family reintegration",
    "health_worker_stigma": "Stigma from health workers",
    "out_of_pocket_costs": "Out-of-pocket costs",
    "medication_adherence": "Medication adherence difficulties",
}
THEME_LABELS = {"benefits": "Benefits of integrated treatment", "challenges": "Challenges to care"}


def table(key: str) -> pd.DataFrame:
    return figure_style.read_table(DATA / TABLE_FILES[key])


def tables(**paths: str | None) -> dict[str, str | None]:
    return {key: str(DATA / name) for key, name in TABLE_FILES.items()} | paths


# ---------------------------------------------------------------------------------------------
# Looking at the output
# ---------------------------------------------------------------------------------------------


def png_facts(path: Path) -> tuple[tuple[int, int], float, int]:
    """(width, height) in pixels, share of non-white pixels, number of distinct colours."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(np.uint32)
    colours = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    non_white = float((pixels < 245).any(axis=2).mean())
    return (pixels.shape[1], pixels.shape[0]), non_white, int(np.unique(colours).size)


def svg_texts(path: Path) -> list[str]:
    """The text elements of an SVG figure, one per line of text."""
    tree = ET.parse(path)
    return [
        (element.text or "").strip() for element in tree.iter("{http://www.w3.org/2000/svg}text")
    ]


def expected_pixels(figure: Figure) -> tuple[int, int]:
    width, height = figure.get_size_inches()
    return round(width * figure_style.DPI), round(height * figure_style.DPI)


BUILDERS: dict[str, tuple[Callable[[], Figure], list[str]]] = {
    "prevalence_by_role": (
        lambda: figures.prevalence_by_group(table("prevalence"), "role"),
        [
            "Theme prevalence by role",
            "Participants with the theme (%)",
            "Theme",
            "client (n=7)",
            "provider (n=5)",
            "Challenges to care",
        ],
    ),
    "prevalence_by_site": (
        lambda: figures.prevalence_by_group(table("prevalence"), "site"),
        ["Theme prevalence by site", "A (n hidden)", "B (n<5)"],
    ),
    "prevalence_by_all": (
        lambda: figures.prevalence_by_group(table("prevalence"), "all"),
        ["Theme prevalence", "Participants with the theme (%)", "All participants (n=12)"],
    ),
    "code_by_participant": (
        lambda: figure_heatmaps.code_by_participant(table("code_by_participant"), THEME_LABELS),
        [
            "Participant",
            "Code",
            "Coded segments",
            "(grey: none)",
            "P08",
            "Stigma from health workers",
            "Challenges to care",
        ],
    ),
    "cooccurrence_segments": (
        lambda: figure_heatmaps.cooccurrence(
            table("cooccurrence_segments"), CODE_LABELS, "segments"
        ),
        ["Code co-occurrence (segments)", "Segments with both codes", "Out-of-pocket costs"],
    ),
    "cooccurrence_participants": (
        lambda: figure_heatmaps.cooccurrence(
            table("cooccurrence_participants"), CODE_LABELS, "participants"
        ),
        ["Code co-occurrence (participants)", "Participants with both codes"],
    ),
    "saturation": (
        lambda: figures.saturation(table("saturation"), total_codes=5),
        [
            "Interview (in order added)",
            "Codes",
            "T01 (P01)",
            "New codes",
            "Cumulative codes",
            "No new codes in the last 5 interviews",
        ],
    ),
    "agreement_by_code": (
        lambda: figures.agreement_by_code(table("agreement")),
        [
            "Krippendorff's \u03b1",
            "Code",
            "Stigma from health workers",
            "minimum 0.667",
            "firm 0.8",
        ],
    ),
}


@pytest.fixture(scope="module")
def job_output(tmp_path_factory) -> Path:
    """The job run in this process on every fixture table (default agreement minimum)."""
    folder = tmp_path_factory.mktemp("job") / "figures"
    figures.write_figures(
        tables(),
        str(DATA / "codebook.yaml"),
        ["all", "role", "site"],
        str(folder),
        str(folder) + ".log",
        None,
    )
    return folder


@pytest.fixture(scope="module")
def rendered(job_output) -> dict[str, tuple[Figure, list[Path]]]:
    """Each figure (built again: building is cheap, saving at 300 dpi is not) and the job's files."""
    return {
        name: (build(), [job_output / f"{name}.png", job_output / f"{name}.svg"])
        for name, (build, _) in BUILDERS.items()
    }


# ---------------------------------------------------------------------------------------------
# Every figure
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BUILDERS))
def test_figure_renders_at_its_size_and_is_not_blank(rendered, name: str) -> None:
    figure, (png, svg) = rendered[name]
    assert (png.name, svg.name) == (f"{name}.png", f"{name}.svg")
    width, height = figure.get_size_inches()
    assert width in (figure_style.SINGLE_COLUMN, figure_style.DOUBLE_COLUMN)
    size, non_white, colours = png_facts(png)
    assert size == expected_pixels(figure)
    assert non_white > 0.04, f"{name} is nearly blank"
    assert colours > 20


@pytest.mark.parametrize("name", list(BUILDERS))
def test_svg_parses_and_carries_title_and_axis_labels(rendered, name: str) -> None:
    _, (_, svg) = rendered[name]
    texts = svg_texts(svg)
    for label in BUILDERS[name][1]:
        assert label in texts, f"{label!r} missing from {svg.name}"


@pytest.mark.parametrize("name", list(BUILDERS))
def test_no_text_below_7_points_and_none_clipped(rendered, name: str) -> None:
    figure, _ = rendered[name]
    figure.draw_without_rendering()
    frame = figure.bbox
    for text in visible_texts(figure):
        assert text.get_fontsize() >= figure_style.FONT_SIZE, text.get_text()
        box = text.get_window_extent()
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, (
            f"{text.get_text()!r} runs off the side"
        )
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, (
            f"{text.get_text()!r} runs off the top or bottom"
        )


def visible_texts(figure: Figure) -> list[Text]:
    """Texts that are drawn (matplotlib keeps labels of ticks outside the view, undrawn)."""
    hidden = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return [
        text
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip() and id(text) not in hidden
    ]


def test_metadata_has_no_date_and_no_software_version(rendered) -> None:
    _, (png, svg) = rendered["saturation"]
    svg_text = svg.read_text(encoding="utf-8")
    assert "<dc:creator>" not in svg_text
    assert "<dc:date>" not in svg_text and matplotlib.__version__ not in svg_text
    with Image.open(png) as image:
        assert "Software" not in image.info
    assert matplotlib.__version__.encode() not in png.read_bytes()


def test_building_a_figure_leaves_the_global_style_alone() -> None:
    before = dict(matplotlib.rcParams)
    figures.saturation(table("saturation"))
    assert dict(matplotlib.rcParams) == before


# ---------------------------------------------------------------------------------------------
# What each figure shows
# ---------------------------------------------------------------------------------------------


def test_suppressed_counts_are_hatched_marked_and_explained(rendered) -> None:
    figure, (_, svg) = rendered["prevalence_by_role"]
    texts = svg_texts(svg)
    assert (
        texts.count("<5") == 1 and texts.count("x") == 1
    )  # providers x benefits; clients x benefits
    assert "<5: 1\u20134 participants, or a group under 5" in texts
    assert "x: hidden so that no <5 can be worked out" in texts
    bars = {
        (round(bar.get_y() + bar.get_height() / 2, 2), bar.get_hatch()): bar.get_width()
        for bar in figure.axes[0].patches
    }
    assert len(bars) == 4
    hatched = {key: width for key, width in bars.items() if key[1]}
    # providers (n=5) with <5: the share lies in [0, 4/5]; the clients' x: a stub
    assert sorted(hatched.values()) == pytest.approx([figures.STUB, 80.0])
    assert {key[1] for key in hatched} == {figures.PRIMARY_HATCH, figures.SECONDARY_HATCH}
    assert sorted(width for key, width in bars.items() if not key[1]) == pytest.approx(
        [85.7, 100.0]
    )


def test_hidden_group_sizes_give_stubs_and_say_so(rendered) -> None:
    figure, (_, svg) = rendered["prevalence_by_site"]
    texts = svg_texts(svg)
    assert texts.count("<5") == 2 and texts.count("x") == 2
    assert [bar.get_width() for bar in figure.axes[0].patches] == [figures.STUB] * 4


def test_prevalence_bars_are_shares_in_percent_with_counts() -> None:
    figure = figures.prevalence_by_group(table("prevalence"), "all")
    widths = sorted(bar.get_width() for bar in figure.axes[0].patches)
    assert widths == pytest.approx([83.3, 91.7])
    assert {"10", "11"} <= {text.get_text() for text in figure.axes[0].texts}


@pytest.mark.parametrize(
    "cell, mark",
    [("<5", "<5"), ("x", "x"), ("12", None), ("0.250", None), ("", None), (float("nan"), None)],
)
def test_hidden_mark(cell, mark) -> None:
    assert figures.hidden_mark(cell) == mark


def test_code_by_participant_groups_codes_under_their_theme() -> None:
    matrix = table("code_by_participant")
    shuffled = matrix.iloc[[2, 0, 3, 1, 4]]  # themes interleaved
    figure = figure_heatmaps.code_by_participant(shuffled, THEME_LABELS)
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_yticklabels()]
    assert labels == [
        "Physical stability",
        "Family reintegration",
        "Stigma from health workers",
        "Out-of-pocket costs",
        "Medication adherence difficulties",
    ]
    headers = [text.get_text() for text in axes.texts if text.get_fontweight() == "bold"]
    assert headers == list(THEME_LABELS.values())
    counts = [text.get_text() for text in axes.texts if text.get_fontweight() != "bold"]
    assert len(counts) == int((matrix.iloc[:, 3:].astype(int) > 0).to_numpy().sum())


def test_cooccurrence_annotates_lower_triangle_and_diagonal_only() -> None:
    figure = figure_heatmaps.cooccurrence(table("cooccurrence_segments"), CODE_LABELS, "segments")
    numbers = sorted(int(text.get_text()) for text in figure.axes[0].texts)
    # diagonal 9, 10, 5, 3, 5 and the non-zero pairs below it: 3, 1, 1, 2, 1
    assert numbers == sorted([9, 10, 5, 3, 5, 3, 1, 1, 2, 1])


def test_agreement_orders_codes_best_first_and_marks_undefined_alpha() -> None:
    figure = figures.agreement_by_code(table("agreement"), minimum=0.667, firm=0.8)
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_yticklabels()]
    assert labels == [
        "Physical stability",
        "Family reintegration",
        "Stigma from health workers",
        "Medication adherence\ndifficulties",
        "Out-of-pocket costs",
    ]
    assert [text.get_text() for text in axes.texts] == ["\u03b1 undefined (no variation)"]
    reference = sorted(
        line.get_xdata()[0] for line in axes.lines if line.get_linestyle() in ("--", ":")
    )
    assert reference == pytest.approx([0.667, 0.8])


def test_agreement_reference_line_follows_the_configured_minimum() -> None:
    figure = figures.agreement_by_code(table("agreement"), minimum=0.7)
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "minimum 0.7" in legend and "0.7 \u2264 \u03b1 < 0.8" in legend


@pytest.mark.parametrize(
    "alpha, status",
    [
        (0.9, "firm"),
        (0.8, "firm"),
        (0.7, "tentative"),
        (0.667, "tentative"),
        (0.5, "low"),
        (float("nan"), "undefined"),
    ],
)
def test_agreement_status(alpha: float, status: str) -> None:
    assert figures.agreement_status(alpha, 0.667, 0.8) == status


def test_cells_helpers() -> None:
    assert np.allclose(
        figure_style.numbers(["1", "", "<5", "0.250"]), [1, np.nan, np.nan, 0.25], equal_nan=True
    )
    assert figure_style.suppression_threshold("<11") == 11
    assert figure_style.suppression_threshold("4") is None
    assert figures.trailing_without_new_codes([3, 1, 0, 2, 0, 0]) == 2
    assert figures.trailing_without_new_codes([3, 1]) == 0


# ---------------------------------------------------------------------------------------------
# Legible at the demo size
# ---------------------------------------------------------------------------------------------

DEMO_THEMES = {
    "benefits": ["Physical stability", "Mental and emotional stability", "Family reintegration"],
    "challenges": [
        "Stigma from health workers",
        "Out-of-pocket costs",
        "Limited provider time",
        "Overburdened services",
        "Medication adherence difficulties",
    ],
    "strategies": [
        "Community awareness",
        "Stigma reduction",
        "Psychosocial care",
        "Income generation",
        "More providers",
    ],
    "partnership": [
        "Patient-defined goals",
        "Harm-reduction incrementalism and flexibility",
        "Care fragmentation",
        "Social connection",
    ],
}


def demo_tables(seed: int = 5) -> dict[str, pd.DataFrame]:
    """Tables the size of the demo: 17 codes in 4 themes, 13 participants, long labels."""
    rng = np.random.default_rng(seed)
    codes = [
        (theme, label.lower().replace(" ", "_").replace("-", "_"), label)
        for theme, labels in DEMO_THEMES.items()
        for label in labels
    ]
    participants = [f"P{p:02d}" for p in range(1, 14)]
    counts = rng.poisson(1.5, (len(codes), len(participants))) * (
        rng.random((len(codes), len(participants))) < 0.6
    )
    matrix = pd.DataFrame(
        {
            "theme_id": [c[0] for c in codes],
            "code_id": [c[1] for c in codes],
            "code_label": [c[2] for c in codes],
        }
    )
    for p, participant in enumerate(participants):
        matrix[participant] = counts[:, p].astype(str)
    together = (counts > 0).astype(int) @ (counts > 0).T.astype(int)
    cooccurrence = pd.DataFrame({"code_id": [c[1] for c in codes]})
    for c, code in enumerate(codes):
        cooccurrence[code[1]] = together[:, c].astype(str)
    alpha = rng.uniform(0.3, 0.95, len(codes)).round(3)
    by_code = pd.DataFrame(
        {
            "code_id": [c[1] for c in codes],
            "theme_id": [c[0] for c in codes],
            "code_label": [c[2] for c in codes],
            "krippendorff_alpha": alpha.astype(str),
            "krippendorff_alpha_low": (alpha - 0.12).round(3).astype(str),
            "krippendorff_alpha_high": np.minimum(alpha + 0.1, 1).round(3).astype(str),
        }
    )
    by_code.loc[3, ["krippendorff_alpha", "krippendorff_alpha_low", "krippendorff_alpha_high"]] = ""
    new = [6, 4, 3, 1, 0, 2, 1, 0, 0, 0, 0, 0, 0]
    saturation = pd.DataFrame(
        {
            "order": [str(i) for i in range(1, 14)],
            "transcript_id": [f"DSM{i:02d}" for i in range(1, 14)],
            "participant_id": participants,
            "interview_date": "",
            "new_codes": [str(n) for n in new],
            "cumulative_codes": [str(n) for n in np.cumsum(new)],
            "new_code_ids": "",
        }
    )
    rows = []
    for group, size in (("client", 9), ("provider", 4)):
        for theme, labels in DEMO_THEMES.items():
            having = int(rng.integers(0, size + 1))
            rows.append(
                {
                    "level": "theme",
                    "theme_id": theme,
                    "theme_label": f"{theme.capitalize()} of integrated care",
                    "code_id": "",
                    "code_label": "",
                    "attribute": "role",
                    "group": group,
                    "group_participants": str(size) if size >= 5 else "<5",
                    "participants": str(having) if having >= 5 else "<5",
                    "participants_share": f"{having / size:.3f}"
                    if having >= 5 and size >= 5
                    else "",
                    "segments": str(having * 3),
                }
            )
    return {
        "code_by_participant": matrix,
        "cooccurrence": cooccurrence,
        "agreement": by_code,
        "saturation": saturation,
        "prevalence": pd.DataFrame(rows),
    }


@pytest.fixture(scope="module")
def demo_figures() -> dict[str, Figure]:
    demo = demo_tables()
    labels = dict(
        zip(demo["code_by_participant"]["code_id"], demo["code_by_participant"]["code_label"])
    )
    built = {
        "prevalence": figures.prevalence_by_group(demo["prevalence"], "role"),
        "code_by_participant": figure_heatmaps.code_by_participant(
            demo["code_by_participant"], {t: t.capitalize() for t in DEMO_THEMES}
        ),
        "cooccurrence": figure_heatmaps.cooccurrence(demo["cooccurrence"], labels, "participants"),
        "agreement": figures.agreement_by_code(demo["agreement"]),
        "saturation": figures.saturation(demo["saturation"], total_codes=17),
    }
    for figure in built.values():
        figure.draw_without_rendering()
    return built


def overlapping(texts: list[Text]) -> list[tuple[str, str]]:
    boxes = [
        (text.get_text(), text.get_window_extent()) for text in texts if text.get_text().strip()
    ]
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a.x0 < box_b.x1 - 0.5
        and box_b.x0 < box_a.x1 - 0.5
        and box_a.y0 < box_b.y1 - 0.5
        and box_b.y0 < box_a.y1 - 0.5
    ]


@pytest.mark.parametrize(
    "name", ["prevalence", "code_by_participant", "cooccurrence", "agreement", "saturation"]
)
def test_demo_size_labels_neither_overlap_nor_run_off_the_figure(demo_figures, name: str) -> None:
    figure = demo_figures[name]
    axes = figure.axes[0]
    assert overlapping(axes.get_yticklabels()) == []
    assert overlapping(axes.get_xticklabels()) == []
    frame = figure.bbox
    for text in visible_texts(figure):
        box = text.get_window_extent()
        assert (
            frame.x0 - 1 <= box.x0
            and box.x1 <= frame.x1 + 1
            and frame.y0 - 1 <= box.y0
            and box.y1 <= frame.y1 + 1
        ), text.get_text()
    assert figure.get_size_inches()[1] <= 9.0  # fits a journal page


def test_demo_size_heatmap_counts_are_annotated(demo_figures) -> None:
    counts = demo_tables()["code_by_participant"].iloc[:, 3:].astype(int).to_numpy()
    annotated = [
        text
        for text in demo_figures["code_by_participant"].axes[0].texts
        if text.get_fontweight() != "bold"
    ]
    assert len(annotated) == int((counts > 0).sum())


# ---------------------------------------------------------------------------------------------
# The job, determinism, empty tables
# ---------------------------------------------------------------------------------------------

JOB_SCRIPT = """
import sys
from scripts import figures
paths = dict(arg.split("=", 1) for arg in sys.argv[3:])
figures.write_figures(paths, sys.argv[1], ["all", "role", "site"], sys.argv[2], sys.argv[2] + ".log", None)
"""


def expected_files(stems: list[str]) -> list[str]:
    return sorted(f"{stem}.{extension}" for stem in stems for extension in ("png", "svg"))


def test_another_process_writes_identical_bytes(job_output, tmp_path) -> None:
    # a different hash seed: nothing may depend on set or dict iteration order
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OPENBLAS_NUM_THREADS": "1"}
    other = tmp_path / "figures"
    arguments = [f"{key}={path}" for key, path in tables().items()]
    process = subprocess.run(
        [sys.executable, "-c", JOB_SCRIPT, str(DATA / "codebook.yaml"), str(other), *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    names = sorted(path.name for path in job_output.iterdir())
    assert names == sorted(path.name for path in other.iterdir())
    for name in names:
        assert (job_output / name).read_bytes() == (other / name).read_bytes(), name


def test_job_writes_every_figure_with_agreement(job_output) -> None:
    written = sorted(path.name for path in job_output.iterdir())
    assert written == expected_files(
        [
            "prevalence_by_all",
            "prevalence_by_role",
            "prevalence_by_site",
            "code_by_participant",
            "cooccurrence_segments",
            "cooccurrence_participants",
            "saturation",
            "agreement_by_code",
        ]
    )
    assert written == expected_files(
        figures.figure_stems(
            ["all", "role", "site"], agreement=True, participants_cooccurrence=True
        )
    )
    log = Path(str(job_output) + ".log").read_text(encoding="utf-8")
    assert "8 figures written" in log
    # labels come from the codebook
    assert "Challenges to care" in svg_texts(job_output / "code_by_participant.svg")
    assert "Codebook (5 codes)" in svg_texts(job_output / "saturation.svg")


def touch_instead_of_rendering(figure: Figure, stem: Path) -> list[Path]:
    """save_figure without the 300 dpi rendering, for tests about which files are written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    for path in paths:
        path.touch()
    return paths


def test_job_without_agreement_writes_no_agreement_figure(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(figures, "save_figure", touch_instead_of_rendering)
    given = tables(agreement=None, cooccurrence_participants=None)
    figures.write_figures(
        given,
        str(DATA / "codebook.yaml"),
        ["role"],
        str(tmp_path / "out"),
        str(tmp_path / "log"),
        None,
    )
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == expected_files(
        ["prevalence_by_role", "code_by_participant", "cooccurrence_segments", "saturation"]
    )
    assert written == expected_files(figures.figure_stems(["role"], agreement=False))


def test_job_on_empty_tables_writes_figures_that_say_so(tmp_path) -> None:
    empty = {}
    for key, name in TABLE_FILES.items():
        header = (DATA / name).read_text(encoding="utf-8").splitlines()[0]
        if key.startswith("cooccurrence"):
            header = "code_id"
        if key == "code_by_participant":
            header = "theme_id\tcode_id\tcode_label"
        (tmp_path / name).write_text(header + "\n", encoding="utf-8")
        empty[key] = str(tmp_path / name)
    figures.write_figures(
        empty,
        str(DATA / "codebook.yaml"),
        ["role"],
        str(tmp_path / "out"),
        str(tmp_path / "log"),
        None,
    )
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == expected_files(
        figures.figure_stems(["role"], agreement=True, participants_cooccurrence=True)
    )
    for stem in (
        "prevalence_by_role",
        "code_by_participant",
        "cooccurrence_segments",
        "saturation",
    ):
        assert figure_style.NO_CODED_SEGMENTS in svg_texts(tmp_path / "out" / f"{stem}.svg"), stem
        size, non_white, _ = png_facts(tmp_path / "out" / f"{stem}.png")
        assert size[0] == round(figure_style.SINGLE_COLUMN * figure_style.DPI) and non_white > 0.005
    assert figure_style.NO_AGREEMENT in svg_texts(tmp_path / "out" / "agreement_by_code.svg")


def test_zero_counts_are_no_coded_segments_too() -> None:
    matrix = table("code_by_participant")
    zeros = matrix.assign(**{p: "0" for p in matrix.columns[3:]})
    figure = figure_heatmaps.code_by_participant(zeros)
    assert figure_style.NO_CODED_SEGMENTS in [text.get_text() for text in visible_texts(figure)]


def test_attribute_missing_from_the_table_is_said_and_logged(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(figures, "save_figure", touch_instead_of_rendering)
    figure = figures.prevalence_by_group(table("prevalence"), "gender")
    assert "No rows for participant attribute 'gender'" in [
        text.get_text() for text in visible_texts(figure)
    ]
    only_prevalence = {"prevalence": str(DATA / "prevalence.tsv")}
    figures.write_figures(
        only_prevalence,
        str(DATA / "codebook.yaml"),
        ["gender"],
        str(tmp_path / "out"),
        str(tmp_path / "log"),
        None,
    )
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "prevalence_by_gender.png",
        "prevalence_by_gender.svg",
    ]
    assert "WARNING: " in (tmp_path / "log").read_text(encoding="utf-8")


def test_unknown_table_key_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown figure tables"):
        figures.write_figures(
            {"prevalance": "x.tsv"},
            str(DATA / "codebook.yaml"),
            [],
            str(tmp_path),
            str(tmp_path / "log"),
            None,
        )
