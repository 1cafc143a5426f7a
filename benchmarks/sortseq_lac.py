"""Real data: the Kinney et al. 2010 lac-promoter Sort-Seq set through `source: table`.

Turns ../shared/data/sortseq_lac_mavenn/sortseq_data.csv.gz into a labelled table (label = the
count-weighted mean fluorescence bin, weight = the read count, split = the dataset's own
training/validation/test sets), runs the workflow on it in a scratch directory and prints test
Pearson and Spearman of the CNN against the baselines.

    .venv/bin/python benchmarks/sortseq_lac.py [--workdir /tmp/utrflow_sortseq] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sortseq_lac_mavenn" / "sortseq_data.csv.gz"
SPLITS = {"training": "train", "validation": "validation", "test": "test"}


def labelled_table(path: Path) -> pd.DataFrame:
    """sequence, label (mean bin), weight (reads) and split from the MAVE-NN file."""
    raw = pd.read_csv(path)
    counts = raw[[f"ct_{i}" for i in range(10)]].to_numpy(dtype=float)
    total = counts.sum(axis=1)
    keep = total > 0
    label = (counts[keep] * np.arange(10)).sum(axis=1) / total[keep]
    return pd.DataFrame(
        {
            "sequence": raw["x"][keep],
            "label": label,
            "weight": total[keep],
            "split": raw["set"][keep].map(SPLITS),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/utrflow_sortseq"))
    parser.add_argument("--cores", default="2")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    table = labelled_table(args.data)
    table.to_csv(args.workdir / "sortseq.tsv", sep="\t", index=False)
    config = {
        "source": "table",
        "table": "sortseq.tsv",
        "model": {"patience": 5},
        "baselines": {"kmer_max": 3},
        "report": {"title": "Sort-Seq lac promoter"},
    }
    (args.workdir / "config").mkdir(exist_ok=True)
    (args.workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [
            str(bin_dir / "snakemake"),
            "-s",
            str(REPO / "workflow" / "Snakefile"),
            "--directory",
            str(args.workdir),
            "--cores",
            args.cores,
            "-q",
            "--rerun-incomplete",
        ],
        check=True,
        env=env,
    )
    metrics = json.loads((args.workdir / "results" / "model" / "metrics.json").read_text())
    trained = json.loads((args.workdir / "results" / "model" / "training.json").read_text())
    rows = [(f"CNN ({trained['preset']} preset)", metrics["test"])] + [
        (b["description"], b["test"]) for b in metrics["baselines"].values()
    ]
    print(f"test set: n = {metrics['test']['n']}")
    print(f"{'model':45s} {'Pearson r':>10s} {'Spearman':>10s}")
    for name, m in rows:
        print(f"{name:45s} {m['pearson_r']:10.3f} {m['spearman']:10.3f}")


if __name__ == "__main__":
    main()
