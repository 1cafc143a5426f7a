"""No `nan` text anywhere a user reads: every output of a table-mode run (a plain table without
plates or wells) and of a reads-mode run (simulated plates through demultiplexing, consensus and
the plate reader) is searched for NaN as text. JSON has no NaN (other tools refuse the file); a
metric that cannot be computed is `null`, an empty cell in a table, and "not computable" in
the report.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_MODEL

NAN = re.compile(r"(?<![A-Za-z])nan(?![A-Za-z])", re.IGNORECASE)
EMBEDDED = re.compile(r"data:[a-z]+/[a-z+.-]+;base64,[A-Za-z0-9+/=]+")  # figures in the report
BINARY = {".keras", ".npy", ".png", ".pdf"}
SMALL = {
    "model": {**TINY_MODEL, "ensemble": 2},
    "baselines": {"kmer_max": 2},
    "design": {"n_designs": 8, "steps": 40},
}


def readable_outputs(results: Path) -> dict[str, str]:
    """Every text output under results/ (gzip opened), by path."""
    texts = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        if path.suffix in BINARY:
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        texts[str(path.relative_to(results))] = EMBEDDED.sub("", data.decode("utf-8"))
    return texts


def assert_no_nan_text(results: Path) -> dict[str, str]:
    texts = readable_outputs(results)
    found = {
        name: text[max(m.start() - 60, 0) : m.end() + 20]
        for name, text in texts.items()
        if (m := NAN.search(text))
    }
    assert found == {}, found

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a JSON output")

    for name, text in texts.items():
        if name.endswith(".json"):
            json.loads(text, parse_constant=refuse)  # NaN, Infinity: what JSON does not allow
    return texts


@pytest.mark.slow
def test_a_table_mode_run_writes_no_nan(table_run: Path) -> None:
    """The session's user-table run (conftest.table_run): two members, 2-fold
    cross-validation, a design and new sequences scored."""
    texts = assert_no_nan_text(table_run / "results")
    designs = pd.read_csv(table_run / "results/design/next_library.csv")
    assert designs["nearest_measured"].str.fullmatch(r"row \d+").all()  # the table's own rows
    assert {"model/crossval.json", "report/report.html", "design/next_library.csv"} <= set(texts)
    assert "predict/predictions.tsv" in texts


@pytest.mark.slow
def test_a_reads_mode_run_writes_no_nan(tiny_whole_run: Path, pilot_run: Path) -> None:
    """The session's two reads runs (conftest): three plates through every stage, and a
    one-plate pilot whose model stage could not run (its not-run records and QC report)."""
    for workdir in (tiny_whole_run, pilot_run):
        texts = assert_no_nan_text(workdir / "results")
        assert any(name.endswith("regions.tsv.gz") for name in texts)
        assert "table/labelled.tsv" in texts and "report/report.html" in texts
