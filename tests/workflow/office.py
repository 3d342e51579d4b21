"""Open office files in LibreOffice headless, as coders and reviewers do, and read the PDF it
prints: which words are drawn where, page by page (poppler's pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from html import unescape
from pathlib import Path

WORD = re.compile(r"[A-Za-z]{3,}")
BOX = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def find_office() -> str | None:
    """LibreOffice's command and pdftotext, or None when either is missing."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    return office if office and shutil.which("pdftotext") else None


def to_pdf(path: Path, folder: Path) -> Path:
    """Convert with LibreOffice headless (its own profile folder: runs do not share state)."""
    folder.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [
            find_office() or "soffice",
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    pdf = folder / f"{path.stem}.pdf"
    assert completed.returncode == 0 and pdf.exists(), completed.stdout + completed.stderr
    return pdf


@dataclass(frozen=True)
class Word:
    page: int
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    text: str


def words(pdf: Path) -> list[Word]:
    """Every word LibreOffice drew, with its box, page by page."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    found = []
    for number, page in enumerate(html.split("<page ")[1:], start=1):
        found += [Word(number, *map(float, box[:4]), unescape(box[4])) for box in BOX.findall(page)]
    return found


def page_texts(pdf: Path) -> list[str]:
    """The text of each page, in reading order."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def overlapping(drawn: list[Word], tolerance: float = 1.0) -> list[tuple[Word, Word]]:
    """Pairs of words drawn over each other (text of one row running into the next): boxes that
    share more than half a line's height and a point of width (the boxes of two lines of one
    paragraph touch: a glyph's box is a little taller than the line spacing)."""
    pairs = []
    by_page: dict[int, list[Word]] = {}
    for word in drawn:
        by_page.setdefault(word.page, []).append(word)
    for page in by_page.values():
        page.sort(key=lambda word: word.y_min)
        for index, first in enumerate(page):
            for second in page[index + 1 :]:
                if second.y_min >= first.y_max:
                    break
                shared = min(first.y_max, second.y_max) - max(first.y_min, second.y_min)
                height = min(first.y_max - first.y_min, second.y_max - second.y_min)
                if (
                    shared > height / 2
                    and min(first.x_max, second.x_max) - max(first.x_min, second.x_min) > tolerance
                ):
                    pairs.append((first, second))
    return pairs


def missing_words(expected_texts: list[str], drawn: list[Word]) -> Counter:
    """Words of the expected texts drawn fewer times than they occur (cut off, not printed)."""
    expected = Counter(word.lower() for text in expected_texts for word in WORD.findall(text))
    seen = Counter(word.lower() for item in drawn for word in WORD.findall(item.text))
    return Counter(
        {word: count - seen[word] for word, count in expected.items() if seen[word] < count}
    )
