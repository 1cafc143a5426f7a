"""Bad input, round 3 continued (#36): swapped barcode columns, reader files naming another
instrument or plate, and a lab's week of habits (re-runs, renamed files, a student's sheet).

Each case runs in-process on tiny files: the start-up checks and the stage functions, no
workflow run.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_bad_inputs import (
    BARCODES,
    DEMUX,
    DEMUX_OUT,
    FASTQ,
    PLATES,
    READER,
    READS,
    WELLS,
    assert_one_line,
    experiment,
    run_cli,
)
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


# --------------------------------------------------------------------------------------------
# A lab's week: re-runs, renamed files, a software update, a student's spreadsheet


def check_config(tmp_path: Path, files: dict, capsys, monkeypatch, config=None):
    experiment(tmp_path, files, config)
    return run_cli(tmp_path, ["check-config"], capsys, monkeypatch)


def second_plate(name: str, reader: str = "reader/p2.csv") -> dict[str, str]:
    """A second plate `name` (own reads, own reader file) beside P1."""
    rows = "".join(line.replace("P1\t", f"{name}\t") + "\n" for line in WELLS.splitlines()[1:])
    return {
        "plates.tsv": PLATES + f"{name}\treads/p2.fastq\t{reader}\n",
        "wells.tsv": WELLS + rows,
        "reads/p2.fastq": FASTQ.replace("@r", "@s"),
        "reader/p2.csv": READER.replace("1200", "2400"),
    }


def wells_xlsx(rows: list[list[object]], merge: str = "") -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


WELL_ROWS = [line.split("\t") for line in WELLS.splitlines()]


STOPS = [
    # found a silent wrong result or a wrong refusal on the old code: see the fixes
    ("plates-differing-only-in-case", second_plate("p1"),
     "plates.tsv: row 3: plate 'p1' differs from plate 'P1' (row 2) only in case: on macOS and "
     "Windows their files under results/ are one"),
    # guards: each stopped with its row on the old code too, and must go on doing so
    ("well-a1-and-a01-both-given",
     {"wells.tsv": WELLS + f"P1\tA01\t{BARCODES[1][0]}\t{BARCODES[0][1]}\tsample\n"},
     "wells.tsv: row 5: well A1 of plate P1 already in row 2"),
    ("zero-width-space-in-a-barcode",
     {"wells.tsv": WELLS.replace(BARCODES[1][0], BARCODES[1][0][:5] + "\u200b"
                                 + BARCODES[1][0][5:])},
     "wells.tsv: row 3: fwd_barcode 'TGCAG\\u200bTACCAGT' has characters other than A, C, G, T"),
    ("plate-name-with-a-space",
     {"plates.tsv": PLATES.replace("P1\t", "Plate 1\t"), "wells.tsv": WELLS.replace("P1\t",
                                                                                  "Plate 1\t")},
     "plates.tsv: row 2: plate name 'Plate 1' may hold only letters"),
    ("wells-sheet-plate-in-other-case", {"wells.tsv": WELLS.replace("P1\tA2", "p1\tA2")},
     "wells.tsv: row 3: plate 'p1' is not in the plates sheet"),
    ("a-totals-row-in-the-wells-sheet", {"wells.tsv": WELLS + "Total\t3\t\t\t\n"},
     "wells.tsv: row 5: '3' is not a well name"),
    ("a-plate-read-twice-in-one-export", {"reader/p1.csv": "Plate ID,P1\n" + READER
                                          + "\nPlate ID,P1\n" + READER.replace("1200", "1500")},
     "reader/p1.csv: channel 'gfp' appears more than once in the file (line 2, then line 8)"),
    ("reads-compressed-as-bz2", {"plates.tsv": PLATES.replace("p1.fastq", "p1.fastq.bz2"),
                                 "reads/p1.fastq.bz2": b"BZh91AY&SY" + b"\0" * 40},
     "reads/p1.fastq.bz2: not FASTQ, FASTA or BAM (first byte b'B')"),
    ("a-gzipped-copy-beside-the-reads", {"plates.tsv": PLATES.replace("reads/p1.fastq",
                                                                      "reads/"),
                                         "reads/p1.fastq.gz": gzip.compress(FASTQ.encode())},
     "reads/p1.fastq.gz: read r0 is also in"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "expect"), [c[1:] for c in STOPS], ids=[c[0] for c in STOPS])
def test_a_labs_week_stops_with_one_line(
    tmp_path: Path, files: dict, expect: str, capsys, monkeypatch
) -> None:
    assert_one_line(*check_config(tmp_path, files, capsys, monkeypatch), expect)


def setup_of(workdir: Path) -> dict:
    from utrflow.preflight import load as load_config
    from utrflow.preflight import reads_setup

    return reads_setup.load_reads_setup(
        load_config(workdir / "config/config.yaml", workdir), workdir
    )


def test_barcodes_written_as_rna_are_read_as_dna(tmp_path: Path) -> None:
    """docs/checks.md promised `U` read as `T`; barcodes stopped (library and reads took it)."""
    clean, rna = tmp_path / "clean", tmp_path / "rna"
    experiment(clean)
    fwd, rev = BARCODES[0][0], BARCODES[1][1]
    as_rna = WELLS.replace(fwd, fwd.replace("T", "U")).replace(rev, rev.lower().replace("t", "u"))
    experiment(rna, {"wells.tsv": as_rna})
    assert setup_of(rna)["wells"] == setup_of(clean)["wells"]


def test_a_plate_column_merged_down_its_rows_is_read_as_shown(tmp_path: Path) -> None:
    """A student merged the plate cells of P1's three rows: only the top one held `P1`, and the
    sheet stopped at row 3 (`plate ''`). Each row takes the merged value now; a title merged
    along a row is left alone."""
    rows = [list(r) for r in WELL_ROWS]
    rows[2][0] = rows[3][0] = None
    clean, merged = tmp_path / "clean", tmp_path / "merged"
    experiment(clean)
    book = wells_xlsx(rows, "A2:A4")
    experiment(merged, {"wells.xlsx": book}, {"wells": "wells.xlsx"})
    assert setup_of(merged)["wells"] == setup_of(clean)["wells"]


@pytest.mark.parametrize(
    "paths",
    [("reads\\p1.fastq", "reader\\p1.csv"), ("reads\\*.fastq", "reader/p1.csv")],
    ids=["windows-separators", "windows-separators-in-a-glob"],
)
def test_a_plates_sheet_saved_on_windows_finds_its_files(
    tmp_path: Path, paths: tuple[str, str]
) -> None:
    """`reads\\p1.fastq` stopped ("reads file not found"); it is reads/p1.fastq."""
    plates = f"plate\treads\tfluorescence\nP1\t{paths[0]}\t{paths[1]}\n"
    experiment(tmp_path, {"plates.tsv": plates})
    (row,) = setup_of(tmp_path)["plates"]
    assert row["files"] == (str(tmp_path / "reads/p1.fastq"),)
    assert row["fluorescence"] == "reader/p1.csv"


def nanopore_fastq(reads: list[str], names: list[str]) -> str:
    return "".join(
        f"@{n} runid=1\n{s}\n+\n{'I' * len(s)}\n" for n, s in zip(names, reads, strict=True)
    )


def rebasecalled(order: slice) -> dict[str, str]:
    """A reads folder holding a run and its re-basecall (same read UUIDs, other bases)."""
    import uuid

    names = [str(uuid.UUID(int=i + 1)) for i in range(len(READS))]
    again = [seq[1:] for seq in READS]  # the new model calls one base fewer
    return {
        "plates.tsv": PLATES.replace("reads/p1.fastq", "reads/"),
        "reads/p1.fastq": nanopore_fastq(READS, names),
        "reads/p1_sup.fastq": nanopore_fastq(again[order], names[order]),
    }


def test_a_rebasecall_beside_the_first_basecall_stops_at_start_up(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """Each molecule would count twice (the copy check compared bases, which a new model
    changes): 0 lines on the old code."""
    expect = "p1_sup.fastq: read 00000000-0000-0000-0000-000000000001 is also in"
    line = assert_one_line(
        *check_config(tmp_path, rebasecalled(slice(None)), capsys, monkeypatch), expect
    )
    assert "the same molecules basecalled twice" in line


def test_a_rebasecall_in_another_order_stops_the_demultiplexing(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    experiment(tmp_path, rebasecalled(slice(None, None, -1)))
    status, lines = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
    assert_one_line(status, lines, "the same molecules basecalled twice")
    assert not list((tmp_path / DEMUX_OUT).glob("*"))


def test_renamed_reads_share_names_but_not_bases_and_pass(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """Guard: reads renamed 1, 2, 3... in each file (not nanopore UUIDs) are not one molecule."""
    files = second_plate("P2")
    files["reads/p2.fastq"] = FASTQ.replace("GATTACA", "GATTAC").replace(
        "I" * len(READS[0]), "I" * (len(READS[0]) - 1)
    )
    assert check_config(tmp_path, files, capsys, monkeypatch)[0] == 0


def reader_table(tmp_path: Path, text: str | bytes, name: str = "reader.csv"):
    """P1's wells A1, A2 (samples) and A3 (blank) read from a reader file of `text`."""
    import pandas as pd

    from utrflow.plates import reader

    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    wells = pd.DataFrame({"plate": "P1", "well": ["A1", "A2", "A3"],
                          "role": ["sample", "sample", "blank"]})  # fmt: skip
    return reader.load_plate("P1", wells, path, reader.FluorescenceSettings())[0]


def labels(tmp_path: Path, text: str | bytes, name: str = "reader.csv") -> dict[str, float]:
    table = reader_table(tmp_path, text, name)
    samples = table[table["role"] == "sample"]
    return dict(zip(samples["well"], samples["label"].round(6), strict=True))


def test_numbers_grouped_by_a_no_break_space_are_read(tmp_path: Path) -> None:
    """A French spreadsheet writes 1200 as `1 200` with a no-break space: it stopped ("not a
    number"); it is 1200."""
    clean = labels(tmp_path, READER)
    for space in ("\u00a0", "\u202f", " "):
        assert labels(tmp_path, READER.replace("1200", f"1{space}200")) == clean


@pytest.mark.parametrize(
    "text",
    [
        READER.replace("A1,", "A01,").replace("A2,", "A02,").replace("A3,", "A03,"),
        READER.replace("A1,", "a1,").replace("A2,", " a2 ,"),
        READER + "Total,2200,0.95\n",  # a student's totals row: no well, no label
        READER + ",,\nMean,733,0.32\n",
        "Gen5 Version,3.14\nReader Type:,Synergy H1\n\n" + READER,  # a software update's header
        "Software Version,3.11\nReader Type:,Synergy H1\n\n" + READER,
        READER.replace("well,", "Well Position,"),
        READER.replace("\n", "\r\n"),
    ],
    ids=["wells-A01", "wells-a1-and-spaces", "totals-row", "blank-then-mean-row",
         "gen5-new-header", "gen5-old-header", "well-position-header", "crlf"],
)  # fmt: skip
def test_a_reader_file_as_the_week_wrote_it_gives_the_same_labels(
    tmp_path: Path, text: str
) -> None:
    assert labels(tmp_path, text) == labels(tmp_path, READER, "clean.csv")


def test_a_workbook_renamed_csv_and_a_csv_renamed_xlsx_are_read_by_their_content(
    tmp_path: Path,
) -> None:
    book = workbook({"Sheet1": [["well", "gfp", "od600"], ["A1", 1200, 0.5], ["A2", 900, 0.4],
                                ["A3", 100, 0.05]]})  # fmt: skip
    clean = labels(tmp_path, READER, "clean.csv")
    assert labels(tmp_path, book, "renamed.csv") == clean
    assert labels(tmp_path, READER, "renamed.xlsx") == clean


@pytest.mark.parametrize(
    ("name", "data"),
    [("p1.fastq", gzip.compress(FASTQ.encode())), ("p1.fastq.gz", FASTQ.encode()),
     ("p1.fastq.gz", gzip.compress(FASTQ[: len(FASTQ) // 2].encode())
      + gzip.compress(FASTQ[len(FASTQ) // 2 :].encode()))],
    ids=["gzipped-without-gz", "plain-named-gz", "two-gzip-members"],
)  # fmt: skip
def test_reads_gzipped_or_not_whatever_their_name_give_the_same_reads(
    tmp_path: Path, name: str, data: bytes
) -> None:
    from utrflow.reads.files import iter_reads

    (tmp_path / "clean.fastq").write_text(FASTQ)
    (tmp_path / name).write_bytes(data)
    assert list(iter_reads(str(tmp_path / name))) == list(iter_reads(str(tmp_path / "clean.fastq")))


def test_hidden_whitespace_in_the_wells_sheet_is_read_as_none(tmp_path: Path) -> None:
    clean, hidden = tmp_path / "clean", tmp_path / "hidden"
    experiment(clean)
    experiment(hidden, {"wells.tsv": WELLS.replace("P1\tA2\t", "P1\u00a0\tA2\u00a0\t")
                        .replace("blank", "Blank ") + "\t\t\t\t\n"})  # fmt: skip
    assert setup_of(hidden)["wells"] == setup_of(clean)["wells"]


def as_csv(text: str) -> str:
    return text.replace("\t", ",")


@pytest.mark.parametrize(
    "wells",
    [
        "Plate layout, week 49\n\n" + WELLS,
        as_csv("Plate layout, week 49 (Anna)\n" + WELLS),
        "sep=,\n" + as_csv(WELLS),
        "sep=\t\n" + WELLS,
        wells_xlsx([["Plate layout week 49"], [], *WELL_ROWS], merge="A1:E1"),
    ],
    ids=["title-above-tsv", "title-with-comma-above-csv", "excel-sep-line", "excel-sep-tab",
         "xlsx-title-merged-across"],
)  # fmt: skip
def test_a_title_above_the_header_is_skipped(tmp_path: Path, wells: str | bytes) -> None:
    """A student's sheet with a title row stopped: "missing column(s) plate, well, fwd_barcode
    (has: plate_layout_week_49)"; Excel's `sep=,` first line did too."""
    clean, titled = tmp_path / "clean", tmp_path / "titled"
    experiment(clean)
    name = "wells.xlsx" if isinstance(wells, bytes) else "wells.tsv"
    experiment(titled, {name: wells}, {"wells": name})
    assert setup_of(titled)["wells"] == setup_of(clean)["wells"]


def test_a_well_written_with_a_dash_stops_naming_its_row(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    files = {"wells.tsv": WELLS.replace("\tA2\t", "\tA-2\t")}
    expect = "wells.tsv: row 3: 'A-2' is not a well name"
    assert_one_line(*check_config(tmp_path, files, capsys, monkeypatch), expect)


def test_a_well_without_its_od_is_flagged_not_labelled(tmp_path: Path) -> None:
    a2 = reader_table(tmp_path, READER.replace("0.4", "")).set_index("well").loc["A2"]
    assert a2["label"] != a2["label"] and a2["flags"] == "no_fluorescence"  # NaN, said


def test_a_wells_sheet_placing_few_reads_is_a_warning_not_ok(plate: Path, tmp_path: Path) -> None:
    """Most rev barcodes from another kit: 8 % of the reads placed, enough to judge the flanks,
    and the check said `ok` without a word; now a warning naming the sheet."""
    lines = [line.split("\t") for line in (plate / "wells.tsv").read_text().splitlines()]
    rev = lines[0].index("rev_barcode")
    codes = sorted({cells[rev] for cells in lines[1:]})
    other = dict(zip(codes[1:], design_barcodes(np.random.default_rng(3), 11, 12, 5), strict=True))
    for cells in lines[1:]:
        cells[rev] = other.get(cells[rev], cells[rev])
    (tmp_path / "wells.tsv").write_text("".join("\t".join(c) + "\n" for c in lines))
    result = check_sheet(plate, tmp_path / "wells.tsv")
    assert result["status"] == "warning"
    (line,) = result["messages"]
    assert line.startswith(f"wells sheet {tmp_path / 'wells.tsv'}: only ")
    assert "place in a well by their barcodes, reversed or swapped no better" in line
    assert 20 <= result["placed_reads"] < 0.25 * result["sampled_reads"]
