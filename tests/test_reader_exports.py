"""Plate-reader exports as instruments write them: the 8 real files of shared/data with their
reference values, and small files made here for what those lack (UTF-16, Windows-1252, several
plates per file, a stated detector maximum, separators, sub-reads)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED

from utrflow import cli, io, sheets
from utrflow.errors import InputError
from utrflow.geometry import well_names
from utrflow.plates.exports import workbook_bytes
from utrflow.plates.reader import (
    FluorescenceSettings,
    channel_reading,
    load_plate,
    parse_reader,
    read_plate,
    read_seconds,
    tidy_readings,
)
from utrflow.preflight import reads_setup

EXPORTS = SHARED / "data" / "plate_reader_exports"
needs_exports = pytest.mark.skipif(not EXPORTS.is_dir(), reason="shared exports not present")


def f32(value: float) -> float:
    """What a reader that computes in float32 writes into an xlsx cell for `value`."""
    return float(np.float32(value))


# file, instrument, read, {channel as a user reads it off the file: {well: value as exported}}
# Values are those of the README of plate_reader_exports; float32 readers (i-control) write the
# float32 nearest the 4-decimal value, which is what the file holds.
REAL = [
    (
        "tecan_infinite200pro_single_read.xlsx",
        "Tecan i-control (infinite 200Pro)",
        "last",
        {"600": {"A1": f32(0.0932), "A4": f32(0.3117), "A7": f32(0.2451)}},
    ),
    (
        "tecan_infinite200pro_multiple_reads_per_well.xlsx",
        "Tecan i-control (infinite 200Pro)",
        "last",
        {"Label1": {"A1": f32(0.1036), "D7": f32(0.2034), "H12": f32(0.1082)}},
    ),
    (
        "tecan_infinite200pro_kinetic_od_lum.csv",
        "Tecan i-control (infinite 200Pro)",
        "first",
        {
            "LUMI": {"A1": -4.0, "A5": 110.0, "A7": 127.0},
            "OD600": {"A1": 0.045899998, "A5": 0.044399999, "A7": 0.044199999},
        },
    ),
    (
        "biotek_synergyhtx_gen5_kinetic_od_gfp.csv",
        "Agilent BioTek Gen5 (Synergy HTX)",
        "first",
        {
            "GFP_1": {"A1": 260.0, "A4": 254.0, "A6": 255.0},
            "OD600_1": {"A1": 0.041, "A4": 0.044, "A6": 0.043},
        },
    ),
    (
        "biotek_synergyh1_gen5_endpoint_od_2fl.txt",
        "Agilent BioTek Gen5 (Synergy H1)",
        "last",
        {
            "479,520": {"A1": 418.0, "D7": 421.0, "H12": 443.0},
            "od 600": {"A1": 0.052, "D7": 0.047, "H12": 0.049},
        },
    ),
    (
        "bmg_smartcontrol_fi_endpoint.xlsx",
        "BMG Labtech SMART Control",
        "last",
        {"Raw Data (480-14/520-30)": {"A1": 8168026.0, "D7": 987769.0, "H12": 15882.0}},
    ),
    (
        "perkinelmer_envision_fl.csv",
        "PerkinElmer EnVision",
        "last",
        {"channel 1": {"A1": 31441.0, "D7": 8294.0, "H7": 3339.0}},
    ),
    (
        "tecan_magellan_od.xlsx",
        "Tecan Magellan",
        "last",
        {"595": {"A1": 0.1462, "D7": 0.1463, "H12": 0.0461}},
    ),
]


@needs_exports
@pytest.mark.parametrize(("name", "instrument", "read", "expected"), REAL, ids=[r[0] for r in REAL])
def test_real_exports_give_the_reference_values_as_exported(
    name: str, instrument: str, read: str, expected: dict[str, dict[str, float]]
) -> None:
    path = EXPORTS / name
    readings = parse_reader(path)
    assert readings.instrument == instrument
    for channel, wells in expected.items():
        found = channel_reading(readings, channel, list(wells), path, None, read)
        assert found.values.tolist() == list(wells.values()), channel
        assert not found.saturated.any()  # no default flags an unsaturated well


@needs_exports
def test_float32_xlsx_values_are_the_4_decimal_readings() -> None:
    path = EXPORTS / "tecan_infinite200pro_single_read.xlsx"
    found = channel_reading(parse_reader(path), "Label1", ["A1", "A4", "A7"], path)
    assert np.round(found.values, 4).tolist() == [0.0932, 0.3117, 0.2451]


def layout(wells: list[str], blanks: tuple[str, ...] = ()) -> pd.DataFrame:
    roles = ["blank" if w in blanks else "sample" for w in wells]
    return pd.DataFrame({"plate": "P1", "well": wells, "role": roles})


@needs_exports
def test_a_24_bit_reader_is_not_saturated_by_default() -> None:
    """SMART Control counts reach 8,168,026: none may be flagged under the defaults, and the
    raw readings reach the per-plate table with every digit."""
    path = EXPORTS / "bmg_smartcontrol_fi_endpoint.xlsx"
    settings = FluorescenceSettings(signal="raw data", normalize_by="")
    table, _ = load_plate("P1", layout(well_names(96), ("H10", "H11", "H12")), path, settings)
    assert not table["flags"].str.contains("saturated").any()
    assert table["signal_raw"].max() == 8558760.0


@needs_exports
def test_kinetic_reads_by_number_time_first_and_last() -> None:
    path = EXPORTS / "biotek_synergyhtx_gen5_kinetic_od_gfp.csv"
    readings = parse_reader(path)
    first = channel_reading(readings, "OD600_1", ["A1"], path, None, "first")
    assert (first.read_number, first.reads, first.time_s) == (1, 25, 6 * 60 + 17)
    # 2 h: the nearest reads are 1:56:17 (OD) and 1:57:00 (GFP), 12th of 25 each
    od = channel_reading(readings, "OD600_1", ["A1"], path, None, "2h")
    gfp = channel_reading(readings, "gfp_1", ["A1"], path, None, "7200 s")
    assert (od.read_number, od.time_s, od.values[0]) == (12, 6977.0, 0.059)
    assert (gfp.read_number, gfp.time_s, gfp.values[0]) == (12, 7020.0, 328.0)
    assert channel_reading(readings, "OD600_1", ["A1"], path, None, 12).values[0] == 0.059
    last = channel_reading(readings, "OD600_1", ["A1"], path)
    assert (last.read_number, last.time_s, last.values[0]) == (25, 4 * 3600 + 6 * 60 + 17, 0.28)
    tecan = EXPORTS / "tecan_infinite200pro_kinetic_od_lum.csv"
    lum = channel_reading(parse_reader(tecan), "lumi", ["A1"], tecan, None, "last")
    assert (lum.read_number, lum.reads) == (120, 120)


@pytest.mark.parametrize(
    ("spec", "seconds"),
    [("2h", 7200.0), ("7200 s", 7200.0), ("90 min", 5400.0), ("1:30:00", 5400.0), ("x", None)],
)
def test_read_times_from_the_config(spec: str, seconds: float | None) -> None:
    assert read_seconds(spec) == seconds


@needs_exports
@pytest.mark.parametrize(
    ("name", "channel", "message"),
    [
        (
            "biotek_synergyhtx_gen5_kinetic_od_gfp.csv",
            "GFP",
            "channel 'GFP' was read in 5 kinetic loops (GFP_1:485/20,530/25, GFP_2",
        ),
        ("biotek_synergyh1_gen5_endpoint_od_2fl.txt", "fluor", "'fluor:579,616', 'fluor:479,520'"),
        ("perkinelmer_envision_fl.csv", "mCherry", "no channel 'mCherry' (has: Calculated"),
        ("tecan_infinite200pro_kinetic_od_lum.csv", "gfp", "(has: OD600:600, LUMI:Lum)"),
    ],
)
def test_ambiguous_or_missing_channels_list_the_files_channels(
    name: str, channel: str, message: str
) -> None:
    path = EXPORTS / name
    with pytest.raises(InputError) as err:
        channel_reading(parse_reader(path), channel, ["A1"], path)
    assert message in str(err.value) and "\n" not in str(err.value)


@needs_exports
def test_kinetic_read_numbers_past_the_end_stop() -> None:
    path = EXPORTS / "tecan_infinite200pro_kinetic_od_lum.csv"
    with pytest.raises(InputError, match=r"has 120 reads; fluorescence\.read 121"):
        channel_reading(parse_reader(path), "OD600", ["A1"], path, None, 121)


def grid_rows(values: np.ndarray) -> list[list[object]]:
    """An 8x12 grid as rows: a header 1..12, then A..H."""
    rows: list[list[object]] = [["<>", *range(1, 13)]]
    for r, letter in enumerate("ABCDEFGH"):
        rows.append([letter, *values[r * 12 : r * 12 + 12].tolist()])
    return rows


def test_icontrol_xlsx_labels_name_their_grids(tmp_path: Path) -> None:
    """Two i-control labels, both grids headed `<>`: each takes its `Label:` line's name and
    the wavelength below it, not the temperature line right above the grid."""
    gfp, od = np.arange(96) * 100.0 + 50, np.linspace(0.05, 1.0, 96)
    rows: list[list[object]] = [["Application: Tecan i-control", None, None, None, "2.0"]]
    for name, wavelength, values in (("GFP", 535, gfp), ("OD600", 600, od)):
        rows += [[f"Label: {name}"], ["Mode", None, None, None, "Fluorescence Top Reading"]]
        rows += [["Emission Wavelength", None, None, None, wavelength, "nm"]]
        rows += [[None, "Temperature: 30.1 °C"], *grid_rows(values), []]
    rows.append(["End Time:", "1/1/2022 10:05:00 AM"])
    path = tmp_path / "icontrol.xlsx"
    path.write_bytes(workbook_bytes(rows))
    readings = parse_reader(path)
    assert list(readings) == ["GFP", "OD600"]
    assert readings["GFP"].wavelengths == (535,)
    found = channel_reading(readings, "535", well_names(96), path)
    assert found.values.tolist() == gfp.tolist()
    assert channel_reading(readings, "od600", ["H12"], path).values[0] == od[-1]


def softmax_like_text() -> str:
    lines = ["##BLOCKS= 1", "Plate:\tPlate1\t1.3\tPlateFormat\tEndpoint\tFluorescence"]
    lines.append("\t".join(["GFP 485/535 (µ counts)", *map(str, range(1, 13))]))
    for r, letter in enumerate("ABCDEFGH"):
        lines.append("\t".join([letter, *(str(1000 + r * 12 + c) for c in range(12))]))
    return "\r\n".join([*lines, "~End"]) + "\r\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_utf16_and_bom_text_is_read(tmp_path: Path, encoding: str) -> None:
    """SoftMax Pro writes UTF-16 with a byte-order mark (utf-16 adds one; utf-16-le none)."""
    path = tmp_path / "softmax.txt"
    path.write_bytes(softmax_like_text().encode(encoding))
    readings = parse_reader(path)
    found = channel_reading(readings, "485/535", ["A1", "H12"], path)
    assert found.values.tolist() == [1000.0, 1095.0]
    assert readings.encoding == ("utf-8-sig" if encoding == "utf-8-sig" else encoding)


def test_windows_1252_text_is_read(tmp_path: Path) -> None:
    """Gen5 writes CSV in Windows-1252: `T° GFP` and `µ` are single bytes, not UTF-8."""
    header = ',Time,"T° GFP:485/20,528/20",' + ",".join(f"A{c}" for c in range(1, 13))
    rows = ["Software Version,3.12", "Reader Type:,Synergy HTX", "", '"GFP:485/20,528/20"', ""]
    rows += [header, ",0:05:00,37," + ",".join(str(10 * c) for c in range(1, 13))]
    rows += [",0:15:00,37," + ",".join(str(20 * c) for c in range(1, 13)), "", "µ units"]
    path = tmp_path / "gen5.csv"
    path.write_bytes("\r\n".join(rows).encode("cp1252"))
    readings = parse_reader(path)
    assert readings.encoding == "cp1252"
    assert readings.instrument == "Agilent BioTek Gen5 (Synergy HTX)"
    found = channel_reading(readings, "gfp", ["A3"], path, None, "first")
    assert (found.values[0], found.time_s, found.reads) == (30.0, 300.0, 2)


def test_several_plates_in_one_tidy_file(tmp_path: Path) -> None:
    path = tmp_path / "two_plates.csv"
    rows = ["Plate,Well,GFP,OD600"]
    rows += [f"run1-A,{w},{100 + i},0.5" for i, w in enumerate(["A1", "A2"])]
    rows += [f"run1-B,{w},{200 + i},0.25" for i, w in enumerate(["A1", "A2"])]
    path.write_text("\n".join(rows) + "\n")
    settings = FluorescenceSettings(blank_subtract=False, log2=False)
    wells = pd.DataFrame({"plate": ["P1", "P1"], "well": ["A1", "A2"], "role": "sample"})
    by_name, _ = load_plate("P1", wells, path, settings, "run1-B")
    by_order, _ = load_plate("P1", wells, path, settings, "1")
    assert by_name["signal_raw"].tolist() == [200.0, 201.0]
    assert by_order["signal_raw"].tolist() == [100.0, 101.0]
    named = pd.DataFrame({"plate": ["run1-B"], "well": ["A2"], "role": "sample"})
    assert load_plate("run1-B", named, path, settings)[0]["signal_raw"].tolist() == [201.0]
    with pytest.raises(InputError, match=r"holds 2 plates \('run1-A', 'run1-B'\).*reader_plate"):
        load_plate("P1", wells, path, settings)
    with pytest.raises(InputError, match=r"no plate 'run2' in the reader file"):
        load_plate("P1", wells, path, settings, "run2")


def test_several_plates_in_one_gen5_style_file(tmp_path: Path) -> None:
    rows = ["Software Version\t3.15", "Reader Type:\tSynergy H1"]
    for plate, base in (("Plate 1", 0), ("Plate 2", 1000)):
        rows += ["", f"Plate Number\t{plate}", "Results", "\t" + "\t".join(map(str, range(1, 13)))]
        for r, letter in enumerate("ABCDEFGH"):
            cells = [str(base + r * 12 + c) for c in range(12)]
            rows.append("\t".join([letter, *cells, "gfp:485,528"]))
    path = tmp_path / "gen5.txt"
    path.write_text("\n".join(rows) + "\n")
    second = parse_reader(path, "Plate 2")
    assert second.plate == "Plate 2"
    assert channel_reading(second, "485,528", ["A1"], path).values[0] == 1000.0
    assert channel_reading(parse_reader(path, "1"), "gfp", ["H12"], path).values[0] == 95.0


def test_a_stated_detector_maximum_and_overflow_words_saturate(tmp_path: Path) -> None:
    path = tmp_path / "reader.csv"
    text = "well,gfp\nA1,16777215\nA2,16000000\nA3,OVER\nA4,Sat\n\nDetector maximum: 16777215\n"
    path.write_text(text)
    wells = ["A1", "A2", "A3", "A4"]
    readings = parse_reader(path)
    assert readings.detector_max == 16777215
    assert channel_reading(readings, "gfp", wells, path).saturated.tolist() == [
        True,
        False,
        True,
        True,
    ]
    unstated = tmp_path / "plain.csv"
    unstated.write_text(text.split("\n\n")[0] + "\n")
    found = channel_reading(parse_reader(unstated), "gfp", wells, unstated)
    assert found.saturated.tolist() == [False, False, True, True]  # the words only
    assert found.values[:2].tolist() == [16777215.0, 16000000.0]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1200", "0,512"], [1200.0, 0.512]),
        (["1.234,5", "3.203"], [1234.5, 3203.0]),  # the file shows its thousands grouping
        (["1.234.567", "0,5"], [1234567.0, 0.5]),
    ],
)
def test_decimal_commas_and_visible_thousands_grouping(
    tmp_path: Path, cells: list[str], expected: list[float]
) -> None:
    path = tmp_path / "reader.csv"
    path.write_text(f"Well;GFP\nA1;{cells[0]}\nA2;{cells[1]}\n")
    assert channel_reading(parse_reader(path), "GFP", ["A1", "A2"], path).values.tolist() == (
        expected
    )


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("Well;GFP;OD600\nA1;3.203;0,512\n", "line 2: well A1, channel 'GFP': '3.203'"),
        ("Well\tGFP\tOD600\nA1\t1,234\t0.5\n", "line 2: well A1, channel 'GFP': '1,234'"),
    ],
)
def test_ambiguous_thousands_separators_stop_naming_the_cell(
    tmp_path: Path, text: str, cell: str
) -> None:
    path = tmp_path / "reader.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        channel_reading(parse_reader(path), "GFP", ["A1"], path)
    assert cell in str(err.value) and "thousands" in str(err.value)


def test_subreads_without_a_mean_are_averaged(tmp_path: Path) -> None:
    rows = [["Label: GFP"], ["Well", "1;1", "1;2", "2;1"], ["A1", 10, 20, 60], ["A2", 5, None, 7]]
    path = tmp_path / "multi.xlsx"
    path.write_bytes(workbook_bytes(rows))
    found = channel_reading(parse_reader(path), "gfp", ["A1", "A2"], path)
    assert found.values.tolist() == [30.0, 6.0]


def test_tidy_kinetic_table_and_the_whole_file_as_one_table(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("Well,Time [min],GFP\nA1,0,10\nA2,0,11\nA1,60,20\nA2,60,21\n")
    readings = parse_reader(path)
    found = channel_reading(readings, "gfp", ["A1", "A2"], path, None, "1 h")
    assert (found.values.tolist(), found.time_s) == ([20.0, 21.0], 3600.0)
    table = tidy_readings(path)
    assert len(table) == 4 and set(table["read"]) == {"0", "60"}


def test_old_xls_and_binary_files_stop_in_one_line(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(200))
    with pytest.raises(InputError, match=r"old binary \.xls workbook; save it as \.xlsx or CSV"):
        parse_reader(xls)
    binary = tmp_path / "reader.csv"
    binary.write_bytes(bytes(range(1, 32)) * 20)
    with pytest.raises(InputError, match="not a text file"):
        parse_reader(binary)


@needs_exports
def test_the_command_keeps_raw_readings_whole_and_says_what_it_read(tmp_path: Path) -> None:
    """`utrflow fluorescence` on a 24-bit xlsx export: signal_raw keeps every digit, the JSON
    names the instrument, the channel and the read."""
    wells = tmp_path / "wells.tsv"
    pd.DataFrame(
        {
            "plate": "P1",
            "well": well_names(96),
            "fwd_barcode": ["".join(b) for b in itertools.product("ACGT", repeat=4)][:96],
            "rev_barcode": "",
        }
    ).to_csv(wells, sep="\t", index=False)
    params = json.dumps({"fluorescence": {"signal": "raw data", "normalize_by": ""}})
    output, summary = tmp_path / "P1.tsv", tmp_path / "P1.json"
    reader = EXPORTS / "bmg_smartcontrol_fi_endpoint.xlsx"
    status = cli.main(
        [
            "fluorescence",
            "--params",
            params,
            "--plate",
            "P1",
            "--reader",
            str(reader),
            "--wells",
            str(wells),
            "--output",
            str(output),
            "--summary",
            str(summary),
        ]
    )
    assert status == 0
    lines = output.read_text().splitlines()
    a1 = dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))
    assert a1["signal_raw"] == "8168026"
    facts = json.loads(summary.read_text())
    assert facts["instrument"] == "BMG Labtech SMART Control"
    assert facts["signal"]["channel"] == "Raw Data (480-14/520-30)"
    assert facts["signal"]["read"] == 1 and facts["saturated_at"] is None
    assert facts["flags"]["saturated"] == 0


def test_exact_columns_keep_every_digit(tmp_path: Path) -> None:
    frame = pd.DataFrame({"signal_raw": [8168026.0, f32(0.0932), np.nan], "label": [1 / 3] * 3})
    io.write_tsv(frame, tmp_path / "t.tsv", exact=("signal_raw",))
    back = pd.read_csv(tmp_path / "t.tsv", sep="\t", float_precision="round_trip")
    assert back["signal_raw"].iloc[:2].tolist() == [8168026.0, f32(0.0932)]
    assert (tmp_path / "t.tsv").read_text().splitlines()[1] == "8168026\t0.333333"


@needs_exports
def test_read_plate_reports_what_it_read() -> None:
    path = EXPORTS / "biotek_synergyhtx_gen5_kinetic_od_gfp.csv"
    settings = FluorescenceSettings(signal="GFP_1", normalize_by="OD600_1", read="2h")
    found = read_plate("P1", layout(["A1", "B1"], ("B1",)), path, settings)
    assert found.details["instrument"] == "Agilent BioTek Gen5 (Synergy HTX)"
    assert found.details["reader_plate"] == "Plate 1"
    assert found.details["signal"] == {
        "channel": "GFP_1:485/20,530/25",
        "wavelengths": [485, 530],
        "loop": 1,
        "read": 12,
        "read_name": "12",
        "reads": 25,
        "time_s": 7020.0,
    }
    assert found.details["normalizer"]["time_s"] == 6977.0


def test_the_plates_sheet_names_each_plates_block_of_a_shared_reader_file(tmp_path: Path) -> None:
    (tmp_path / "r.fastq").write_text("@r\nACGT\n+\nIIII\n")
    (tmp_path / "reader.csv").write_text("plate,well,gfp\nday1,A1,10\nday2,A1,20\n")
    sheet = "plate\treads\tfluorescence\treader_plate\nP1\tr.fastq\treader.csv\tday2\n"
    sheet += "P2\tr.fastq\treader.csv\t1\n"
    (tmp_path / "plates.tsv").write_text(sheet)
    plates = sheets.load_plates(tmp_path / "plates.tsv", tmp_path)
    wells = pd.DataFrame({"plate": ["P1", "P2"], "well": ["A1", "A1"], "role": "sample"})
    settings = {"normalize_by": "", "blank_subtract": False, "log2": False}
    assert reads_setup.check_readers(plates, wells.to_dict("records"), settings, tmp_path) == {
        "P1": "reader.csv",
        "P2": "reader.csv",
    }
    chosen = FluorescenceSettings(**settings)
    values = [
        load_plate(p, wells, tmp_path / "reader.csv", chosen, block)[0]["signal_raw"].iloc[0]
        for p, block in ((row["plate"], row["reader_plate"]) for row in plates)
    ]
    assert values == [20.0, 10.0]
    (tmp_path / "plates.tsv").write_text(sheet.replace("\tday2\n", "\t\n"))
    unnamed = sheets.load_plates(tmp_path / "plates.tsv", tmp_path)
    with pytest.raises(InputError, match="holds 2 plates"):
        reads_setup.check_readers(unnamed, wells.to_dict("records"), settings, tmp_path)


def test_icontrol_kinetic_xlsx_with_one_column_per_cycle(tmp_path: Path) -> None:
    """i-control's kinetic sheet: `Cycle Nr. 1 … 12` (which also reads like a grid header),
    `Time [s]`, `Temp. [°C]`, then one row per well."""
    rows: list[list[object]] = [["Label: OD600"], ["Cycle Nr.", *range(1, 13)]]
    rows.append(["Time [s]", *(600.0 * c for c in range(12))])
    rows.append(["Temp. [°C]", *([37.1] * 12)])
    rows += [[w, *(0.05 + 0.01 * c + i for c in range(12))] for i, w in enumerate(["A1", "A2"])]
    rows += [[], ["End Time:", "1/1/2022 12:00:00"]]
    path = tmp_path / "kinetic.xlsx"
    path.write_bytes(workbook_bytes(rows))
    readings = parse_reader(path)
    found = channel_reading(readings, "OD600", ["A1", "A2"], path, None, "1h")
    assert (found.read_number, found.reads, found.time_s) == (7, 12, 3600.0)
    assert found.values.tolist() == [0.05 + 0.06, 1.05 + 0.06]


def test_a_label_the_file_repeats_stops_only_when_chosen(tmp_path: Path) -> None:
    path = tmp_path / "groups.txt"
    path.write_text(
        "Group: Standards\nWell\tOD\tNote\nA1\t0.5\tx\n\nGroup: Samples\nWell\tOD\nA2\t0.7\n\n"
        "OD600\n\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\n"
        + "".join(f"{r}\t" + "\t".join(["0.1"] * 12) + "\n" for r in "ABCDEFGH")
    )
    readings = parse_reader(path)
    assert channel_reading(readings, "od600", ["A1"], path).values[0] == 0.1
    with pytest.raises(InputError, match=r"channel 'OD' appears more than once in the file"):
        channel_reading(readings, "OD", ["A1"], path)


def softmax_plate(name: str, wavelengths: str, groups: list[tuple[str, float]]) -> list[str]:
    """A SoftMax Pro plate block: the `Plate:` line, a header with one `1..12` run per
    wavelength side by side, then per read 8 rows without row letters (decimal commas)."""
    runs = len(wavelengths.split())
    numbers = [str(c) for c in range(1, 13)]
    header = ["", "Temperature(¡C)", *numbers]
    for _ in range(runs - 1):
        header += ["", *numbers]
    plate = ["Plate:", name, "1.3", "PlateFormat", "Endpoint", "Absorbance", "Raw", "FALSE", "1"]
    plate += ["", "", "", "", "", str(runs), f"{wavelengths} ", "1", "12", "96", "1", "8"]
    lines = ["\t".join(plate), "\t".join(header)]
    for time, base in groups:
        for r in range(8):
            cells = [time if r == 0 else "", "22,5" if r == 0 else ""]
            for w in range(runs):
                values = [f"{base + w + (r * 12 + c) / 1000:.4f}" for c in range(12)]
                cells += [*(v.replace(".", ",") for v in values), ""]
            lines.append("\t".join(cells[:-1]))
        lines.append("")
    return [*lines, "~End"]


def test_softmax_pro_plates_with_wavelengths_side_by_side(tmp_path: Path) -> None:
    """SoftMax Pro (UTF-16): rows without letters, one grid per wavelength in the same rows,
    decimal commas, several plates, a kinetic plate with a time per read, and group tables that
    repeat their column names."""
    lines = ["##BLOCKS= 3"]
    lines += softmax_plate("Plate1", "450 650", [("", 1.0)])
    lines += softmax_plate("Plate2", "600", [("00:00:00", 2.0), ("00:10:00", 3.0)])
    for group in ("Standards", "Samples"):
        lines += [f"Group: {group}", "Sample\tWells\tOD", "01\tA1\t1,000", "", "~End"]
    path = tmp_path / "softmax.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    first = parse_reader(path, "Plate1")
    assert first.instrument == "Molecular Devices SoftMax Pro"
    assert {"Absorbance 450", "Absorbance 650"} <= set(first)
    found = channel_reading(first, "650", ["A1", "H12"], path)
    assert found.values.tolist() == [2.0, 2.095]
    assert channel_reading(first, "absorbance 450", ["B1"], path).values[0] == 1.012
    kinetic = parse_reader(path, "Plate2")
    last = channel_reading(kinetic, "600", ["A2"], path)
    assert (last.values[0], last.read_number, last.reads, last.time_s) == (3.001, 2, 2, 600.0)
    assert channel_reading(kinetic, "600", ["A2"], path, None, "first").values[0] == 2.001


@needs_exports
@pytest.mark.parametrize(
    ("loop", "read", "channel", "a1"),
    [
        ("last", "last", "GFP_5:485/20,530/25", 1443.0),
        ("first", "first", "GFP_1:485/20,530/25", 260.0),
    ],
)
def test_gen5_kinetic_loops_are_chosen_by_fluorescence_loop(
    loop: str, read: str, channel: str, a1: float
) -> None:
    path = EXPORTS / "biotek_synergyhtx_gen5_kinetic_od_gfp.csv"
    found = channel_reading(parse_reader(path), "gfp", ["A1"], path, None, read, loop)
    assert (found.label, found.values[0]) == (channel, a1)
    assert found.describe()["loop"] == int(channel[4]) and found.describe()["wavelengths"] == [
        485,
        530,
    ]
    with pytest.raises(InputError, match=r"fluorescence.loop '9' is not one of them"):
        channel_reading(parse_reader(path), "gfp", ["A1"], path, None, read, "9")
