"""The report, round 3 (#35): every read status in the funnel bars (dorado's duplex parents
too), how each well was called in the well table, intervals beside ROC-AUC and the
learning-curve advice when they rest on few rows, and advice in wells that knows the library's
size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from test_link import consensus_row, reading_row
from test_report_render import CONFIG, plate_table, rendered

from utrflow.model import readiness, search
from utrflow.plates import link
from utrflow.report import claims
from utrflow.report import contest as report_contest
from utrflow.report import plates as report_plates


def test_the_funnel_bars_count_every_read_duplex_parents_too() -> None:
    funnels = [
        {"group": "G1", "status": {"assigned": 70, "no_barcode": 10, "duplex_parent": 20}},
        {"group": "G2", "status": {"assigned": 5, "new_status": 3, "duplex_parent": 0}},
    ]
    counts = report_plates.funnel_counts(funnels)
    assert list(counts) == ["assigned", "no_barcode", "duplex_parent", "new_status"]
    drawn = np.sum(list(counts.values()), axis=0)
    assert drawn.tolist() == [sum(f["status"].values()) for f in funnels]  # every read drawn
    assert report_plates.funnel_bars(funnels)  # draws, the unknown status in its own colour


def test_the_well_table_says_how_each_well_was_called() -> None:
    calls = pd.DataFrame(
        [consensus_row(called_by="posterior"), consensus_row(well="A2", called_by="counting")]
    )
    readings = pd.DataFrame([reading_row(), reading_row(well="A2")])
    joined = link.join_plate(calls, readings)
    assert joined["called_by"].tolist() == ["posterior", "counting"]
    table = plate_table(1, distinct=60)
    table["called_by"] = np.where(table.index % 3 == 0, "counting", "posterior")
    table["artefact_regions"], table["tandem_inserts"] = 3, table.index % 2
    html = rendered(table)
    body = html[html.index('id="wells-table"') :]
    assert '<th data-numeric="0">called by</th>' in body
    assert body.count('<td class="t">counting</td>') == 32
    assert body.count('<td class="t">posterior</td>') == 64
    assert '<th data-numeric="1">artefacts</th>' in body  # regions left out (#32)
    assert '<th data-numeric="1">tandem</th>' in body  # regions from tandem reads
    table["artefact_regions"], table["tandem_inserts"] = 0, 0  # a run that saw neither
    quiet = rendered(table)
    body = quiet[quiet.index('id="wells-table"') :]
    assert "artefacts</th>" not in body and "tandem</th>" not in body  # no column of zeros


def test_the_reads_table_counts_clipped_barcode_ends_and_tandem_inserts() -> None:
    funnel = {"group": "G1", "plates": ["P01"], "reads": 100, "clipped_assigned": 1234,
              "tandem_inserts": 56, "status": {"assigned": 70, "chimera": 30},
              "status_fraction": {"assigned": 0.7, "chimera": 0.3}}  # fmt: skip
    html = rendered(plate_table(1, distinct=60), funnels=[funnel])
    reads = html[html.index("<h3>Reads</h3>") :]
    reads = reads[: reads.index("</table>")]
    assert "clipped barcode end</th>" in reads and "tandem inserts</th>" in reads
    assert "<td>1,234</td><td>56</td></tr>" in reads


def test_wells_to_measure_are_counted_against_the_library_size() -> None:
    table = plate_table(1, distinct=15, qc_fail_every=7)  # 82 of 96 pass, 15 designs among them
    status = readiness.status(table, CONFIG, "t", library_size=30)
    # 5 more of 30 designs with 15 seen: 30 (1/15 + 1/14 + 1/13 + 1/12 + 1/11) = 11.68 passing
    # wells, at 82 passing per 96 wells: 13.67, so 14 wells (not 32 at the run's own yield)
    assert status["advice"].startswith("measure about 14 more wells (5 more distinct")
    assert "15 of the library's 30 designs" in status["advice"]
    assert readiness.status(table, CONFIG, "t")["advice"].startswith("measure about 32 more")
    huge = readiness.status(table, CONFIG, "t", library_size=1_000_000)
    assert huge["advice"].startswith("measure about 6 more wells")  # 5 / (82 / 96) = 5.85
    # the last 5 of 20 designs: 20 (1/5 + 1/4 + 1/3 + 1/2 + 1) = 45.67 passing wells: 54 wells
    assert readiness.status(table, CONFIG, "t", 20)["advice"].startswith("measure about 54 more")


def test_a_library_smaller_than_the_model_needs_is_said_so_not_more_wells() -> None:
    table = plate_table(1, distinct=15, qc_fail_every=7)
    table["variant_id"] = [f"v{k % 15 % 8}" for k in range(len(table))]  # 8 designs
    status = readiness.status(table, CONFIG, "t", library_size=8)
    assert status["status"] == "not_run" and status["needed"] == 20
    assert "measure about" not in status["advice"]
    assert status["advice"].startswith("the library holds 8 designs, fewer than the 20 distinct")
    assert "7 of the 15 distinct passing sequences are synthesis variants" in status["advice"]
    assert "Measure a library of at least 20 designs" in status["advice"]
    html = rendered(table, model_status=status)
    assert "What would let it run:</b> the library holds 8 designs" in html


def test_roc_auc_intervals_delong_and_hanley_mcneil_known_answers() -> None:
    # positives 0.9, 0.4 against negatives 0.5, 0.1: 3 of 4 pairs won, AUC 0.75; each class's
    # shares of wins (1, 0.5) and (0.5, 1) have variance 0.125: 0.125/2 + 0.125/2 = 0.125
    low, high = claims.auc_interval(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1]))
    assert low == pytest.approx(0.75 - 1.96 * 0.125**0.5, abs=1e-9) and high == 1.0
    assert claims.auc_interval(np.array([1, 0, 0]), np.array([0.9, 0.4, 0.5])) is None
    # Hanley-McNeil, AUC 0.8 on 10 + 10: Q1 2/3, Q2 0.7111, variance 0.0104
    low, high = claims.hanley_mcneil_interval(0.8, 10, 10)
    assert low == pytest.approx(0.8 - 1.96 * 0.0104**0.5, abs=1e-4) and high < 1.0


def test_delong_agrees_with_a_bootstrap_of_the_rows() -> None:
    rng = np.random.default_rng(3)
    labels = np.repeat([1, 0], 30)
    scores = rng.normal(labels * 1.0, 1.0)
    low, high = claims.auc_interval(labels, scores)
    auc = roc_auc_score(labels, scores)
    boot = []
    for _ in range(2000):  # resampled within each class, as DeLong's variance assumes
        pick = np.concatenate([rng.integers(0, 30, 30), rng.integers(30, 60, 30)])
        boot.append(roc_auc_score(labels[pick], scores[pick]))
    b_low, b_high = np.percentile(boot, [2.5, 97.5])
    assert low < auc < high
    assert high - low == pytest.approx(b_high - b_low, rel=0.2)


def classification_metrics(n: int) -> tuple[dict, pd.DataFrame]:
    rng = np.random.default_rng(4)
    labels = np.tile([1, 0], n)
    split = ["validation"] * n + ["test"] * n
    probability = 1 / (1 + np.exp(-rng.normal(labels * 1.5, 1.0)))
    predictions = pd.DataFrame({"split": split, "label": labels, "prediction": probability})
    scores = {"n": n, "positives": n // 2, "roc_auc": 0.8, "pr_auc": 0.8, "accuracy": 0.7}
    baseline = {"description": "ridge on k-mer counts", "test": dict(scores)}
    return {"test": scores, "validation": scores, "baselines": {"ridge": baseline}}, predictions


def test_roc_auc_carries_its_interval_on_few_rows() -> None:
    metrics, predictions = classification_metrics(40)
    shown = claims.with_auc_intervals(metrics, predictions)
    test = predictions[predictions["split"] == "test"]
    expected = claims.auc_interval(test["label"].to_numpy(), test["prediction"].to_numpy())
    assert claims.interval_for(shown["test"], "roc_auc") == expected  # DeLong, from the rows
    cards = claims.summary_cards(shown, "classification", predictions)
    assert cards[0][1] == claims.interval_text(expected) and cards[0][1].startswith("95 % CI")
    baseline = claims.interval_for(shown["baselines"]["ridge"]["test"], "roc_auc")
    assert baseline == claims.hanley_mcneil_interval(0.8, 20, 20)  # no rows: Hanley-McNeil
    many, predictions = classification_metrics(200)
    assert claims.interval_for(claims.with_auc_intervals(many, predictions)["test"], "roc_auc") \
        is None  # fmt: skip


def learning_curve(slope: float = 0.1) -> pd.DataFrame:
    n_train = np.array([40, 80, 160])
    return pd.DataFrame({"model": "seed", "fraction": [0.25, 0.5, 1.0], "n_train": n_train,
                         "validation_r2": 0.3 + slope * np.log2(n_train / 40)})  # fmt: skip


def test_the_learning_curve_advice_carries_its_interval_on_few_rows() -> None:
    curve = learning_curve()
    advice = {"model": "seed", "score": "validation_r2"}
    few = report_contest.advice_interval(curve, advice, {"validation": {"n": 20}})
    more = report_contest.advice_interval(curve, advice, {"validation": {"n": 90}})
    assert few["slope"][0] < 0.1 < few["slope"][1]
    assert more["slope"][1] - more["slope"][0] < few["slope"][1] - few["slope"][0]
    # the advice itself (both readings of the curve, as next_round gives it) lies inside
    told = search.suggest_sizes(curve["n_train"].tolist(), curve["validation_r2"].tolist(), None)
    low_rows, high_rows = more["rows_for"]["+0.05"]
    assert low_rows <= told["rows_for"]["+0.05"] <= high_rows
    # a ceiling at 0.52 puts +0.10 (0.5 + 0.1) out of reach of every draw
    capped = {"validation": {"n": 90}, "noise_ceiling": {"r2": {"validation": 0.52}}}
    assert report_contest.advice_interval(curve, advice, capped)["rows_for"]["+0.10"] == (
        math.inf, math.inf)  # fmt: skip
    assert report_contest.advice_interval(curve, advice, {"validation": {"n": 500}}) is None
    text = report_contest.interval_text(few)
    assert text.startswith("gain per doubling 95 % CI") and "rests on 20 rows" in text
    board = pd.DataFrame({"name": ["seed"], "kind": ["cnn"], "validation_r2": [0.5]})
    section = report_contest.section(board, curve, advice, {"validation": {"n": 20}})
    assert section["advice_interval"] == text


def test_a_roc_auc_learning_curve_gets_its_interval_from_the_class_sizes() -> None:
    n_train = np.array([40, 80, 160])
    curve = pd.DataFrame({"model": "seed", "fraction": [0.25, 0.5, 1.0], "n_train": n_train,
                          "validation_roc_auc": [0.80, 0.86, 0.92]})  # fmt: skip
    advice = {"model": "seed", "score": "validation_roc_auc"}
    found = report_contest.advice_interval(
        curve, advice, {"validation": {"n": 40, "positives": 20}}
    )
    assert found["slope"][0] < 0.06 < found["slope"][1]  # the line's own slope is inside
    none = {"validation": {"n": 40, "positives": 0}}
    assert report_contest.advice_interval(curve, advice, none) is None
