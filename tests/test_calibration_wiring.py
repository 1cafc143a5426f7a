"""Calibration wired in, known answers on a made plate in the iGEM layout: fluorescein in rows
A-B and microspheres in rows C-D (11 two-fold steps and a zero), samples of known MEFL per
particle in rows E-G, medium blanks in row H. The labels must come out as log2 of the planted
MEFL per particle; the sheet's calibrant rows are checked before any job starts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_link import consensus_row

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.geometry import well_names
from utrflow.plates import link
from utrflow.plates.calibration import fluorescein_molecules
from utrflow.plates.link import ReaderFile
from utrflow.plates.reader import FluorescenceSettings

F_SLOPE = 1e-10  # GFP reader units per fluorescein molecule (the truth)
P_SLOPE = 1.6e-9  # OD600 per microsphere
GFP_BLANK, OD_BLANK, TOP = 40.0, 0.04, 60000.0
SETTINGS = FluorescenceSettings(signal="GFP", normalize_by="OD600", saturated_at=TOP)
HEADER = ["plate", "well", "fwd_barcode", "rev_barcode", "role", "calibrant", "concentration"]


def barcode(i: int) -> str:
    return "".join("ACGT"[(i >> (2 * k)) & 3] for k in range(6))


def made_plate(
    tmp_path: Path, calibrated: bool = True, f_slope: float = F_SLOPE
) -> tuple[Path, Path, dict[str, float]]:
    """The wells sheet and a tidy reader CSV; returns the planted MEFL per particle by well."""
    rows, readings, truth = [], [], {}
    for i, well in enumerate(well_names(96)):
        row, column = well[0], int(well[1:])
        step = 0.0 if column == 12 else 0.5 ** (column - 1)
        role, calibrant, concentration = "sample", "", ""
        if row in "AB":
            role, calibrant, concentration = "calibrant", "fluorescein", 10.0 * step
            gfp = GFP_BLANK + f_slope * fluorescein_molecules(10.0 * step, 100.0)
            od = OD_BLANK
        elif row in "CD":
            role, calibrant, concentration = "calibrant", "microspheres", 3e9 * step
            gfp, od = GFP_BLANK, OD_BLANK + P_SLOPE * 3e9 * step * 0.1
        elif row == "H":
            role, gfp, od = "blank", GFP_BLANK, OD_BLANK
        else:
            particles = 2e7 * (1 + i % 7)
            truth[well] = 2.0 ** (10 + (i % 5))
            gfp = GFP_BLANK + F_SLOPE * truth[well] * particles
            od = OD_BLANK + P_SLOPE * particles
        if well == "C6":
            od = OD_BLANK + (od - OD_BLANK) * 1.3  # a badly pipetted microsphere standard
        if not calibrated and role == "calibrant":
            role = "sample"
        rows.append(["P1", well, barcode(i), barcode(i + 100), role, calibrant, concentration])
        readings.append(f"{well},{min(gfp, TOP)!r},{od!r}")
    wells = tmp_path / "wells.tsv"
    wells.write_text("\n".join("\t".join(map(str, r)) for r in [HEADER, *rows]) + "\n")
    reader = tmp_path / "reader.csv"
    reader.write_text("well,GFP,OD600\n" + "\n".join(readings) + "\n")
    return wells, reader, truth


def read(tmp_path: Path, calibrated: bool = True) -> tuple[pd.DataFrame, dict, dict[str, float]]:
    wells, reader, truth = made_plate(tmp_path, calibrated)
    tables, summaries = link.read_readers(
        [ReaderFile("P1", reader)], wells, SETTINGS, tmp_path / "readings"
    )
    return tables["P1"].set_index("well"), summaries["P1"], truth


def test_labels_are_log2_mefl_per_particle_of_the_planted_truth(tmp_path: Path) -> None:
    table, summary, truth = read(tmp_path)
    wells = list(truth)
    assert table.loc[wells, "label"].to_numpy() == pytest.approx(
        np.log2([truth[w] for w in wells]), abs=1e-9
    )
    assert table.loc[wells, "signal"].to_numpy() == pytest.approx([truth[w] for w in wells])
    assert summary["label_unit"] == "log2 MEFL per particle"
    fits = summary["calibration"]
    assert fits["fluorescein"]["per_signal"] == pytest.approx(1 / F_SLOPE, rel=1e-9)
    assert fits["microspheres"]["per_signal"] == pytest.approx(1 / P_SLOPE, rel=1e-9)
    top = str(fluorescein_molecules(10.0, 100.0))  # 10 µM reads 60,261: over the top
    assert fits["fluorescein"]["dropped"] == {top: "saturated"}
    sixth = str(3e9 * 0.5**5 * 0.1)  # C6 pipetted 30 % over, D6 right: their mean is +15 %
    assert fits["microspheres"]["dropped"] == {sixth: "off the linear fit by +14%"}
    assert fits["microspheres"]["linear_range"] == [3e9 * 0.1 / 1024, 3e9 * 0.1]
    saved = json.loads((tmp_path / "readings" / "P1.json").read_text())
    assert saved["calibration"] == fits  # the per-plate JSON holds the fits as the report reads


def test_without_calibrants_the_label_is_the_plain_ratio_and_its_unit_says_so(
    tmp_path: Path,
) -> None:
    table, summary, truth = read(tmp_path, calibrated=False)
    wells = list(truth)
    ratio = table.loc[wells, "signal_net"] / table.loc[wells, "normalizer_net"]
    assert table.loc[wells, "label"].to_numpy() == pytest.approx(np.log2(ratio), rel=1e-12)
    assert "calibration" not in summary
    assert summary["label_unit"] == "log2 GFP units per OD600 unit"
    offset = table.loc[wells, "label"] - np.log2([truth[w] for w in wells])
    assert offset.to_numpy() == pytest.approx(np.log2(F_SLOPE / P_SLOPE))  # the reader's units


def test_calibrant_wells_get_their_own_qc_and_the_summary_names_the_unit(tmp_path: Path) -> None:
    table, summary, _ = read(tmp_path)
    reading = table.reset_index()
    calls = pd.DataFrame(
        [
            consensus_row(well=w, role=r, qc="no_reads")
            for w, r in zip(reading["well"], reading["role"], strict=True)
        ]
    )
    joined = link.join_plate(calls, reading).set_index("well")
    assert joined.loc["A3", "qc"] == "calibrant" and joined.loc["E1", "qc"] == "no_reads"
    found = link.calibration_summary({"P1": summary})
    assert found["label_unit"] == "log2 MEFL per particle"
    assert set(found["calibration"]["P1"]) == {"fluorescein", "microspheres"}


def sheet(tmp_path: Path, edits: dict[str, dict[str, str]], plates: int = 1) -> Path:
    """A made wells sheet with some cells changed (by well, on plate P1)."""
    wells, _, _ = made_plate(tmp_path)
    table = pd.read_csv(wells, sep="\t", dtype=str, keep_default_na=False)
    for well, cells in edits.items():
        for column, value in cells.items():
            table.loc[table["well"] == well, column] = value
    if plates > 1:
        other = table.assign(plate="P2", role=table["role"].replace("calibrant", "sample"))
        table = pd.concat([table, other])
    table.to_csv(wells, sep="\t", index=False)
    return wells


@pytest.mark.parametrize(
    ("edits", "plates", "said"),
    [
        ({"A1": {"calibrant": "rhodamine"}}, 1, "row 2: calibrant 'rhodamine' is not one of"),
        ({"A1": {"concentration": "ten"}}, 1, "row 2: concentration 'ten' of a calibrant well"),
        ({"A1": {"concentration": "-1"}}, 1, "row 2: concentration '-1' of a calibrant well"),
        (
            {f"{r}{c}": {"role": "sample"} for r in "AB" for c in range(3, 12)},
            1,
            "plate P1: 2 non-zero fluorescein concentrations; a calibration needs 3",
        ),
        ({}, 2, "plates carry different calibrants (P1: fluorescein, microspheres; P2: none)"),
    ],
)
def test_bad_calibrant_rows_stop_with_one_line_naming_the_file_and_row(
    tmp_path: Path, edits: dict[str, dict[str, str]], plates: int, said: str
) -> None:
    path = sheet(tmp_path, edits, plates)
    with pytest.raises(InputError) as err:
        sheets.load_wells(path)
    assert said in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_standards_out_of_range_everywhere_stop_the_link_with_one_line(tmp_path: Path) -> None:
    wells, reader, _ = made_plate(tmp_path, f_slope=1e-6)  # a gain that saturates the series
    with pytest.raises(InputError) as err:
        link.read_readers([ReaderFile("P1", reader)], wells, SETTINGS, tmp_path / "readings")
    said = str(err.value)
    assert "reader.csv: plate P1: fluorescein on 'GFP': calibration (MEFL): 0 standards" in said
    assert "3 needed" in said and "saturated" in said and "\n" not in said


def test_the_report_shows_each_fit_its_range_residuals_and_dropped_standards(
    tmp_path: Path,
) -> None:
    from test_report_render import CONFIG, plate_qc, plate_table

    from utrflow.report import calibration as report_calibration
    from utrflow.report import render

    _, summary, _ = read(tmp_path)
    found = link.calibration_summary({"P1": summary})
    part = str(report_calibration.section(found))
    assert "Labels are <b>log2 MEFL per particle</b>" in part
    assert "1e+10 MEFL per reader unit" in part and "6.25e+08 particles per reader unit" in part
    assert "6.02e+14: saturated" in part and "9.38e+06: off the linear fit by +14%" in part
    assert report_calibration.section({"label_unit": "log2 GFP units per OD600 unit"}) is None
    table = plate_table(1, distinct=8)
    table.loc[table.index[:4], ["qc", "role"]] = "calibrant"  # their own colour and bar
    html = render.render(
        render.ReportInputs(
            config=CONFIG,
            table=table,
            plate_qc=plate_qc(table),
            table_summary={**found, "noise_ceiling": {"r2": None, "reason": "none"}},
        )
    )
    assert part in html and "<h3>Calibration</h3>" in html


def test_a_series_that_cannot_be_fitted_stops_at_start_up(tmp_path: Path) -> None:
    """Start-up reads every reader file (preflight's check_readers), fits included: a series
    saturated throughout stops the run before any job, naming the file and plate."""
    from utrflow.config import section_defaults
    from utrflow.preflight.reads_setup import check_readers

    wells, reader, _ = made_plate(tmp_path, f_slope=1e-6)
    plates = [{"plate": "P1", "fluorescence": reader.name, "reader_plate": "", "instrument": ""}]
    settings = {**section_defaults("fluorescence"), "signal": "GFP", "normalize_by": "OD600"}
    settings["saturated_at"] = TOP
    with pytest.raises(InputError) as err:
        check_readers(plates, sheets.load_wells(wells), settings, tmp_path)
    assert "reader.csv: plate P1: fluorescein on 'GFP'" in str(err.value)
    (tmp_path / "fine").mkdir()
    fine, _, _ = made_plate(tmp_path / "fine")
    assert check_readers(plates, sheets.load_wells(fine), settings, tmp_path / "fine") == {
        "P1": "reader.csv"
    }
