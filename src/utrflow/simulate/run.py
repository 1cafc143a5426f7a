"""Simulate the whole wet-lab run: library, plates, plate reader and nanopore reads, with the truth.

The outputs are exactly the files of the input contract (docs/contracts.md §1) — `plates.tsv`,
`wells.tsv`, `library.csv`, `construct.yaml`, plate-reader CSVs and FASTQ.gz / unaligned BAM
reads — plus truth files that say, for every read and every well, what really happened, so each
later stage (demultiplexing, consensus, linking, the model) can be scored against it.

Reads are generated and written in chunks: a plan of small integer arrays (which template, which
kind, which strand) is drawn per read file, shuffled, and then turned into bases, errors and
records chunk by chunk, so memory stays flat however many reads are asked for.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from utrflow.geometry import plate_name
from utrflow.io import atomic_path, open_gzip_out, write_json, write_tsv
from utrflow.reads.barcodes import min_pairwise_distance
from utrflow.sheets import group_name
from utrflow.simulate import truth
from utrflow.simulate.barcodes import plate_barcodes
from utrflow.simulate.library import (
    Colonies,
    _stage_rngs,
    close_library,
    close_minors,
    pick_colonies,
    plate_layout,
    variant_ids,
)
from utrflow.simulate.reader import plate_reader, write_reader
from utrflow.simulate.reads import (
    KINDS,
    TRUTH_READS_COLUMNS,
    ReadTally,
    build_templates,
    well_read_counts,
    write_read_file,
)
from utrflow.simulate.run_settings import (
    PLATES_COLUMNS,
    TRUTH_WELLS_COLUMNS,
    WELLS_COLUMNS,
    RunSimulation,
)

# --------------------------------------------------------------------------------------------
# Sheets and truth


def write_sheets(
    out_dir: Path,
    library: pd.DataFrame,
    wells: pd.DataFrame,
    plates: pd.DataFrame,
    params: RunSimulation,
) -> None:
    """library.csv, wells.tsv, plates.tsv and construct.yaml: the input contract."""
    with atomic_path(out_dir / "library.csv") as tmp:
        library.to_csv(tmp, index=False, lineterminator="\n")
    sheet = wells.assign(role=wells["role"].replace({"empty": "sample"}))[WELLS_COLUMNS]
    write_tsv(sheet, out_dir / "wells.tsv")
    write_tsv(plates[PLATES_COLUMNS], out_dir / "plates.tsv")
    construct = run_layout(params, out_dir).construct
    with atomic_path(out_dir / "construct.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(construct, sort_keys=False))


def share_boundary_bases(designs: list[str], upstream: str, downstream: str) -> list[str]:
    """Designs whose first base repeats the upstream flank's last and whose last base repeats
    the downstream flank's first (where a flank's alignment may take a UTR base); a design
    that this makes equal to an earlier one is left out, so the library stays unique."""
    out = dict.fromkeys(
        upstream[-1:] + seq[1:-1] + downstream[:1] if len(seq) > 2 else seq for seq in designs
    )
    return list(out)


def truth_wells_table(
    wells: pd.DataFrame,
    colonies: Colonies,
    designs: list[str],
    major: np.ndarray,
    minor: np.ndarray,
    reader: pd.DataFrame,
    per_well: np.ndarray,
    params: RunSimulation,
) -> pd.DataFrame:
    """One row per well: what it really held, its true label and how many reads it really got."""
    ids = variant_ids(len(designs))
    has = major >= 0
    has_minor = minor >= 0
    safe, safe_minor = np.maximum(major, 0), np.maximum(minor, 0)

    def pick(values: list[str], index: np.ndarray, mask: np.ndarray) -> list[str]:
        return [values[i] if m else "" for i, m in zip(index.tolist(), mask.tolist(), strict=True)]

    variant_of = [ids[v] for v in colonies.variant.tolist()]
    sequence = pick(colonies.sequence, safe, has)
    design = [designs[v] for v in colonies.variant.tolist()]
    synthesis_variant = [
        bool(m) and colonies.sequence[i] != design[i]
        for i, m in zip(safe.tolist(), has.tolist(), strict=True)
    ]
    uses = np.bincount(major[has], minlength=len(colonies.sequence))
    true_label = np.where(has, colonies.expression[safe], np.nan)
    ratio = np.where(has_minor, params.mixed_ratio, np.where(has, 1.0, np.nan))
    linear = _linear_expression(colonies, major, minor, params.mixed_ratio)
    return pd.DataFrame(
        {
            "plate": wells["plate"].to_numpy(),
            "well": wells["well"].to_numpy(),
            "variant_id": pick(variant_of, safe, has),
            "sequence": sequence,
            "mixed": has_minor,
            "role": wells["role"].to_numpy(),
            "true_label": true_label,
            "synthesis_variant": synthesis_variant,
            "replicate": has & (uses[safe] > 1),
            "minor_variant_id": pick(variant_of, safe_minor, has_minor),
            "minor_sequence": pick(colonies.sequence, safe_minor, has_minor),
            "major_fraction": ratio,
            "true_mix_label": np.where(has, np.log2(np.where(has, linear, 1.0)), np.nan),
            "saturated": reader["gfp"].to_numpy() >= params.reader_max,
            "n_reads": per_well,
        },
        columns=TRUTH_WELLS_COLUMNS,
    )


def _linear_expression(
    colonies: Colonies, major: np.ndarray, minor: np.ndarray, ratio: float
) -> np.ndarray:
    """2**expression per well, ratio-weighted over the two colonies of a mixed well; 0 if none."""
    level = np.exp2(colonies.expression)
    first = np.where(major >= 0, level[np.maximum(major, 0)], 0.0)
    second = level[np.maximum(minor, 0)]
    return np.where(minor >= 0, ratio * first + (1 - ratio) * second, first)


def _summary(
    params: RunSimulation,
    tally: ReadTally,
    truth_wells: pd.DataFrame,
    barcodes: list[str],
    seconds: float,
) -> dict[str, Any]:
    """JSON-able figures of what was realized, beside what was asked for."""
    errors = tally.errors or {}
    bases = max(errors.get("template_length", 0), 1)
    n_errors = sum(errors.get(k, 0) for k in ("substitutions", "insertions", "deletions"))
    total = int(tally.kinds.sum())
    colony = truth_wells["role"].eq("sample").to_numpy()
    n_reads = truth_wells["n_reads"].to_numpy()
    unique = sorted(set(barcodes))
    return {
        "level": "run",
        "parameters": asdict(params),
        "reads": total,
        "kinds": {k: int(v) for k, v in zip(KINDS, tally.kinds, strict=True)},
        "kind_fractions": {
            k: float(v) / max(total, 1) for k, v in zip(KINDS, tally.kinds, strict=True)
        },
        "plus_strand_fraction": tally.plus_strand / max(tally.stranded, 1),
        "error_rate_target": params.error_model().rate,
        "error_rate_realized": n_errors / bases,
        "errors": errors,
        "error_split": {
            k: errors.get(k, 0) / max(n_errors, 1)
            for k in ("substitutions", "insertions", "deletions")
        },
        "reads_per_colony_well_mean": float(n_reads[colony].mean()) if colony.any() else 0.0,
        "reads_per_colony_well_target": params.reads_per_well_mean,
        "wells": {
            role: int((truth_wells["role"] == role).sum()) for role in ("sample", "blank", "empty")
        },
        "mixed_wells": int(truth_wells["mixed"].sum()),
        "replicate_wells": int(truth_wells["replicate"].sum()),
        "synthesis_variant_wells": int(truth_wells["synthesis_variant"].sum()),
        "saturated_wells": int(truth_wells["saturated"].sum()),
        "barcodes": len(unique),
        "barcode_min_distance_required": params.min_barcode_distance,
        # exact check (prefiltered pairs); very large sets rely on the design guarantee
        "barcode_min_distance": min_pairwise_distance(unique) if len(unique) <= 5000 else None,
        "seconds": round(seconds, 3),
    }


def _designs(params: RunSimulation, rng: np.random.Generator) -> list[str]:
    """The library's designs: drawn, then with close variants and shared boundary bases if
    asked for (one rng, in this order, so a seed gives the same library)."""
    designs = truth.design_library(rng, params.n_variants, params.min_length, params.max_length)
    if params.close_variants:
        designs = close_library(rng, designs, params.close_variants)
    if params.shared_boundary_bases:
        designs = share_boundary_bases(designs, params.upstream_flank, params.downstream_flank)
    return designs


def _barcoded_wells(
    layout: pd.DataFrame, params: RunSimulation, rng: np.random.Generator
) -> pd.DataFrame:
    """The plate layout with each well's full barcodes (constants around the drawn core)."""
    barcodes = plate_barcodes(
        rng,
        params.barcode_layout,
        params.plate_format,
        params.n_plates,
        params.plate_separation == "pooled",
        params.barcode_length,
        params.min_barcode_distance,
    )
    for column in ("fwd_barcode", "rev_barcode"):
        barcodes[column] = params.barcode_constant_5 + barcodes[column] + params.barcode_constant_3
    return layout.merge(barcodes, on=["plate", "well"], how="left", validate="one_to_one")


def _read_groups(
    wells: pd.DataFrame, plate_ids: list[str], params: RunSimulation
) -> list[tuple[str, np.ndarray]]:
    """(read file name, its wells' row indices): one per plate, or one pooled file."""
    plate_of = wells["plate"].to_numpy()
    if params.plate_separation == "files":
        return [(plate, np.flatnonzero(plate_of == plate)) for plate in plate_ids]
    return [("pooled", np.arange(len(wells)))]


@dataclass
class _Wells:
    """What the reads are drawn from: the barcoded wells and which colonies they hold."""

    wells: pd.DataFrame
    colonies: Colonies
    major: np.ndarray
    minor: np.ndarray


def _write_reads(
    held: _Wells,
    plate_ids: list[str],
    params: RunSimulation,
    out_dir: Path,
    rng: np.random.Generator,
) -> tuple[ReadTally, dict[str, str]]:
    """Every read file and truth_reads.tsv.gz; returns the tally and each plate's reads file.

    Templates, counts and then the files draw from one rng in this order (the seed's reads)."""
    wells = held.wells
    templates = build_templates(wells, held.colonies, held.major, held.minor, params, rng)
    counts = well_read_counts(wells, templates, params, rng)
    mixed_ratio = np.where(held.minor >= 0, params.mixed_ratio, 1.0)
    plate_of = wells["plate"].to_numpy()
    tally = ReadTally(kinds=np.zeros(len(KINDS), dtype=np.int64))
    read_paths: dict[str, str] = {}
    with ExitStack() as stack:
        truth_out = open_gzip_out(stack, out_dir / "truth_reads.tsv.gz")
        truth_out.write(("\t".join(TRUTH_READS_COLUMNS) + "\n").encode())
        for group, members in _read_groups(wells, plate_ids, params):
            paths = write_read_file(
                group,
                members,
                wells,
                counts,
                mixed_ratio,
                templates,
                params,
                out_dir,
                truth_out,
                tally,
                rng,
            )
            primary = paths.get("fastq", paths.get("bam", ""))
            for plate in sorted(set(plate_of[members])):
                read_paths[plate] = primary
    return tally, read_paths


def simulate_run(params: RunSimulation, out_dir: Path) -> dict[str, Any]:
    """Simulate the run into `out_dir`; returns a JSON-able summary (also in summary.json).

    Layout: library.csv, construct.yaml, wells.tsv, plates.tsv, reader/<plate>.csv,
    reads/<plate or pooled>.fastq.gz|.bam, truth_wells.tsv, truth_reads.tsv.gz, summary.json.
    Paths inside plates.tsv are `out_dir / ...` as given, so a relative out_dir gives paths
    relative to the same working directory.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    rngs = _stage_rngs(params.seed)
    designs = _designs(params, rngs["library"])
    library = pd.DataFrame({"id": variant_ids(len(designs)), "sequence": designs})
    layout = plate_layout(params, rngs["layout"])
    colonies, major, minor = pick_colonies(layout, designs, params, rngs["colonies"])
    if params.close_variants:
        colonies = close_minors(colonies, major, minor, designs, params, rngs["colonies"])
    wells = _barcoded_wells(layout, params, rngs["barcodes"])
    linear = _linear_expression(colonies, major, minor, params.mixed_ratio)
    reader = plate_reader(wells, linear, params, rngs["reader"])

    plate_ids = [plate_name(p) for p in range(params.n_plates)]
    for plate in plate_ids:
        write_reader(reader[reader["plate"] == plate], out_dir / "reader" / f"{plate}.csv", params)

    held = _Wells(wells, colonies, major, minor)
    tally, read_paths = _write_reads(held, plate_ids, params, out_dir, rngs["reads"])
    plates = pd.DataFrame(
        {
            "plate": plate_ids,
            "reads": [read_paths[p] for p in plate_ids],
            "fluorescence": [str(out_dir / "reader" / f"{p}.csv") for p in plate_ids],
        }
    )
    write_sheets(out_dir, library, wells, plates, params)
    per_well = tally.per_well if tally.per_well is not None else np.zeros(len(wells), np.int64)
    truth_wells = truth_wells_table(
        wells, colonies, designs, major, minor, reader, per_well, params
    )
    write_tsv(truth_wells, out_dir / "truth_wells.tsv")
    all_barcodes = wells["fwd_barcode"].tolist() + wells["rev_barcode"].tolist()
    summary = _summary(params, tally, truth_wells, all_barcodes, time.perf_counter() - started)
    write_json(summary, out_dir / "summary.json")
    return summary


@dataclass(frozen=True)
class RunLayout:
    """The files a simulated run will write, known before it runs (the workflow plans its
    per-plate jobs from them): read groups with their reads file, and each plate's reader."""

    groups: dict[str, tuple[tuple[str, ...], str]]  # group -> (plates, reads file)
    readers: dict[str, str]  # plate -> reader file
    construct: dict[str, str]


def run_layout(params: RunSimulation, out_dir: str | Path) -> RunLayout:
    """Where `simulate_run(params, out_dir)` puts the reads and reader files."""
    plates = tuple(plate_name(p) for p in range(params.n_plates))
    suffix = ".bam" if params.reads_format == "bam" else ".fastq.gz"

    def reads(group: str) -> str:
        return str(Path(out_dir) / "reads" / f"{group}{suffix}")

    groups: dict[str, tuple[tuple[str, ...], str]] = (
        {plate: ((plate,), reads(plate)) for plate in plates}
        if params.plate_separation == "files"
        else {group_name(plates): (plates, reads("pooled"))}
    )
    return RunLayout(
        groups=groups,
        readers={plate: str(Path(out_dir) / "reader" / f"{plate}.csv") for plate in plates},
        construct={
            "fwd_primer": params.fwd_primer,
            "rev_primer": params.rev_primer,
            "upstream_flank": params.upstream_flank,
            "downstream_flank": params.downstream_flank,
        },
    )


def derived_settings(
    params: RunSimulation, out_dir: str, level: str, saturated_at: float | None
) -> dict[str, Any]:
    """The config keys whose values a simulated run decides, as a mapping of their own (the
    workflow lays it over the config for its jobs; the config stays what its files say): the
    reader's saturation level (the simulated reader writes its maximum, not an overflow word)
    unless the config names one, and, at level `run`, the sheets and construct it writes to
    `out_dir`, which the reads jobs then read as a user's."""
    derived: dict[str, Any] = {}
    if saturated_at is None:
        derived["fluorescence"] = {"saturated_at": params.reader_max}
    if level == "run":
        for key in ("plates", "wells", "library"):
            derived[key] = f"{out_dir}/{key}.{'csv' if key == 'library' else 'tsv'}"
        derived["construct"] = run_layout(params, out_dir).construct
    return derived
