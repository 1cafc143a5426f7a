"""Real data: `model.preset: auto` against the best baseline, the fixed presets and a plain
Optimus-style CNN, on the test split, in one run per data set.

    .venv/bin/python benchmarks/contest_real.py --data sortseq --epochs 20
    .venv/bin/python benchmarks/contest_real.py --data cambray --epochs 40

`sortseq`: Kinney et al. 2010's 50,518 lac-promoter variants (label the count-weighted mean bin,
weight the reads, the data set's own split; as benchmarks/sortseq_lac.py). `cambray`: Cambray et
al. 2018's translation-initiation library as split by ezSTEP (3,737 training, 416 test 96-nt
sequences; label the protein level as given, 1-100; a tenth of the training rows carved out for
validation, identical sequences kept together). The search runs in one process exactly as the
workflow's candidate, baselines and select jobs do (`utrflow.model.select.search_in_process`);
every candidate is a fixed preset scored on its own too, and the plain Optimus-style CNN
(3 x Conv1D 120, k 8 -> Dense 40 -> Dropout 0.2) is trained beside them with the same epochs.
Choice on validation only; printed: test Pearson r, r² (squared Pearson), R² and Spearman.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow import config
from utrflow.model import evaluate, splits
from utrflow.model import network as model_module
from utrflow.model.encode import Encoded
from utrflow.model.select import search_in_process
from utrflow.model.training import train_member
from utrflow.sequences import one_hot

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
sys.path.insert(0, str(Path(__file__).parent))
from sortseq_lac import labelled_table  # noqa: E402


def cambray_rows(folder: Path, seed: int) -> pd.DataFrame:
    """sequence, label (protein level), split (ezSTEP's train/test; validation carved)."""
    parts = []
    for name, split in (("Cambray_train.csv", "train"), ("Cambray_test.csv", "test")):
        frame = pd.read_csv(folder / name)
        parts.append(
            pd.DataFrame(
                {
                    "sequence": frame["Sequence"].str.upper(),
                    "label": frame["Protein"].astype(float),
                    "split": split,
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    groups = rows["sequence"].to_numpy(dtype=object)
    rows["split"] = splits.carve_validation(rows["split"].to_numpy(dtype=str), groups, 0.1, seed)
    return rows


def rows_for(name: str, seed: int) -> tuple[pd.DataFrame, int]:
    """The data set's rows and the k-mer size of its baselines."""
    if name == "sortseq":
        table = labelled_table(SHARED / "sortseq_lac_mavenn" / "sortseq_data.csv.gz")
        return table.reset_index(drop=True), 3
    return cambray_rows(SHARED / "cambray_tir_ezstep", seed), 4


def test_scores(frame: pd.DataFrame, column: str) -> dict[str, float]:
    m = evaluate.split_metrics(frame, column)["test"]
    return {k: round(m[k], 4) for k in ("pearson_r", "r2", "r2_score", "spearman")} | {"n": m["n"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["sortseq", "cambray"], required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows, kmax = rows_for(args.data, args.seed)
    cfg = config.validate(
        {
            "seed": args.seed,
            "model": {"epochs": args.epochs},
            "baselines": {"kmer_max": kmax},
            "resources": {"candidates": args.candidates},
        }
    )
    data = Encoded(one_hot(rows["sequence"].tolist()), rows, None)
    started = time.perf_counter()
    searched = search_in_process(data, cfg, args.threads)
    search_seconds = time.perf_counter() - started
    frame = searched.predictions.copy()
    frame["auto"] = np.mean([frame[c] for c in searched.chosen], axis=0)
    started = time.perf_counter()
    optimus = train_member(
        data.onehot, rows, None, {**cfg["model"], "preset": "optimus"}, args.seed, args.threads
    )
    frame["plain_optimus"] = model_module.predict(optimus.model, data.onehot)
    optimus_seconds = time.perf_counter() - started
    board = searched.leaderboard
    singles = board[board["kind"] != "ensemble"]
    result = {
        "data": args.data,
        "rows": {s: int((rows["split"] == s).sum()) for s in ("train", "validation", "test")},
        "epochs_max": args.epochs,
        "auto_selected": "+".join(searched.chosen),
        "auto": test_scores(frame, "auto"),
        "search_seconds": round(search_seconds, 1),
        "plain_optimus": {
            **test_scores(frame, "plain_optimus"),
            "seconds": round(optimus_seconds, 1),
            "parameters": optimus.info["parameters"],
        },
        "contenders": {
            r["name"]: {
                "kind": r["kind"],
                "validation_r2_score": round(r["validation_r2_score"], 4),
                **test_scores(frame, r["name"]),
                "seconds": r["seconds"],
                "parameters": int(r["parameters"]),
            }
            for r in singles.to_dict("records")
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
