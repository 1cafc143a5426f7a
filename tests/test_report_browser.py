"""The report as a person sees it: opened in headless Chromium at 1,400 and 1,000 px, every
section filled, every image drawn and its text legible, no table or figure wider than the page,
every plate drawn, the well table filtering and sorting, nothing fetched, no console error; a
one-plate pilot too small to train ends with exit 0 and a report that says why; the shipped
whole-run demo's report (examples/whole_run: its config, 24 pooled plates) rendered in-process
from the shared run's outputs, without a 10-minute demo run; the table demo's report
(config/demo.yaml: 12,000 UTRs simulated directly, no plates), its table simulated in-process
and its model files the shared run's; and Snakemake's own report with
the captions. Screenshots of each section are saved for review (in
$UTRFLOW_SCREENSHOTS, else a temporary folder the test prints).

Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them); skipped, with the
reason, where they are missing.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, run_workflow
from markupsafe import escape

from utrflow import config as config_module
from utrflow import io
from utrflow.cli.report import REPORT_MODEL_FILES
from utrflow.report import render

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
    "--hide-scrollbars",
)
WIDTHS = (1400, 1000)
LEGIBLE_PX = 9.0
# What the page says about itself: images, sections, requests, overflow, figure text, plates.
INSPECT = """
const right = e => e.getBoundingClientRect().right;
const boxes = [...document.querySelectorAll('main table, main img, .plates, .scroll, .wide')];
return {
  images: document.images.length,
  broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
  sections: [...document.querySelectorAll('section')].map(s => ({
    id: s.id, text: s.innerText.trim().length,
    heading: (s.querySelector('h2') || {}).innerText || ''})),
  fetched: performance.getEntriesByType('resource').map(r => r.name)
    .filter(n => !n.startsWith('data:') && !n.startsWith('file:')),
  page_overflow: document.documentElement.scrollWidth > window.innerWidth,
  overflow: boxes.filter(e => right(e) > right(e.closest('section')) + 1
                              || e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.id || e.alt || e.className || e.tagName) + ': ' + e.scrollWidth + ' > '
              + e.clientWidth),
  figure_text: [...document.querySelectorAll('img.fig')].map(i => [i.alt,
    parseFloat(i.dataset.fontPx) * i.clientWidth / i.naturalWidth]),
  plates: [...document.querySelectorAll('.plate')].map(p => p.dataset.plate),
  plate_wells: document.querySelectorAll('.plate .w[title]').length,
  well_rows: document.querySelectorAll('#wells-table tbody tr').length,
  height: document.documentElement.scrollHeight,
};
"""
FILTER = """
const input = document.getElementById('wells-filter');
input.value = arguments[0];
input.dispatchEvent(new Event('input'));
const shown = [...document.querySelectorAll('#wells-table tbody tr')].filter(r => !r.hidden);
return {count: document.getElementById('wells-count').textContent,
        rows: shown.map(r => r.textContent.replace(/\\u200b/g, ''))};
"""
CLICK_A_WELL = """
document.querySelector('.w[data-key="' + arguments[0] + '"]').click();
return [...document.querySelectorAll('#wells-table tbody tr')].filter(r => !r.hidden)
  .map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent);
"""
SORT_BY_READS = """
const heads = [...document.querySelectorAll('#wells-table th')];
heads.find(h => h.textContent === 'reads').click();
const column = heads.findIndex(h => h.textContent === 'reads');
return [...document.querySelectorAll('#wells-table tbody tr')]
  .map(r => parseFloat(r.cells[column].textContent)).filter(v => !isNaN(v));
"""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the section screenshots go, for a person to look at."""
    folder = os.environ.get("UTRFLOW_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("report-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"report screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def finished_run(tiny_whole_run: Path) -> Path:
    """The session's tiny whole run (conftest.make_tiny_whole_run), shared with
    test_no_nan_text."""
    return tiny_whole_run


def browser():
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
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_report(
    html: Path, width: int, shots: Path, name: str, filter_words: str = "P01 mixed",
    well: str = "P01:A1",
) -> dict:  # fmt: skip
    """Load the report at `width` px; what the page says about itself, the well table tried
    out (`filter_words`, a click on `well`'s map), and a screenshot of each section."""
    driver = browser()
    try:
        driver.set_window_size(width, 900)
        driver.get(html.resolve().as_uri())
        page = driver.execute_script(INSPECT)
        page["errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        if page["well_rows"]:
            page["all_wells"] = driver.execute_script(FILTER, "")
            page["filtered"] = driver.execute_script(FILTER, filter_words)
            page["clicked"] = driver.execute_script(CLICK_A_WELL, well)
            driver.execute_script(FILTER, "")
            page["sorted_reads"] = driver.execute_script(SORT_BY_READS)
        driver.save_screenshot(str(shots / f"{name}-{width}-first-screen.png"))
        driver.set_window_size(width, min(int(page["height"]) + 100, 16_000))  # whole sections
        for section in driver.find_elements("css selector", "section"):
            section_id = section.get_attribute("id")
            section.screenshot(str(shots / f"{name}-{width}-{section_id}.png"))
    finally:
        driver.quit()
    return page


def assert_fits_and_reads(page: dict, width: int) -> None:
    """What must hold at every width: no overflow, legible figures, nothing fetched."""
    assert page["errors"] == []
    assert page["broken"] == []
    assert page["fetched"] == []
    assert not page["page_overflow"], f"the page is wider than {width} px"
    assert page["overflow"] == [], f"wider than their section at {width} px"
    small = [(alt, round(px, 1)) for alt, px in page["figure_text"] if px < LEGIBLE_PX]
    assert small == [], f"figure text under {LEGIBLE_PX} px at {width} px"
    for section in page["sections"]:
        assert section["heading"], f"section {section['id']} has no title"
        assert section["text"] > 10, f"section {section['id']} is empty"


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_report_opens_in_a_real_browser_complete_and_offline(
    finished_run: Path, screenshots: Path, width: int
):
    html = finished_run / "results/report/report.html"
    page = open_report(html, width, screenshots, "run")
    assert_fits_and_reads(page, width)
    assert page["images"] >= 8
    ids = [s["id"] for s in page["sections"]]
    for wanted in ("summary", "warnings", "plates", "wells", "data", "model", "metrics",
                   "learned", "design", "provenance"):  # fmt: skip
        assert wanted in ids, wanted
    # every plate drawn, every well in the maps and the table
    assert page["plates"] == ["P01", "P02", "P03"]
    assert page["plate_wells"] == page["well_rows"] == 288
    assert page["all_wells"]["count"] == "288 of 288 wells"
    rows = page["filtered"]["rows"]
    assert 0 < len(rows) < 96 and page["filtered"]["count"] == f"{len(rows)} of 288 wells"
    assert all("P01" in r and "mixed" in r for r in rows)
    assert page["clicked"] == ["P01 A1"]  # a well clicked on its plate map: that well alone
    assert page["sorted_reads"] == sorted(page["sorted_reads"])
    text = html.read_text()
    assert ">called by</th>" in text  # posterior or counting, from the consensus tables
    assert "How sure:</b> gain per doubling 95 % CI" in text  # the curve rests on few rows
    assert "Not run" not in text  # every stage ran, so every section is filled from the run
    for figure in ("Demultiplexing funnel", "Read length and quality", "Purity and library match",
                   "Replicate wells", "First-layer filter logos", "Mutagenesis map",
                   "Designs against the measured library"):  # fmt: skip
        assert f'alt="{figure}"' in text, figure
    assert (finished_run / "results/report/qc.html").stat().st_size > 50_000
    if width == WIDTHS[0]:  # the QC-only report reads as well
        assert_fits_and_reads(open_report(html.with_name("qc.html"), width, screenshots, "qc"),
                              width)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_a_pilot_plate_too_small_to_train_gets_a_report_saying_why(
    pilot_run: Path, screenshots: Path, width: int
):
    status = json.loads((pilot_run / "results/model/status.json").read_text())
    assert status["status"] == "not_run" and status["distinct_passing"] < status["needed"]
    assert not (pilot_run / "results/model/metrics.json").exists()
    html = pilot_run / "results/report/report.html"
    page = open_report(html, width, screenshots, "pilot")
    assert_fits_and_reads(page, width)
    assert page["plates"] == ["P01"] and page["well_rows"] == 96
    text = html.read_text()
    assert f"<b>The model did not run:</b> {escape(status['reason'])}" in text
    assert f"<b>What would let it run:</b> {escape(status['advice'])}" in text
    # an 8-design library can never fill the splits: no "measure N more wells" (#35)
    assert status["library_designs"] == 8 and "measure about" not in status["advice"]
    assert "Measure a library of at least 20 designs" in status["advice"]
    assert (pilot_run / "results/report/qc.html").exists()


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


DEMO = REPO / "examples" / "whole_run" / "config" / "config.yaml"
DEMO_COPIES = 8  # the shared run's 3 plates, 8 times: the demo's 24


def demo_plates(frame: pd.DataFrame, plates: list[str]) -> pd.DataFrame:
    """`frame` (rows of `plates`) copied DEMO_COPIES times, copy c's plates renamed onward."""
    rename = [{p: f"P{c * len(plates) + i + 1:02d}" for i, p in enumerate(plates)}
              for c in range(DEMO_COPIES)]  # fmt: skip
    copies = [frame.assign(plate=frame["plate"].map(names)) for names in rename]
    return pd.concat(copies, ignore_index=True)


def pooled_funnel(funnels: list[dict], plates: list[str], names: list[str]) -> dict:
    """The demo's one pooled read group (plate_separation: pooled): every plate's reads in one
    funnel, its read-QC histograms one per plate (the shared run's, repeated)."""
    out = copy.deepcopy(funnels[0])
    by_plate = {p: f for f in funnels for p in f["plates"]}
    out.update(group="pooled", plates=names, reads=DEMO_COPIES * sum(f["reads"] for f in funnels))
    out["status"] = {
        s: DEMO_COPIES * sum(f["status"].get(s, 0) for f in funnels) for s in out["status"]
    }
    out["status_fraction"] = {s: n / out["reads"] for s, n in out["status"].items()}
    for key in ("lengths", "mean_quality"):
        histograms = {n: by_plate[plates[i % len(plates)]]["read_qc"][key][plates[i % len(plates)]]
                      for i, n in enumerate(names)}  # fmt: skip
        out["read_qc"][key] = histograms
    return out


@pytest.fixture(scope="module")
def demo_report(finished_run: Path, tmp_path_factory) -> Path:
    """The whole-run demo's report (examples/whole_run: its config, 24 plates of 96 wells read
    in one pooled group), rendered in-process by the report stage from the shared tiny run's
    files, its 3 plates copied to 24: the demo's shape without its 10-minute run."""
    results, out = finished_run / "results", tmp_path_factory.mktemp("demo")
    table = io.read_tsv(results / "table/labelled.tsv")
    plates = sorted(table["plate"].astype(str).unique())
    tiled = demo_plates(table, plates)
    names = sorted(tiled["plate"].unique())
    io.write_tsv(tiled, out / "labelled.tsv")
    io.write_tsv(demo_plates(io.read_tsv(results / "table/plate_qc.tsv"), plates),
                 out / "plate_qc.tsv")  # fmt: skip
    summary = io.read_json(results / "table/summary.json")
    summary["qc"] = tiled["qc"].value_counts().to_dict()
    io.write_json(summary, out / "summary.json")
    funnels = [io.read_json(results / f"demux/{p}/funnel.json") for p in plates]
    io.write_json(pooled_funnel(funnels, plates, names), out / "funnel.json")
    cfg = config_module.validate(yaml.safe_load(DEMO.read_text()), source=str(DEMO))
    assert cfg["simulate"]["run"]["n_plates"] == len(names) == 24
    render.run(cfg, out / "report.html", out / "labelled.tsv", model=model_files(results),
               model_status=results / "model/status.json", plate_qc=out / "plate_qc.tsv",
               table_summary=out / "summary.json", funnels=[out / "funnel.json"],
               construct_check=results / "qc/construct_check.json",
               benchmarks=results / "benchmarks")  # fmt: skip
    return out / "report.html"


# Where the workflow keeps each model file the report reads (workflow/rules/common.smk).
MODEL_FILES = {
    "split": "encode/split.tsv", "metrics": "model/metrics.json",
    "predictions": "model/predictions.tsv", "history": "model/history.tsv",
    "training": "model/training.json", "crossval": "model/crossval.json",
    "interpretation": "interpret/interpretation.json", "designs": "design/next_library.csv",
    "design_summary": "design/summary.json", "leaderboard": "model/leaderboard.tsv",
    "learning_curve": "model/learning_curve.tsv", "next_round": "model/next_round.json",
}  # fmt: skip


def model_files(results: Path, leave_out: tuple[str, ...] = ()) -> dict[str, Path]:
    """The model files a finished run's `results` hold, by the report's names, as the workflow
    hands them to the report stage (less `leave_out`: those a demo's config does not make)."""
    paths = {n: results / f for n, f in MODEL_FILES.items() if n not in leave_out}
    return {n: p for n, p in paths.items() if p.exists()}


def test_the_demo_reads_the_model_files_where_the_workflow_writes_them() -> None:
    assert set(MODEL_FILES) == set(REPORT_MODEL_FILES)
    common = (REPO / "workflow/rules/common.smk").read_text()
    assert all(f'"results/{path}"' in common for path in MODEL_FILES.values())


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_the_whole_run_demo_report_at_24_plates(demo_report: Path, screenshots: Path, width: int):
    page = open_report(demo_report, width, screenshots, "demo", "P17 mixed", "P24:H12")
    assert_fits_and_reads(page, width)
    names = [f"P{i:02d}" for i in range(1, 25)]
    assert page["plates"] == names  # every plate drawn, not the first twelve
    assert page["plate_wells"] == page["well_rows"] == 24 * 96
    assert page["all_wells"]["count"] == "2304 of 2304 wells"
    rows = page["filtered"]["rows"]
    assert 0 < len(rows) < 96 and all("P17" in r and "mixed" in r for r in rows)
    assert page["clicked"] == ["P24 H12"]
    text = demo_report.read_text()
    assert 'alt="Read length and quality"' in text and 'alt="Demultiplexing funnel"' in text
    for plate in names:  # the read-length heat map and the plate tables name every plate
        assert f">{plate}<" in text
    shots = {p.name for p in screenshots.glob(f"demo-{width}-*.png")}
    assert {f"demo-{width}-{s['id']}.png" for s in page["sections"]} <= shots


TABLE_DEMO = REPO / "config" / "demo.yaml"


@pytest.fixture(scope="module")
def table_demo_report(finished_run: Path, tmp_path_factory) -> Path:
    """`make demo`'s first report (config/config.yaml with config/demo.yaml merged in, as
    `snakemake --configfile` merges it: a 12,000-UTR table simulated directly, no plates),
    rendered in-process: the table and its split made here by the simulator and the encode
    stage's own functions (seconds), the model, contest, interpretation and design files the
    shared tiny run's (the demo's learning curve is off); the go/no-go its own."""
    from snakemake.utils import update_config

    from utrflow.model import encode, readiness
    from utrflow.simulate import table as simulated_table

    raw = yaml.safe_load((REPO / "config/config.yaml").read_text())
    update_config(raw, yaml.safe_load(TABLE_DEMO.read_text()))
    cfg = config_module.validate(raw, source=str(TABLE_DEMO))
    assert (cfg["source"], cfg["simulate"]["level"]) == ("simulate", "table")
    assert not cfg["model"]["search"]["learning_curve"]
    out, results = tmp_path_factory.mktemp("table-demo"), finished_run / "results"
    simulated = simulated_table.simulate_from_config(cfg["simulate"], cfg["seed"])
    io.write_tsv(simulated.labelled, out / "labelled.tsv")
    io.write_json(simulated.summary, out / "simulation.json")
    model = model_files(results, leave_out=("learning_curve", "next_round"))
    assert {"metrics", "predictions", "interpretation", "designs", "leaderboard"} <= set(model)
    model["split"] = out / "split.tsv"  # the 12,000 rows', for the label histogram
    io.write_tsv(encode.build_features(simulated.labelled, cfg).rows, model["split"])
    status = readiness.status(simulated.labelled, cfg, source="labelled.tsv")
    assert status["status"] == "ok" and status["distinct_passing"] == 12_000
    io.write_json(status, out / "status.json")
    render.run(cfg, out / "report.html", out / "labelled.tsv", model=model,
               model_status=out / "status.json", simulation=out / "simulation.json",
               benchmarks=results / "benchmarks")  # fmt: skip
    return out / "report.html"


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_the_table_demo_report_at_12000_rows(
    table_demo_report: Path, screenshots: Path, width: int
):
    page = open_report(table_demo_report, width, screenshots, "table-demo")
    assert_fits_and_reads(page, width)
    ids = [s["id"] for s in page["sections"]]
    for wanted in ("summary", "plates", "data", "model", "metrics", "learned", "design"):
        assert wanted in ids, wanted
    # a table simulated directly: no plates drawn, and its made-up layout not listed as wells
    assert page["plates"] == [] and page["plate_wells"] == page["well_rows"] == 0
    text = table_demo_report.read_text()
    assert "Not run: with <code>source: simulate</code> the labelled table was" in text
    assert "columns only lay the rows out, one per sequence" in text and 'id="wells"' not in text
    assert table_demo_report.stat().st_size < 2_000_000  # 4.8 MB, 4 of them the made-up wells
    assert "<td>wells in the labelled table</td><td>12000</td>" in text
    assert "<td>train / validation / test</td><td>9600 / 1200 / 1200</td>" in text
    assert 'alt="Label distribution per split"' in text  # the 12,000 rows' histogram, drawn
    shots = {p.name for p in screenshots.glob(f"table-demo-{width}-*.png")}
    assert {f"table-demo-{width}-{s['id']}.png" for s in page["sections"]} <= shots
