"""The plate's error background by site (`utrflow.reads.consensus.background`): a second
allele is judged against each site's own error rate, measured on the plate's other wells.

Known answers on one in-process plate of 48 wells (reads from the simulator's error model, with
its base qualities): an error every read of a context shows at a quarter of them is no allele,
where each well's base qualities alone took it for one; a real quarter minor at 12 reads of
R9 is found more often than without the background.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from utrflow.reads import consensus
from utrflow.reads.consensus import ConsensusSettings
from utrflow.reads.consensus.background import edit_key, opportunities
from utrflow.reads.consensus.regions import WellReads
from utrflow.simulate.nanopore import PRESETS, apply_errors, split_text, to_array

SETTINGS = ConsensusSettings()
MOTIF = "GATCA"  # planted at MOTIF_AT in every design; no other ATC anywhere
MOTIF_AT = 26


def one_edit_neighbours(seq: str) -> set[str]:
    """Every string one substitution, deletion or insertion from `seq` (by brute force)."""
    out = set()
    for i in range(len(seq)):
        out.add(seq[:i] + seq[i + 1 :])
        out.update(seq[:i] + b + seq[i + 1 :] for b in "ACGT" if b != seq[i])
    for i in range(len(seq) + 1):
        out.update(seq[:i] + b + seq[i:] for b in "ACGT")
    return out


def keys_by_edit_key(seq: str, ends: tuple[int, int]) -> Counter:
    """Each distinct one-edit neighbour of `seq` keyed by `edit_key` (the first edit that
    makes it): what `opportunities`, written out for speed, must count."""
    made: dict[str, tuple] = {}
    for i, here in enumerate(seq):
        made.setdefault(seq[:i] + seq[i + 1 :], edit_key(seq, "delete", i, here, ends))
        for b in "ACGT".replace(here, ""):
            made.setdefault(seq[:i] + b + seq[i + 1 :], edit_key(seq, "replace", i, b, ends))
    for i in range(len(seq) + 1):
        for b in "ACGT":
            made.setdefault(seq[:i] + b + seq[i:], edit_key(seq, "insert", i, b, ends))
    return Counter(made.values())


def test_every_distinct_one_edit_neighbour_is_one_opportunity_and_a_run_one_key() -> None:
    """The sites counted for a call are its distinct one-edit neighbours, each once (a run's
    deletions and its insertions are one string each), keyed as `edit_key` keys them, and a
    run's edits share one key wherever the alignment put them."""
    rng = random.Random(1)
    for _ in range(100):
        seq = "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 14)))
        assert sum(opportunities(seq).values()) == len(one_edit_neighbours(seq)), seq
        for ends in ((0, 0), (min(3, len(seq) // 3), min(2, len(seq) // 3))):
            assert opportunities(seq, ends) == keys_by_edit_key(seq, ends), (seq, ends)
    call = "ACGGGGTA"
    assert len({edit_key(call, "delete", i, "G") for i in range(2, 6)}) == 1
    assert len({edit_key(call, "insert", i, "G") for i in range(2, 7)}) == 1
    assert edit_key(call, "delete", 3, "G") == ("delete", "G", "4", "C", "T")
    # near a flank end (2 bases of flank at each end here) the key is the end's
    assert edit_key(call, "replace", 6, "C", (2, 2))[:3] == ("replace", "edge", "right")


def _reads(templates: list[str], preset: str, seed: int) -> WellReads:
    rng = np.random.default_rng(seed)
    lengths = np.array([len(t) for t in templates])
    reads = apply_errors(rng, to_array("".join(templates)), lengths, PRESETS[preset])
    return WellReads(split_text(reads.seq, reads.lengths), split_text(reads.qual, reads.lengths))


def _design(rng: np.random.Generator, length: int = 60) -> str:
    """A design with MOTIF at MOTIF_AT, no homopolymer of 3 and no other ATC."""
    while True:
        seq = "".join(rng.choice(list("ACGT"), length))
        seq = seq[:MOTIF_AT] + MOTIF + seq[MOTIF_AT + len(MOTIF) :]
        if not any(b * 3 in seq for b in "ACGT") and seq.count("ATC") == 1:
            return seq


def _sibling(rng: np.random.Generator, seq: str, edits: int) -> str:
    """`seq` with `edits` substitutions, each by a base unlike its neighbours."""
    out = list(seq)
    for i in rng.choice(np.arange(8, len(seq) - 8), edits, replace=False):
        out[i] = rng.choice([b for b in "ACGT" if b not in seq[i - 1 : i + 2]])
    return "".join(out)


def _plate(
    preset: str, seed: int, depth: int, planted: float = 0.0, mixed: int = 0, edits: int = 3
) -> tuple[list[WellReads], list[bool]]:
    """48 wells of `depth` reads: the first `mixed` hold 3 reads of a sibling `edits` away;
    in the rest, each read shows MOTIF's T as G with chance `planted` (a systematic error)."""
    rng = np.random.default_rng(seed)
    wells, truth = [], []
    for w in range(48):
        design = _design(rng)
        slip = design[: MOTIF_AT + 2] + "G" + design[MOTIF_AT + 3 :]
        minor = 3 if w < mixed else 0
        templates = [_sibling(rng, design, edits)] * minor + [
            slip if rng.random() < planted else design for _ in range(depth - minor)
        ]
        wells.append(_reads(templates, preset, seed * 1000 + w))
        truth.append(w < mixed)
    return wells, truth


def _mixed(wells: list[WellReads], depth: int) -> tuple[list[bool], list[bool]]:
    """Each well called alone (its base qualities' floor) and on its plate (the background)."""
    alone = [
        consensus.well_qc(
            depth, consensus.call_well(w.regions, SETTINGS, None, ("", ""), w.qualities), SETTINGS
        )
        == "mixed"
        for w in wells
    ]
    plate = [
        consensus.well_qc(depth, call, SETTINGS) == "mixed"
        for call, _ in consensus.call_wells(wells, SETTINGS, None)
    ]
    return alone, plate


@pytest.mark.parametrize("preset", ["r10", "r9"])
def test_a_systematic_error_at_one_context_in_every_well_is_no_second_allele(preset: str) -> None:
    """A quarter of every well's 20 reads read MOTIF's T as G (as a basecaller miscalls one
    k-mer): alone, a well's base qualities take that shared edit for a colony in 11-39 of 48
    wells; against the plate's rate at that context, 2 or fewer (wells where half the reads
    happen to show it)."""
    alone, plate = _mixed(_plate(preset, 7, 20, planted=0.25)[0], 20)
    assert sum(alone) >= 10, sum(alone)
    assert sum(plate) <= 2, sum(plate)


def test_a_quarter_minor_at_twelve_r9_reads_is_found_against_the_background() -> None:
    """12 of 48 wells hold 3 of 12 reads of a design 3 (one plate) or 5 (another) substitutions
    away, R9 reads and qualities: against the plate's background 22 or more of the 24 are
    mixed (alone, by the base qualities' floor: 17); none of the 72 pure wells is."""
    found = alone_found = false = 0
    for edits, seed in ((3, 8), (5, 7)):
        wells, truth = _plate("r9", seed, 12, mixed=12, edits=edits)
        alone, plate = _mixed(wells, 12)
        found += sum(p for p, t in zip(plate, truth, strict=True) if t)
        alone_found += sum(a for a, t in zip(alone, truth, strict=True) if t)
        false += sum(p for p, t in zip(plate, truth, strict=True) if not t)
    assert found >= 22 and alone_found <= 18 and false == 0, (found, alone_found, false)
