"""Well consensus: known answers for the call, purity, mixed wells and the library match, and
the accuracy targets against the run simulator's truth."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utrflow import config, pipeline
from utrflow.reads import consensus, demux
from utrflow.reads.consensus import ConsensusSettings, WellReads
from utrflow.sequences import edit_distance, single_edits
from utrflow.simulate.nanopore import PRESETS, apply_errors, split_text, to_array
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

RNG = np.random.default_rng(1)


def random_seq(n: int) -> str:
    return "".join(RNG.choice(list("ACGT"), n))


def noisy_reads(seq: str, n: int, preset: str = "r10", seed: int = 0) -> list[str]:
    """n nanopore-like copies of seq from the simulator's own error model."""
    rng = np.random.default_rng(seed)
    pool = to_array(seq * n)
    reads = apply_errors(rng, pool, np.full(n, len(seq)), PRESETS[preset])
    return split_text(reads.seq, reads.lengths)


def test_consensus_recovers_the_sequence_from_noisy_reads() -> None:
    truth = random_seq(45)
    call = consensus.call_well(noisy_reads(truth, 30, "r9"), ConsensusSettings())
    assert call.sequence == truth
    assert call.purity >= 0.9 and call.minor_sequence == ""


def test_mixed_well_is_flagged_with_its_minor_allele() -> None:
    major, minor = random_seq(40), random_seq(44)
    reads = noisy_reads(major, 21, seed=1) + noisy_reads(minor, 9, seed=2)
    call = consensus.call_well(reads, ConsensusSettings())
    assert call.sequence == major
    assert call.minor_sequence == minor
    assert call.purity == pytest.approx(0.7, abs=0.05)


def test_homopolymer_shortened_by_the_reads_is_called_as_designed() -> None:
    design = "ACGTAGCTTTTTTTTGACGATCGATGCAGT"
    shortened = design.replace("TTTTTTTT", "TTTTTTT")
    # 12 reads carry the design's run, 18 are one T short: the reads' majority is wrong
    reads = [design] * 12 + [shortened] * 18
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    call = consensus.call_well(reads, ConsensusSettings(), library)
    assert call.sequence == design
    # a real synthesis error in the run: almost no read has the design's length
    reads = [design] * 2 + [shortened] * 28
    assert consensus.call_well(reads, ConsensusSettings(), library).sequence == shortened


def test_a_deep_well_is_called_from_a_bounded_sample_and_judged_over_every_read() -> None:
    major, minor = random_seq(42), random_seq(47)
    # 400 major and 100 minor reads, the minor ones all after the first 60 in file order
    reads = noisy_reads(major, 60, seed=3) + noisy_reads(minor, 100, seed=4)
    reads += noisy_reads(major, 340, seed=5)
    settings = ConsensusSettings()
    assert settings.consensus_reads < 60
    sample = consensus.best_reads(reads, settings.consensus_reads)
    assert sample == reads[: settings.consensus_reads]  # file order, all of typical length
    call = consensus.call_well(reads, settings)
    assert call.sequence == major and call.n_used == 500
    # purity and the second allele come from all 500 reads, not from the sample
    assert call.purity == pytest.approx(0.8, abs=0.03)
    assert call.minor_sequence == minor


def exhaustive_polish(seqs: list[str], start: str) -> str:
    """What `polish` did before it scored only the edits reads show: every single edit."""
    best, best_total = start, sum(edit_distance(start, s) for s in seqs)
    for _ in range(3):
        ordered = sorted(single_edits(best))
        totals = consensus._distances(ordered, seqs).sum(axis=1).tolist()
        improved = min(zip(totals, ordered, strict=True), default=(best_total, best))
        if improved[0] >= best_total:
            break
        best_total, best = improved
    return best


@pytest.mark.parametrize("depth", [5, 40])
@pytest.mark.parametrize("preset", ["r10", "r9"])
def test_polishing_with_the_edits_reads_show_finds_the_exhaustive_search_result(
    depth: int, preset: str
) -> None:
    """Known answer: the exhaustive one-edit search, from the same start (a POA consensus of
    reads of random 50-70-nt UTRs, homopolymers and all), gives the same sequence."""
    rng = np.random.default_rng(depth)
    same = 0
    for seed in range(40):
        truth = "".join(rng.choice(list("ACGT"), int(rng.integers(50, 71))))
        reads = noisy_reads(truth, depth, preset, seed=seed)
        start = consensus._poa(reads)
        same += consensus.polish(reads, start) == exhaustive_polish(reads, start)
    assert same >= 39, f"{same} of 40 wells polished as the exhaustive search does"


def test_best_reads_skips_regions_of_atypical_length_and_keeps_file_order() -> None:
    reads = ["A" * 50] * 5 + ["C" * 20, "G" * 90] + ["T" * 51] * 5
    assert consensus.best_reads(reads, 6) == ["A" * 50] * 5 + ["T" * 51]
    assert consensus.best_reads(reads, 20) == reads  # few enough: all, as they came


def test_wells_called_over_a_pool_equal_those_called_in_one_process() -> None:
    reads = [noisy_reads(random_seq(40), int(n), seed=i) for i, n in enumerate([1, 5, 30, 50])]
    wells = [WellReads(regions, []) for regions in [*reads, []]]
    settings = ConsensusSettings()
    assert consensus.call_wells(wells, settings, None, threads=3) == consensus.call_wells(
        wells, settings, None
    )


def test_differences_list_substitutions_insertions_and_deletions() -> None:
    design = "ACGTACGTAC"
    assert consensus.differences("ACGAACGTAC", design) == "4T>A"
    assert consensus.differences("ACGTCGTAC", design) == "5delA"
    assert consensus.differences("ACGTACCGTAC", design) == "6_7insC"


def test_library_match_statuses() -> None:
    base = random_seq(40)
    sibling = base[:20] + ("A" if base[20] != "A" else "C") + base[21:]  # one substitution away
    far = random_seq(40)
    index = consensus.LibraryIndex(["v1", "v2", "v3"], [base, sibling, far], 3)
    exact = consensus.match_library(base, index, 1)
    assert (exact.variant_id, exact.match, exact.second_variant_id) == ("v1", "exact", "v2")
    variant = far[:10] + far[11:]
    m = consensus.match_library(variant, index, 1)
    assert (m.variant_id, m.match, m.distance) == ("v3", "synthesis_variant", 1)
    assert m.differences == f"11del{far[10]}"
    # one edit from both siblings: too close to call
    both = base[:20] + "G" + base[21:] if "G" not in (base[20], sibling[20]) else None
    if both is None:
        both = base[:20] + "T" + base[21:]
    assert consensus.match_library(both, index, 1).match == "ambiguous"
    assert consensus.match_library(random_seq(40), index, 1).match == "unmatched"


def test_library_index_finds_every_design_within_the_bound() -> None:
    designs = [random_seq(int(n)) for n in RNG.integers(30, 60, size=300)]
    index = consensus.LibraryIndex([f"v{i}" for i in range(300)], designs, 3)
    for i in range(0, 300, 7):
        seq = designs[i]
        edited = (
            seq[:5] + seq[6:15] + "A" + seq[15:25] + ("C" if seq[25] != "C" else "G") + seq[26:]
        )
        nearest = index.nearest(edited)
        assert nearest[0][1] == i
        assert nearest[0][0] == edit_distance(edited, seq) <= 3


@pytest.mark.parametrize("section", ["demux", "consensus"])
def test_schema_defaults_match_the_settings_classes(section: str) -> None:
    defaults = config.validate({})[section]
    cls = demux.DemuxSettings if section == "demux" else ConsensusSettings
    for f in fields(cls):
        assert defaults[f.name] == f.default, f.name


def test_well_calls_against_simulated_truth(tmp_path: Path) -> None:
    """Default (R10) error rate: the right sequence for >= 99.5 % of non-mixed wells with >= 5
    reads, >= 90 % of mixed wells flagged, and every library match right."""
    run = tmp_path / "run"
    simulate_run(RunSimulation(n_variants=2000, n_plates=4, seed=21), run)
    got = pipeline.call_wells(run, tmp_path).calls
    truth = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    merged = truth.merge(got, on=["plate", "well"], suffixes=("_true", ""), validate="one_to_one")
    colony = merged["sequence_true"] != ""
    pure = colony & ~merged["mixed"] & (merged["n_regions"] >= 5)
    assert pure.sum() > 300
    right = merged.loc[pure, "sequence"] == merged.loc[pure, "sequence_true"]
    assert right.mean() >= 0.995
    assert (merged.loc[pure, "variant_id"] == merged.loc[pure, "variant_id_true"]).mean() >= 0.995
    mixed = merged["mixed"]
    assert mixed.sum() >= 10
    assert (merged.loc[mixed, "qc"] == "mixed").mean() >= 0.9
    assert (merged.loc[pure, "qc"] == "mixed").mean() <= 0.01
    variants = pure & merged["synthesis_variant"]
    # Homopolymer-length synthesis errors may be called as the design (see toward_design).
    assert variants.sum() >= 30
    assert (merged.loc[variants, "match"] == "synthesis_variant").mean() >= 0.95
    assert merged.loc[merged["n_reads"] == 0, "qc"].eq("no_reads").all()


@pytest.mark.parametrize(
    ("n_reads", "n_other", "max_minor", "established"),
    [
        (6, 0, 0.35, False),  # 0.65**6 = 0.075: a 35 % minor colony is still possible
        (7, 0, 0.35, True),  # 0.65**7 = 0.049
        (8, 1, 0.35, False),  # P(X <= 1 | 8, 0.35) = 0.169
        (12, 1, 0.35, True),  # P(X <= 1 | 12, 0.35) = 0.042
        (8, 0, 0.3, False),  # 0.7**8 = 0.058
        (9, 0, 0.3, True),  # 0.7**9 = 0.040
        (200, 30, 0.35, True),
        (0, 0, 0.35, False),
    ],
)
def test_purity_bound_known_answers(n_reads, n_other, max_minor, established) -> None:
    assert consensus.purity_established(n_reads, n_other, max_minor) is established


def test_a_well_passes_only_with_reads_enough_to_exclude_a_second_colony() -> None:
    settings = ConsensusSettings()
    agreeing = [consensus.WellCall("ACGT", 1.0, "", n) for n in (3, 6, 7)]
    assert [consensus.well_qc(40, c, settings) for c in agreeing] == [
        "purity_unproven",
        "purity_unproven",
        "pass",
    ]
    assert consensus.well_qc(40, consensus.WellCall("ACGT", 1.0, "", 2), settings) == "low_reads"
    assert consensus.well_qc(0, consensus.WellCall("", 0.0, "", 0), settings) == "no_reads"
    mixed = consensus.WellCall("ACGT", 0.6, "", 10)
    assert consensus.well_qc(10, mixed, settings) == "mixed"
    lenient = ConsensusSettings(max_minor_fraction=0.5)  # 0.5**5 = 0.031
    assert consensus.well_qc(5, consensus.WellCall("ACGT", 1.0, "", 5), lenient) == "pass"
    # mixed and too few reads are said first; a confirmed variant passes
    mixed_variant = consensus.WellCall("ACGT", 0.6, "", 10, 3, 10)
    assert consensus.well_qc(10, mixed_variant, settings) == "mixed"
    confirmed = consensus.WellCall("ACGT", 1.0, "", 7, 7, 7)
    assert consensus.well_qc(7, confirmed, settings) == "pass"


@pytest.mark.parametrize(
    ("backing", "n_reads", "confidence", "confirmed"),
    [
        (5, 5, 0.95, True),  # 0.5**5 = 0.031
        (4, 5, 0.95, False),  # P(X >= 4 | 5, 0.5) = 0.19
        (6, 7, 0.95, False),  # 0.0625
        (7, 8, 0.95, True),  # 0.035
        (15, 20, 0.95, True),  # 0.021
        (14, 20, 0.95, False),  # 0.058
        (3, 5, 0.0, True),  # the test switched off
    ],
)
def test_variant_confirmation_known_answers(backing, n_reads, confidence, confirmed) -> None:
    assert consensus.variant_confirmed(backing, n_reads, confidence) is confirmed


def test_a_difference_from_the_design_passes_only_when_nearly_every_read_backs_it() -> None:
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    variant = design[:14] + "A" + design[15:]  # a synthesis substitution (G -> A)
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    lenient = ConsensusSettings(max_minor_fraction=0.5)  # purity is not what is tested here
    real = consensus.call_well([variant] * 5, lenient, library)
    assert (real.sequence, real.variant_backing, real.n_backing) == (variant, 5, 5)
    assert consensus.well_qc(5, real, lenient) == "pass"
    # 4 of 5 reads share the same error: the reads' majority, and not confirmed
    shared = consensus.call_well([variant] * 4 + [design], lenient, library)
    assert (shared.sequence, shared.variant_backing) == (variant, 4)
    assert consensus.well_qc(5, shared, lenient) == "variant_unconfirmed"
    # 3 and 2 error-free reads: two alleles, each exactly in its reads (tests/test_alleles.py)
    split = consensus.call_well([variant] * 3 + [design] * 2, lenient, library)
    assert (split.sequence, split.minor_sequence, split.minor_reads) == (variant, design, 2)
    assert consensus.well_qc(5, split, lenient) == "mixed"
    # a call equal to its design is not tested, nor is a call with no library
    assert consensus.call_well([design] * 5, lenient, library).variant_backing is None
    assert consensus.call_well([variant] * 3 + [design] * 2, lenient).variant_backing is None


def test_variant_backing_is_that_of_the_least_backed_difference() -> None:
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    real = design[:5] + "T" + design[6:]  # every read has it
    slipped = real[:20] + "C" + real[21:]  # and 3 of 5 reads share a second change
    reads = [slipped] * 3 + [real] * 2
    assert consensus.variant_backing(reads, slipped, design) == 3
    assert consensus.variant_backing(reads, real, design) == 5
    assert consensus.variant_backing(reads, design, design) is None


def test_call_plate_says_reads_assigned_and_reads_that_gave_the_sequence() -> None:
    """40 reads assigned, one with a region between the flanks: n_reads 40, n_regions 1."""
    truth = random_seq(40)
    counts = [  # rows of well_counts.tsv as read back: strings
        {"plate": "P1", "well": "A1", "role": "sample", "reads": "40", "regions": "1"},
        {"plate": "P1", "well": "A2", "role": "sample", "reads": "12", "regions": "9"},
        {"plate": "P2", "well": "A1", "role": "sample", "reads": "7", "regions": "7"},
    ]
    regions = {"A1": WellReads([truth], []), "A2": WellReads(noisy_reads(truth, 9, seed=4), [])}
    table = consensus.call_plate("P1", counts, regions, None, ConsensusSettings())
    assert [(row["n_reads"], row["n_regions"]) for row in table] == [(40, 1), (12, 9)]
    assert [row["qc"] for row in table] == ["low_reads", "pass"]
    assert [row["sequence"] for row in table] == [truth, truth]


# --------------------------------------------------------------------------------------------
# Calls weighed by base quality


def phred(*values: int) -> str:
    return "".join(chr(33 + v) for v in values)


def test_a_reads_errors_cost_their_base_qualities() -> None:
    """A wrong or an extra base costs its own Phred / 10; a missing base the lowest quality of
    the run it left (and one base either side); a read equal to the candidate costs nothing."""
    candidate = "ACGTTTTGCA"
    qualities = [30, 30, 30, 12, 8, 12, 12, 30, 25, 30]
    read = consensus.weigh(candidate, phred(*qualities))
    assert consensus.read_cost(candidate, read) == 0
    wrong = consensus.weigh("ACGTTTTGGA", phred(*qualities))  # C -> G at position 8, Phred 25
    assert consensus.read_cost(candidate, wrong) == pytest.approx(2.5)
    extra = consensus.weigh("ACGTTTTGCAT", phred(*qualities, 7))
    assert consensus.read_cost(candidate, extra) == pytest.approx(0.7)
    # one T lost from the run: its remaining bases and neighbours' lowest quality is Phred 8
    slipped = consensus.weigh("ACGTTTGCA", phred(30, 30, 30, 12, 8, 12, 30, 25, 30))
    assert consensus.read_cost(candidate, slipped) == pytest.approx(0.8)
    # qualities are taken within MIN_PHRED..MAX_PHRED: no error is free, none costs more
    sure = consensus.weigh("ACGTTTTGGA", phred(*qualities[:8], 90, 30))
    assert consensus.read_cost(candidate, sure) == pytest.approx(consensus.MAX_PHRED / 10)


@pytest.mark.parametrize(
    ("with_variant", "quality", "called", "qc"),
    [
        (5, 12, "variant", "pass"),
        (4, 12, "variant", "variant_unconfirmed"),  # 1 read against: odds 10**1.2, under 0.95
        (4, 30, "variant", "pass"),  # the same split, but the reads are sure of their bases
        (3, 12, "design", "sequence_unconfirmed"),  # the design's prior tips a 3:2 split
        (0, 12, "design", "pass"),
    ],
)
def test_a_weighed_call_and_how_sure_it_is(with_variant, quality, called, qc) -> None:
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    variant = design[:14] + "A" + design[15:]  # a synthesis substitution (G -> A)
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    lenient = ConsensusSettings(max_minor_fraction=0.5)  # purity is not what is tested here
    regions = [variant] * with_variant + [design] * (5 - with_variant)
    call = consensus.call_well(regions, lenient, library, qualities=[phred(quality) * 30] * 5)
    assert call.sequence == {"variant": variant, "design": design}[called]
    assert call.off_design is (called == "variant")
    assert call.margin is not None
    assert consensus.well_qc(5, call, lenient) == qc


def test_the_design_prior_is_a_setting_and_no_library_means_no_prior() -> None:
    """Without the prior (rate 0, or no library), a 3:2 split goes to the majority, unsure."""
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    variant = design[:14] + "A" + design[15:]
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    regions, qualities = [variant] * 3 + [design] * 2, [phred(12) * 30] * 5
    lenient = ConsensusSettings(max_minor_fraction=0.5, synthesis_error_rate=0)
    call = consensus.call_well(regions, lenient, library, qualities=qualities)
    assert (call.sequence, call.off_design) == (variant, True)
    # one read's Phred 12 more against the design (farther neighbours take a little off)
    assert call.margin == pytest.approx(1.2, abs=0.01)
    assert consensus.well_qc(5, call, lenient) == "variant_unconfirmed"
    lenient = ConsensusSettings(max_minor_fraction=0.5)
    call = consensus.call_well(regions, lenient, None, qualities=qualities)
    assert (call.sequence, call.off_design) == (variant, False)  # no design to differ from
    assert consensus.well_qc(5, call, lenient) == "sequence_unconfirmed"


def test_reads_that_lose_a_base_where_they_are_unsure_do_not_outvote_the_design() -> None:
    """3 of 5 reads lose a G of a GGGG run and mark it with low qualities there (as basecallers
    do); the 2 others read it whole and sure. The call is the design; the same 3 reads sure of
    their shorter run make it a variant."""
    design = "ACGTAGCATCGGGGATCAGTCGACTAGCAT"
    slipped = design[:10] + design[11:]
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    lenient = ConsensusSettings(max_minor_fraction=0.5)
    unsure = phred(*[20] * 8, 6, 6, 6, *[20] * 18)
    qualities = [unsure] * 3 + [phred(20) * 30] * 2
    call = consensus.call_well([slipped] * 3 + [design] * 2, lenient, library, qualities=qualities)
    assert call.sequence == design
    sure = [phred(25) * 29] * 3 + [phred(8) * 30] * 2
    call = consensus.call_well([slipped] * 3 + [design] * 2, lenient, library, qualities=sure)
    assert call.sequence == slipped


def test_a_deep_well_is_called_by_counting_its_reads_even_with_qualities() -> None:
    """Past SETTLE_READS regions the reads' shared biases would make the posterior overconfident:
    the call is the count path's (no margin; the backing of each difference counted)."""
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    variant = design[:14] + "A" + design[15:]
    library = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    n = consensus.SETTLE_READS + 1
    deep = consensus.call_well(
        [variant] * n, ConsensusSettings(), library, qualities=[phred(12) * 30] * n
    )
    assert (deep.sequence, deep.margin, deep.variant_backing) == (variant, None, n)
    shallow = consensus.call_well(
        [variant] * (n - 1), ConsensusSettings(), library, qualities=[phred(12) * 30] * (n - 1)
    )
    assert shallow.margin is not None and shallow.variant_backing is None


def test_a_design_one_edit_from_another_is_not_taken_for_a_synthesis_error() -> None:
    """Libraries of single mutants hold designs one base apart. A 3:2 split between two such
    designs is unsure: the prior weighs each candidate against its own nearest design, not the
    call's, so neither is a synthesis error of the other. With only one of them designed, the
    same reads pass as that design, the other side now a synthesis error away."""
    design = "ACGTAGCATCGGATCAGTCGACTAGCATGC"
    mutant = design[:14] + "A" + design[15:]
    regions, qualities = [design] * 3 + [mutant] * 2, [phred(12) * 30] * 5
    lenient = ConsensusSettings(max_minor_fraction=0.5)
    both = consensus.LibraryIndex(["v1", "v2"], [design, mutant], 3)
    call = consensus.call_well(regions, lenient, both, qualities=qualities)
    assert (call.sequence, call.off_design) == (design, False)
    assert consensus.well_qc(5, call, lenient) == "sequence_unconfirmed"
    alone = consensus.LibraryIndex(["v1", "v2"], [design, random_seq(30)], 3)
    call = consensus.call_well(regions, lenient, alone, qualities=qualities)
    assert (call.sequence, consensus.well_qc(5, call, lenient)) == (design, "pass")
