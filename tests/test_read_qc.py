"""Read QC: mean quality as basecallers compute it, and the length and quality histograms of
every read, per plate, in the demultiplexing funnel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utrflow import sheets
from utrflow.reads import demux
from utrflow.reads.files import iter_reads, mean_quality
from utrflow.report import plates as plates_report
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def test_mean_quality_averages_error_probabilities_not_phred_values() -> None:
    assert mean_quality(np.array([10, 30])) == pytest.approx(-10 * np.log10((0.1 + 0.001) / 2))
    assert mean_quality(np.array([20, 20, 20])) == pytest.approx(20.0)
    assert mean_quality(np.array([], dtype=int)) is None


def test_fastq_reads_carry_their_quality_and_fasta_reads_none(tmp_path: Path) -> None:
    fastq = tmp_path / "r.fastq"
    fastq.write_text("@a\nACGT\n+\n5555\n")  # '5' is Phred 20
    fasta = tmp_path / "r.fasta"
    fasta.write_text(">b\nacgu\n")
    assert list(iter_reads(fastq)) == [("a", "ACGT", pytest.approx(20.0), b"5555")]
    assert list(iter_reads(fasta)) == [("b", "ACGT", None, b"")]


def test_fastq_quality_characters_read_as_their_phred_values(tmp_path: Path) -> None:
    """The parser's table look-up gives `mean_quality` of the Phred values, ends included
    ('!' is 0, '~' is 93)."""
    qualities = "!+5?I~"
    fastq = tmp_path / "r.fastq"
    fastq.write_text(f"@a\n{'A' * len(qualities)}\n+\n{qualities}\n")
    phred = np.array([ord(c) - 33 for c in qualities])
    ((_, _, quality, _phred),) = iter_reads(fastq)
    assert quality == pytest.approx(mean_quality(phred), rel=1e-12)


@pytest.mark.parametrize("reads_format", ["fastq", "bam"])
def test_funnel_histograms_count_every_read_once_per_plate(tmp_path: Path, reads_format) -> None:
    run = tmp_path / "run"
    simulate_run(
        RunSimulation(n_variants=200, n_plates=2, reads_per_well_mean=8, seed=4,
                      reads_format=reads_format, plate_separation="pooled"),
        run,
    )  # fmt: skip
    plates = sheets.load_plates(run / "plates.tsv", Path("/"))
    wells = sheets.load_wells(run / "wells.tsv")
    construct = sheets.load_construct({"fwd_primer": RunSimulation().fwd_primer,
                                       "rev_primer": RunSimulation().rev_primer})  # fmt: skip
    (group,) = sheets.read_groups(plates)
    funnel = demux.run_group(group, wells, construct, demux.DemuxSettings(), tmp_path / "d", 2)
    qc = funnel["read_qc"]
    assert sum(sum(h.values()) for h in qc["lengths"].values()) == funnel["reads"]
    assert sum(sum(h.values()) for h in qc["mean_quality"].values()) == funnel["reads"]
    for plate in group.plates:
        assert sum(qc["lengths"][plate].values()) == funnel["assigned_per_plate"][plate]
    assigned = pd.read_csv(tmp_path / "d" / "assignments.tsv.gz", sep="\t")
    assert sum(qc["lengths"].get("unassigned", {}).values()) == (assigned["well"].isna()).sum()
    qualities = [int(q) for h in qc["mean_quality"].values() for q in h]
    assert min(qualities) >= 5 and max(qualities) <= 60
    assert json.loads((tmp_path / "d" / "funnel.json").read_text())["read_qc"] == qc


def test_status_shares_per_length_bin_and_barcode_distances_reach_the_report(
    tmp_path: Path,
) -> None:
    """Per read-length bin, every read counted once and the shares summing to one; each end's
    best and runner-up distances count every read scored there; both show in the report."""
    run = tmp_path / "run"
    simulate_run(RunSimulation(n_variants=200, n_plates=1, reads_per_well_mean=10, seed=6), run)
    plates = sheets.load_plates(run / "plates.tsv", Path("/"))
    wells = sheets.load_wells(run / "wells.tsv")
    construct = sheets.load_construct({"fwd_primer": RunSimulation().fwd_primer,
                                       "rev_primer": RunSimulation().rev_primer})  # fmt: skip
    (group,) = sheets.read_groups(plates)
    funnel = demux.run_group(group, wells, construct, demux.DemuxSettings(), tmp_path / "d")
    by_length = funnel["status_by_length"]
    assert sum(b["reads"] for b in by_length.values()) == funnel["reads"]
    for block in by_length.values():
        assert sum(block["share"].values()) == pytest.approx(1.0)
    # the simulated amplicons are 250-300 nt: that bin holds most reads, nearly all assigned
    main = max(by_length.values(), key=lambda b: b["reads"])
    assert main["share"]["assigned"] >= 0.9
    assigned = pd.read_csv(tmp_path / "d" / "assignments.tsv.gz", sep="\t")
    for end in ("fwd", "rev"):
        fit = funnel["barcodes"][end]
        scored = assigned[f"{end}_distance"].notna().sum()
        assert sum(fit["best"].values()) == sum(fit["second"].values()) == scored
        assert fit["chosen"] == "auto" and fit["max_distance"] >= 1
    lengths, fits = plates_report.length_rows([funnel]), plates_report.barcode_rows([funnel])
    assert len(lengths) == len(by_length) and [r[1] for r in fits] == ["fwd", "rev"]
    assert fits[0][2] == "8 × 12 nt" and fits[1][2] == "12 × 12 nt"
