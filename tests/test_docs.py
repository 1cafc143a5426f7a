"""The README stays a newcomer's page and every link in the docs leads somewhere."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "config" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_short_and_starts_with_the_newcomer_path() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:4] == [
        "## Two commands",
        "## What a lab brings",
        "## Running on your data",
        "## Running on a cluster",
    ]


def test_readme_quotes_no_measured_figures() -> None:
    """Figures live in docs/benchmarks.md, where each names its commit; the README cites it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\b0\.\d{3}\b", text), (
        "a score in the README: quote it in docs/benchmarks.md"
    )
    assert not re.search(r"\d+(\.\d+)? ?(reads/s|min \d+ s)", text)
    assert "docs/benchmarks.md" in text


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"`[^`]*`", "", page.read_text(encoding="utf-8"))  # code spans hold no links
    missing = [
        target
        for target in LINK.findall(text)
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert not missing, f"{page.name} links to missing files: {missing}"
