"""The real lac-promoter Sort-Seq set (Kinney et al. 2010, via MAVE-NN) through `source: table`.

The README's real-data figures come from benchmarks/sortseq_lac.py; these tests check the part
that decides whether those figures mean anything: the labels, weights and the dataset's own split
arrive in the model's rows unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SHARED

from utrflow import config
from utrflow import labelled as table
from utrflow.model import encode

SPEC = importlib.util.spec_from_file_location("sortseq_lac", REPO / "benchmarks" / "sortseq_lac.py")
sortseq_lac = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(sortseq_lac)

DATA = SHARED / "data" / "sortseq_lac_mavenn" / "sortseq_data.csv.gz"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason="shared real data not present")


def test_label_is_the_count_weighted_mean_bin(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "set": ["training", "test", "validation", "training"],
            **{f"ct_{i}": [0, 0, 0, 0] for i in range(10)},
            "x": ["ACGT", "AAAA", "CCCC", "GGGG"],
        }
    )
    raw.loc[0, ["ct_2", "ct_5"]] = [1, 3]  # (2 + 3 * 5) / 4 = 4.25 over 4 reads
    raw.loc[1, "ct_9"] = 2
    raw.loc[2, "ct_0"] = 1
    raw.to_csv(tmp_path / "raw.csv.gz", index=False)
    got = sortseq_lac.labelled_table(tmp_path / "raw.csv.gz")  # row 3 has no reads: dropped
    assert got["sequence"].tolist() == ["ACGT", "AAAA", "CCCC"]
    assert got["label"].tolist() == [4.25, 9.0, 0.0]
    assert got["weight"].tolist() == [4.0, 2.0, 1.0]
    assert got["split"].tolist() == ["train", "test", "validation"]


def test_the_datasets_own_split_and_read_counts_reach_the_model(tmp_path: Path) -> None:
    converted = sortseq_lac.labelled_table(DATA)
    converted.to_csv(tmp_path / "sortseq.tsv", sep="\t", index=False)
    cfg = config.validate({"source": "table", "table": str(tmp_path / "sortseq.tsv")})
    features = encode.build_features(table.read_user_table(tmp_path / "sortseq.tsv"), cfg)
    rows = features.rows
    assert len(rows) == len(converted) > 50000
    assert features.length == 75
    # Nothing re-split or carved: the published test set is the test set.
    assert rows["split"].tolist() == converted["split"].tolist()
    assert rows["split"].value_counts().to_dict() == {
        "train": 30516,
        "validation": 10067,
        "test": 9935,
    }
    np.testing.assert_array_equal(rows["weight"], converted["weight"])
    assert rows["label"].between(0, 9).all()
    # No sequence in two splits: the published split has no leakage to inherit.
    assert rows.groupby("sequence")["split"].nunique().max() == 1
