"""The construct checked against the reads: known answers on simulated plates (right, reversed,
missing, typo'd and absent flanks) and the real nano_tools reads, whose flanks nobody gave."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHARED

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.reads import construct_check
from utrflow.reads.demux import DemuxSettings, Layout, search
from utrflow.sequences import random_sequences, reverse_complement
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

TRUE = RunSimulation()
UP, DOWN = TRUE.upstream_flank, TRUE.downstream_flank


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("plate")
    simulate_run(RunSimulation(n_variants=300, n_plates=1), run)
    return run


def check(run: Path, **construct: str) -> dict:
    given = yaml.safe_load((run / "construct.yaml").read_text()) | construct
    return construct_check.run(
        run / "plates.tsv", run / "wells.tsv", given, DemuxSettings(), Path("/")
    )


def test_right_flanks_pass_and_are_what_the_reads_propose(plate: Path) -> None:
    result = check(plate)
    assert result["status"] == "ok" and result["messages"] == []
    assert result["proposed"] == {"upstream_flank": UP, "downstream_flank": DOWN}
    shares = {e["name"]: e["found_share"] for e in result["elements"]}
    assert shares["upstream_flank"] > 0.95 and shares["downstream_flank"] > 0.95
    assert result["placed_reads"] > 0.8 * result["sampled_reads"]
    json.dumps(result)  # the file the report reads


def test_a_reverse_complemented_flank_stops_with_the_forward_one(plate: Path) -> None:
    result = check(plate, downstream_flank=reverse_complement(DOWN))
    assert result["status"] == "error"
    (line,) = result["messages"]
    assert "reverse-complemented" in line and line.endswith(f"downstream_flank: {DOWN}")
    element = next(e for e in result["elements"] if e["name"] == "downstream_flank")
    assert element["reverse_complement_share"] > 0.95 and element["found_share"] < 0.05
    with pytest.raises(InputError, match="reverse-complemented"):
        construct_check.raise_on_error(result)


def test_a_flank_the_reads_lack_stops_with_the_one_they_hold(plate: Path) -> None:
    result = check(plate, upstream_flank="ACGTTGCAACGTTGCAACGT")
    assert result["status"] == "error"
    (line,) = result["messages"]
    assert "is found in 0% of" in line and line.endswith(f"upstream_flank: {UP}")


def test_one_typo_is_a_warning_naming_the_reads_sequence(plate: Path) -> None:
    typo = UP[:7] + ("A" if UP[7] != "A" else "C") + UP[8:]
    result = check(plate, upstream_flank=typo)
    assert result["status"] == "warning"
    (line,) = result["messages"]
    assert "by 1 edit(s)" in line and line.endswith(f"upstream_flank: {UP}")


def test_no_flanks_given_stops_with_the_simulators_flanks_proposed(plate: Path) -> None:
    result = check(plate, upstream_flank="", downstream_flank="")
    assert result["status"] == "error"
    assert result["proposed"] == {"upstream_flank": UP, "downstream_flank": DOWN}
    assert f"upstream_flank: {UP}, downstream_flank: {DOWN}" in result["messages"][0]


def test_r9_reads_propose_the_same_flanks(tmp_path: Path) -> None:
    simulate_run(RunSimulation(n_variants=200, n_plates=1, error_preset="r9"), tmp_path)
    result = check(tmp_path, upstream_flank="", downstream_flank="")
    assert result["proposed"] == {"upstream_flank": UP, "downstream_flank": DOWN}


def test_reads_that_agree_end_to_end_propose_nothing() -> None:
    amplicon = random_sequences(np.random.default_rng(1), 1, 300, 300)[0]
    assert construct_check.propose([amplicon] * 50) is None


NANO_TOOLS = SHARED / "data" / "ont_nano_tools_dual20"


@pytest.mark.skipif(not NANO_TOOLS.is_dir(), reason="shared real data not present")
def test_real_r10_reads_propose_the_constant_sequence_around_their_variable_part() -> None:
    """nano_tools' 3,319 R10.4.1 reads name no primer and no flank. The check places them by
    their 20-nt barcodes, stops (no flanks), and proposes the constant sequence around the
    stretch where the reads differ: most placed reads hold both proposed flanks in order, the
    bases between them vary in length, and nearly all reads hold each flank exactly."""
    codes = pd.read_csv(NANO_TOOLS / "barcodes_dual_index.csv", header=None,
                        names=["name", "barcode", "end"])  # fmt: skip
    fwd, rev = codes[codes["end"] == "F"], codes[codes["end"] == "R"]
    wells = [
        {
            "plate": "nt",
            "well": f"{'ABCDEFGH'[i]}{j + 1}",
            "fwd_barcode": f,
            "rev_barcode": r,
            "role": "sample",
        }
        for i, f in enumerate(fwd["barcode"])
        for j, r in enumerate(rev["barcode"])
    ]
    (reads,) = NANO_TOOLS.glob("*.fastq.gz")
    group = sheets.ReadGroup("nt", ("nt",), (str(reads),))
    construct = sheets.Construct("", "")
    result = construct_check.check([group], wells, construct, DemuxSettings())
    assert result["status"] == "error" and "no flanks given" in result["messages"][0]
    up, down = result["proposed"]["upstream_flank"], result["proposed"]["downstream_flank"]
    assert (up, down) == ("GGCTGCACCAGG", "GAGTCCGCACAGGGCGGCAT")  # as found this session
    placed, _ = construct_check.place(
        construct_check.sample(group.files),
        construct,
        Layout.from_wells(wells, ("nt",)),
        DemuxSettings(),
    )
    between, close = [], 0
    for seq in placed:
        a, b = search(up, seq, 2), search(down, seq, 4)
        if a[0] >= 0 and b[0] >= 0 and b[1] > a[2]:
            between.append(b[1] - a[2] - 1)
            close += a[0] <= 1 and b[0] <= 1
    assert len(between) > 0.8 * len(placed)
    assert close > 0.5 * len(between)  # R10: each flank within an edit
    assert len({n // 10 for n in between}) >= 3  # the part between them varies


def test_reverse_barcodes_given_as_the_reads_show_them_stop_the_run(
    plate: Path, tmp_path: Path
) -> None:
    """A common slip: the reverse barcodes copied as they read in the amplicon (reverse
    complemented), not 5'->3' as on the primer. Few reads place, and reversed they all do."""
    lines = (plate / "wells.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rev = header.index("rev_barcode")
    flipped = [header]
    for line in lines[1:]:
        cells = line.split("\t")
        cells[rev] = reverse_complement(cells[rev])
        flipped.append(cells)
    (tmp_path / "wells.tsv").write_text("".join("\t".join(c) + "\n" for c in flipped))
    given = yaml.safe_load((plate / "construct.yaml").read_text())
    result = construct_check.run(
        plate / "plates.tsv", tmp_path / "wells.tsv", given, DemuxSettings(), Path("/")
    )
    assert result["status"] == "error"
    assert result["messages"][0].startswith(
        f"wells sheet {tmp_path / 'wells.tsv'}: the rev barcodes read reverse-complemented"
    )
    barcodes = result["elements"][0]
    assert barcodes["name"] == "barcodes" and barcodes["reverse_complement_share"] > 0.8
    assert barcodes["found_share"] < 0.5


def test_a_reverse_complemented_primer_stops_the_run(plate: Path) -> None:
    result = check(plate, fwd_primer=reverse_complement(TRUE.fwd_primer))
    assert result["status"] == "error"
    assert result["messages"][0].startswith("construct.fwd_primer: the fwd primers read reverse")
