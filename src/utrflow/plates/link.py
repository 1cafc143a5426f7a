"""Join each well's called UTR with its normalized fluorescence into the labelled table.

Every well of the layout gets one row and a `qc` that is `pass` or the first reason it can't
train the model (`qc_detail` lists them all), so a biologist can audit every row. Replicate
wells of one sequence give the experiment's noise ceiling: the intraclass correlation of single
wells, which is the best test r² any model can reach against single-well labels.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.errors import InputError
from utrflow.labelled import LINK_COLUMNS, QC_REASONS
from utrflow.plates import reader
from utrflow.plates.reader import FluorescenceSettings
from utrflow.plates.ties import check_ties

REPLICATE_COLUMNS = ["sequence", "variant_id", "n", "mean", "sd", "wells"]


def _reasons(consensus: pd.DataFrame, fluorescence: pd.DataFrame | None) -> list[list[str]]:
    """Every QC reason of every well, in QC_REASONS order."""
    role = consensus["role"].fillna("sample").to_numpy()
    calls = consensus["qc"].fillna("").to_numpy()
    match = consensus["match"].fillna("").to_numpy()
    flags = (
        fluorescence["flags"].fillna("").to_numpy()
        if fluorescence is not None
        else np.full(len(consensus), "no_fluorescence", dtype=object)
    )
    out = []
    for i in range(len(consensus)):
        found = {role[i], calls[i], match[i], *str(flags[i]).split(";")}
        out.append([reason for reason in QC_REASONS if reason in found])
    return out


def join_plate(consensus: pd.DataFrame, fluorescence: pd.DataFrame | None) -> pd.DataFrame:
    """One plate's consensus table (consensus.CONSENSUS_COLUMNS) and normalized readings
    (fluorescence.FLUORESCENCE_COLUMNS, or None when the plate was not read) -> labelled rows."""
    calls = consensus.reset_index(drop=True)
    reading = None
    if fluorescence is not None:
        reading = calls[["well"]].merge(
            fluorescence[["well", "signal", "label", "flags"]],
            on="well",
            how="left",
            indicator=True,
        )
        unread = reading["_merge"] == "left_only"
        reading["flags"] = reading["flags"].fillna("").mask(unread, "no_fluorescence")
    reasons = _reasons(calls, reading)
    return pd.DataFrame(
        {
            "plate": calls["plate"],
            "well": calls["well"],
            "sequence": calls["sequence"].fillna(""),
            "variant_id": calls["variant_id"].fillna(""),
            "match": calls["match"].fillna(""),
            "n_reads": calls["n_reads"].astype("Int64"),
            "n_regions": calls["n_regions"].astype("Int64"),
            "purity": calls["purity"],
            "signal": reading["signal"] if reading is not None else np.nan,
            "label": reading["label"] if reading is not None else np.nan,
            "qc": [r[0] if r else "pass" for r in reasons],
            "role": calls["role"].fillna("sample"),
            "qc_detail": [";".join(r) for r in reasons],
            "differences": calls["differences"].fillna(""),
            "allele2": _texts(calls, "minor_sequence"),
            "allele2_reads": _counts(calls, "allele2_reads"),
            "called_by": _texts(calls, "called_by"),
            "artefact_regions": _counts(calls, "artefact_regions"),
            "tandem_inserts": _counts(calls, "tandem_inserts"),
        },
        columns=LINK_COLUMNS,
    )


def _texts(calls: pd.DataFrame, column: str) -> pd.Series:
    """A text column of the consensus table, '' where blank or where the table lacks it."""
    if column not in calls:
        return pd.Series("", index=calls.index, dtype=object)
    return calls[column].fillna("")


def _counts(calls: pd.DataFrame, column: str) -> pd.Series:
    """An integer column of the consensus table, empty where blank (or where a table written
    before the column was added lacks it)."""
    if column not in calls:
        return pd.Series(pd.NA, index=calls.index, dtype="Int64")
    return pd.to_numeric(calls[column], errors="coerce").astype("Int64")


def center_plates(table: pd.DataFrame, method: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """With `median`, shift each plate's labels so its passing wells share the overall median
    (plates read on different days differ in gain); returns the table and the shift per plate."""
    if method == "none":
        return table, {}
    passing = table["qc"] == "pass"
    overall = float(table.loc[passing, "label"].median())
    medians = table[passing].groupby("plate")["label"].median()
    shifts = {str(p): overall - float(m) for p, m in medians.items()}
    out = table.copy()
    out["label"] = out["label"] + out["plate"].map(shifts).fillna(0.0)
    return out, shifts


def replicates(table: pd.DataFrame) -> pd.DataFrame:
    """Sequences measured in two or more passing wells: mean, sd and n of their labels."""
    passing = table[table["qc"] == "pass"]
    groups = passing.groupby("sequence", sort=True)
    sizes = groups.size()
    repeated = passing[passing["sequence"].isin(sizes[sizes >= 2].index)]
    if repeated.empty:
        return pd.DataFrame(columns=REPLICATE_COLUMNS)
    by_sequence = repeated.groupby("sequence", sort=True)
    out = by_sequence["label"].agg(n="size", mean="mean", sd="std").reset_index()
    out["variant_id"] = by_sequence["variant_id"].first().to_numpy()
    out["wells"] = (
        by_sequence[["plate", "well"]]
        .apply(lambda g: ",".join(f"{p}:{w}" for p, w in zip(g["plate"], g["well"], strict=True)))
        .to_numpy()
    )
    return out[REPLICATE_COLUMNS]


def intraclass_correlation(values: Sequence[np.ndarray]) -> float:
    """ICC(1) from a one-way ANOVA over groups of replicate measurements (sizes may differ):
    the share of a single measurement's variance that is true signal."""
    groups = [np.asarray(v, dtype=float) for v in values if len(v) >= 2]
    if len(groups) < 2:
        return float("nan")
    sizes, means, squares = _group_stats(groups)
    return float(_icc(sizes[None, :], means[None, :], squares[None, :])[0])


def _group_stats(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group's size, mean and sum of squared deviations from its mean."""
    sizes = np.array([len(g) for g in groups], dtype=float)
    means = np.array([g.mean() for g in groups])
    squares = np.array([((g - g.mean()) ** 2).sum() for g in groups])
    return sizes, means, squares


def _icc(sizes: np.ndarray, means: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """ICC(1) of each row of groups (rows: resamples, columns: the groups drawn), from the
    groups' sizes, means and squared deviations: the whole bootstrap in a few array operations."""
    k = sizes.shape[1]
    total = sizes.sum(axis=1)
    grand = (sizes * means).sum(axis=1) / total
    between = (sizes * (means - grand[:, None]) ** 2).sum(axis=1) / (k - 1)
    within = squares.sum(axis=1) / (total - k)
    n0 = (total - (sizes**2).sum(axis=1) / total) / (k - 1)
    denominator = between + (n0 - 1) * within
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, (between - within) / denominator, np.nan)


def noise_ceiling(
    table: pd.DataFrame, seed: int = 0, resamples: int = 1000, min_sequences: int = 5
) -> dict[str, object]:
    """The replicate noise ceiling (best reachable r² on single-well labels), with a bootstrap
    95% interval over sequences; `r2` is None (and `reason` says why) with too few replicates."""
    passing = table[(table["qc"] == "pass") & table["label"].notna()]
    groups = [g.to_numpy() for _, g in passing.groupby("sequence")["label"] if len(g) >= 2]
    result: dict[str, object] = {
        "method": "intraclass correlation of replicate wells (ICC(1))",
        "sequences": len(groups),
        "wells": int(sum(len(g) for g in groups)),
    }
    if len(groups) < min_sequences:
        result.update(
            r2=None,
            reason=f"{len(groups)} sequences measured in 2+ passing wells; "
            f"{min_sequences} or more are needed",
        )
        return result
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(groups), size=(resamples, len(groups)))
    sizes, means, squares = _group_stats(groups)
    boot = _icc(sizes[draws], means[draws], squares[draws])
    boot = boot[np.isfinite(boot)]
    result["r2"] = float(np.clip(intraclass_correlation(groups), 0.0, 1.0))
    if boot.size:
        low, high = np.quantile(np.clip(boot, 0.0, 1.0), [0.025, 0.975])
        result["ci95"] = [float(low), float(high)]
    return result


def _sample_median(wells: pd.DataFrame, column: str) -> float:
    """Median of a count over a plate's sample wells (NaN for a table without the column)."""
    if column not in wells:
        return float("nan")
    return float(pd.to_numeric(wells.loc[wells["role"] == "sample", column]).median())


def _negative_reads(wells: pd.DataFrame) -> int:
    """Reads assigned to a plate's negative-control wells: barcodes that should read nothing,
    so every read there came from another well (cross-well contamination, barcode misreads)."""
    if "n_reads" not in wells:
        return 0
    return int(pd.to_numeric(wells.loc[wells["role"] == "negative", "n_reads"]).fillna(0).sum())


def negative_controls(table: pd.DataFrame) -> dict[str, Any]:
    """The run's negative-control wells: how many, how many hold reads, their reads against
    the median sample well's (the contamination a sample well may carry)."""
    negative = table[table["role"] == "negative"]
    reads = pd.to_numeric(negative["n_reads"]).fillna(0) if len(negative) else pd.Series([])
    samples = pd.to_numeric(table.loc[table["role"] == "sample", "n_reads"]).fillna(0)
    median = float(samples.median()) if len(samples) else 0.0
    return {
        "wells": len(negative),
        "wells_with_reads": int((reads > 0).sum()),
        "reads": int(reads.sum()),
        "max_reads": int(reads.max()) if len(reads) else 0,
        "median_sample_reads": median,
        "max_share_of_sample": round(float(reads.max()) / median, 4)
        if len(reads) and median
        else None,
        "wells_read": [
            f"{p}:{w}"
            for p, w, n in zip(negative["plate"], negative["well"], reads, strict=True)
            if n > 0
        ],
    }


def plate_summary(
    table: pd.DataFrame,
    fluorescence: pd.DataFrame | None,
    shifts: dict[str, float],
    settings: FluorescenceSettings,
    unlisted: dict[str, list[str]] | None = None,
    readers: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """One row per plate: wells, passing wells, count per QC reason, reads per well, blank
    levels, median label, what was read (instrument, channels, read; from the per-plate reader
    summaries); `flag` says when a plate's median is far from the median plate's."""
    rows = []
    for plate, wells in table.groupby("plate", sort=False):
        passing = wells[wells["qc"] == "pass"]
        row: dict[str, object] = {
            "plate": plate,
            "wells": len(wells),
            "samples": int((wells["role"] == "sample").sum()),
            "pass": len(passing),
            **{reason: int((wells["qc"] == reason).sum()) for reason in QC_REASONS},
            "median_reads": _sample_median(wells, "n_reads"),
            "negative_reads": _negative_reads(wells),
            "median_regions": _sample_median(wells, "n_regions"),
            "median_label": float(passing["label"].median()) if len(passing) else np.nan,
            "centering_shift": shifts.get(str(plate), 0.0),
            "unlisted_reader_wells": len((unlisted or {}).get(str(plate), [])),
            **reader_columns((readers or {}).get(str(plate))),
        }
        if fluorescence is not None and plate in set(fluorescence["plate"]):
            reads = fluorescence[fluorescence["plate"] == plate]
            row["blank_signal"] = float(reads["blank_signal"].iloc[0])
            row["blank_normalizer"] = float(reads["blank_normalizer"].iloc[0])
        rows.append(row)
    summary = pd.DataFrame(rows)
    medians = summary["median_label"]
    centre = float(medians.median()) if medians.notna().any() else np.nan
    off = (medians - centre).abs().fillna(0.0)
    flags = [
        f"median label {d:.2f} log2 off the median plate" if d > settings.plate_flag_log2 else ""
        for d in off
    ]
    summary["flag"] = flags
    return summary


def _read_text(channel: dict[str, Any] | None) -> str:
    """'GFP_1:485/20,530/25 [485/530 nm, loop 1], read 25 of 25 (4:06:17)': a channel, its
    wavelengths and loop as the file states them, and the read used."""
    if not channel:
        return ""
    stated = (
        [f"{'/'.join(map(str, channel['wavelengths']))} nm"] if channel.get("wavelengths") else []
    )
    stated += [f"loop {channel['loop']}"] if channel.get("loop") else []
    text = channel["channel"] + (f" [{', '.join(stated)}]" if stated else "")
    text += f", read {channel['read']} of {channel['reads']}"
    if channel.get("time_s") is not None:
        seconds = round(float(channel["time_s"]))
        text += f" ({seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d})"
    return text


def reader_columns(summary: dict[str, Any] | None) -> dict[str, str]:
    """The plate-QC columns naming what the reader file gave: instrument, signal and
    normalizer channels with their reads."""
    summary = summary or {}
    return {
        "instrument": str(summary.get("instrument", "")),
        "signal_read": _read_text(summary.get("signal")),
        "normalizer_read": _read_text(summary.get("normalizer")),
    }


def qc_counts(table: pd.DataFrame) -> dict[str, int]:
    """Wells per qc value, `pass` first then reasons in QC_REASONS order (zeros left out)."""
    counts = table["qc"].value_counts()
    return {k: int(counts[k]) for k in ("pass", *QC_REASONS) if k in counts}


def calibration_summary(readers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the labels count (`label_unit`: one unit, as the wells sheet calibrates every plate
    alike) and each calibrated plate's fits, for the summary and the report."""
    units = sorted({str(s["label_unit"]) for s in readers.values() if s.get("label_unit")})
    fits = {plate: s["calibration"] for plate, s in readers.items() if s.get("calibration")}
    return {"label_unit": ", ".join(units), **({"calibration": fits} if fits else {})}


def link(
    consensus: Sequence[pd.DataFrame],
    fluorescence: dict[str, pd.DataFrame],
    settings: FluorescenceSettings,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """All plates' labelled rows (fluorescence keyed by plate; a plate without is unread),
    centred per plate when asked; returns the table and the centring shift per plate."""
    parts = [join_plate(c, fluorescence.get(str(c["plate"].iloc[0]))) for c in consensus if len(c)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LINK_COLUMNS)
    return center_plates(table, settings.plate_centering)


@dataclass(frozen=True)
class ReaderFile:
    """A plate's reader file and, in a file holding several plates, the plate's block."""

    plate: str
    path: Path
    block: str = ""


def read_readers(
    readers: Sequence[ReaderFile],
    wells_path: Path | None,
    settings: FluorescenceSettings,
    readings_dir: Path,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Every plate's reader file normalized against its layout (`reader.write_plate`), its
    table and summary written to `readings_dir`/<plate>.tsv and .json; returns the tables as
    written (a plate reading nothing left out) and the summaries, by plate. One job reads them
    all: each takes a tenth of a second, a job of its own half a second more to start."""
    if not readers:
        return {}, {}
    if wells_path is None:
        raise InputError("reader files need the wells sheet (--wells)")
    wells = reader.load_layout(wells_path)
    plates = list(dict.fromkeys(wells["plate"].astype(str)))
    check_ties({found.plate: (found.path, found.block) for found in readers}, plates)
    tables, summaries = {}, {}
    for found in readers:
        table_path = readings_dir / f"{found.plate}.tsv"
        summary_path = readings_dir / f"{found.plate}.json"
        reader.write_plate(
            found.plate,
            found.path,
            wells,
            settings,
            table_path,
            summary_path,
            found.block,
            str(wells_path),
        )
        # read back as written: the files' text is the record, and what was joined
        summaries[found.plate] = io.read_json(summary_path)
        table = io.read_tsv(table_path)
        if len(table):
            tables[found.plate] = table
    return tables, summaries


def run(
    consensus: Sequence[Path],
    readers: Sequence[ReaderFile],
    wells_path: Path | None,
    settings: FluorescenceSettings,
    seed: int,
    labelled: Path,
    replicates_path: Path,
    plate_qc: Path,
    summary: Path,
    readings_dir: Path,
) -> pd.DataFrame:
    """The `link` stage: every plate's reader file normalized (`read_readers`), and every
    plate's calls joined with its readings into the labelled table (returned too), with
    replicate wells, the noise ceiling and plate QC."""
    calls = [io.read_tsv(p) for p in consensus]
    readings, readers_read = read_readers(readers, wells_path, settings, readings_dir)
    unlisted = {plate: s["unlisted_wells"] for plate, s in readers_read.items()}
    table, shifts = link(calls, readings, settings)
    combined = pd.concat(readings.values(), ignore_index=True) if readings else None
    plates = plate_summary(table, combined, shifts, settings, unlisted, readers_read)
    ceiling = noise_ceiling(table, seed=seed)
    io.write_tsv(table, labelled)
    io.write_tsv(replicates(table), replicates_path)
    io.write_tsv(plates, plate_qc)
    counts = qc_counts(table)
    negatives = negative_controls(table)
    io.write_json(
        {
            "wells": len(table),
            "qc": counts,
            "noise_ceiling": ceiling,
            "plate_centering": settings.plate_centering,
            "flagged_plates": dict(plates.loc[plates["flag"] != "", ["plate", "flag"]].values),
            "negative_controls": negatives,
            **calibration_summary(readers_read),
        },
        summary,
    )
    log = logging.getLogger("utrflow.link")
    log.info("wells per qc: %s", json.dumps(counts))
    log.info("noise ceiling: %s", json.dumps(ceiling))
    if negatives["reads"]:
        where = ", ".join(negatives["wells_read"])
        median = negatives["median_sample_reads"]
        log.warning(
            "negative-control wells hold reads: %d in %s (a sample well: %g)",
            negatives["reads"], where, median,
        )  # fmt: skip
    return table
