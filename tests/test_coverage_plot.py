"""The report's prediction-interval part (report/coverage.py): nominal against empirical
coverage per split, read from metrics.json, in the rendered report."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from test_report_render import LEGIBLE_PX, made_up_model, plate_table, rendered

from utrflow.report import coverage
from utrflow.stats import share_interval

SCALED = {
    "level": 0.9, "halfwidth": 2.88, "normalized": True, "floor": 0.024,
    "source": "validation residuals of 187 rows",
    "scale_from": "the spread of the top 3 contenders (seed, gbt_kmer, ridge_kmer)",
    "coverage": {"train": 0.97, "validation": 0.909, "test": 0.824},
    "n": {"train": 1509, "validation": 187, "test": 188},
    "test_coverage_by_width": {"narrow": 0.635, "middle": 0.905, "wide": 0.935},
}  # fmt: skip


def test_the_interval_of_a_share_is_known() -> None:
    """The bars' 95 % interval is the exact (Clopper-Pearson) one the well calls use
    (utrflow.stats): 90 of 100 -> (0.8238, 0.9510), as R's binom.test gives."""
    low, high = share_interval(90, 100)
    assert low == pytest.approx(0.8238, abs=0.0001) and high == pytest.approx(0.9510, abs=0.0001)
    assert share_interval(20, 20)[1] == 1.0 and share_interval(0, 0) == (0.0, 1.0)


def test_a_share_of_one_or_zero_on_few_rows_lies_inside_its_interval_and_draws() -> None:
    # 6 of 6 covered: the Wilson formula's upper end once came out 0.9999999999999999, so the
    # figure's error bar was negative and matplotlib refused the whole report (a tiny run's test
    # split with every label inside).
    for share, n in ((1.0, 6), (0.0, 6), (1.0, 1), (5 / 7, 7)):
        low, high = share_interval(round(share * n), n)
        assert low <= share <= high
    assert share_interval(6, 6)[1] == 1.0 and share_interval(0, 6)[0] == 0.0
    small = {"level": 0.9, "halfwidth": 0.5, "coverage": {"validation": 1.0, "test": 0.0},
             "n": {"validation": 6, "test": 6}}  # fmt: skip
    assert coverage.figure(small).startswith("data:image/png")


def test_each_split_and_each_third_of_the_widths_gets_a_bar_with_its_rows() -> None:
    shown = coverage.bars(SCALED)
    assert [b[0] for b in shown][:3] == ["train", "validation", "test"]
    assert [b[1] for b in shown] == [0.97, 0.909, 0.824, 0.635, 0.905, 0.935]
    assert [b[2] for b in shown] == [1509, 187, 188, 62, 62, 62]
    made = coverage.section({"intervals": SCALED})
    assert made is not None and made["figure"].font_px >= LEGIBLE_PX - 0.01
    assert "per sequence" in made["text"] and "82.4 %" in made["text"]
    plain = {**SCALED, "normalized": False, "halfwidth": 0.63}
    plain.pop("test_coverage_by_width")
    said = coverage.section({"intervals": plain})
    assert said is not None and "± 0.63 around each prediction" in said["text"]
    assert len(coverage.bars(plain)) == 3
    assert (
        coverage.section({"intervals": {**SCALED, "halfwidth": None}}) is None
    )  # too few rows: no interval


def test_the_report_shows_the_coverage_figure_with_or_without_a_contest() -> None:
    model = made_up_model(n_test=60)
    board = pd.DataFrame({"name": ["seed", "gbt_kmer"], "kind": ["cnn", "baseline"],
                          "description": ["", ""], "parameters": [10, 5], "seconds": [1.0, 0.1],
                          "epochs": [3, None], "validation_r2": [0.7, 0.6],
                          "selected": [True, False]})  # fmt: skip
    model = dataclasses.replace(
        model, metrics={**model.metrics, "intervals": SCALED}, leaderboard=board
    )
    html = rendered(plate_table(1, distinct=60), model=model)
    assert 'alt="Prediction interval coverage per split"' in html
    assert "as wide as the spread of the top 3 contenders" in html
    # A fixed preset (no contest, no leaderboard) shows it too.
    fixed = dataclasses.replace(
        model, leaderboard=None, training={**model.training, "preset": "seed"},
        metrics={k: v for k, v in model.metrics.items() if k != "selection"},
    )  # fmt: skip
    html = rendered(plate_table(1, distinct=60), model=fixed)
    assert "Model contest" not in html
    assert 'alt="Prediction interval coverage per split"' in html
