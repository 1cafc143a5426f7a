"""Designing the next library: constraints, bins, distances, and the simulator's truth."""

from __future__ import annotations

import re

import edlib
import numpy as np
import pandas as pd
import pytest

from utrflow import config
from utrflow.design import next_library as design
from utrflow.design.next_library import Constraints, DesignSettings
from utrflow.errors import InputError
from utrflow.sequences import random_sequences, reverse_complement
from utrflow.simulate import truth
from utrflow.simulate.quality import truth_check
from utrflow.simulate.run_settings import construct_flanks


def constraints(**changes) -> Constraints:
    values = {
        "min_length": 10,
        "max_length": 20,
        "gc_min": 0.3,
        "gc_max": 0.7,
        "max_homopolymer": 4,
        "motifs": ("GAATTC",),
        "no_upstream_atg": True,
        "prefix": "CCAT",
        "suffix": "TTCC",
    }
    values.update(changes)
    return Constraints(**values)


@pytest.mark.parametrize(
    ("seq", "broken"),
    [
        ("ACGTCAGTCAGC", []),
        ("ACGTCAGTC", ["length 9 outside 10-20"]),
        ("AAAATTTTAAAC", ["GC 0.08 outside 0.3-0.7"]),
        ("ACGGGGGTAATC", ["homopolymer of 5"]),
        ("ACGAATTCAGCG", ["motif GAATTC"]),
        ("ACGTCAGTCGAA", ["motif GAATTC"]),  # ...GAA + TTCC flank: GAATTC across the junction
        ("GCAGTCAGTCAG", ["upstream ATG"]),  # CCAT + G... makes an ATG across the 5' junction
        ("ACGTCATGCAGC", ["upstream ATG"]),
    ],
)
def test_each_constraint_catches_what_it_should(seq: str, broken: list[str]) -> None:
    assert constraints().violations(seq) == broken


def test_forbidden_motifs_are_checked_on_both_strands_and_must_be_dna() -> None:
    settings = DesignSettings(forbidden_motifs=("ggtctc",))  # BsaI
    assert set(settings.motifs) == {"GGTCTC", "GAGACC"}
    with pytest.raises(InputError, match=r"design\.forbidden_motifs"):
        DesignSettings(forbidden_motifs=("GGNCC",))


def test_bins_split_the_measured_predictions_and_the_outer_bins_are_open() -> None:
    predictions = np.arange(100, dtype=float)
    goals = design.targets(DesignSettings(objective="bins", bins=4), predictions)
    assert [g.bin for g in goals] == [1, 2, 3, 4]
    assert np.isinf(goals[0].low) and np.isinf(goals[-1].high)
    assert [g.high for g in goals[:-1]] == pytest.approx([24.75, 49.5, 74.25])
    top, middle = goals[-1], goals[1]
    assert top.energy(np.array([200.0]))[0] < top.energy(np.array([100.0]))[0]  # maximizes
    inside = middle.energy(np.array([(middle.low + middle.high) / 2]))[0]
    assert inside == 0 and middle.energy(np.array([90.0]))[0] > 1
    maximize = design.targets(DesignSettings(objective="maximize"), predictions)
    assert len(maximize) == 1 and maximize[0].low == 99 and np.isinf(maximize[0].high)


def gc_scorer(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in model: expression = number of G and C bases."""
    counts = np.array([s.count("G") + s.count("C") for s in sequences], dtype=float)
    return counts, np.zeros(len(sequences))


def check_designs(
    designs: pd.DataFrame, measured: list[str], rules: Constraints, settings: DesignSettings
) -> None:
    """Every design keeps every rule, checked here without the package's own checker."""
    for seq in designs["sequence"]:
        assert rules.min_length <= len(seq) <= rules.max_length
        gc = (seq.count("G") + seq.count("C")) / len(seq)
        assert rules.gc_min <= gc <= rules.gc_max
        too_long = rules.max_homopolymer + 1
        assert not re.search("|".join(f"{b}{{{too_long}}}" for b in "ACGT"), seq)
        oligo = rules.prefix + seq + rules.suffix
        for motif in rules.motifs:
            assert motif not in oligo and reverse_complement(motif) not in oligo
        if rules.no_upstream_atg:
            assert "ATG" not in rules.prefix[-2:] + seq
        distances = [edlib.align(seq, m, task="distance")["editDistance"] for m in measured]
        assert min(distances) >= settings.min_distance_measured
        reported = designs.loc[designs["sequence"] == seq, "distance"].iloc[0]
        assert reported == min(distances)  # the nearest measured sequence, exactly
    seqs = designs["sequence"].tolist()
    for i, a in enumerate(seqs):
        for b in seqs[i + 1 :]:
            assert (
                edlib.align(a, b, task="distance")["editDistance"] >= settings.min_distance_designs
            )


def test_designs_keep_every_constraint_and_cover_the_bins() -> None:
    rng = np.random.default_rng(4)
    measured = random_sequences(rng, 300, 25, 40)
    table = pd.DataFrame({"sequence": measured, "name": [f"m{i}" for i in range(300)]})
    settings = DesignSettings(
        n_designs=16,
        steps=120,
        forbidden_motifs=("GGTCTC",),
        no_upstream_atg=True,
        seed=3,
        objective="bins",
    )
    designs, summary = design.design_library(table, gc_scorer, settings, "GCAT", "ATGAAA")
    rules = design.constraints_for(settings, measured, "GCAT", "ATGAAA")
    assert len(designs) == 16 and summary["designed"] == 16
    check_designs(designs, measured, rules, settings)
    assert (designs["predicted"] == [gc_scorer([s])[0][0] for s in designs["sequence"]]).all()
    bins = {b["bin"]: b for b in summary["bins"]}
    for b in (2, 3):  # the closed bins: designs inside them
        part = designs[designs["target_bin"] == bins[b]["label"]]
        assert len(part) == 4
        assert part["predicted"].between(bins[b]["low"], bins[b]["high"]).all()
    top = designs[designs["target_bin"] == bins[4]["label"]]["predicted"]
    assert top.mean() > max(gc_scorer(measured)[0])  # the open top bin goes beyond the data
    assert (designs["distance"] <= settings.max_edits).all()
    assert designs["nearest_measured"].str.match(r"^m\d+$").all()
    again, _ = design.design_library(table, gc_scorer, settings, "GCAT", "ATGAAA")
    assert again.equals(designs)  # same seed, same library
    # The annealing needs the mean alone: given a cheaper scorer of it, it runs that one only
    # (the spread's members score the measured library and the picks, twice in all), and the
    # library is the same.
    calls: list[int] = []

    def counted(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(sequences))
        return gc_scorer(sequences)

    means: list[int] = []

    def mean_only(sequences: list[str]) -> np.ndarray:
        means.append(len(sequences))
        return gc_scorer(sequences)[0]

    cheaper, _ = design.design_library(
        table, counted, settings, "GCAT", "ATGAAA", predict_mean=mean_only
    )
    assert cheaper.equals(designs)
    assert calls == [300, 16] and len(means) == settings.steps


def test_oligo_order_puts_the_flanks_around_each_design() -> None:
    designs = pd.DataFrame({"id": ["d1"], "sequence": ["ACGT"]})
    order = design.oligo_order(designs, "GGG", "TTT")
    assert order.to_dict("records") == [
        {"name": "d1", "oligo": "GGGACGTTTT", "length": 10, "utr": "ACGT"}
    ]
    flanks = design.oligo_flanks(DesignSettings(), {"upstream_flank": "aa"})
    assert flanks == ("AA", "")
    simulated = design.oligo_flanks(DesignSettings(oligo_suffix="c"), {}, construct_flanks())
    assert simulated == (construct_flanks()[0], "C")


def test_schema_defaults_match_the_settings_class() -> None:
    from dataclasses import fields

    defaults = config.validate({})["design"]
    for f in fields(DesignSettings):
        if f.name in ("seed", "motifs"):
            continue
        value = tuple(defaults[f.name]) if f.name == "forbidden_motifs" else defaults[f.name]
        assert value == f.default, f.name


@pytest.mark.slow
def test_top_bin_designs_beat_the_measured_top_five_percent_in_truth() -> None:
    """A CNN trained on a simulated library designs UTRs whose hidden (true) expression beats
    the best 5 % of what was measured, and every design keeps every constraint."""
    from utrflow.model.training import train_member
    from utrflow.sequences import one_hot
    from utrflow.simulate.table import simulate_table

    sim = simulate_table(4000, 30, 60, 0.4, seed=3)
    table = sim.labelled
    split = np.where(np.random.default_rng(0).random(len(table)) < 0.8, "train", "validation")
    rows = table[["sequence", "label"]].assign(split=split)
    model_cfg = config.validate(
        {"model": {"conv_filters": [32, 32], "kernel_size": 6, "dense_units": 16, "epochs": 20}}
    )["model"]
    member = train_member(one_hot(rows["sequence"].tolist()), rows, None, model_cfg, seed=1)
    settings = DesignSettings(
        n_designs=24, steps=150, forbidden_motifs=("GAATTC",), seed=5, objective="bins"
    )
    measured = table.assign(name=table["variant_id"])
    designs, summary = design.design_library(
        measured, design.ensemble_scorer([member.model]), settings
    )
    check_designs(
        designs,
        table["sequence"].tolist(),
        design.constraints_for(settings, table["sequence"], "", ""),
        settings,
    )
    report = truth_check(designs, table, sim.truth)
    top_bin = summary["bins"][-1]["label"]
    assert report["design_true_mean"][top_bin] > report["measured_top5_true_mean"]
    true = truth.expression(designs["sequence"].tolist())
    assert np.allclose(true, report["design_true"])


def test_ucb_climbs_the_upper_end_of_intervals_that_vary_per_sequence() -> None:
    """A stand-in model whose mean counts G and whose spread counts A: `max` on the mean
    designs G-rich UTRs; `acquisition: ucb` with intervals scaled by the spread trades some G
    for the A the model is unsure of (a higher upper bound); intervals of one width leave the
    mean's library as it was."""
    from utrflow.model.smalldata import Intervals

    def scorer(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        g = np.array([s.count("G") for s in sequences], dtype=float)
        return g, 0.5 * np.array([s.count("A") for s in sequences], dtype=float)

    rng = np.random.default_rng(2)
    measured = random_sequences(rng, 200, 30, 30)
    table = pd.DataFrame({"sequence": measured, "name": [f"m{i}" for i in range(200)]})
    base = {"n_designs": 12, "steps": 150, "seed": 4, "gc_max": 0.9, "max_homopolymer": 8}
    scaled = Intervals(0.9, 2.0, normalized=True, floor=0.1)
    mean, summary = design.design_library(table, scorer, DesignSettings(**base), intervals=scaled)
    ucb, ucb_summary = design.design_library(
        table, scorer, DesignSettings(**base, acquisition="ucb"), intervals=scaled
    )
    assert summary["acquisition"] == "mean" and ucb_summary["acquisition"].startswith("ucb")
    assert ucb["upper"].mean() > mean["upper"].mean() + 1  # the bound it climbed
    assert mean["predicted"].mean() > ucb["predicted"].mean()  # the mean it climbed
    assert ucb["predicted_sd"].mean() > mean["predicted_sd"].mean()
    width = ucb["upper"] - ucb["lower"]
    assert np.allclose(width, 2 * 2.0 * (ucb["predicted_sd"] + 0.1))  # per design
    plain = Intervals(0.9, 2.0)
    same, same_summary = design.design_library(
        table, scorer, DesignSettings(**base, acquisition="ucb"), intervals=plain
    )
    assert same["sequence"].tolist() == mean["sequence"].tolist()
    assert "one width" in same_summary["acquisition"]
    assert np.allclose(same["upper"] - same["lower"], 4.0)
