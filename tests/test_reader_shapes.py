"""Block shapes made here after real exports whose licence keeps them out of the corpus
(SparkControl lists, a Gen5 xlsx with channels as rows), and the stops that keep a file from
being misread (rows that could be channels or reads, a plate of another format)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from utrflow.errors import InputError
from utrflow.geometry import well_names
from utrflow.plates.channels import channel_reading
from utrflow.plates.exports import read_export, workbook_bytes
from utrflow.plates.reader import FluorescenceSettings, parse_reader, read_plate, write_plate

WELLS = well_names(96)


def spark_list(path: Path) -> Path:
    """SparkControl 2.3 endpoint CSV: per label a `Mode`/`Name` group of settings, then a
    `<>,Value,Time [ms]` list, one line per well (the shape of FlopR's calibration export)."""
    lines = ["Application: SparkControl,,,,V2.3", "Device: Spark,,,,", "Plate layout,,,,", ""]
    labels = (("OD600", "Absorbance", 0.09), ("GFP 40", "Fluorescence Top Reading", 500))
    for name, mode, base in labels:
        lines += [f"Mode,{mode}", f"Name,{name}"]
        if mode == "Absorbance":
            lines.append("Measurement wavelength,,,,600,nm,")
        else:
            lines += ["Excitation wavelength,,,,485,nm,", "Emission wavelength,,,,535,nm,"]
        lines += ["Part of Plate,,,,A1-H12,,", "", "Start Time,,,,19/12/2019 15:07,,"]
        lines += ["Temperature,,,,28.5,°C,", "", "<>,Value,Time [ms]"]
        lines += [f"{w},{base + i / 1000:.4f},{i * 204}" for i, w in enumerate(WELLS)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sparkcontrol_lists_are_read_under_their_names(tmp_path: Path) -> None:
    path = spark_list(tmp_path / "spark.csv")
    export = read_export(path)
    assert export.instrument == "Tecan SparkControl (Spark)"
    assert list(export.plates[""]) == ["OD600", "GFP 40"]
    gfp = channel_reading(parse_reader(path), "GFP 40", ["A1", "H12"], path)
    assert gfp.values.tolist() == [500.0, 500.095] and gfp.reads == 1  # ms times: one read
    od = channel_reading(parse_reader(path), "600", ["B1"], path)
    assert (od.label, od.values[0]) == ("OD600", 0.102)


def test_gen5_channels_as_rows_under_a_well_header_are_channels(tmp_path: Path) -> None:
    """Gen5 xlsx (Cytation 7): an empty cell, `Well`, then wells; one row per read step."""
    labels = ["OD600:600", "GFP 40:485,530", "GFP 150 TOP:485,530"]
    rows: list[list[object]] = [["Reader Type:", "Cytation7"], ["Software Version", "3.13.15"], []]
    rows.append([None, "Well", *WELLS])
    for n, label in enumerate(labels):
        rows.append([None, label, *[(n + 1) * 100 + i for i in range(96)]])
    rows[-1][2] = "OVRFLW"
    path = tmp_path / "cytation.xlsx"
    path.write_bytes(workbook_bytes(rows))
    readings = parse_reader(path)
    assert list(readings) == labels
    top = channel_reading(readings, "GFP 150 TOP", ["A1", "A2"], path)
    assert top.saturated.tolist() == [True, False] and top.values[1] == 301.0
    with pytest.raises(InputError, match=r"'GFP 40:485,530', 'GFP 150 TOP:485,530'"):
        channel_reading(readings, "485/530", ["A1"], path)


def test_text_rows_under_a_wells_header_stop_rather_than_become_reads(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "Label\n,,A1,A2,A3\n,GFP 40,1,2,3\n,GFP 50,4,5,6\n", encoding="utf-8"
    )  # no Time column, no Well header: channels or reads of one channel?
    with pytest.raises(InputError) as err:
        read_export(path)
    message = str(err.value)
    assert "2 rows named 'GFP 40', 'GFP 50'" in message and "'Well'" in message
    assert "\n" not in message


def layout(wells: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"plate": "P1", "well": wells, "role": "sample"})


def grid384(path: Path) -> Path:
    header = ",".join(["<>", *map(str, range(1, 25))])
    body = [",".join([chr(65 + r), *(str(100 + r * 24 + c) for c in range(24))]) for r in range(16)]
    path.write_text("\n".join(["GFP", header, *body, "", "OD600", header, *body]) + "\n")
    return path


def test_a_384_well_file_for_a_96_well_layout_stops(tmp_path: Path) -> None:
    path = grid384(tmp_path / "plate384.csv")
    settings = FluorescenceSettings(signal="GFP", normalize_by="OD600", blank_subtract=False)
    with pytest.raises(InputError) as err:
        read_plate("P1", layout(WELLS[:4]), path, settings)
    assert "has 384 wells but the layout's has 96" in str(err.value)
    assert "fluorescence.plate_format: 384" in str(err.value)
    said = FluorescenceSettings(
        signal="GFP", normalize_by="OD600", blank_subtract=False, plate_format="384"
    )
    found = read_plate("P1", layout(WELLS[:4]), path, said)
    assert found.table["signal_raw"].tolist() == [100.0, 101.0, 102.0, 103.0]


def test_the_per_plate_json_states_every_reading_used(tmp_path: Path) -> None:
    path = spark_list(tmp_path / "spark.csv")
    settings = FluorescenceSettings(signal="GFP 40", normalize_by="OD600", blank_subtract=False)
    write_plate("P1", path, layout(WELLS), settings, tmp_path / "p.tsv", tmp_path / "p.json")
    facts = json.loads((tmp_path / "p.json").read_text())
    assert facts["instrument"] == "Tecan SparkControl (Spark)"
    assert facts["signal"]["channel"] == "GFP 40" and facts["normalizer"]["wavelengths"] == [600]
    for reading in (facts["signal"], facts["normalizer"]):
        assert {"channel", "wavelengths", "loop", "read", "read_name", "reads", "time_s"} <= set(
            reading
        )


def test_the_plate_qc_columns_name_the_wavelengths_and_loop_read() -> None:
    from utrflow.plates.link import reader_columns

    signal = {"channel": "GFP_5:485/20,530/25", "wavelengths": [485, 530], "loop": 5}
    signal |= {"read": 55, "read_name": "55", "reads": 55, "time_s": 32820.0}
    columns = reader_columns({"instrument": "Agilent BioTek Gen5", "signal": signal})
    assert columns["signal_read"] == (
        "GFP_5:485/20,530/25 [485/530 nm, loop 5], read 55 of 55 (9:07:00)"
    )
    assert columns["normalizer_read"] == ""
