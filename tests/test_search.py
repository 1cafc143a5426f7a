"""preset auto: the candidates, the contest on the validation split, the learning curve's
suggested sizes, and the design step's refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utrflow import config
from utrflow.design import next_library as design
from utrflow.model import search
from utrflow.resources import resources


def model_cfg(**changes) -> dict:
    return config.validate({"model": changes})["model"]


def test_auto_is_the_default_and_the_budget_follows_the_gpu_request():
    cfg = model_cfg()
    assert cfg["preset"] == "auto"
    names = [c.name for c in search.candidates(cfg)]
    assert names == ["seed", "residual", "optimus"]  # the CPU budget
    gpu = resources(config.validate({"resources": {"gpus": 1}}))
    assert len(search.candidates(cfg, gpu)) == gpu.gpu_candidates == 12
    assert search.candidates(model_cfg(preset="seed")) == []
    kinds = {c.changes["preset"] for c in search.catalogue(cfg)}
    assert {"seed", "residual", "optimus", "lecture"} <= kinds  # dilated residual blocks too


def test_a_candidates_settings_leave_out_what_does_not_change_the_model():
    cfg = model_cfg(conv_filters=[64, 32], search={"patience": 3})
    residual = search.candidate_settings(cfg, "residual")
    assert residual["preset"] == "residual" and residual["conv_filters"] == [32]
    assert residual["patience"] == 3
    assert not residual.keys() & {"ensemble", "gpus", "search"}
    assert search.candidate_settings(cfg, "narrow")["conv_filters"] == [32, 16]
    with pytest.raises(ValueError, match="no search candidate"):
        search.candidate_settings(cfg, "nope")


def contest_frame(rng: np.random.Generator, n: int = 400) -> pd.DataFrame:
    truth = rng.normal(size=n)
    frame = pd.DataFrame({"split": np.where(np.arange(n) % 2, "validation", "train")})
    frame["label"] = truth + rng.normal(0, 0.3, n)
    return frame.assign(truth=truth)


def entry(name: str, kind: str) -> dict:
    return {"name": name, "kind": kind, "description": name, "parameters": 10, "seconds": 1.0,
            "epochs": None}  # fmt: skip


def test_the_contest_picks_on_validation_and_averages_where_that_helps():
    rng = np.random.default_rng(0)
    frame = contest_frame(rng)
    # two equally good models with independent errors: their mean is better than either
    frame["cnn_a"] = frame["truth"] + rng.normal(0, 0.5, len(frame))
    frame["ridge_kmer"] = frame["truth"] + rng.normal(0, 0.5, len(frame))
    frame["bad"] = rng.normal(size=len(frame))
    entries = [entry("cnn_a", "cnn"), entry("ridge_kmer", "baseline"), entry("bad", "cnn")]
    board, chosen = search.contest(frame, entries)
    assert sorted(chosen) == ["cnn_a", "ridge_kmer"]
    assert board.iloc[0]["kind"] == "ensemble" and board.iloc[0]["selected"]
    assert board["selected"].sum() == 1
    # the weak model is in no mean: it is not within reach of the best
    assert not board["name"].str.contains("bad").iloc[:2].any()


def test_a_baseline_wins_when_it_validates_best_and_the_test_split_is_never_read():
    rng = np.random.default_rng(1)
    frame = contest_frame(rng)
    frame["gbt_kmer"] = frame["truth"]
    frame["cnn"] = frame["truth"] + rng.normal(0, 1.0, len(frame))
    # on test the CNN would be perfect: it must not matter
    test = frame.assign(split="test", cnn=frame["label"], gbt_kmer=0.0)
    _board, chosen = search.contest(
        pd.concat([frame, test]), [entry("cnn", "cnn"), entry("gbt_kmer", "baseline")]
    )
    assert chosen == ["gbt_kmer"]


def test_training_fractions_are_nested_and_keep_the_other_splits():
    rows = pd.DataFrame({"split": ["train"] * 80 + ["validation"] * 10 + ["test"] * 10})
    quarter = search.subsample_train(rows, 0.25, seed=3)
    half = search.subsample_train(rows, 0.5, seed=3)
    assert (quarter["split"] == "train").sum() == 20 and (half["split"] == "train").sum() == 40
    assert set(np.flatnonzero(quarter["split"] == "train")) <= set(
        np.flatnonzero(half["split"] == "train")
    )
    assert (quarter["split"] == "test").sum() == 10 == (quarter["split"] == "validation").sum()


def test_suggested_sizes_from_a_known_curve():
    # r2 = 0.2 + 0.05 log2(n): +0.05 per doubling, so the line asks for 2,000 and 4,000 rows;
    # a learning curve that bends (the power law) asks for more, and the larger is promised
    n = [250, 500, 750, 1000]
    scores = [0.2 + 0.05 * np.log2(v) for v in n]
    out = search.suggest_sizes(n, scores, ceiling=None)
    assert out["gain_per_doubling"] == pytest.approx(0.05)
    assert out["rows_for"]["+0.05"] >= 2000 and out["rows_for"]["+0.10"] >= 4000
    capped = search.suggest_sizes(n, scores, ceiling=scores[-1] + 0.06)
    assert list(capped["rows_for"]) == ["+0.05"]
    flat = search.suggest_sizes(n, [0.5, 0.5, 0.5, 0.5], None)
    assert "flat" in flat["advice"]


@pytest.mark.parametrize(
    ("plateau", "b", "c", "line", "expected"),
    [
        (0.9, 5.0, 0.5, 1550, {"+0.05": 2143, "+0.10": 7432}),  # steep: within reach
        (0.8, 0.9, 0.4, 5126, {}),  # levelling off: +0.05 needs ~200,000 rows
    ],
)
def test_a_bending_curve_is_not_promised_what_a_line_through_it_would(
    plateau, b, c, line, expected
):
    """Learning curves follow an inverse power law, r2 = a - b n^-c. The rows it takes to gain
    +0.05 from 1,000 are known; a line of r2 against log2(n) through 250-1,000 rows promises
    them with 1,550 (steep) and 5,100 rows (levelling off, where the truth is ~200,000)."""
    n = [250, 500, 750, 1000]
    out = search.suggest_sizes(n, [plateau - b * v**-c for v in n], ceiling=None)
    assert 1000 * 2 ** (0.05 / out["gain_per_doubling"]) == pytest.approx(line, rel=0.03)
    assert out["levels_off_at"] == pytest.approx(plateau, abs=0.01)
    assert set(out["rows_for"]) == set(expected)
    for gain, rows in expected.items():
        assert out["rows_for"][gain] == pytest.approx(rows, rel=0.03)
    if not expected:
        assert "out of reach" in out["advice"] and "levels off near 0.80" in out["advice"]


def test_design_refuses_a_model_that_has_not_earned_it():
    settings = design.DesignSettings()
    assert settings.min_model_r2 == 0.5 and settings.min_validation_rows == 100
    assert design.refusal(settings, {"n": 500, "r2": 0.8}) is None
    low = design.refusal(settings, {"n": 500, "r2": 0.3})
    assert "0.300" in low and "design.force" in low and "\n" not in low
    few = design.refusal(settings, {"n": 35, "r2": 0.9})
    assert "35 rows" in few and "more wells" in few
    # a squared correlation can be high while the predictions miss the labels' scale: a model
    # whose R² (or its interval) does not clear 0 does no better than the labels' mean
    biased = design.refusal(settings, {"n": 500, "r2": 0.8, "r2_score": -0.2})
    assert "does not beat the mean" in biased
    unsure = {"n": 300, "r2": 0.6, "r2_score": 0.3, "r2_score_ci95": [-0.01, 0.5]}
    assert "down to -0.010" in design.refusal(settings, unsure, "cross-validated")
    assert design.refusal(settings, {**unsure, "r2_score_ci95": [0.1, 0.5]}) is None


def test_a_classifier_earns_its_design_by_its_roc_auc():
    """A classifier's validation has ROC-AUC and no r²: the gate reads the AUC, so a good
    classifier designs and a poor one is refused, naming the key that would let it through."""
    settings = design.DesignSettings()
    assert settings.min_model_auc == 0.75
    good = {"n": 500, "positives": 120, "roc_auc": 0.91, "pr_auc": 0.7, "accuracy": 0.88}
    assert design.refusal(settings, good) is None
    poor = design.refusal(settings, {**good, "roc_auc": 0.62})
    assert "ROC-AUC 0.620 is under design.min_model_auc 0.75" in poor and "\n" not in poor
    assert "ROC-AUC rests on 40 rows" in design.refusal(settings, {**good, "n": 40})
    undefined = design.refusal(settings, {**good, "roc_auc": None})  # one class only
    assert "ROC-AUC none" in undefined


def test_bins_are_never_narrower_than_the_models_error():
    predictions = np.linspace(0, 3, 301)
    settings = design.DesignSettings(objective="bins", bins=6)
    assert len(design.targets(settings, predictions)) == 6  # inner bins 0.5 wide
    goals = design.targets(settings, predictions, min_width=0.8)
    inner = [g.high - g.low for g in goals if np.isfinite(g.low) and np.isfinite(g.high)]
    assert len(goals) < 6 and min(inner) >= 0.8
    assert len(design.targets(settings, predictions, min_width=10.0)) == 2


def test_the_leaderboard_says_when_a_candidate_was_trained_anew_or_never_learned():
    from utrflow.model.select import _restart_note

    assert _restart_note({"restarts": 0, "learning_rate": 1e-3, "output_collapsed": False}) == ""
    anew = _restart_note({"restarts": 1, "learning_rate": 3e-4, "output_collapsed": False})
    assert "anew at learning rate 0.0003" in anew
    assert "predicts the mean" in _restart_note(
        {"restarts": 2, "learning_rate": 9e-5, "output_collapsed": True}
    )
    assert _restart_note({"parameters": 10}) == ""  # a summary from before the guard
