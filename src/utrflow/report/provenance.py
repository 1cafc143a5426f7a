"""The report's provenance: software versions, commit and date, the run time of every stage
(Snakemake's benchmark files), and the construct check's findings, so that a reader can tell
how the run was made and redo it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

PACKAGES = ("utrflow", "snakemake", "keras", "tensorflow", "numpy", "pandas", "scikit-learn")


def git_commit() -> str:
    """The short commit of the utrflow checkout, or "unknown" (an installed package)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def versions(training: dict[str, Any] | None) -> dict[str, str]:
    """Versions, commit, date and training device: what someone needs to reproduce the run."""
    found = {}
    for package in PACKAGES:
        try:
            found[f"{package} version"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    out = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git commit": git_commit(),
    }
    if training is not None:
        out["training device"] = training.get("device", "unknown")
        out["Keras backend"] = training.get("backend", "unknown")
    return {**out, **found}


def _stage(name: str) -> str:
    """'train_member1' -> 'train', 'demux_G01' -> 'demux': benchmarks grouped by rule."""
    return re.sub(r"[_-]?(member\d+|\d+|[A-Z][A-Za-z]*\d+)$", "", name) or name


def run_times(directory: Path | None) -> list[dict[str, Any]]:
    """Seconds and peak memory per stage from Snakemake's benchmark files (one file per job,
    per-plate jobs in a folder of their stage; jobs of a stage summed), slowest first; empty
    without the folder."""
    if directory is None or not directory.is_dir():
        return []
    stages: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (OSError, ValueError, pd.errors.EmptyDataError):
            continue
        if "s" not in frame or frame.empty:
            continue
        name = path.parent.name if path.parent != directory else _stage(path.stem)
        stage = stages.setdefault(name, {"jobs": 0, "seconds": 0.0, "max_rss": 0.0})
        stage["jobs"] += 1
        stage["seconds"] += float(frame["s"].iloc[-1])
        rss = pd.to_numeric(frame.get("max_rss", pd.Series([0.0])), errors="coerce").fillna(0.0)
        stage["max_rss"] = max(stage["max_rss"], float(rss.iloc[-1]))
    rows = [{"stage": name, **values} for name, values in stages.items()]
    return sorted(rows, key=lambda row: -row["seconds"])


def construct_check(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """The construct check (results/qc/construct_check.json) as the Checks section shows it."""
    if check is None:
        return None
    return {
        "status": check.get("status", "ok"),
        "messages": list(check.get("messages", [])),
        "elements": list(check.get("elements", [])),
        "proposed": check.get("proposed"),
        "sampled_reads": check.get("sampled_reads"),
        "placed_reads": check.get("placed_reads"),
    }
