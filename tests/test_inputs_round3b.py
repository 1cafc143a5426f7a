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
