"""The labelled table: every QC reason planted and found, plate centring, replicates, the noise
ceiling, and the whole join against the run simulator's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import LABELLED_COLUMNS
from scipy import stats

from utrflow import pipeline
from utrflow.errors import InputError
from utrflow.plates import link
from utrflow.plates.reader import FLUORESCENCE_COLUMNS, FluorescenceSettings
from utrflow.reads.consensus import CONSENSUS_COLUMNS
from utrflow.report.plates import table_warnings
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def consensus_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(CONSENSUS_COLUMNS, "")
    row.update(
        plate="P1",
        well="A1",
        role="sample",
        n_reads=20,
        n_regions=20,
        sequence="ACGTACGTAC",
        purity=1.0,
        variant_id="v1",
        match="exact",
        qc="pass",
    )
    row.update(values)
    return row


def reading_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(FLUORESCENCE_COLUMNS, np.nan)
    row.update(plate="P1", well="A1", role="sample", signal=2048.0, label=11.0, flags="")
    row.update(values)
    return row


@pytest.mark.parametrize(
    ("call", "reading", "qc"),
    [
        ({}, {}, "pass"),
        ({"match": "synthesis_variant"}, {}, "pass"),
        ({"match": "", "variant_id": ""}, {}, "pass"),  # no library given
        ({"role": "blank", "qc": "no_reads", "sequence": ""}, {"role": "blank"}, "blank"),
        ({"role": "control"}, {"role": "control"}, "control"),
        ({"qc": "no_reads", "n_reads": 0, "sequence": ""}, {}, "no_reads"),
        ({"qc": "low_reads", "n_reads": 2}, {}, "low_reads"),
        ({"qc": "mixed", "purity": 0.6}, {}, "mixed"),
        ({"qc": "purity_unproven", "n_regions": 5}, {}, "purity_unproven"),
        ({"match": "unmatched", "variant_id": ""}, {}, "unmatched"),
        ({"match": "ambiguous"}, {}, "ambiguous"),
        ({}, None, "no_fluorescence"),
        ({}, {"flags": "no_fluorescence", "label": np.nan}, "no_fluorescence"),
        ({}, {"flags": "saturated", "label": np.nan}, "saturated"),
        ({}, {"flags": "low_od"}, "low_od"),
        ({}, {"flags": "nonpositive", "label": np.nan}, "nonpositive"),
        ({"qc": "mixed"}, {"flags": "saturated;low_od"}, "mixed"),
    ],
)
def test_each_qc_reason_is_found_where_it_is_planted(call, reading, qc) -> None:
    calls = pd.DataFrame([consensus_row(**call)])
    readings = None if reading is None else pd.DataFrame([reading_row(**reading)])
    row = link.join_plate(calls, readings).iloc[0]
    assert row["qc"] == qc
    assert qc in row["qc_detail"] or qc == "pass"
    if qc == "pass":
        assert row["label"] == 11.0 and row["signal"] == 2048.0


def test_a_well_missing_from_the_reading_has_no_fluorescence_and_all_reasons_are_kept() -> None:
    calls = pd.DataFrame([consensus_row(), consensus_row(well="A2", qc="mixed", match="ambiguous")])
    readings = pd.DataFrame([reading_row(well="A1", flags="")])
    table = link.join_plate(calls, readings)
    assert table["n_regions"].tolist() == [20, 20]
    assert list(table.columns[: len(LABELLED_COLUMNS)]) == LABELLED_COLUMNS
    assert table["qc"].tolist() == ["pass", "mixed"]
    assert table["qc_detail"].iloc[1] == "mixed;ambiguous;no_fluorescence"


def plates_with_offsets(offsets: dict[str, float], n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for plate, offset in offsets.items():
        for i in range(n):
            rows.append(
                {"plate": plate, "well": f"A{i + 1}", "label": rng.normal(10 + offset, 1.0)}
            )
    table = pd.DataFrame(rows)
    return table.assign(qc="pass", role="sample", n_reads=10, sequence="A")


def test_median_centring_removes_a_plate_offset_and_the_offset_plate_is_flagged() -> None:
    table = plates_with_offsets({"P1": 0.0, "P2": 0.0, "P3": 2.0})
    table.loc[0, "qc"] = "mixed"  # not passing: moves with its plate, not counted in the median
    settings = FluorescenceSettings(plate_centering="median")
    centred, shifts = link.center_plates(table, "median")
    medians = centred[centred["qc"] == "pass"].groupby("plate")["label"].median()
    assert medians.max() - medians.min() == pytest.approx(0.0, abs=1e-9)
    assert shifts["P3"] - shifts["P1"] == pytest.approx(-2.0, abs=0.4)
    assert centred.loc[0, "label"] == pytest.approx(table.loc[0, "label"] + shifts["P1"])
    summary = link.plate_summary(table, None, shifts, settings)
    assert summary.set_index("plate")["flag"].astype(bool).to_dict() == {
        "P1": False,
        "P2": False,
        "P3": True,
    }
    unchanged, none = link.center_plates(table, "none")
    assert none == {} and unchanged["label"].equals(table["label"])


def test_intraclass_correlation_recovers_the_planted_signal_share() -> None:
    rng = np.random.default_rng(3)
    true = rng.normal(0, 1.0, size=3000)  # variance 1
    sizes = rng.integers(2, 5, size=true.size)
    groups = [t + rng.normal(0, 0.5, size=k) for t, k in zip(true, sizes, strict=True)]
    assert link.intraclass_correlation(groups) == pytest.approx(1 / 1.25, abs=0.02)
    assert link.intraclass_correlation([np.ones(3), np.ones(3)]) != link.intraclass_correlation(
        [np.ones(3), np.zeros(3) + 2]
    )


def test_replicate_table_and_too_few_replicates_say_so() -> None:
    table = pd.DataFrame(
        {
            "plate": ["P1", "P1", "P2", "P2", "P2"],
            "well": ["A1", "A2", "A1", "A2", "A3"],
            "sequence": ["AC", "GT", "AC", "AC", "GT"],
            "variant_id": ["v1", "v2", "v1", "v1", "v2"],
            "label": [1.0, 5.0, 2.0, 3.0, 9.0],
            "qc": ["pass", "pass", "pass", "pass", "mixed"],
        }
    )
    reps = link.replicates(table)
    assert reps.to_dict("records") == [
        {
            "sequence": "AC",
            "variant_id": "v1",
            "n": 3,
            "mean": 2.0,
            "sd": 1.0,
            "wells": "P1:A1,P2:A1,P2:A2",
        }
    ]
    ceiling = link.noise_ceiling(table)
    assert ceiling["r2"] is None and "1 sequences measured in 2+ passing wells" in ceiling["reason"]


def test_labels_from_simulated_plates_match_the_truth(tmp_path: Path) -> None:
    """Passing labels rank like the true expression, no blank or mixed well passes, saturated
    wells are flagged, and the replicate ceiling agrees with the one the truth gives."""
    run = tmp_path / "run"
    params = RunSimulation(
        n_variants=1500, n_plates=4, replicate_fraction=0.3, reader_gain=80.0, seed=8
    )
    simulate_run(params, run)
    # the simulated reader writes its maximum for an overflow, as some readers do: say so
    settings = FluorescenceSettings(saturated_at=params.reader_max)
    pipeline.call_wells(run, tmp_path)
    table = pipeline.label_wells(run, tmp_path, settings)
    truth = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    merged = table.merge(truth, on=["plate", "well"], suffixes=("", "_true"), validate="1:1")
    passing = merged[merged["qc"] == "pass"]
    assert len(passing) > 0.8 * (truth["role"] == "sample").sum()
    rho = stats.spearmanr(passing["label"], passing["true_label"].astype(float))[0]
    assert rho >= 0.95
    assert not passing["role_true"].isin(["blank", "empty"]).any()
    assert not passing["mixed"].astype(str).eq("True").any()
    saturated = merged["saturated"].astype(str).eq("True")
    assert saturated.sum() >= 5
    assert merged.loc[saturated, "qc_detail"].str.contains("saturated").all()

    ceiling = link.noise_ceiling(table)
    truth_ceiling = stats.pearsonr(passing["label"], passing["true_label"].astype(float))[0] ** 2
    assert ceiling["sequences"] >= 50
    low, high = ceiling["ci95"]
    assert low - 0.01 <= truth_ceiling <= high + 0.01
    assert abs(ceiling["r2"] - truth_ceiling) < 0.03


def test_a_reader_for_a_plate_the_wells_sheet_lacks_names_the_sheet(tmp_path: Path) -> None:
    wells = tmp_path / "wells.tsv"
    wells.write_text("plate\twell\tfwd_barcode\nP1\tA1\tACGTACGT\n")
    (tmp_path / "r.csv").write_text("well,gfp\nA1,10\n")
    readers = [link.ReaderFile("P9", tmp_path / "r.csv")]
    settings = FluorescenceSettings(normalize_by="", blank_subtract=False)
    with pytest.raises(InputError, match=rf"^{wells}: no wells of plate 'P9'$"):
        link.read_readers(readers, wells, settings, tmp_path / "readings")
    assert not (tmp_path / "readings").exists()


def test_negative_control_wells_count_the_reads_that_strayed_into_them() -> None:
    """A negative-control barcode pair names no colony: its wells are kept out of training
    (`qc: negative`) and every read in them is contamination, counted per plate and run."""
    calls = pd.DataFrame(
        [
            consensus_row(well="A1", n_reads=40),
            consensus_row(well="A2", n_reads=60),
            consensus_row(well="H11", role="negative", n_reads=3, qc="low_reads"),
            consensus_row(well="H12", role="negative", n_reads=0, qc="no_reads", sequence=""),
        ]
    )
    readings = pd.DataFrame(
        [reading_row(well=w, role=r) for w, r in (("A1", "sample"), ("A2", "sample"),
                                                  ("H11", "negative"), ("H12", "negative"))]
    )  # fmt: skip
    table = link.join_plate(calls, readings)
    assert table["qc"].tolist() == ["pass", "pass", "negative", "negative"]
    summary = link.negative_controls(table)
    assert summary["wells"] == 2 and summary["wells_with_reads"] == 1 and summary["reads"] == 3
    assert summary["wells_read"] == ["P1:H11"] and summary["median_sample_reads"] == 50.0
    assert summary["max_share_of_sample"] == 0.06
    plates = link.plate_summary(table, None, {}, FluorescenceSettings())
    assert plates.loc[0, "negative_reads"] == 3 and plates.loc[0, "negative"] == 2
    warnings = table_warnings(table, None, {"negative_controls": summary})
    assert warnings[-1].startswith("Negative controls: 1 of 2 wells hold reads, 3 in all")
    assert "6% of a median sample well's reads" in warnings[-1] and "P1:H11" in warnings[-1]
