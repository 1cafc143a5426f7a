"""The report, round 3 (#35): every read status in the funnel bars (dorado's duplex parents
too), how each well was called in the well table, intervals beside ROC-AUC and the
learning-curve advice when they rest on few rows, and advice in wells that knows the library's
size."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_link import consensus_row, reading_row
from test_report_render import CONFIG, plate_table, rendered

from utrflow.model import readiness
from utrflow.plates import link
from utrflow.report import plates as report_plates


def test_the_funnel_bars_count_every_read_duplex_parents_too() -> None:
    funnels = [
        {"group": "G1", "status": {"assigned": 70, "no_barcode": 10, "duplex_parent": 20}},
        {"group": "G2", "status": {"assigned": 5, "new_status": 3, "duplex_parent": 0}},
    ]
    counts = report_plates.funnel_counts(funnels)
    assert list(counts) == ["assigned", "no_barcode", "duplex_parent", "new_status"]
    drawn = np.sum(list(counts.values()), axis=0)
    assert drawn.tolist() == [sum(f["status"].values()) for f in funnels]  # every read drawn
    assert report_plates.funnel_bars(funnels)  # draws, the unknown status in its own colour


def test_the_well_table_says_how_each_well_was_called() -> None:
    calls = pd.DataFrame(
        [consensus_row(called_by="posterior"), consensus_row(well="A2", called_by="counting")]
    )
    readings = pd.DataFrame([reading_row(), reading_row(well="A2")])
    joined = link.join_plate(calls, readings)
    assert joined["called_by"].tolist() == ["posterior", "counting"]
    table = plate_table(1, distinct=60)
    table["called_by"] = np.where(table.index % 3 == 0, "counting", "posterior")
    html = rendered(table)
    body = html[html.index('id="wells-table"') :]
    assert '<th data-numeric="0">called by</th>' in body
    assert body.count('<td class="t">counting</td>') == 32
    assert body.count('<td class="t">posterior</td>') == 64


def test_wells_to_measure_are_counted_against_the_library_size() -> None:
    table = plate_table(1, distinct=15, qc_fail_every=7)  # 82 of 96 pass, 15 designs among them
    status = readiness.status(table, CONFIG, "t", library_size=30)
    # 5 more of 30 designs with 15 seen: 30 (1/15 + 1/14 + 1/13 + 1/12 + 1/11) = 11.68 passing
    # wells, at 82 passing per 96 wells: 13.67, so 14 wells (not 32 at the run's own yield)
    assert status["advice"].startswith("measure about 14 more wells (5 more distinct")
    assert "15 of the library's 30 designs" in status["advice"]
    assert readiness.status(table, CONFIG, "t")["advice"].startswith("measure about 32 more")
    huge = readiness.status(table, CONFIG, "t", library_size=1_000_000)
    assert huge["advice"].startswith("measure about 6 more wells")  # 5 / (82 / 96) = 5.85
    # the last 5 of 20 designs: 20 (1/5 + 1/4 + 1/3 + 1/2 + 1) = 45.67 passing wells: 54 wells
    assert readiness.status(table, CONFIG, "t", 20)["advice"].startswith("measure about 54 more")


def test_a_library_smaller_than_the_model_needs_is_said_so_not_more_wells() -> None:
    table = plate_table(1, distinct=15, qc_fail_every=7)
    table["variant_id"] = [f"v{k % 15 % 8}" for k in range(len(table))]  # 8 designs
    status = readiness.status(table, CONFIG, "t", library_size=8)
    assert status["status"] == "not_run" and status["needed"] == 20
    assert "measure about" not in status["advice"]
    assert status["advice"].startswith("the library holds 8 designs, fewer than the 20 distinct")
    assert "7 of the 15 distinct passing sequences are synthesis variants" in status["advice"]
    assert "Measure a library of at least 20 designs" in status["advice"]
    html = rendered(table, model_status=status)
    assert "What would let it run:</b> the library holds 8 designs" in html
