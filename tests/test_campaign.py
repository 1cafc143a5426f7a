"""benchmarks/campaign.py runs (a tiny campaign), and its second truth is what it says."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
from conftest import REPO

SPEC = importlib.util.spec_from_file_location("campaign", REPO / "benchmarks" / "campaign.py")
assert SPEC and SPEC.loader
campaign = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = campaign  # its dataclasses look their module up
SPEC.loader.exec_module(campaign)


def test_the_epistatic_truth_rewards_the_two_motifs_only_together() -> None:
    tail = "ACGTTGCAACGTTGCAACGTTGCAACGTTG"  # the 30 nt the position effects read, shared
    filler = "T" * 12
    plain, a, b, both = (
        head + filler[: 12 - len(head)] + tail for head in ("", "GATC", "CCAAT", "GATCCCAAT")
    )
    value = campaign.epistatic([plain, a, b, both])
    assert np.allclose(value - value[0], [0.0, 0.3, 0.3, 2.0])
    assert np.allclose(campaign.epistatic([both]), value[3])  # a fixed landscape


def test_a_tiny_campaign_runs_every_strategy_and_keeps_its_best() -> None:
    records = campaign.run(1, 48, 2, 8, 0.4, 10, truths=["simulator"])
    assert {r["strategy"] for r in records} == set(campaign.STRATEGIES)
    for name in campaign.STRATEGIES:
        rows = [r for r in records if r["strategy"] == name]
        assert [r["round"] for r in rows] == [2, 3]
        assert rows[1]["best_true"] >= rows[0]["best_true"]  # the best found never drops
    utrflow = next(r for r in records if r["strategy"] == "utrflow_bins")
    assert 0 <= utrflow["in_target_bin"] <= 1 and utrflow["r2_random"] is not None
    table = campaign.summarize(records)
    assert ("best_true", "mean") in table.columns and len(table) == 2 * len(campaign.STRATEGIES)
