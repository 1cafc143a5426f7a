"""Demultiplexing: known-answer reads, every status, both strands, IUPAC primers, and the
accuracy targets against the run simulator's truth."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SHARED

from utrflow import cli, sequences, sheets
from utrflow.errors import InputError
from utrflow.reads import barcodes, demux
from utrflow.sequences import reverse_complement, single_edits
from utrflow.simulate.barcodes import design_barcodes
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

FWD_PRIMER = "TGCCACCTGACGTCTAAGAA"
REV_PRIMER = "CTTCACCCTCTCCACTGACAGA"
UP = "GTCCTAGGTATAATGCTAGC"
DOWN = "ATGCGTAAAGGAGAAGAACT"
FWD_BARCODES = ["ACGTTGCAGTCA", "TGCAGTACCAGT"]
REV_BARCODES = ["GATCCTAGGACT", "CTAGTCAGTGAC"]
UTR = "AGGAGGTTTCACATGCCAACTTTAGCAGATTCGA"
RNG = np.random.default_rng(0)


def junk(n: int) -> str:
    return "".join(RNG.choice(list("ACGT"), n))


def amplicon(fwd: str, rev: str, utr: str = UTR, fwd_primer: str = FWD_PRIMER) -> str:
    return (
        fwd
        + fwd_primer
        + "GAATTCGCGGCCGCTTCTAG"
        + UP
        + utr
        + DOWN
        + "TTTCACTGGAGTTGTCCCAATTC"
        + reverse_complement(REV_PRIMER)
        + reverse_complement(rev)
    )


def read(fwd: int, rev: int, utr: str = UTR) -> str:
    return junk(15) + amplicon(FWD_BARCODES[fwd], REV_BARCODES[rev], utr) + junk(10)


def layout(
    pairs: list[tuple[int, int]] | None = None,
    fwd: list[str] = FWD_BARCODES,
    rev: list[str] = REV_BARCODES,
) -> demux.Layout:
    """Plate P1 with well A{i + 1} for the i-th (forward, reverse) barcode pair."""
    pairs = pairs if pairs is not None else [(0, 0), (0, 1), (1, 0), (1, 1)]
    wells = pd.DataFrame(
        {
            "plate": "P1",
            "well": [f"A{i + 1}" for i in range(len(pairs))],
            "fwd_barcode": [fwd[f] for f, _ in pairs],
            "rev_barcode": [rev[r] for _, r in pairs],
            "role": "sample",
        }
    )
    return demux.Layout.from_wells(wells.to_dict("records"), ["P1"])


CONSTRUCT = sheets.Construct(FWD_PRIMER, REV_PRIMER, UP, DOWN)


@pytest.fixture
def demultiplexer() -> demux.Demultiplexer:
    return demux.Demultiplexer(CONSTRUCT, layout(), demux.DemuxSettings())


def well_of(d: demux.Demultiplexer, call: demux.Call) -> str:
    return d.layout.wells[call.well][1]


def test_read_and_its_reverse_complement_get_the_same_well_and_region(demultiplexer) -> None:
    seq = read(1, 0)
    forward = demultiplexer.classify(seq)
    backward = demultiplexer.classify(reverse_complement(seq))
    assert forward.status == backward.status == "assigned"
    assert well_of(demultiplexer, forward) == well_of(demultiplexer, backward) == "A3"
    assert (forward.strand, backward.strand) == ("+", "-")
    assert forward.region == backward.region == UTR
    assert forward.fwd_distance == forward.rev_distance == 0


def test_errors_in_barcodes_primers_and_flanks_are_tolerated(demultiplexer) -> None:
    seq = read(0, 1)
    # one substitution in the forward barcode, a deletion in the primer, one in a flank
    i_bc = seq.index(FWD_BARCODES[0]) + 4
    seq = seq[:i_bc] + ("A" if seq[i_bc] != "A" else "C") + seq[i_bc + 1 :]
    i_pr = seq.index(FWD_PRIMER[:10]) + 5
    seq = seq[:i_pr] + seq[i_pr + 1 :]
    i_up = seq.index(UP) + 8
    seq = seq[:i_up] + seq[i_up + 1 :]
    call = demultiplexer.classify(seq)
    assert call.status == "assigned" and well_of(demultiplexer, call) == "A2"
    assert call.fwd_distance == 1
    assert call.region == UTR


def test_iupac_primer_matches_any_of_its_bases() -> None:
    degenerate = FWD_PRIMER[:5] + "R" + FWD_PRIMER[6:]  # R = A or G
    construct = sheets.Construct(degenerate, REV_PRIMER, UP, DOWN)
    d = demux.Demultiplexer(construct, layout(), demux.DemuxSettings(max_primer_error=0.0))
    for base in "AG":
        primer = FWD_PRIMER[:5] + base + FWD_PRIMER[6:]
        seq = junk(10) + amplicon(FWD_BARCODES[0], REV_BARCODES[0], fwd_primer=primer) + junk(5)
        assert d.classify(seq).status == "assigned"
        assert d.classify(reverse_complement(seq)).status == "assigned"  # searched in the tail
        # two amplicons joined head to tail are still told apart as one chimera
        assert d.classify(seq + seq).status == "chimera"
    assert demux.equalities_for(FWD_PRIMER) is None  # plain primers skip edlib's costly list
    assert demux.equalities_for(degenerate) is demux.EQUALITIES
    primer = FWD_PRIMER[:5] + "C" + FWD_PRIMER[6:]
    seq = junk(10) + amplicon(FWD_BARCODES[0], REV_BARCODES[0], fwd_primer=primer) + junk(5)
    assert d.classify(seq).status != "assigned"


@pytest.mark.parametrize("length, min_distance", [(8, 3), (12, 4), (24, 6)])
def test_look_ups_call_reads_with_up_to_one_barcode_error_as_the_alignments_do(
    length: int, min_distance: int
) -> None:
    """Known answer: a barcode read exactly, with any one error (a base changed, lost or
    gained) or with two (some of which are one error from another barcode) is called by the
    look-up tables just as by aligning every barcode, on either strand; the look-ups really
    are used."""
    rng = np.random.default_rng(length)
    fwd, rev = (design_barcodes(rng, n, length, min_distance) for n in (8, 12))
    plate = layout([(f, r) for f in range(8) for r in range(12)], fwd, rev)
    looked_up = demux.Demultiplexer(CONSTRUCT, plate, demux.DemuxSettings())
    aligned = demux.Demultiplexer(CONSTRUCT, plate, demux.DemuxSettings())
    for end in (aligned.fwd_end, aligned.rev_end):
        end.exact, end.exact_lengths, end.one_edit, end.one_edit_lengths = {}, [], {}, []
    assert looked_up.fwd_end.one_edit and looked_up.rev_end.one_edit
    by_look_up = 0
    for f in (0, 5):
        one = sorted(single_edits(fwd[f]))
        two = sorted({b for a in one for b in single_edits(a)} - set(one) - {fwd[f]})
        picked = rng.choice(len(two), 300, replace=False)
        for barcode in [fwd[f], *one, *(two[i] for i in picked)]:
            seq = junk(15) + amplicon(barcode, rev[3]) + junk(10)
            for strand in (seq, reverse_complement(seq)):
                a, b = looked_up.classify(strand), aligned.classify(strand)
                assert (a.status, a.well, a.strand, a.fwd_distance, a.rev_distance, a.region) == (
                    b.status,
                    b.well,
                    b.strand,
                    b.fwd_distance,
                    b.rev_distance,
                    b.region,
                ), barcode
                if barcode == fwd[f] or barcode in one:
                    assert a.status == "assigned"
                    assert plate.wells[a.well] == ("P1", f"A{f * 12 + 4}")
                # a look-up reports a lower bound of the runner-up's distance
                assert a.fwd_second <= b.fwd_second
                by_look_up += a.fwd_second < b.fwd_second
    assert by_look_up > 0


def test_every_failure_gets_its_own_status(demultiplexer) -> None:
    full = read(0, 0)
    assert demultiplexer.classify(full[:40]).status == "too_short"
    assert demultiplexer.classify(junk(300)).status == "no_barcode"
    # truncated: the far end is lost
    assert demultiplexer.classify(full[: len(full) // 2]).status == "one_end"
    # two amplicons joined, in either orientation of the second
    for second in (read(1, 1), reverse_complement(read(1, 1))):
        assert demultiplexer.classify(full + second).status == "chimera"
    # a designed pair missing from the layout
    partial = demux.Demultiplexer(CONSTRUCT, layout([(0, 0), (1, 1)]), demux.DemuxSettings())
    assert partial.classify(read(0, 1)).status == "pair_not_in_layout"


def test_barcode_too_close_to_two_candidates_is_ambiguous() -> None:
    near = ["ACGTTGCAGTCA", "ACGTTGCTGTCA"]  # one substitution apart
    wells = pd.DataFrame(
        {
            "plate": "P1",
            "well": ["A1", "A2"],
            "fwd_barcode": near,
            "rev_barcode": REV_BARCODES[0],
        }
    )
    d = demux.Demultiplexer(
        CONSTRUCT, demux.Layout.from_wells(wells.to_dict("records"), ["P1"]), demux.DemuxSettings()
    )
    between = "ACGTTGCGGTCA"  # one from each
    seq = junk(12) + amplicon(between, REV_BARCODES[0]) + junk(8)
    assert d.classify(seq).status == "ambiguous"


def test_one_end_suffices_when_it_names_a_single_well() -> None:
    pairs = [(0, 0), (1, 0)]  # a shared reverse barcode, as in the minibar data
    lenient = demux.Demultiplexer(
        CONSTRUCT, layout(pairs), demux.DemuxSettings(require_both_ends=False)
    )
    seq = read(1, 0)
    head_only = seq[: len(seq) // 2]
    call = lenient.classify(head_only)
    assert call.status == "assigned" and well_of(lenient, call) == "A2"
    tail_only = seq[len(seq) // 2 :]  # only the shared reverse barcode: cannot tell
    assert lenient.classify(tail_only).status == "one_end"


MIXED_FWD = ["ACGTTGCAGTCA", "TGCAGTACCAGTGATCGGAACTTC"]  # 12 and 24 nt, two kits at one end
MIXED_REV = ["GATCCTAGGACT", "CAGTCAGTGA"]  # 12 and 10 nt


def test_barcodes_of_different_lengths_are_each_searched_at_their_own_length() -> None:
    for codes in (MIXED_FWD, MIXED_REV):
        assert barcodes.close_pairs(codes, 3) == []  # the start-up check lets the set through
    pairs = [(f, r) for f in MIXED_FWD for r in MIXED_REV]
    wells = pd.DataFrame(
        {
            "plate": "P1",
            "well": [f"A{i + 1}" for i in range(len(pairs))],
            "fwd_barcode": [f for f, _ in pairs],
            "rev_barcode": [r for _, r in pairs],
            "role": "sample",
        }
    )
    d = demux.Demultiplexer(
        CONSTRUCT, demux.Layout.from_wells(wells.to_dict("records"), ["P1"]), demux.DemuxSettings()
    )
    for i, (fwd, rev) in enumerate(pairs):
        seq = junk(15) + amplicon(fwd, rev) + junk(10)
        j = 15 + len(fwd) // 2  # one substitution in the middle of the forward barcode
        damaged = seq[:j] + ("A" if seq[j] != "A" else "C") + seq[j + 1 :]
        for version in (seq, reverse_complement(seq), damaged):
            call = d.classify(version)
            assert call.status == "assigned", (fwd, rev, call)
            assert well_of(d, call) == f"A{i + 1}"
            assert (call.fwd_distance, call.rev_distance) == (int(version is damaged), 0)
            assert call.region == UTR


def test_a_short_barcode_inside_a_long_one_is_too_close() -> None:
    long, short = "ACGTTGCAGTCAGG", "TTGCAGTCAGG"  # the short one is the long one's tail
    assert sequences.set_distance(long, short) == 0
    assert sequences.edit_distance(long, short) == 3  # a plain edit distance would let it pass
    (pair,) = barcodes.close_pairs([long, short], 3, include_rc=False)
    assert "the shorter lies inside the longer with 0 edits" in pair.describe()


# --------------------------------------------------------------------------------------------
# Against the simulator's truth


def simulate(tmp: Path, **overrides) -> Path:
    params = RunSimulation(n_variants=1500, **overrides)
    simulate_run(params, tmp)
    return tmp


def demultiplex_run(run: Path, threads: int = 1, **settings) -> pd.DataFrame:
    plates = sheets.load_plates(run / "plates.tsv", Path("/"))
    wells = sheets.load_wells(run / "wells.tsv")
    construct = sheets.load_construct(yaml.safe_load((run / "construct.yaml").read_text()))
    frames = []
    for group in sheets.read_groups(plates):
        out = run / "demux" / group.name
        demux.run_group(group, wells, construct, demux.DemuxSettings(**settings), out, threads)
        frames.append(pd.read_csv(out / "assignments.tsv.gz", sep="\t", keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def score(run: Path, got: pd.DataFrame) -> dict[str, float]:
    truth = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
    assert len(got) == len(truth) and got["read_id"].is_unique  # every read exactly once
    merged = truth.merge(got, on="read_id", suffixes=("_true", ""), validate="one_to_one")
    assigned = merged["status"] == "assigned"
    correct = assigned & (merged["plate"] == merged["plate_true"])
    correct &= merged["well"] == merged["well_true"]
    full = merged["kind"] == "full"
    return {
        "precision": correct.sum() / assigned.sum(),
        "recall": (correct & full).sum() / full.sum(),
        "chimeras_assigned": int((assigned & (merged["kind"] == "chimera")).sum()),
    }


@pytest.mark.parametrize(
    ("preset", "min_precision", "min_recall"), [("r10", 0.999, 0.98), ("r9", 0.995, 0.95)]
)
def test_accuracy_against_simulated_truth(
    tmp_path: Path, preset: str, min_precision: float, min_recall: float
) -> None:
    run = simulate(tmp_path, error_preset=preset, n_plates=2, seed=11)
    figures = score(run, demultiplex_run(run))
    assert figures["precision"] >= min_precision
    assert figures["recall"] >= min_recall
    assert figures["chimeras_assigned"] == 0


def test_pooled_plates_bam_input_and_two_processes_match_one(tmp_path: Path) -> None:
    run = simulate(
        tmp_path,
        n_plates=2,
        plate_separation="pooled",
        reads_format="both",
        seed=5,
        chunk_reads=3000,
    )
    one = demultiplex_run(run, threads=1, chunk_reads=1000)
    two = demultiplex_run(run, threads=2, chunk_reads=1000)
    pd.testing.assert_frame_equal(one, two)
    figures = score(run, one)
    assert figures["precision"] >= 0.999 and figures["recall"] >= 0.98
    assert set(one.loc[one["status"] == "assigned", "plate"]) == {"P01", "P02"}
    # the same reads from the unaligned BAM give the same answers
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    plates["reads"] = plates["reads"].str.replace(".fastq.gz", ".bam")
    plates.to_csv(run / "plates.tsv", sep="\t", index=False)
    from_bam = demultiplex_run(run, threads=1, chunk_reads=1000)
    pd.testing.assert_frame_equal(one, from_bam)


def test_funnel_and_well_counts_add_up(tmp_path: Path) -> None:
    run = simulate(tmp_path, n_plates=1, seed=3)
    got = demultiplex_run(run)
    funnel = yaml.safe_load((run / "demux" / "P01" / "funnel.json").read_text())
    assert funnel["reads"] == len(got) == sum(funnel["status"].values())
    counts = pd.read_csv(run / "demux" / "P01" / "well_counts.tsv", sep="\t")
    assert len(counts) == 96
    assert counts["reads"].sum() == funnel["status"]["assigned"]
    assert (counts["regions"] <= counts["reads"]).all()
    with gzip.open(run / "demux" / "P01" / "regions.tsv.gz", "rt") as handle:
        assert sum(1 for _ in handle) - 1 == counts["regions"].sum()


# --------------------------------------------------------------------------------------------
# Bad input stops with one line naming the file


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bad_reads_files_name_the_file_and_record(tmp_path: Path) -> None:
    from utrflow.reads.files import iter_records

    good = "@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nACGTAC\n+\nIIIIII\n"
    truncated = tmp_path / "cut.fastq.gz"
    data = gzip.compress(good.encode() * 200)
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.fastq\.gz: damaged after record \d+"):
        list(iter_records(truncated))
    bad_quality = write(tmp_path / "q.fastq", "@r1\nACGTACGT\n+\nIII\n")
    with pytest.raises(InputError, match=r"q\.fastq.*record 1 \(r1\)|q\.fastq: damaged"):
        list(iter_records(bad_quality))
    tab_quality = write(tmp_path / "t.fastq", "@r1\nACGT\n+\nI\tII\n")
    with pytest.raises(InputError, match=r"t\.fastq: record 1 \(r1\): '\\t' at position 2 of its"):
        list(iter_records(tab_quality))
    empty = write(tmp_path / "empty.fastq", "")  # valid: a barcode that sequenced nothing
    assert list(iter_records(empty)) == []
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match=r"x\.bin: not FASTQ, FASTA or BAM"):
        list(iter_records(binary))
    fasta = write(tmp_path / "ok.fa", ">a\nacgt\n>b\nGGCC\n")
    assert list(iter_records(fasta)) == [("a", "ACGT"), ("b", "GGCC")]


def test_files_whose_reads_share_names_but_not_bases_are_not_overlaps(tmp_path: Path) -> None:
    """Reads renamed 1, 2, 3... per file share names across files; only a read with the same
    name and bases (a merged file beside its part) is the same read."""
    from utrflow.reads.files import iter_chunks

    one = write(tmp_path / "a.fastq", "@1\nACGT\n+\nIIII\n@2\nGGGG\n+\nIIII\n")
    two = write(tmp_path / "b.fastq", "@1\nTTTT\n+\nIIII\n@2\nCCCC\n+\nIIII\n")
    reads = [r[1] for chunk in iter_chunks([str(one), str(two)], 3) for r in chunk]
    assert reads == ["ACGT", "GGGG", "TTTT", "CCCC"]
    merged = write(tmp_path / "all.fastq", "@0\nAAAA\n+\nIIII\n" + one.read_text())
    with pytest.raises(InputError, match=r"all\.fastq: read 1 is also in .*a\.fastq"):
        list(iter_chunks([str(one), str(merged)], 3))


def test_bad_sheets_name_the_file_row_and_problem(tmp_path: Path) -> None:
    reads = write(tmp_path / "r.fastq", "@r1\nACGT\n+\nIIII\n")
    plates = write(tmp_path / "plates.tsv", f"plate\treads\nP1\t{tmp_path}/nothing_*.fastq\n")
    with pytest.raises(InputError, match=r"plates\.tsv: row 2 \(plate P1\).*matches no file"):
        sheets.load_plates(plates)
    plates = write(tmp_path / "plates.tsv", f"plate\treads\nP1\t{reads}\n")
    assert [row["files"] for row in sheets.load_plates(plates)] == [(str(reads),)]
    wells = write(tmp_path / "w.tsv", "plate\twell\tfwd_barcode\trev_barcode\nP1\tA1\tACGN\tACGT\n")
    with pytest.raises(InputError, match=r"w\.tsv: row 2: fwd_barcode 'ACGN'.*: 'N'"):
        sheets.load_wells(wells)
    wells = write(tmp_path / "w.tsv", "plate\twell\tfwd_barcode\nP1\tZ9\tACGT\n")
    with pytest.raises(InputError, match=r"w\.tsv: row 2: 'Z9' is not a well name"):
        sheets.load_wells(wells)
    rows = (
        "plate\twell\tfwd_barcode\trev_barcode\nP1\tA1\tACGTACGTAC\tTTT\nP1\tA2\tACGTACGTAA\tTTT\n"
    )
    wells = sheets.load_wells(write(tmp_path / "w.tsv", rows))
    group = sheets.ReadGroup("P1", ("P1",), (str(reads),))
    with pytest.raises(InputError, match=r"fwd_barcodes .* closer than .*ACGTACGTAC ~ ACGTACGTAA"):
        barcodes.check_group_barcodes(wells, group, 3)
    rows = (
        "plate\twell\tfwd_barcode\trev_barcode\nP1\tA1\tACGTACGTAC\tTTT\nP1\tA2\tACGTACGTAC\tTTT\n"
    )
    wells = sheets.load_wells(write(tmp_path / "w.tsv", rows))
    with pytest.raises(InputError, match=r"pair ACGTACGTAC/TTT names several wells.*P1 A1, P1 A2"):
        barcodes.check_group_barcodes(wells, group, 0)


def test_pooled_plates_must_share_all_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.fastq", "@r\nA\n+\nI\n")
    b = write(tmp_path / "b.fastq", "@r\nA\n+\nI\n")
    plates = write(tmp_path / "plates.tsv", f"plate\treads\nP1\t{a},{b}\nP2\t{b},{a}\nP3\t{b}\n")
    with pytest.raises(InputError, match=r"share the reads file .*b\.fastq but not all"):
        sheets.read_groups(sheets.load_plates(plates))
    plates = write(tmp_path / "plates.tsv", f"plate\treads\nP1\t{a},{b}\nP2\t{tmp_path}/*.fastq\n")
    groups = sheets.read_groups(sheets.load_plates(plates))
    assert [(g.name, g.plates) for g in groups] == [("P1+P2", ("P1", "P2"))]


# --------------------------------------------------------------------------------------------
# Real MinION reads (minibar's test set)

PEPEROMIA = SHARED / "data" / "ont_minibar_peperomia"


def peperomia_wells() -> tuple[pd.DataFrame, pd.DataFrame]:
    """minibar's index sheet, and its three samples as wells A1-A3 of plate `pep`."""
    index = pd.read_csv(PEPEROMIA / "IndexCombinationPeperomonia.txt", sep="\t")
    wells = pd.DataFrame(
        {
            "plate": "pep",
            "well": ["A1", "A2", "A3"],
            "fwd_barcode": index["FwIndex"].str.upper(),
            "rev_barcode": index["RvIndex"].str.upper(),
        }
    )
    return index, wells


@pytest.mark.skipif(not PEPEROMIA.is_dir(), reason="shared real data not present")
def test_real_minion_reads_match_minibar(tmp_path: Path) -> None:
    """750 real R9 reads, three samples sharing a reverse index: the forward index decides.

    minibar (index distance 4, primer distance 11 of 27) assigns 741 reads, none to several
    samples. Samples are mapped to wells A1-A3 (Jun_38, Jun_39, Jun_40)."""
    index, wells = peperomia_wells()
    wells.to_csv(tmp_path / "wells.tsv", sep="\t", index=False)
    reads = PEPEROMIA / "PeperomiaTestSet.fasta"
    write(tmp_path / "plates.tsv", f"plate\treads\npep\t{reads}\n")
    plates = sheets.load_plates(tmp_path / "plates.tsv")
    wells = sheets.load_wells(tmp_path / "wells.tsv")
    (group,) = sheets.read_groups(plates)
    barcodes.check_group_barcodes(wells, group, 3)
    construct = sheets.Construct(index["FwPrimer"][0], index["RvPrimer"][0])
    settings = demux.DemuxSettings(
        require_both_ends=False, max_barcode_distance=4, max_primer_error=0.3
    )
    funnel = demux.run_group(group, wells, construct, settings, tmp_path / "out")
    got = pd.read_csv(tmp_path / "out" / "assignments.tsv.gz", sep="\t", keep_default_na=False)
    assert funnel["reads"] == len(got) == 750
    per_well = got.loc[got["status"] == "assigned", "well"].value_counts()
    assert per_well.sum() >= 0.97 * 741  # within 3 % of minibar
    # every sample gets reads, in minibar's proportions (911 : 683 : 909 KB of reads)
    shares = per_well.reindex(["A1", "A2", "A3"]) / per_well.sum()
    assert np.allclose(shares, np.array([911, 683, 909]) / 2503, atol=0.03)


@pytest.mark.skipif(not PEPEROMIA.is_dir(), reason="shared real data not present")
def test_real_minion_reads_with_automatic_thresholds(tmp_path: Path) -> None:
    """The same reads at `max_barcode_distance: auto` (the default): the thresholds fit the 15-nt
    indexes, and the yield is at least what the fixed threshold of 4 gave (730 reads before the
    barcodes were anchored to their primer), in minibar's proportions."""
    index, wells = peperomia_wells()
    wells["role"] = "sample"
    group = sheets.ReadGroup("pep", ("pep",), (str(PEPEROMIA / "PeperomiaTestSet.fasta"),))
    construct = sheets.Construct(index["FwPrimer"][0], index["RvPrimer"][0])
    settings = demux.DemuxSettings(require_both_ends=False, max_primer_error=0.3)
    funnel = demux.run_group(group, wells.to_dict("records"), construct, settings, tmp_path)
    fwd = funnel["barcodes"]["fwd"]
    assert fwd["chosen"] == "auto" and fwd["min_distance"] >= 7
    assert fwd["length"] + len(fwd["constant_5"]) + len(fwd["constant_3"]) == 15
    assert sum(fwd["best"].values()) == sum(fwd["second"].values())
    assert funnel["status"]["assigned"] >= 730
    got = pd.read_csv(tmp_path / "assignments.tsv.gz", sep="\t", keep_default_na=False)
    per_well = got.loc[got["status"] == "assigned", "well"].value_counts()
    shares = per_well.reindex(["A1", "A2", "A3"]) / per_well.sum()
    assert np.allclose(shares, np.array([911, 683, 909]) / 2503, atol=0.03)


NANO_TOOLS = SHARED / "data" / "ont_nano_tools_dual20"


@pytest.mark.skipif(not NANO_TOOLS.is_dir(), reason="shared real data not present")
def test_real_r10_reads_without_primers_through_the_command_line(tmp_path: Path, caplog) -> None:
    """3,319 real R10.4.1 reads whose 20-nt barcodes sit at the read ends with no primer given:
    `utrflow demux` searches the barcodes themselves in the end windows. No truth comes with the
    set, so: every read gets one status, the thresholds are printed, and the two strands agree
    (each well's reads split about evenly between them, the wells ranked alike on both)."""
    codes = pd.read_csv(NANO_TOOLS / "barcodes_dual_index.csv", header=None,
                        names=["name", "barcode", "end"])  # fmt: skip
    fwd, rev = codes[codes["end"] == "F"], codes[codes["end"] == "R"]
    rows = [  # forward barcode i names row i, reverse barcode j column j
        ("nt", f"{'ABCDEFGH'[i]}{j + 1}", fb, rb, "control" if "n" in f + r else "sample")
        for i, (f, fb) in enumerate(zip(fwd["name"], fwd["barcode"], strict=True))
        for j, (r, rb) in enumerate(zip(rev["name"], rev["barcode"], strict=True))
    ]
    controls = {well for _, well, *_, role in rows if role == "control"}
    pd.DataFrame(rows, columns=["plate", "well", "fwd_barcode", "rev_barcode", "role"]).to_csv(
        tmp_path / "wells.tsv", sep="\t", index=False
    )
    (reads,) = NANO_TOOLS.glob("*.fastq.gz")
    write(tmp_path / "plates.tsv", f"plate\treads\nnt\t{reads}\n")
    params = json.dumps({"construct": {"fwd_primer": "", "rev_primer": ""}})
    caplog.set_level(logging.INFO)
    code = cli.main(["demux", "--params", params, "--plates", str(tmp_path / "plates.tsv"),
                     "--wells", str(tmp_path / "wells.tsv"), "--group", "nt",
                     "--out-dir", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    assert "demux nt: fwd barcodes 7 x 20 nt, min distance 8: max distance" in caplog.text
    funnel = json.loads((tmp_path / "out" / "funnel.json").read_text())
    got = pd.read_csv(tmp_path / "out" / "assignments.tsv.gz", sep="\t", keep_default_na=False)
    assert funnel["reads"] == len(got) == 3319 == sum(funnel["status"].values())
    assert funnel["status"]["assigned"] >= 0.4 * 3319
    assigned = got[got["status"] == "assigned"]
    per_strand = assigned.groupby(["well", "strand"]).size().unstack(fill_value=0)
    assert 0.4 <= per_strand["+"].sum() / len(assigned) <= 0.6
    ranked = per_strand.rank()
    assert ranked["+"].corr(ranked["-"]) >= 0.7
    assert assigned["well"].isin(controls).mean() < 0.05  # negative controls stay near empty
    for length_bin in funnel["status_by_length"].values():
        assert abs(sum(length_bin["share"].values()) - 1) < 1e-9


# Barcode shapes the simulator does not use by default: the automatic thresholds must fit them.
SHAPES = {
    "8 nt, distance 3": dict(barcode_length=8, min_barcode_distance=3),
    "10 nt, distance 4": dict(barcode_length=10, min_barcode_distance=4),
    "7 + 24 + 7 nt": dict(
        barcode_length=24,
        min_barcode_distance=10,
        barcode_constant_5="AAGGTTA",
        barcode_constant_3="CAGCACCT",
    ),
    "16 nt per well": dict(barcode_length=16, min_barcode_distance=6, barcode_layout="per_well"),
}


@pytest.mark.parametrize(
    ("shape", "preset", "depth"),
    [
        ("8 nt, distance 3", "r10", 20.0),
        ("10 nt, distance 4", "r9", 20.0),
        ("7 + 24 + 7 nt", "r9", 10.0),
        ("7 + 24 + 7 nt", "r10", 30.0),
        ("16 nt per well", "r9", 20.0),
    ],
)
def test_automatic_thresholds_fit_other_barcode_shapes(
    tmp_path: Path, shape: str, preset: str, depth: float
) -> None:
    """At least 90 % of the full-length reads assigned, at precision >= 99.9 %."""
    params = RunSimulation(n_variants=300, n_plates=1, error_preset=preset, seed=7,
                           reads_per_well_mean=depth, **SHAPES[shape])  # fmt: skip
    simulate_run(params, tmp_path)
    got = demultiplex_run(tmp_path)
    truth = pd.read_csv(tmp_path / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
    merged = truth.merge(got, on="read_id", suffixes=("_true", ""), validate="one_to_one")
    full = merged[merged["kind"] == "full"]
    assigned = full["status"] == "assigned"
    correct = assigned & (full["well"] == full["well_true"])
    assert assigned.mean() >= 0.90
    assert correct.sum() / assigned.sum() >= 0.999
    funnel = json.loads((tmp_path / "demux" / "P01" / "funnel.json").read_text())
    if "constant_5" in SHAPES[shape]:
        fit = funnel["barcodes"]["fwd"]
        assert (fit["constant_5"], fit["constant_3"], fit["length"]) == ("AAGGTTA", "CAGCACCT", 24)


def test_a_base_shared_by_flank_and_utr_cannot_move_the_well_call(demultiplexer) -> None:
    """Known answer: the UTR starts with the upstream flank's last base (C) and ends with the
    downstream flank's first (A). A read whose flank base is miscalled right at the junction
    gets a region one base off (the flank's alignment ties, and the tie gives or takes the UTR
    base), and in 3 of 5 reads that wins the majority. Called over flank end - UTR - flank end
    from the same reads (region plus its read context), the boundary stays put."""
    from utrflow.reads import consensus

    utr = "CAGGAGGTTTCACATGCCAACTTTAGCAGATTCGA"
    assert UP[-1] == utr[0] and DOWN[0] == utr[-1]
    clean = amplicon(FWD_BARCODES[0], REV_BARCODES[0], utr)
    up_end = clean.index(UP) + len(UP) - 1  # the upstream flank's last base
    down_start = up_end + 1 + len(utr)  # the downstream flank's first base
    reads = [clean, clean]
    for up_base, down_base in (("A", "C"), ("G", "G"), ("T", "T")):
        bad = list(clean)
        bad[up_end], bad[down_start] = up_base, down_base
        reads.append("".join(bad))
    calls = [demultiplexer.classify("GATTACA" + r + "TTAGG") for r in reads]
    assert all(c.status == "assigned" and c.region is not None for c in calls)
    assert [c.region == utr for c in calls] == [True, True, False, False, False]
    settings = consensus.ConsensusSettings()
    plain = consensus.call_well([c.region or "" for c in calls], settings)
    assert plain.sequence != utr  # what the region alone gives: a base gained or lost
    flanks = consensus.construct_ends(UP, DOWN, demux.REGION_CONTEXT)
    flanked = [c.context[0] + (c.region or "") + c.context[1] for c in calls]
    call = consensus.call_well(flanked, settings, flanks=flanks)
    assert call.sequence == utr and call.purity == 1.0


def test_trim_flanks_keeps_a_shared_base_with_the_utr() -> None:
    from utrflow.reads import consensus

    flanks = ("GCTAGC", "ATGCGT")
    assert consensus.trim_flanks("GCTAGC" + "CCAT" + "ATGCGT", flanks) == "CCAT"
    assert consensus.trim_flanks("CTAGC" + "CAAA" + "ATGCG", flanks) == "CAAA"  # short ends
    assert consensus.trim_flanks("GCTAGC" + "TTA" + "ATGCGT", ("", "")) == "GCTAGCTTAATGCGT"


@pytest.mark.parametrize("lost", [1, 3, 4])
def test_a_read_ending_inside_its_3_prime_barcode_is_scored_over_the_bases_present(
    demultiplexer, lost: int
) -> None:
    """Known answer: the read stops `lost` bases into its reverse barcode entry (read 5'->3',
    the entry's far bases are gone); the barcode is scored over the bases present and the
    read goes to its well, on either strand, counted as clipped when the whole entry would
    not have passed."""
    for fwd, rev in ((0, 1), (1, 0)):
        seq = (junk(15) + amplicon(FWD_BARCODES[fwd], REV_BARCODES[rev]))[:-lost]
        for strand_seq in (seq, reverse_complement(seq)):
            call = demultiplexer.classify(strand_seq)
            assert call.status == "assigned", (lost, call)
            assert well_of(demultiplexer, call) == f"A{2 * fwd + rev + 1}"
            assert call.region == UTR
            fit = demultiplexer.rev_end.fit
            assert call.clipped is (lost > fit.max_distance)


def test_a_clipped_barcode_whose_remaining_bases_two_barcodes_share_stays_unassigned() -> None:
    """Known answer: reverse barcodes AAAAGATC, CCCCGATC and GGGGTTTT. Their 3' parts keep the
    start-up check's distance (3) from 7 bases on (AAAGATC / CCCGATC), so a read must show 7;
    one cut to GATC (shared by two barcodes) is not assigned, and none is by a clipped part.
    """
    rev = ["AAAAGATC", "CCCCGATC", "GGGGTTTT"]
    pairs = [(0, 0), (0, 1), (0, 2)]
    d = demux.Demultiplexer(CONSTRUCT, layout(pairs, rev=rev), demux.DemuxSettings())
    assert d.rev_end.clip_length == 7
    seq = junk(15) + amplicon(FWD_BARCODES[0], rev[0])
    assert d.classify(seq[:-4]).status != "assigned"
    assert d.classify(seq + junk(5)).status == "assigned"
    for r in range(3):
        for lost in range(1, 8):
            cut = (junk(15) + amplicon(FWD_BARCODES[0], rev[r]))[:-lost]
            call = d.classify(cut)
            assert not call.clipped or (lost <= 8 - 7 and well_of(d, call) == f"A{r + 1}")


def test_clipped_reads_are_counted_in_the_funnel(tmp_path: Path) -> None:
    """The simulator's clipped 3' ends (half the full-length reads lose up to half of their
    last barcode entry): nearly all full-length reads are still assigned, to the right well,
    and the funnel counts those assigned over the bases present."""
    run = simulate(
        tmp_path, clipped_fraction=0.5, barcode_length=24, min_barcode_distance=8, n_plates=1
    )
    figures = score(run, demultiplex_run(run))
    funnels = [json.loads(p.read_text()) for p in (run / "demux").glob("*/funnel.json")]
    assert sum(f["clipped_assigned"] for f in funnels) > 0.1 * sum(f["reads"] for f in funnels)
    assert figures["precision"] >= 0.999 and figures["recall"] >= 0.97, figures
