"""The report as a person sees it: opened in headless Chromium, every section filled, every
image drawn, no console error, nothing fetched; and Snakemake's own report with the captions.

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them); skipped, with the
reason, where they are missing.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import run_workflow, tiny_settings, write_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A tiny simulated wet-lab run through the whole chain: reads, wells, plate reader,
    an ensemble, interpretation, design, report."""
    config = tiny_settings()
    config["model"]["ensemble"] = 2
    config["simulate"] = {
        "level": "run",
        "run": {"n_variants": 400, "n_plates": 3, "reads_per_well_mean": 12,
                "replicate_fraction": 0.3},
    }  # fmt: skip
    workdir = tmp_path_factory.mktemp("browser")
    write_config(workdir, config)
    run = run_workflow(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def open_report(html: Path, screenshot: Path) -> dict:
    """Load the report in Chromium; what the page says about itself, and a full-page PNG."""
    if not (CHROMIUM and CHROMEDRIVER):
        reason = "Chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("UTRFLOW_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(html.resolve().as_uri())
        page = driver.execute_script(
            """
            const images = [...document.images];
            return {
              images: images.length,
              broken: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
              sections: [...document.querySelectorAll('section')].map(s => ({
                id: s.id, text: s.innerText.trim().length,
                heading: (s.querySelector('h2') || {}).innerText || ''})),
              fetched: performance.getEntriesByType('resource').map(r => r.name)
                .filter(n => !n.startsWith('data:') && !n.startsWith('file:')),
              height: document.documentElement.scrollHeight,
              overflow: document.documentElement.scrollWidth > window.innerWidth,
            };
            """
        )
        page["errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        driver.set_window_size(1280, min(int(page["height"]) + 100, 30000))
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    return page


@pytest.mark.slow
def test_report_opens_in_a_real_browser_complete_and_offline(finished_run: Path, tmp_path):
    shot = tmp_path / "report.png"
    page = open_report(finished_run / "results/report/report.html", shot)
    assert page["errors"] == []
    assert page["broken"] == []
    assert page["images"] >= 8
    assert page["fetched"] == []
    assert not page["overflow"], "the page is wider than a laptop screen"
    ids = [s["id"] for s in page["sections"]]
    for wanted in ("summary", "warnings", "plates", "data", "model", "metrics", "learned",
                   "design", "provenance"):  # fmt: skip
        assert wanted in ids, wanted
    for section in page["sections"]:
        assert section["heading"], f"section {section['id']} has no title"
        assert section["text"] > 80, f"section {section['id']} is empty"
    assert shot.stat().st_size > 50_000  # a real page, not a blank one
    html = (finished_run / "results/report/report.html").read_text()
    assert "Not run" not in html  # every stage ran, so every section is filled from the run
    for figure in ("Demultiplexing funnel", "Read length and quality", "Purity and library match",
                   "Replicate wells", "First-layer filter logos", "Mutagenesis map",
                   "Designs against the measured library"):  # fmt: skip
        assert f'alt="{figure}"' in html, figure


@pytest.mark.slow
def test_snakemake_report_holds_the_captions(finished_run: Path):
    run = run_workflow(finished_run, "--report", "report.zip", timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    with zipfile.ZipFile(finished_run / "report.zip") as archive:
        names = archive.namelist()
        text = "".join(
            archive.read(n).decode("utf-8", "replace") for n in names if n.endswith(".html")
        )
    assert any(n.endswith("report.html") for n in names)
    assert any(n.endswith("next_library.csv") for n in names)
    assert "The next library" in text or "next library" in text.lower()
