"""Bad input, round 3 continued (#36): swapped barcode columns, reader files naming another
instrument or plate, and a lab's week of habits (re-runs, renamed files, a student's sheet).

Each case runs in-process on tiny files: the start-up checks and the stage functions, no
workflow run.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_bad_inputs import READER, assert_one_line, experiment, run_cli
from test_inputs_round3 import tidy_rows, two_plates, workbook

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.reads import construct_check
from utrflow.reads.demux import Demultiplexer, DemuxSettings, Layout
from utrflow.reads.files import iter_reads
from utrflow.sequences import random_sequences, reverse_complement
from utrflow.simulate.barcodes import design_barcodes
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

# --------------------------------------------------------------------------------------------
# Swapped fwd/rev barcode columns: the construct check runs the real demultiplexer on a sample


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("plate")
    simulate_run(RunSimulation(n_variants=300, n_plates=1), run)
    return run


def swap_columns(path: Path, out: Path) -> Path:
    """The wells sheet with its fwd_barcode and rev_barcode columns exchanged."""
    lines = [line.split("\t") for line in path.read_text().splitlines()]
    f, r = lines[0].index("fwd_barcode"), lines[0].index("rev_barcode")
    for cells in lines[1:]:
        cells[f], cells[r] = cells[r], cells[f]
    out.write_text("".join("\t".join(cells) + "\n" for cells in lines))
    return out


def check_sheet(run: Path, wells: Path, **construct: str) -> dict:
    given = yaml.safe_load((run / "construct.yaml").read_text()) | construct
    return construct_check.run(run / "plates.tsv", wells, given, DemuxSettings(), Path("/"))


@pytest.mark.parametrize("primers", ["given", "none"])
def test_swapped_barcode_columns_stop_naming_the_sheet_and_the_fix(
    plate: Path, tmp_path: Path, primers: str
) -> None:
    """With primers, the swapped sheet placed 23 of 3000 reads and the check said `ok`; without
    them every read placed on the wrong strand and the check asked for reverse-complemented
    flanks (which would still give no UTR). Now one line names the sheet and the fix."""
    construct = {} if primers == "given" else {"fwd_primer": "", "rev_primer": ""}
    right = check_sheet(plate, plate / "wells.tsv", **construct)
    assert right["status"] == "ok" and "swapped_barcode_columns" not in right
    swapped = swap_columns(plate / "wells.tsv", tmp_path / "wells.tsv")
    result = check_sheet(plate, swapped, **construct)
    assert result["status"] == "error" and result["swapped_barcode_columns"] is True
    (line,) = result["messages"]
    assert line.startswith(f"wells sheet {swapped}: the fwd_barcode and rev_barcode columns")
    assert line.endswith("(fwd_barcode is the barcode on the forward primer)")
    assert "exchange the fwd_barcode and rev_barcode columns" in line
    with pytest.raises(InputError, match="columns are swapped"):
        construct_check.raise_on_error(result)


UP, DOWN = "GTCCTAGGTATAATGCTAGC", "ATGCGTAAAGGAGAAGAACT"
FWD, REV = "TGCCACCTGACGTCTAAGAA", "CTTCACCCTCTCCACTGACAGA"


def shared_set_run(tmp_path: Path) -> tuple[list[sheets.Row], sheets.ReadGroup, dict]:
    """Eight rows x twelve columns whose two ends draw on one set of twelve barcodes (row i:
    barcode i, column j: barcode j), 12 error-free reads a well, half of them reversed; the
    sheet written with the two columns swapped. Returns the swapped rows, the group and each
    read's true well."""
    rng = np.random.default_rng(7)
    codes = design_barcodes(rng, 12, 12, 5)
    wells, truth, records = [], {}, []
    for i in range(8):
        for j in range(12):
            well = f"{'ABCDEFGH'[i]}{j + 1}"
            wells.append({"plate": "P1", "well": well, "fwd_barcode": codes[j],
                          "rev_barcode": codes[i], "role": "sample"})  # fmt: skip
            for n, utr in enumerate(random_sequences(rng, 12, 40, 60)):
                pad = random_sequences(rng, 2, 8, 8)
                amplicon = codes[i] + FWD + UP + utr + DOWN + reverse_complement(codes[j] + REV)
                seq = pad[0] + (amplicon if n % 2 else reverse_complement(amplicon)) + pad[1]
                name = f"r{i}_{j}_{n}"
                truth[name] = well
                records.append(f">{name}\n{seq}\n")
    (tmp_path / "reads.fasta").write_text("".join(records))
    group = sheets.ReadGroup("P1", ("P1",), (str(tmp_path / "reads.fasta"),))
    return wells, group, truth


def test_swapped_columns_of_one_barcode_set_no_longer_fill_mirrored_wells(
    tmp_path: Path,
) -> None:
    """Where both ends draw on one barcode set, the demultiplexer reads a swapped sheet without
    a miss: A2's reads (row barcode 0, column barcode 1) go to B1, two thirds of the reads to
    the mirrored well, and the check passed (2 of 3 reads placed). It stops now."""
    wells, group, truth = shared_set_run(tmp_path)
    construct = sheets.Construct(FWD, REV, UP, DOWN)
    layout = Layout.from_wells(wells, ("P1",))
    demux = Demultiplexer(construct, layout, DemuxSettings())
    landed: dict[str, str] = {}
    for name, seq, *_ in iter_reads(group.files[0]):
        call = demux.classify(seq)
        if call.status == "assigned":
            landed[name] = layout.wells[call.well][1]
    assert landed["r0_1_0"] == "B1" and landed["r1_0_0"] == "A2"  # silent: the mirrored well
    wrong = sum(landed[n] != truth[n] for n in landed)
    assert wrong >= 56 * 12 * 0.95 and wrong > 0.5 * len(truth)  # 56 mirrored wells of 96
    result = construct_check.check([group], wells, construct, DemuxSettings(), sheet="w.tsv")
    assert result["status"] == "error"
    assert result["messages"][0].startswith("w.tsv: the fwd_barcode and rev_barcode columns")
    assert re.search(r": 11\d\d of 1152 sampled reads give a UTR", result["messages"][0])
    unswapped = [
        {**row, "fwd_barcode": row["rev_barcode"], "rev_barcode": row["fwd_barcode"]}
        for row in wells
    ]
    fixed = construct_check.check([group], unswapped, construct, DemuxSettings())
    assert fixed["status"] == "ok", fixed["messages"]


# --------------------------------------------------------------------------------------------
# A reader file's instrument, and a workbook sheet's own plate name, against plates.tsv

GEN5 = "Software Version,3.11.19\nReader Type:,Synergy H1\n\n" + READER
SPARK = "Application: Tecan SparkControl,3.1\nDevice: Spark\n\n" + READER


def one_plate(reader: str, instrument: str) -> dict[str, str]:
    return {
        "plates.tsv": "plate\treads\tfluorescence\tinstrument\n"
        f"P1\treads/p1.fastq\treader/p1.csv\t{instrument}\n",
        "reader/p1.csv": reader,
    }


@pytest.mark.parametrize(
    ("reader", "instrument", "expect"),
    [
        (GEN5, "Spark", "the file was written by Agilent BioTek Gen5 (Synergy H1) (Agilent "
         "BioTek), but plates.tsv gives plate 'P1' instrument 'Spark' (Tecan)"),
        (SPARK, "CLARIOstar Plus", "(Tecan), but plates.tsv gives plate 'P1' instrument "
         "'CLARIOstar Plus' (BMG Labtech)"),
    ],
    ids=["gen5-file-for-a-spark-plate", "sparkcontrol-file-for-a-clariostar-plate"],
)  # fmt: skip
def test_a_reader_file_of_another_instrument_stops(
    tmp_path: Path, reader: str, instrument: str, expect: str, capsys, monkeypatch
) -> None:
    experiment(tmp_path, one_plate(reader, instrument))
    line = assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)
    assert "reader/p1.csv: the file was written by" in line


@pytest.mark.parametrize(
    ("reader", "instrument"),
    [(GEN5, "Gen5"), (GEN5, "BioTek Synergy H1"), (SPARK, "tecan spark 10M"),
     (SPARK, "the green one"), (READER, "Spark"), (GEN5, "")],
    ids=["same-software", "the-reader-model", "spark-lowercase", "a-nickname-is-not-judged",
         "a-file-naming-no-software", "no-instrument-given"],
)  # fmt: skip
def test_a_reader_file_of_the_named_instrument_passes(
    tmp_path: Path, reader: str, instrument: str, capsys, monkeypatch
) -> None:
    experiment(tmp_path, one_plate(reader, instrument))
    status, lines = run_cli(tmp_path, ["check-config"], capsys, monkeypatch)
    assert status == 0, lines


def test_a_workbook_sheet_naming_another_plate_stops(tmp_path: Path, capsys, monkeypatch) -> None:
    """Sheet P1 holds `Plate ID: P2` and sheet P2 `Plate ID: P1` (tabs renamed): each plate read
    the other's readings without a word."""
    book = workbook({"P1": [["Plate ID", "P2"], [], *tidy_rows(2400)],
                     "P2": [["Plate ID", "P1"], [], *tidy_rows(1200)]})  # fmt: skip
    experiment(
        tmp_path, {**two_plates("reader/book.xlsx", "reader/book.xlsx"), "reader/book.xlsx": book}
    )
    expect = (
        "reader/book.xlsx: sheet 'P1' names its plate 'P2' (its own metadata), which is plate "
        "'P2' of plates.tsv, but it is read for plate 'P1'"
    )
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


@pytest.mark.parametrize(
    ("ids", "blocks"),
    [(("P1", "P2"), ("", "")), (("Plate 1", "Plate 2"), ("", "")), (("P2", "P1"), ("P2", "P1"))],
    ids=["own-plate-ids", "the-softwares-default-names", "reader-plate-names-the-sheet"],
)
def test_a_workbook_sheet_naming_its_own_plate_passes(
    tmp_path: Path, ids: tuple[str, str], blocks: tuple[str, str], capsys, monkeypatch
) -> None:
    book = workbook({"P1": [["Plate ID", ids[0]], [], *tidy_rows(2400)],
                     "P2": [["Plate ID", ids[1]], [], *tidy_rows(1200)]})  # fmt: skip
    files = two_plates("reader/book.xlsx", "reader/book.xlsx", blocks)
    experiment(tmp_path, {**files, "reader/book.xlsx": book})
    status, lines = run_cli(tmp_path, ["check-config"], capsys, monkeypatch)
    assert status == 0, lines
