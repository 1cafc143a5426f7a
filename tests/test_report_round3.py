"""The report, round 3 (#35): every read status in the funnel bars (dorado's duplex parents
too), how each well was called in the well table, intervals beside ROC-AUC and the
learning-curve advice when they rest on few rows, and advice in wells that knows the library's
size."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_link import consensus_row, reading_row
from test_report_render import plate_table, rendered

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
