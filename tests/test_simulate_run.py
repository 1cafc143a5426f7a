"""The run simulator: realized statistics against the configuration, the input contract
(docs/contracts.md), the truth."""

from __future__ import annotations

import gzip
import math
from dataclasses import replace
from pathlib import Path

import edlib
import numpy as np
import pandas as pd
import pysam
import pytest
import yaml

from utrflow.errors import InputError
from utrflow.geometry import well_names
from utrflow.io import read_tsv
from utrflow.reads.barcodes import close_pairs, indel_lower_bound, min_pairwise_distance
from utrflow.sequences import edit_distance, reverse_complement
from utrflow.simulate import nanopore, truth
from utrflow.simulate.barcodes import design_barcodes, plate_barcodes
from utrflow.simulate.reads import TRUTH_READS_COLUMNS
from utrflow.simulate.run import derived_settings, simulate_run
from utrflow.simulate.run_settings import (
    PLATES_COLUMNS,
    TRUTH_WELLS_COLUMNS,
    WELLS_COLUMNS,
    RunSimulation,
)

SMALL = RunSimulation(
    n_variants=400,
    n_plates=2,
    reads_per_well_mean=40,
    reads_format="both",
    chunk_reads=1500,  # several chunks per file
    seed=11,
)


def read_fastq(path: Path) -> list[tuple[str, str, str]]:
    """(name, sequence, qualities) of every record of a FASTQ.gz."""
    with gzip.open(path, "rt") as handle:
        lines = handle.read().splitlines()
    assert len(lines) % 4 == 0
    assert all(line.startswith("@") for line in lines[0::4])
    assert all(line == "+" for line in lines[2::4])
    return list(zip([x[1:] for x in lines[0::4]], lines[1::4], lines[3::4], strict=True))


def truth_reads(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "truth_reads.tsv.gz", sep="\t", keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("run") / "sim"
    return out, simulate_run(SMALL, out)


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    params = replace(
        SMALL,
        barcode_layout="per_well",
        plate_separation="pooled",
        reads_format="fastq",
        reads_per_well_mean=15,
        seed=5,
    )
    out = tmp_path_factory.mktemp("pooled") / "sim"
    return out, simulate_run(params, out)


# ------------------------------------------------------------------------------ error model


@pytest.mark.parametrize("preset", ["r10", "r9"])
def test_error_model_realizes_rate_and_split(preset: str) -> None:
    model = nanopore.PRESETS[preset]
    rng = np.random.default_rng(1)
    lengths = rng.integers(150, 450, size=12_000)
    seq = nanopore.random_bases(rng, int(lengths.sum()))
    reads = nanopore.apply_errors(rng, seq, lengths, model)
    t = reads.errors.totals()
    n_errors = t["substitutions"] + t["insertions"] + t["deletions"]
    assert t["template_length"] == lengths.sum()
    assert n_errors / t["template_length"] == pytest.approx(model.rate, rel=0.03)
    assert t["substitutions"] / n_errors == pytest.approx(model.substitution, abs=0.01)
    assert t["insertions"] / n_errors == pytest.approx(model.insertion, abs=0.01)
    assert t["deletions"] / n_errors == pytest.approx(model.deletion, abs=0.01)
    hp = t["homopolymer_insertions"] + t["homopolymer_deletions"]
    assert hp / (t["insertions"] + t["deletions"]) == pytest.approx(model.homopolymer, abs=0.03)
    # Bookkeeping: output lengths follow from the counted indels, qualities align with bases.
    expected = lengths + reads.errors.insertions - reads.errors.deletions
    np.testing.assert_array_equal(reads.lengths, expected)
    assert reads.seq.size == reads.qual.size == reads.lengths.sum()
    # Per-read rates spread (some reads are worse), as the gamma multiplier says.
    per_read = (
        reads.errors.substitutions + reads.errors.insertions + reads.errors.deletions
    ) / lengths
    assert per_read.std() > 0.3 * model.rate


def test_error_counts_agree_with_alignment_and_qualities_mark_errors() -> None:
    model = nanopore.PRESETS["r10"]
    rng = np.random.default_rng(2)
    lengths = rng.integers(200, 300, size=300)
    seq = nanopore.random_bases(rng, int(lengths.sum()))
    reads = nanopore.apply_errors(rng, seq, lengths, model)
    true = nanopore.split_text(seq, lengths)
    observed = nanopore.split_text(reads.seq, reads.lengths)
    quals = nanopore.split_text(reads.qual, reads.lengths)
    counted = reads.errors.substitutions + reads.errors.insertions + reads.errors.deletions
    good, bad = [], []
    distances = []
    for read, ref, qual, n in zip(observed, true, quals, counted, strict=True):
        aln = edlib.align(read, ref, mode="NW", task="path")
        distances.append(aln["editDistance"])
        assert aln["editDistance"] <= n  # an alignment never needs more edits than were made
        pos = 0
        for length, op in _cigar(aln["cigar"]):
            if op in "=XI":
                target = good if op == "=" else bad
                target.extend(ord(c) - 33 for c in qual[pos : pos + length])
                pos += length
    assert np.sum(distances) >= 0.85 * counted.sum()
    assert np.mean(good) - np.mean(bad) > 8


def _cigar(cigar: str) -> list[tuple[int, str]]:
    out, number = [], ""
    for c in cigar:
        if c.isdigit():
            number += c
        else:
            out.append((int(number), c))
            number = ""
    return out


def test_homopolymer_errors_only_change_runs() -> None:
    model = nanopore.ErrorModel(
        rate=0.05, substitution=0.0, insertion=0.5, deletion=0.5, homopolymer=1.0, read_spread=0
    )
    rng = np.random.default_rng(3)
    text = "ACGTTTTTACGAAAAGTC" * 20
    seqs = [text] * 200
    reads = nanopore.apply_errors(rng, nanopore.to_array(seqs), np.full(200, len(text)), model)
    t = reads.errors.totals()
    assert t["homopolymer_insertions"] + t["homopolymer_deletions"] > 100
    assert t["insertions"] == t["homopolymer_insertions"]
    for read in nanopore.split_text(reads.seq, reads.lengths):
        # collapsing runs gives the same skeleton: only run lengths changed
        assert _collapse(read) == _collapse(text)


def _collapse(s: str) -> str:
    return "".join(c for i, c in enumerate(s) if i == 0 or c != s[i - 1])


# ------------------------------------------------------------------------------ barcodes


def test_designed_barcodes_keep_min_distance_with_reverse_complements() -> None:
    codes = design_barcodes(np.random.default_rng(4), 60, 10, 4)
    assert len(set(codes)) == 60
    assert min_pairwise_distance(codes) >= 4
    for i, a in enumerate(codes):  # independent brute force with edlib
        assert edlib.align(a, reverse_complement(a), task="distance")["editDistance"] >= 4
        for b in codes[i + 1 :]:
            assert edlib.align(a, b, task="distance")["editDistance"] >= 4
            assert edlib.align(a, reverse_complement(b), task="distance")["editDistance"] >= 4
    assert all(
        "AAA" not in c and "CCC" not in c and "GGG" not in c and "TTT" not in c for c in codes
    )


def test_close_pairs_names_collisions() -> None:
    a = "ACGTTGCAAGCT"
    one_indel = "ACGTTGCAGCTA"
    rc_twin = reverse_complement("ACGATGCAAGCT")
    pairs = close_pairs([a, one_indel, rc_twin, "TTGGCCAATGCA"], 3)
    found = {(p.first, p.second, p.reverse_complement) for p in pairs}
    assert (a, one_indel, False) in found
    assert (a, rc_twin, True) in found
    assert edit_distance(a, one_indel) == 2
    assert min_pairwise_distance([a, one_indel]) == 2


def test_indel_lower_bound_never_exceeds_the_edit_distance() -> None:
    rng = np.random.default_rng(9)
    base = ["".join(rng.choice(list("ACGT"), 10)) for _ in range(150)]
    shifted = [b[1:] + "A" for b in base[:50]] + [b[:4] + b[5:] + "C" for b in base[50:100]]
    seqs = base + shifted
    codes = np.frombuffer("".join(seqs).encode(), dtype=np.uint8).reshape(len(seqs), -1)
    proven = 0
    for threshold in (2, 3, 4, 5):
        for i in range(0, len(seqs), 5):
            bound = indel_lower_bound(codes, codes[i], threshold)
            for j, seq in enumerate(seqs):
                d = edlib.align(seqs[i], seq, task="distance")["editDistance"]
                assert not (bound[j] >= threshold and d < threshold), (seqs[i], seq, threshold)
                proven += bound[j] >= threshold
    assert proven > 0.5 * 4 * 60 * len(seqs)  # and it proves most pairs far, or it is useless


def test_design_refuses_impossible_sets() -> None:
    with pytest.raises(InputError, match="found only"):
        design_barcodes(np.random.default_rng(0), 50, 4, 3, max_candidates=20_000)


def test_run_barcodes_in_sheet(run: tuple[Path, dict], pooled: tuple[Path, dict]) -> None:
    for out, summary in (run, pooled):
        wells = read_tsv(out / "wells.tsv")
        barcodes = sorted(set(wells["fwd_barcode"]) | set(wells["rev_barcode"]))
        assert min_pairwise_distance(barcodes) >= SMALL.min_barcode_distance
        assert summary["barcode_min_distance"] >= SMALL.min_barcode_distance
        assert wells["fwd_barcode"].str.len().eq(SMALL.barcode_length).all()
    files = read_tsv(run[0] / "wells.tsv")
    assert not files.duplicated(["plate", "fwd_barcode", "rev_barcode"]).any()
    assert files.groupby(["fwd_barcode", "rev_barcode"])["plate"].nunique().eq(2).all()
    assert files.groupby("plate")["fwd_barcode"].nunique().eq(8).all()  # rows
    pool = read_tsv(pooled[0] / "wells.tsv")
    assert not pool.duplicated(["fwd_barcode", "rev_barcode"]).any()
    assert pool["fwd_barcode"].nunique() == len(pool)  # per_well: one of its own each


def test_plate_barcodes_row_column_pooled_pairs_unique() -> None:
    table = plate_barcodes(np.random.default_rng(1), "row_column", 96, 3, True, 12, 4)
    assert len(table) == 3 * 96
    assert not table.duplicated(["fwd_barcode", "rev_barcode"]).any()
    assert table["rev_barcode"].nunique() == 12
    assert table["fwd_barcode"].nunique() == 24


# ------------------------------------------------------------------------------ the run


def test_sheets_follow_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: tuple[Path, dict]
) -> None:
    out, _ = run
    plates = read_tsv(out / "plates.tsv")
    assert list(plates.columns) == PLATES_COLUMNS
    wells = read_tsv(out / "wells.tsv")
    assert list(wells.columns) == WELLS_COLUMNS
    assert set(wells["role"]) == {"sample", "blank"}  # empty wells look like samples
    assert len(wells) == SMALL.n_plates * 96
    library = pd.read_csv(out / "library.csv")
    assert list(library.columns) == ["id", "sequence"]
    assert len(library) == SMALL.n_variants and library["id"].is_unique
    construct = yaml.safe_load((out / "construct.yaml").read_text())
    assert set(construct) == {"fwd_primer", "rev_primer", "upstream_flank", "downstream_flank"}
    for plate in plates.itertuples():
        reader = pd.read_csv(plate.fluorescence)
        assert list(reader.columns) == ["well", "gfp", "od600"]
        assert list(reader["well"]) == well_names(96)
        assert Path(plate.reads).name == f"{plate.plate}.fastq.gz"
    assert list(read_tsv(out / "truth_wells.tsv").columns) == TRUTH_WELLS_COLUMNS
    assert list(truth_reads(out).columns) == TRUTH_READS_COLUMNS
    # A relative out_dir gives paths relative to the same working directory.
    monkeypatch.chdir(tmp_path)
    small = replace(SMALL, n_plates=1, reads_per_well_mean=2, reads_format="fastq")
    simulate_run(small, Path("rel") / "sim")
    sheet = read_tsv(Path("rel/sim/plates.tsv"))
    assert sheet.loc[0, "reads"] == "rel/sim/reads/P01.fastq.gz"
    assert Path(sheet.loc[0, "reads"]).is_file() and Path(sheet.loc[0, "fluorescence"]).is_file()


def test_kinds_and_strands_match_configuration(run: tuple[Path, dict]) -> None:
    out, summary = run
    reads = truth_reads(out)
    n = len(reads)
    assert n == summary["reads"] > 5000
    fractions = reads["kind"].value_counts(normalize=True)
    assert fractions["chimera"] == pytest.approx(SMALL.chimera_fraction, abs=0.002)
    assert fractions["junk"] == pytest.approx(SMALL.junk_fraction, abs=0.002)
    se = math.sqrt(SMALL.truncated_fraction * (1 - SMALL.truncated_fraction) / n)
    assert abs(fractions["truncated"] - SMALL.truncated_fraction) < 4 * se
    stranded = reads[reads["kind"].isin(["full", "truncated"])]
    assert abs((stranded["strand"] == "+").mean() - 0.5) < 4 * math.sqrt(0.25 / len(stranded))
    assert set(reads.loc[reads["kind"] == "chimera", "strand"]) == {"++", "+-", "-+", "--"}
    assert reads.loc[reads["kind"].isin(["chimera", "junk"]), "well"].eq("").all()
    assert stranded["well"].ne("").all()
    assert summary["error_rate_realized"] == pytest.approx(0.03, rel=0.05)


def test_reads_carry_their_wells_barcodes_and_strand(run: tuple[Path, dict]) -> None:
    out, _ = run
    wells = read_tsv(out / "wells.tsv").set_index(["plate", "well"])
    reads = truth_reads(out).set_index("read_id")
    records = read_fastq(out / "reads" / "P01.fastq.gz")
    checked = hits = 0
    for name, seq, _ in records[:400]:
        row = reads.loc[name]
        if row["kind"] != "full":
            continue
        fwd, rev = wells.loc[(row["plate"], row["well"]), ["fwd_barcode", "rev_barcode"]]
        head = seq[:90]
        expect = fwd + SMALL.fwd_primer if row["strand"] == "+" else rev + SMALL.rev_primer
        other = rev + SMALL.rev_primer if row["strand"] == "+" else fwd + SMALL.fwd_primer
        d_expect = edlib.align(expect, head, mode="HW", task="distance")["editDistance"]
        d_other = edlib.align(other, head, mode="HW", task="distance")["editDistance"]
        checked += 1
        hits += d_expect <= 5 and d_other > d_expect
    assert checked > 300
    assert hits / checked > 0.93


def test_reads_per_well_follow_the_negative_binomial(run: tuple[Path, dict]) -> None:
    out, summary = run
    wells = read_tsv(out / "truth_wells.tsv")
    colony = wells[wells["role"] == "sample"]
    mean, size = SMALL.reads_per_well_mean, SMALL.reads_per_well_dispersion
    se = math.sqrt((mean + mean**2 / size) / len(colony))
    assert abs(colony["n_reads"].mean() - mean) < 4 * se
    assert colony["n_reads"].var() > 2 * mean  # overdispersed, not Poisson
    strays = wells[wells["role"].isin(["blank", "empty"])]["n_reads"]
    assert strays.mean() < 3 * SMALL.stray_reads_mean + 0.5
    counted = truth_reads(out).query("well != ''").groupby(["plate", "well"]).size()
    merged = wells.set_index(["plate", "well"])["n_reads"]
    np.testing.assert_array_equal(counted.reindex(merged.index, fill_value=0), merged)
    assert summary["reads_per_colony_well_mean"] == pytest.approx(colony["n_reads"].mean())


def test_truth_marks_blanks_empty_mixed_and_labels(run: tuple[Path, dict]) -> None:
    out, _ = run
    t = read_tsv(out / "truth_wells.tsv")
    sheet = read_tsv(out / "wells.tsv")
    blank = t["role"] == "blank"
    assert blank.sum() == SMALL.n_plates * SMALL.blank_wells_per_plate
    assert (sheet.loc[blank, "role"] == "blank").all()
    assert set(t.loc[blank, "well"]) == {"E12", "F12", "G12", "H12"}
    no_colony = t["role"].isin(["blank", "empty"])
    assert (t["role"] == "empty").sum() > 0
    assert t.loc[no_colony, "true_label"].isna().all()
    assert t.loc[no_colony, "variant_id"].isna().all()
    colony = t[t["role"] == "sample"]
    np.testing.assert_allclose(
        colony["true_label"], truth.expression(colony["sequence"].tolist()), atol=1e-4
    )
    mixed = t[t["mixed"]]
    assert len(mixed) == SMALL.n_plates * round(SMALL.mixed_fraction * 90)
    assert mixed["minor_variant_id"].notna().all()
    assert (mixed["major_fraction"] == SMALL.mixed_ratio).all()
    minor_label = truth.expression(mixed["minor_sequence"].tolist())
    mix = np.log2(
        SMALL.mixed_ratio * np.exp2(mixed["true_label"])
        + (1 - SMALL.mixed_ratio) * np.exp2(minor_label)
    )
    np.testing.assert_allclose(mixed["true_mix_label"], mix, atol=1e-4)
    assert t.loc[~t["mixed"], "minor_variant_id"].isna().all()
    replicates = colony[colony["replicate"]]
    assert len(replicates) >= 2
    assert replicates.groupby("sequence").size().min() >= 2


def test_synthesis_variants_differ_from_design(tmp_path: Path) -> None:
    params = replace(SMALL, synthesis_error_rate=0.02, reads_per_well_mean=1, reads_format="fastq")
    simulate_run(params, tmp_path / "a")
    t = read_tsv(tmp_path / "a" / "truth_wells.tsv")
    design = pd.read_csv(tmp_path / "a" / "library.csv").set_index("id")["sequence"]
    colony = t[t["role"] == "sample"]
    designed = design.loc[colony["variant_id"]].to_numpy()
    differs = colony["sequence"].to_numpy() != designed
    np.testing.assert_array_equal(differs, colony["synthesis_variant"].to_numpy())
    length = design.str.len().mean()
    expected = 1 - (1 - params.synthesis_error_rate) ** length
    assert differs.mean() == pytest.approx(expected, abs=0.12)
    for seq, ref in zip(colony["sequence"][differs], designed[differs], strict=True):
        assert 1 <= edit_distance(seq, ref) <= 6
    simulate_run(replace(params, synthesis_error_rate=0.0), tmp_path / "b")
    assert not read_tsv(tmp_path / "b" / "truth_wells.tsv")["synthesis_variant"].any()


def test_reader_saturates_and_tracks_expression(tmp_path: Path) -> None:
    params = replace(SMALL, reader_max=6000.0, reads_per_well_mean=1, reads_format="fastq")
    simulate_run(params, tmp_path / "s")
    t = read_tsv(tmp_path / "s" / "truth_wells.tsv")
    reader = pd.concat(
        [
            pd.read_csv(tmp_path / "s" / "reader" / f"P0{p}.csv").assign(plate=f"P0{p}")
            for p in (1, 2)
        ]
    )
    both = t.merge(reader, on=["plate", "well"])
    assert both["gfp"].max() == params.reader_max
    saturated = both["gfp"] >= params.reader_max
    assert 0 < saturated.sum() < len(both) / 2
    np.testing.assert_array_equal(saturated, both["saturated"])
    blanks = both[both["role"] != "sample"]
    assert (blanks["gfp"] < 1.3 * params.reader_background).all()
    assert (blanks["od600"] < 0.06).all()
    ok = both[(both["role"] == "sample") & ~saturated & ~both["mixed"]]
    signal = np.log2((ok["gfp"] - params.reader_background) / (ok["od600"] - 0.045))
    assert np.corrcoef(signal, ok["true_label"])[0, 1] > 0.9


def test_grid_reader_export_holds_the_same_values(tmp_path: Path) -> None:
    base = replace(SMALL, n_plates=1, reads_per_well_mean=1, reads_format="fastq")
    simulate_run(base, tmp_path / "tidy")
    simulate_run(replace(base, reader_format="grid"), tmp_path / "grid")
    tidy = pd.read_csv(tmp_path / "tidy" / "reader" / "P01.csv").set_index("well")
    blocks = (tmp_path / "grid" / "reader" / "P01.csv").read_text().strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["gfp", "od600"]
    for block in blocks:
        lines = block.splitlines()
        channel = lines[0]
        assert lines[1].split(",")[1:] == [str(c) for c in range(1, 13)]
        assert [line.split(",")[0] for line in lines[2:]] == list("ABCDEFGH")
        for line in lines[2:]:
            row, *cells = line.split(",")
            for col, value in enumerate(cells, start=1):
                assert float(value) == pytest.approx(tidy.at[f"{row}{col}", channel])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    params = replace(SMALL, n_plates=1, reads_per_well_mean=10, chunk_reads=300)
    for name in ("a", "b"):
        simulate_run(params, tmp_path / name)
    simulate_run(replace(params, seed=12), tmp_path / "c")
    for rel in (
        "reads/P01.fastq.gz",
        "reads/P01.bam",
        "truth_reads.tsv.gz",
        "truth_wells.tsv",
        "wells.tsv",
        "library.csv",
        "reader/P01.csv",
    ):
        a = (tmp_path / "a" / rel).read_bytes()
        assert a == (tmp_path / "b" / rel).read_bytes(), rel
        assert a != (tmp_path / "c" / rel).read_bytes(), rel


def test_bam_holds_the_fastq_reads(run: tuple[Path, dict]) -> None:
    out, _ = run
    for plate in ("P01", "P02"):
        fastq = read_fastq(out / "reads" / f"{plate}.fastq.gz")
        with pysam.AlignmentFile(str(out / "reads" / f"{plate}.bam"), "rb", check_sq=False) as bam:
            records = [
                (
                    r.query_name,
                    r.query_sequence,
                    pysam.qualities_to_qualitystring(r.query_qualities),
                    r.is_unmapped,
                )
                for r in bam
            ]
        assert [r[:3] for r in records] == fastq
        assert all(r[3] for r in records)


def test_read_names_unique_and_all_in_truth(run: tuple[Path, dict]) -> None:
    out, _ = run
    names = [r[0] for p in ("P01", "P02") for r in read_fastq(out / "reads" / f"{p}.fastq.gz")]
    assert len(names) == len(set(names))
    reads = truth_reads(out)
    assert sorted(names) == sorted(reads["read_id"])
    assert reads.loc[reads["kind"].isin(["junk", "chimera"]), "plate"].isin(["P01", "P02"]).all()


def test_pooled_plates_share_one_file(pooled: tuple[Path, dict]) -> None:
    out, summary = pooled
    plates = read_tsv(out / "plates.tsv")
    assert plates["reads"].nunique() == 1
    assert Path(plates.loc[0, "reads"]).name == "pooled.fastq.gz"
    assert sorted(p.name for p in (out / "reads").iterdir()) == ["pooled.fastq.gz"]
    reads = truth_reads(out)
    assert set(reads.loc[reads["well"] != "", "plate"]) == {"P01", "P02"}
    assert reads.loc[reads["kind"].isin(["junk", "chimera"]), "plate"].eq("").all()
    assert summary["reads"] == len(read_fastq(out / "reads" / "pooled.fastq.gz"))


def test_bad_parameters_stop_with_one_line() -> None:
    with pytest.raises(InputError, match="plate_format"):
        RunSimulation(plate_format=48)
    with pytest.raises(InputError, match="stay below 1"):
        RunSimulation(truncated_fraction=0.5, chimera_fraction=0.3, junk_fraction=0.3)
    with pytest.raises(InputError, match="fwd_primer"):
        RunSimulation(fwd_primer="ACGTNN")
    assert RunSimulation(error_preset="r9").error_model().rate == pytest.approx(0.08)
    assert RunSimulation(error_preset="r9", error_rate=0.05).error_model().rate == 0.05


def test_the_derived_settings_name_what_the_run_writes(run: tuple[Path, dict]) -> None:
    """The keys the workflow lays over the config for a simulated run's jobs (`DERIVED` in
    common.smk) name the sheets the run wrote and its construct, and the reader's maximum only
    where the config names no saturation level."""
    out, _ = run
    derived = derived_settings(SMALL, str(out), "run", None)
    assert derived["fluorescence"] == {"saturated_at": SMALL.reader_max}
    for key in ("plates", "wells", "library"):
        assert Path(derived[key]).is_file(), key
    assert derived["construct"] == yaml.safe_load((out / "construct.yaml").read_text())
    assert derived_settings(SMALL, str(out), "table", 5e4) == {}
    assert set(derived_settings(SMALL, str(out), "table", None)) == {"fluorescence"}
