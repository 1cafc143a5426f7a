"""Small tables: the contest by cross-validation, and conformal intervals that cover what they
say (known answers: a planted signal at 200 rows, a made heteroscedastic case)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utrflow import config
from utrflow.design import next_library as design
from utrflow.model import baselines, search, smalldata
from utrflow.sequences import random_sequences

ENTRIES = [
    {"name": b, "kind": "baseline", "description": b, "parameters": 1, "seconds": 0.1,
     "epochs": None}
    for b in search.BASELINES
]  # fmt: skip


def planted(n: int, seed: int, shuffle: bool = False) -> pd.DataFrame:
    """40-nt random UTRs, half with AGGAGG planted 8-14 nt from the 3' end: label 2 where
    planted, 0 where not, plus noise of sd 0.5 (r² ceiling 0.8)."""
    rng = np.random.default_rng(seed)
    seqs = random_sequences(rng, n, 40, 40)
    has = rng.random(n) < 0.5
    out = []
    for s, h in zip(seqs, has, strict=True):
        at = int(rng.integers(20, 27))
        out.append(s[:at] + "AGGAGG" + s[at + 6 :] if h else s.replace("AGGAGG", "AGCAGG"))
    label = 2.0 * has + rng.normal(0, 0.5, n)
    if shuffle:
        label = rng.permutation(label)
    draw = rng.random(n)
    split = np.where(draw < 0.8, "train", np.where(draw < 0.9, "validation", "test"))
    return pd.DataFrame({"sequence": out, "label": label, "split": split})


def contest(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict]:
    cfg = config.validate({"seed": 3, "baselines": {"kmer_max": 3}})
    predictions = baselines.baseline_predictions(rows, 3, "regression", None, 3)
    return smalldata.rank_contenders(rows, None, cfg, predictions, ENTRIES)


def test_a_planted_signal_at_200_rows_is_found_by_cross_validation_over_all_rows() -> None:
    rows = planted(200, seed=1)
    board, chosen, how = contest(rows)
    pool = int(rows["split"].isin(["train", "validation"]).sum())
    assert how["scored_by"] == "crossval" and how["refit_on"] == "train+validation"
    assert how["crossval"]["n"] == pool  # every train + validation row, not the 10 % split
    assert "crossval_below (2000)" in how["why"]
    assert set(chosen) <= {"ridge_kmer", "gbt_kmer"}  # the motif is a k-mer, not a position
    assert 0.5 < how["crossval"]["r2"] < 0.85 and how["crossval"]["ci95"][0] > 0.35  # ceiling 0.8
    assert board["selected"].iloc[0] and board["cv_r2_score"].iloc[0] > 0.5
    settings = design.DesignSettings()
    validation, named = design.gate_score({"selection": how, "validation": {"n": 20}})
    assert named == "cross-validated" and design.refusal(settings, validation, named) is None
    # The same rows with shuffled labels: nothing to find, and the gate says so.
    _, _, noise = contest(planted(200, seed=1, shuffle=True))
    assert noise["crossval"]["r2_score_ci95"][0] < 0
    reason = design.refusal(settings, noise["crossval"], "cross-validated")
    assert reason is not None and "cross-validated" in reason


def test_the_test_split_is_never_read_by_the_cross_validated_contest() -> None:
    rows = planted(160, seed=2)
    _, chosen, how = contest(rows)
    test = rows["split"] == "test"
    changed = rows.assign(label=np.where(test, -rows["label"] * 5, rows["label"]))
    _, chosen_again, again = contest(changed)
    assert chosen_again == chosen
    assert again["crossval"]["r2"] == pytest.approx(how["crossval"]["r2"])
    oof = smalldata.out_of_fold(rows, 3, "regression", None, 0, 4, 2, ["ridge_kmer"])
    assert np.isnan(oof["ridge_kmer"][:, test.to_numpy()]).all()
    assert not np.isnan(oof["ridge_kmer"][:, ~test.to_numpy()]).any()


def test_large_tables_keep_the_validation_split() -> None:
    rows = pd.DataFrame({"split": ["train"] * 1900 + ["validation"] * 200})
    how = smalldata.scoring(rows, {"crossval_below": 2000, "folds": 5, "repeats": 3})
    assert not how.crossval and "2100" in how.why
    assert smalldata.scoring(rows.iloc[:300], {"crossval_below": 2000, "folds": 5,
                                               "repeats": 1}).crossval  # fmt: skip


def test_a_cnn_beats_the_cross_validated_leader_only_on_the_same_validation_rows() -> None:
    rng = np.random.default_rng(0)
    n = 100
    label = rng.normal(size=n)
    split = np.array(["train"] * 70 + ["validation"] * 20 + ["test"] * 10)
    good = label + rng.normal(0, 0.3, n)
    predictions = pd.DataFrame({"split": split, "label": label, "ridge_kmer": good,
                                "gbt_kmer": label + rng.normal(0, 1.0, n)})  # fmt: skip
    oof = {k: np.where(split == "test", np.nan, predictions[k].to_numpy())[None]
           for k in ("ridge_kmer", "gbt_kmer")}  # fmt: skip
    entries = [{**e, "kind": "baseline"} for e in ENTRIES if e["name"] in oof]
    cnn = {"name": "seed", "kind": "cnn", "description": "", "parameters": 1, "seconds": 1,
           "epochs": 1}  # fmt: skip
    for noise, wins in ((0.05, True), (1.5, False)):
        frame = predictions.assign(seed=label + rng.normal(0, noise, n))
        board, chosen, cv = smalldata.contest(frame, oof, [*entries, cnn])
        assert (chosen == ["seed"]) is wins
        assert (cv == {}) is wins  # a CNN winner has no cross-validated score
        assert board["selected"].sum() == 1


def test_a_mean_of_a_cnn_and_a_baseline_is_offered_on_validation_in_the_small_route() -> None:
    """The plates demo's case: a CNN and boosted trees err independently, so their mean beats
    both; it wins on validation (it cannot be cross-validated) only when it beats the
    cross-validated leader's validation and cross-validated scores."""
    rng = np.random.default_rng(1)
    n = 400
    label = rng.normal(size=n)
    split = np.array(["train"] * 300 + ["validation"] * 60 + ["test"] * 40)
    frame = pd.DataFrame({"split": split, "label": label,
                          "gbt_kmer": label + rng.normal(0, 0.6, n),
                          "ridge_kmer": label + rng.normal(0, 1.5, n),
                          "seed": label + rng.normal(0, 0.6, n)})  # fmt: skip
    oof = {k: np.where(split == "test", np.nan, frame[k].to_numpy())[None]
           for k in ("ridge_kmer", "gbt_kmer")}  # fmt: skip
    entries = [e for e in ENTRIES if e["name"] in oof]
    cnn = {"name": "seed", "kind": "cnn", "description": "", "parameters": 1, "seconds": 1,
           "epochs": 1}  # fmt: skip
    board, chosen, cv = smalldata.contest(frame, oof, [*entries, cnn])
    assert sorted(chosen) == ["gbt_kmer", "seed"] and cv == {}
    winner = board.iloc[0]
    assert winner["kind"] == "ensemble" and np.isnan(winner["cv_r2_score"])
    alone = board.set_index("name")["validation_r2_score"]
    assert winner["validation_r2_score"] > max(alone["seed"], alone["gbt_kmer"])
    # A weak CNN: its means are still offered, but the cross-validated leader keeps the lead.
    weak = frame.assign(seed=label + rng.normal(0, 3.0, n))
    board, chosen, cv = smalldata.contest(weak, oof, [*entries, cnn])
    assert "seed" not in chosen and cv != {}


def test_a_winner_chosen_on_validation_gets_intervals_no_narrower_than_the_cv_leaders() -> None:
    """Known answer, the plates demo's case: a CNN early-stopped and chosen on the validation
    rows errs a fifth less there than on new rows, where its errors follow the boosted trees'
    (correlation 0.7). Its mean with the trees wins on validation; that mean's validation
    residuals would cover ~70 % of the test rows. Widened to the cross-validated leader's
    out-of-fold quantile, they cover 85-95 %; a cross-validated winner is not widened."""
    rng = np.random.default_rng(4)
    n = 8000
    label = rng.normal(0, 1.5, n)
    split = rng.choice(["train", "validation", "test"], n, p=[0.3, 0.05, 0.65])
    chosen_on = split == "validation"
    gbt_error = rng.normal(size=n)
    own = 0.7 * gbt_error + np.sqrt(1 - 0.7**2) * rng.normal(size=n)
    frame = pd.DataFrame({"split": split, "label": label,
                          "gbt_kmer": label + 0.5 * gbt_error,
                          "ridge_kmer": label + rng.normal(0, 1.0, n),
                          "seed": label + np.where(chosen_on, 0.4 * rng.normal(size=n),
                                                   0.5 * own)})  # fmt: skip
    oof = {k: np.where(split == "test", np.nan, frame[k].to_numpy())[None]
           for k in ("ridge_kmer", "gbt_kmer")}  # fmt: skip
    cnn = {"name": "seed", "kind": "cnn", "description": "", "parameters": 1, "seconds": 1,
           "epochs": 1}  # fmt: skip
    entries = [*(e for e in ENTRIES if e["name"] in oof), cnn]
    board, chosen, _ = smalldata.contest(frame, oof, entries)
    assert sorted(chosen) == ["gbt_kmer", "seed"]
    predicted = frame[chosen].mean(axis=1).to_numpy()
    test = split == "test"

    def test_coverage(made: smalldata.Intervals) -> float | None:
        low, high = made.bounds(predicted[test])
        return smalldata.coverage(label[test], low, high)

    on_validation = smalldata.held_out_intervals(board, chosen, frame, None, 0.9)
    assert (test_coverage(on_validation) or 1) < 0.8  # the winner's curse
    made = smalldata.held_out_intervals(board, chosen, frame, oof, 0.9)
    assert 0.85 <= (test_coverage(made) or 0) <= 0.95
    assert "cross-validated leader (gbt_kmer" in made.source
    assert made.halfwidth == pytest.approx(1.645 * 0.5, rel=0.05)  # the trees' 90 % quantile
    alone = smalldata.held_out_intervals(board, ["gbt_kmer"], frame, oof, 0.9)
    assert "widened" not in alone.source and alone.source.startswith("out-of-fold")


def test_conformal_quantile_has_the_finite_sample_correction() -> None:
    scores = np.arange(1, 10, dtype=float)  # 9 scores
    assert smalldata.conformal_quantile(scores, 0.9) == 9.0  # ceil(10 x 0.9) = 9th
    assert smalldata.conformal_quantile(scores, 0.5) == 5.0
    assert smalldata.conformal_quantile(scores, 0.95) == np.inf  # needs 19 rows


def test_intervals_cover_a_heteroscedastic_case_as_nominal() -> None:
    """y = 2x + noise of sd 0.1 + 1.9x: constant intervals cover 90 % overall but too little
    where the noise is large; normalized by the known scale, every region is near 90 %."""
    rng = np.random.default_rng(5)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = rng.random(n)
        scale = 0.1 + 1.9 * x
        return x, 2 * x + rng.normal(0, 1, n) * scale, scale

    x, y, scale = draw(1000)
    held_x, held_y, held_scale = draw(5000)
    plain = smalldata.calibrate(y, 2 * x, 0.9)
    low, high = plain.bounds(2 * held_x)
    assert 0.85 <= smalldata.coverage(held_y, low, high) <= 0.95
    noisy = held_x > 0.75
    assert smalldata.coverage(held_y[noisy], low[noisy], high[noisy]) < 0.85
    assert smalldata.coverage(held_y[~noisy], low[~noisy], high[~noisy]) > 0.9
    scaled = smalldata.calibrate(y, 2 * x, 0.9, scale=scale)
    low, high = scaled.bounds(2 * held_x, held_scale)
    for part in (noisy, ~noisy, held_x < 0.25):
        assert 0.85 <= smalldata.coverage(held_y[part], low[part], high[part]) <= 0.95


def test_evaluate_writes_intervals_and_their_coverage_per_split() -> None:
    from utrflow.model.evaluate import add_intervals

    rng = np.random.default_rng(1)
    n = 3000
    prediction = rng.normal(size=n)
    split = rng.choice(["train", "validation", "test"], n, p=[0.6, 0.2, 0.2])
    frame = pd.DataFrame({"split": split, "label": prediction + rng.normal(0, 1, n),
                          "prediction": prediction})  # fmt: skip
    made = add_intervals(frame, 0.9, None)  # calibrated on validation residuals
    assert made["source"].startswith("validation residuals")
    assert made["halfwidth"] == pytest.approx(1.645, abs=0.12)  # 90 % of N(0, 1): ±1.645
    assert 0.85 <= made["coverage"]["test"] <= 0.95
    assert (frame["upper"] - frame["lower"]).round(9).nunique() == 1
    given = add_intervals(frame, 0.9, {"level": 0.9, "halfwidth": 0.5, "source": "cv"})
    assert given["halfwidth"] == 0.5 and given["coverage"]["test"] < 0.5


def test_too_few_held_out_rows_give_no_interval_rather_than_a_false_one() -> None:
    from utrflow.model.evaluate import add_intervals

    few = smalldata.calibrate(np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.2, 2.7]), 0.9)
    assert few.to_dict()["halfwidth"] is None  # 3 rows cannot back a 90 % interval
    frame = pd.DataFrame({"split": ["train", "validation", "test"] * 2, "label": np.arange(6.0),
                          "prediction": np.arange(6.0) + 0.1})  # fmt: skip
    made = add_intervals(frame, 0.9, few.to_dict())
    assert made["coverage"] == {} and frame["lower"].isna().all()


def heteroscedastic_contenders(
    n: int, seed: int, noisy_spread: bool = False
) -> tuple[pd.DataFrame, np.ndarray]:
    """Labels with noise of sd 0.1 + 1.9 x and three contenders that disagree in proportion
    to it (offsets of -0.3, 0 and +0.3 x the scale: their spread reads the scale); with
    `noisy_spread`, their errors are random draws of that size instead (the sd of three draws
    is a noisy reading of the scale)."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    scale = 0.1 + 1.9 * x
    label = 2 * x + rng.normal(0, 1, n) * scale
    split = rng.choice(["train", "validation", "test"], n, p=[0.4, 0.3, 0.3])
    frame = pd.DataFrame({"split": split, "label": label, "x": x})
    for name, offset in zip(search.BASELINES, (-0.3, 0.3, 0.0), strict=True):
        error = rng.normal(0, 0.5, n) if noisy_spread else offset
        frame[name] = 2 * x + error * scale
    return frame, scale


@pytest.mark.parametrize("route", ["validation", "crossval"])
def test_the_workflows_intervals_widen_where_the_contenders_disagree_and_cover_as_nominal(
    route: str,
) -> None:
    """Known answer: the contest's intervals, scaled by its top three contenders' spread on
    the held-out rows, cover 85-95 % of the test rows overall and in the noisy region (85-97 %
    in the quiet one) with intervals three times wider there; one width for all under-covers
    the noisy region. A noisy reading of the scale (random errors) makes scaled intervals wider
    on average than one width: then one width is kept."""
    from utrflow.model.evaluate import add_intervals

    frame, _ = heteroscedastic_contenders(6000, seed=7)
    board = pd.DataFrame({"name": list(search.BASELINES), "kind": "baseline"})
    pool = frame["split"] != "test"
    oof = None
    if route == "crossval":  # out-of-fold predictions on every train + validation row
        oof = {n: np.where(pool, frame[n], np.nan)[None] for n in search.BASELINES}
    made = smalldata.held_out_intervals(board, ["gbt_kmer"], frame, oof, 0.9)
    assert made.normalized and "gbt_kmer" in made.scale_from
    scale = np.std(frame[list(search.BASELINES)].to_numpy(), axis=1)  # the top/ models
    scored = frame.assign(prediction=frame["gbt_kmer"])
    out = add_intervals(scored, 0.9, made.to_dict(), scale)
    test = (scored["split"] == "test").to_numpy()
    assert 0.85 <= out["coverage"]["test"] <= 0.95
    for third in out["test_coverage_by_width"].values():
        assert 0.85 <= third <= 0.95
    width = (scored["upper"] - scored["lower"]).to_numpy()
    noisy, quiet = test & (frame["x"] > 0.75).to_numpy(), test & (frame["x"] < 0.25).to_numpy()
    assert width[noisy].mean() > 3 * width[quiet].mean()
    inside = (
        (scored["label"] >= scored["lower"]) & (scored["label"] <= scored["upper"])
    ).to_numpy()
    assert 0.85 <= inside[noisy].mean() <= 0.95 and 0.85 <= inside[quiet].mean() <= 0.97
    plain = abs(scored["label"] - scored["prediction"]).to_numpy() <= made.plain_halfwidth
    assert plain[noisy].mean() < 0.85  # one width for all misses the noisy region
    noisy_frame, _ = heteroscedastic_contenders(6000, seed=7, noisy_spread=True)
    if oof is not None:
        oof = {n: np.where(pool, noisy_frame[n], np.nan)[None] for n in search.BASELINES}
    kept = smalldata.held_out_intervals(board, ["gbt_kmer"], noisy_frame, oof, 0.9)
    assert not kept.normalized and "one width" in kept.source


def test_without_the_spread_models_the_intervals_have_one_width() -> None:
    from utrflow.model.evaluate import add_intervals

    frame, _ = heteroscedastic_contenders(300, seed=2)
    board = pd.DataFrame({"name": list(search.BASELINES), "kind": "baseline"})
    made = smalldata.held_out_intervals(board, ["gbt_kmer"], frame, None, 0.9)
    scored = frame.assign(prediction=frame["gbt_kmer"])
    out = add_intervals(scored, 0.9, made.to_dict(), None)  # no spread models: one width
    assert not out["normalized"] and out["halfwidth"] == made.plain_halfwidth
    assert (scored["upper"] - scored["lower"]).round(9).nunique() == 1
    same = frame.assign(**{n: frame["gbt_kmer"] for n in search.BASELINES})  # no disagreement
    assert not smalldata.held_out_intervals(board, ["gbt_kmer"], same, None, 0.9).normalized


def test_evaluate_reads_the_spread_models_only_for_intervals_that_scale_by_them(
    tmp_path, monkeypatch
) -> None:
    """The spread models (`top/`) scale normalized intervals only: with one width evaluate does
    not load them (the demo's case: three models predicted for nothing), and when they are the
    ensemble's members their predictions are not made twice."""
    from pathlib import Path

    from utrflow import io
    from utrflow.model import evaluate, network
    from utrflow.model.encode import Encoded

    rng = np.random.default_rng(0)
    n = 300
    label = rng.normal(size=n)
    split = rng.choice(["train", "validation", "test"], n, p=[0.6, 0.2, 0.2])
    rows = pd.DataFrame({"sequence": [f"S{i}" for i in range(n)], "label": label, "split": split})
    outputs = {k: label + rng.normal(0, 0.5, n) for k in ("model", "a", "b", "c")}
    loaded: list[str] = []
    monkeypatch.setattr(network, "load", lambda p: loaded.append(Path(p).stem) or Path(p).stem)
    monkeypatch.setattr(network, "predict", lambda m, x, c=None: outputs[m])
    data = Encoded(np.zeros((n, 4, 4)), rows, None)
    spread = [Path(f"{k}.keras") for k in "abc"]

    def run(intervals: dict | None, members: list[Path]) -> tuple[dict, list[str]]:
        selection = tmp_path / "selection.json"
        io.write_json({"intervals": intervals} if intervals else {}, selection)
        loaded.clear()
        written = (tmp_path / "m.json", tmp_path / "p.tsv")
        evaluate.run(data, Path("model.keras"), members, None, None, None, None, "regression",
                     0.5, *written, selection, 0.9, spread)  # fmt: skip
        return io.read_json(tmp_path / "m.json")["intervals"], list(loaded)

    plain = {"level": 0.9, "halfwidth": 0.8, "normalized": False, "source": "cv"}
    out, seen = run(plain, [Path("model.keras")])
    assert seen == ["model", "model"] and out["halfwidth"] == 0.8
    scaled = {**plain, "halfwidth": 2.0, "normalized": True, "floor": 0.05, "scale_from": "abc",
              "plain_halfwidth": 0.8}  # fmt: skip
    out, seen = run(scaled, [Path("model.keras")])
    assert set("abc") <= set(seen) and out["normalized"]
    out, seen = run(None, spread)  # a fixed preset's three members are the spread
    assert sorted(seen) == ["a", "b", "c", "model"] and out["source"].startswith("validation")
