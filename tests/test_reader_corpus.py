"""A corpus of real plate-reader exports from public repositories (tests/data/plate_readers/,
each file unmodified, its source and licence beside it): reference wells read right, summary
blocks never offered as channels, and files whose labels could mean two things stop.

Reference values (`reference.tsv`) come from the source's own parser where it has one (the
expected Allotrope JSON of allotropy's tests: `truth` names it) and otherwise were read off the
file by line and column without this package (`truth` says where)."""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from pathlib import Path

import pytest

from utrflow.errors import InputError
from utrflow.plates.channels import channel_reading
from utrflow.plates.exports import read_export
from utrflow.plates.reader import PlateReadings, check_reader_wells, parse_reader

CORPUS = Path(__file__).parent / "data" / "plate_readers"


def _reference() -> dict[str, list[dict[str, str]]]:
    with open(CORPUS / "reference.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    by_file: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_file[row["file"]].append(row)
    return by_file


REFERENCE = _reference()
FILES = sorted(
    str(p.relative_to(CORPUS))
    for p in CORPUS.rglob("*")
    if p.is_file() and not p.name.startswith(("LICENSE", "SOURCE")) and p.name != "reference.tsv"
)


@functools.cache
def _plate(name: str, plate: str) -> PlateReadings:
    return parse_reader(CORPUS / name, plate)


def test_the_corpus_holds_thirty_real_files_with_their_sources() -> None:
    assert len(FILES) >= 30
    assert sum((CORPUS / f).stat().st_size for f in FILES) < 2_000_000
    for name in FILES:
        folder = (CORPUS / name).parent
        source = (folder / "SOURCE.md").read_text()
        assert f"`{Path(name).name}`" in source, name
        assert any(folder.glob("LICENSE_*")), name
        assert name in REFERENCE or name in STOPS, f"{name}: no reference wells"


# Real files in a shape not read: they stop with one line, never offer what is around the data
STOPS = {
    # Magellan kinetic: wells as rows, seven reads side by side, four groups a row; its only
    # grid is the substrate concentrations, which must not be read as a channel
    "tecan_magellan/magellan.xlsx": "set aside as summaries or layouts: "
    "'Substrate concentrations [mM]'",
}


@pytest.mark.parametrize(("name", "said"), sorted(STOPS.items()))
def test_a_file_in_a_shape_not_read_stops_with_one_line(name: str, said: str) -> None:
    with pytest.raises(InputError) as err:
        read_export(CORPUS / name)
    assert said in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_wells_are_read_as_the_file_holds_them(name: str) -> None:
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for row in REFERENCE[name]:
        groups[(row["reader_plate"], row["channel"], row["read"])].append(row)
    for (plate, channel, read), rows in groups.items():
        readings = _plate(name, plate)
        wells = [r["well"] for r in rows]
        found = channel_reading(readings, channel, wells, CORPUS / name, None, read)
        assert found.label == channel
        expected = [float(r["value"]) for r in rows]
        assert found.values.tolist() == pytest.approx(expected, rel=1e-12, abs=0), (plate, read)


INSTRUMENTS = {
    "biotek_gen5/alphalisa_test_2.txt": "Agilent BioTek Gen5 (Cytation5)",
    "biotek_gen5/20220929_1steptimer20.csv": "Agilent BioTek Gen5 (Synergy HTX)",
    "softmax_pro/MD_SMP_absorbance_endpoint_example04.txt": "Molecular Devices SoftMax Pro",
    "perkinelmer_envision/PE_Envision_absorbance_A450_example.csv": "PerkinElmer EnVision",
    "bmg_mars/PHERAstar output file.CSV": "BMG Labtech MARS",
    "bmg_smart_control/fluroescence_endpoint_example1.xlsx": "BMG Labtech SMART Control",
    "thermo_skanit/multi-plate_example01.xlsx": "Thermo SkanIt",
    "revvity_kaleido/fluorescence_v3.5_pure_csv_format_example.csv": "Revvity Kaleido (EnSight)",
    "tecan_icontrol/time_series_single_reads.xlsx": "Tecan i-control (infinite 200Pro)",
    "tecan_magellan/SLA01P01_ELISA.xlsx": "Tecan Magellan",
    "tecan_spark/tekan_spark_endpoint.xlsx": "Tecan SparkControl (Spark)",
    "perkinelmer_envision/PE_Envision_luminescence_example01.csv": "PerkinElmer EnVision",
}


@pytest.mark.parametrize(("name", "instrument"), sorted(INSTRUMENTS.items()))
def test_the_software_that_wrote_the_file_is_named(name: str, instrument: str) -> None:
    assert read_export(CORPUS / name).instrument == instrument


# file -> plate -> the channels offered, exactly: statistics, standards' concentrations and
# layouts of sample names around the readings are not among them
CHANNELS = {
    "softmax_pro/MD_SMP_absorbance_endpoint_example04.txt": (
        "BNCH_69983542_96w",
        {"Absorbance 280", "Absorbance 450", "Absorbance 562"},
    ),
    "softmax_pro/group_cols_with_int_sample_names.txt": ("Plate1", {"Absorbance 450"}),
    "biotek_gen5/endpoint_stdcurve_singleplate.txt": (
        "Plate 1",
        {"630nmAbsRead:630", "Blank 630nmAbsRead:630"},
    ),
    "bmg_smart_control/fluroescence_endpoint_example1.xlsx": (
        "",
        {"Raw Data (480-14/520-30)", "Blank corrected based on Raw Data (480-14/520-30)"},
    ),
    "thermo_skanit/skanit_different_plate_pattern.xlsx": ("Sample Plate", {"Abs:260"}),
    "perkinelmer_envision/PE_Envision_absorbance_A450_example.csv": (
        "2",
        {"A450(1) - channel 1 (A)"},
    ),
    # Magellan: `0s`/`24.8 °C` rows under the header and a `Label1=535` legend are not channels
    "tecan_magellan/SLA01P01_assay.xlsx": ("", {"Label1", "Label2"}),
}


def test_a_plate_read_on_a_row_pattern_keeps_the_rows_the_file_names() -> None:
    """EnVision's 384-well luminescence file holds rows A, E, I and M only: they are read as
    those rows (allotropy's expected output numbers them A-D), and a layout well on a row the
    file leaves out stops the run rather than reading another row's value."""
    name = "perkinelmer_envision/PE_Envision_luminescence_example01.csv"
    readings = _plate(name, "1")
    channel = readings["0_1 US LUM 384(1) - channel 0 (CPS)"]
    assert {w[0] for w in channel.reads[0].cells} == set("AEIM")
    assert channel.plate_format == 384
    with pytest.raises(InputError) as err:
        check_reader_wells(readings, ["A1", "B1"], CORPUS / name)
    assert "missing from the plate-reader file: B1" in str(err.value)


@pytest.mark.parametrize(("name", "plate", "channels"), [(k, *v) for k, v in CHANNELS.items()])
def test_summary_and_layout_blocks_are_never_channels(
    name: str, plate: str, channels: set[str]
) -> None:
    export = read_export(CORPUS / name)
    assert set(export.plates[plate]) == channels


def test_softmax_group_tables_are_noted_as_summaries() -> None:
    export = read_export(CORPUS / "softmax_pro/MD_SMP_absorbance_endpoint_example04.txt")
    assert any("Group:" in s for s in export.summaries)
    assert list(export.plates) == ["BNCH_69983542_96w", "BNCH_65245083_96w", "BNCH_79071824_96w"]


@pytest.mark.parametrize(
    ("name", "plate", "channel", "message"),
    [
        (  # the same wavelengths read twice on one plate: which one?
            "softmax_pro/fl_kinetic_plates.txt",
            "Plate1",
            "485/525",
            "'Fluorescence 485/525 #1', 'Fluorescence 485/525 #2'",
        ),
        (  # two Gen5 kinetic loops of OD600
            "biotek_gen5/20220929_1steptimer20.csv",
            "Plate 1",
            "od600",
            "read in 2 kinetic loops (OD600_1:600, OD600_2:600); which one?",
        ),
        (  # five plates of the same two channels: the plate is not said
            "thermo_skanit/multi-plate_example01.xlsx",
            "",
            "Abs:280",
            "holds 5 plates ('Plate 1', 'Plate 2', 'Plate 3', 'Plate 4', 'Plate 5')",
        ),
    ],
)
def test_labels_that_could_mean_two_things_stop_with_the_key_that_decides(
    name: str, plate: str, channel: str, message: str
) -> None:
    with pytest.raises(InputError) as err:
        channel_reading(parse_reader(CORPUS / name, plate), channel, ["A1"], CORPUS / name)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "asked", "label", "value"),
    [
        ("tecan_magellan/SLA01P01_ELISA.xlsx", "485", "Label1", 1.0787),
        ("tecan_magellan/SLA01P01_ELISA.xlsx", "560", "Label2", 0.0657),
        ("tecan_magellan/SLA01P01_assay.xlsx", "700", "Label2", 0.0914),
    ],
)
def test_magellan_labels_take_their_wavelengths_from_the_footer_in_order(
    name: str, asked: str, label: str, value: float
) -> None:
    """`Measurement 1:` ... `Measurement wavelength: 485 nm` names Label1's wavelength, so a lab
    can ask for the wavelength (allotropy's expected output ties them the same way)."""
    well = "F16" if "ELISA" in name else "P24"
    found = channel_reading(_plate(name, ""), asked, [well], CORPUS / name)
    assert found.label == label and found.values.tolist() == [value]
