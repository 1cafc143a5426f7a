"""The report's plates section: plate maps in the right cells and warnings that fire."""

from __future__ import annotations

import numpy as np
import pandas as pd

from utrflow.report import plates as report_table


def test_plate_grid_places_each_well_in_its_row_and_column() -> None:
    wells = pd.DataFrame({"well": ["A1", "H12", "b03"], "value": [1.0, 2.0, 3.0]})
    grid = report_table.plate_grid(wells, "value", 96)
    assert grid.shape == (8, 12)
    assert grid[0, 0] == 1.0 and grid[7, 11] == 2.0 and grid[1, 2] == 3.0
    assert np.isnan(grid).sum() == 96 - 3
    assert report_table.plate_format_of(pd.DataFrame({"well": ["A1", "P24"]})) == 384


def test_warnings_name_the_flagged_plate_the_mixed_plate_and_a_missing_ceiling() -> None:
    qc = ["mixed"] * 3 + ["pass"] * 7 + ["pass"] * 10
    table = pd.DataFrame(
        {"plate": ["P1"] * 10 + ["P2"] * 10, "role": "sample", "qc": qc, "n_reads": 5}
    )
    plate_qc = pd.DataFrame({"plate": ["P1", "P2"], "flag": ["", "median label 1.5 log2 off"]})
    summary = {"noise_ceiling": {"r2": None, "reason": "2 sequences measured in 2+ wells"}}
    warnings = report_table.table_warnings(table, plate_qc, summary)
    assert len(warnings) == 3
    assert warnings[0].startswith("Plate P2: median label 1.5 log2 off")
    assert warnings[1].startswith("Plate P1: 30% of its sample wells hold two sequences")
    assert "2 sequences measured in 2+ wells" in warnings[2]
    fine = table.assign(qc="pass")
    assert (
        report_table.table_warnings(fine, plate_qc.assign(flag=""), {"noise_ceiling": {"r2": 0.9}})
        == []
    )


def test_replicate_pairs_are_every_pair_of_passing_wells_of_a_sequence() -> None:
    table = pd.DataFrame(
        {
            "sequence": ["A", "A", "A", "C", "G"],
            "label": [1.0, 2.0, 3.0, 4.0, 5.0],
            "qc": ["pass", "pass", "pass", "pass", "mixed"],
        }
    )
    pairs = report_table.replicate_pairs(table)
    assert sorted(map(tuple, pairs.to_numpy().tolist())) == [(1.0, 2.0), (1.0, 3.0), (2.0, 3.0)]


def test_call_evidence_says_reads_assigned_apart_from_reads_that_gave_the_sequence() -> None:
    table = pd.DataFrame(
        {
            "plate": "P1",
            "role": ["sample", "sample", "sample", "sample", "sample", "blank"],
            "qc": [
                "low_reads",
                "pass",
                "purity_unproven",
                "variant_unconfirmed",
                "sequence_unconfirmed",
                "blank",
            ],
            "n_reads": [40, 30, 6, 30, 5, 2],
            "n_regions": [1, 28, 6, 6, 5, 0],
        }
    )
    evidence = report_table.call_evidence(table)
    assert evidence == {
        "wells": 5,
        "median_reads": 30.0,
        "median_regions": 6.0,
        "short": 1,
        "unproven": 1,
        "unconfirmed": 1,
        "unsettled": 1,
    }
