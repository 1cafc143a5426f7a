"""Simulate the whole wet-lab run: library, plates, plate reader and nanopore reads, with the truth.

The outputs are exactly the files of the input contract (DESIGN.md section 2) — `plates.tsv`,
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
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import yaml

from utrflow import nanopore, truth
from utrflow.barcodes import LAYOUTS, min_pairwise_distance, plate_barcodes
from utrflow.errors import InputError
from utrflow.io import atomic_path, open_gzip_out, write_json, write_tsv
from utrflow.plates import FORMATS, plate_name, well_names
from utrflow.sequences import invalid_characters, reverse_complement

WELLS_COLUMNS = ["plate", "well", "fwd_barcode", "rev_barcode", "role"]
PLATES_COLUMNS = ["plate", "reads", "fluorescence"]
TRUTH_WELLS_COLUMNS = [
    "plate",
    "well",
    "variant_id",
    "sequence",
    "mixed",
    "role",
    "true_label",
    "synthesis_variant",
    "replicate",
    "minor_variant_id",
    "minor_sequence",
    "major_fraction",
    "true_mix_label",
    "saturated",
    "n_reads",
]
TRUTH_READS_COLUMNS = ["read_id", "plate", "well", "kind", "strand"]
KINDS = ("full", "truncated", "chimera", "junk")
_FULL, _TRUNCATED, _CHIMERA, _JUNK = range(4)
_STRANDS = "+-"
# Oligo synthesis errors: mostly single-base deletions and substitutions, fewer insertions.
_SYNTHESIS = nanopore.ErrorModel(
    rate=0.0, substitution=0.4, insertion=0.2, deletion=0.4, homopolymer=0.0, read_spread=0.0
)
_MEDIUM_OD = 0.045  # absorbance of medium alone in a plate well


@dataclass(frozen=True)
class RunSimulation:
    """Every knob of the simulated run; the defaults give a small, realistic MinION experiment."""

    # Library
    n_variants: int = 2000  # designed UTRs in library.csv
    min_length: int = 30  # shortest designed UTR (nt)
    max_length: int = 60  # longest designed UTR (nt)
    synthesis_error_rate: float = 0.004  # per-base oligo synthesis error (substitution, 1-nt indel)
    # Plates
    n_plates: int = 2  # plates picked
    plate_format: int = 96  # 96 or 384 wells
    barcode_layout: str = "row_column"  # row_column (fwd per row, rev per column) or per_well
    plate_separation: str = "files"  # files (one read file per plate) or pooled (one file)
    barcode_length: int = 12  # nt per barcode
    min_barcode_distance: int = 4  # minimum edit distance between barcodes, rc included
    blank_wells_per_plate: int = 4  # medium-only wells (role blank), at the end of the last column
    empty_fraction: float = 0.02  # sample wells where nothing grew (no colony, stray reads only)
    mixed_fraction: float = 0.05  # sample wells holding two colonies
    mixed_ratio: float = 0.7  # share of the major colony in a mixed well (cells and reads)
    replicate_fraction: float = 0.05  # sample wells holding a colony also picked elsewhere
    # Plate reader
    reader_format: str = "tidy"  # tidy (well, gfp, od600) or grid (an 8x12/16x24 block each)
    reader_gain: float = 12.0  # GFP units per OD unit per unit of 2**expression
    reader_background: float = 300.0  # GFP of medium alone
    reader_max: float = 65535.0  # detector saturation: higher values read as this
    reader_noise_sd: float = 0.15  # multiplicative well noise, log2 units
    plate_effect_sd: float = 0.1  # per-plate gain drift, log2 units
    # Reads
    reads_per_well_mean: float = 60.0  # mean reads per colony well (full + truncated)
    reads_per_well_dispersion: float = 4.0  # negative binomial size: var = mean + mean**2 / size
    stray_reads_mean: float = 0.5  # Poisson mean of stray reads in blank and empty wells
    error_preset: str = "r10"  # r10 (~3 %/base, R10.4.1) or r9 (~8 %/base, R9.4.1)
    error_rate: float | None = None  # per-base error rate; None takes the preset's
    truncated_fraction: float = 0.05  # of all reads: well reads that stop early
    chimera_fraction: float = 0.02  # of all reads: two amplicons joined, either orientation
    junk_fraction: float = 0.03  # of all reads: no amplicon at all
    end_junk_max: int = 12  # random bases at most beside each adapter remnant
    junk_min_length: int = 50  # shortest junk read body (nt)
    junk_max_length: int = 600  # longest junk read body (nt)
    reads_format: str = "fastq"  # fastq (.fastq.gz), bam (unaligned) or both
    chunk_reads: int = 20_000  # reads generated and written at a time (flat memory)
    # Construct (forward orientation); barcodes sit right 5' of the primers
    fwd_primer: str = "TGCCACCTGACGTCTAAGAA"  # VF2, binds the vector upstream of the promoter
    rev_primer: str = "CTTCACCCTCTCCACTGACAGA"  # binds inside GFP (as ordered, 5'->3')
    upstream_spacer: str = "GAATTCGCGGCCGCTTCTAGAGTTGACAGCTAGCTCA"  # prefix + promoter start
    upstream_flank: str = "GTCCTAGGTATAATGCTAGC"  # promoter end, right before the UTR
    downstream_flank: str = "ATGCGTAAAGGAGAAGAACT"  # GFP from its start codon
    downstream_spacer: str = "TTTCACTGGAGTTGTCCCAATTCTTGTTGAATTAGATGGTGATGTTAATGGGCACAAATTT"
    seed: int = 42  # every random choice derives from it

    def __post_init__(self) -> None:
        problem = _check(self)
        if problem:
            raise InputError(f"simulate_run: {problem}")

    def error_model(self) -> nanopore.ErrorModel:
        """The read error model: the preset, with `error_rate` overriding its rate if given."""
        model = nanopore.PRESETS[self.error_preset]
        return model if self.error_rate is None else model.with_rate(self.error_rate)


def _check(p: RunSimulation) -> str | None:
    """The first thing wrong with a parameter set, as one line, or None."""
    choices = {
        "plate_format": (p.plate_format, tuple(FORMATS)),
        "barcode_layout": (p.barcode_layout, LAYOUTS),
        "plate_separation": (p.plate_separation, ("files", "pooled")),
        "reader_format": (p.reader_format, ("tidy", "grid")),
        "reads_format": (p.reads_format, ("fastq", "bam", "both")),
        "error_preset": (p.error_preset, tuple(nanopore.PRESETS)),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            return f"{key} {value!r} is not one of {', '.join(map(str, allowed))}"
    fractions = (
        "empty_fraction",
        "mixed_fraction",
        "replicate_fraction",
        "truncated_fraction",
        "chimera_fraction",
        "junk_fraction",
        "synthesis_error_rate",
    )
    for key in fractions:
        if not 0.0 <= getattr(p, key) < 1.0:
            return f"{key} must be in [0, 1), got {getattr(p, key)}"
    if p.truncated_fraction + p.chimera_fraction + p.junk_fraction >= 1.0:
        return "truncated_fraction + chimera_fraction + junk_fraction must stay below 1"
    if not 0.0 < p.mixed_ratio < 1.0:
        return f"mixed_ratio must be in (0, 1), got {p.mixed_ratio}"
    if p.error_rate is not None and not 0.0 <= p.error_rate < 0.5:
        return f"error_rate must be in [0, 0.5), got {p.error_rate}"
    positive = (
        "n_variants",
        "n_plates",
        "min_length",
        "barcode_length",
        "chunk_reads",
        "reads_per_well_mean",
        "reads_per_well_dispersion",
        "reader_max",
        "junk_min_length",
    )
    for key in positive:
        if getattr(p, key) <= 0:
            return f"{key} must be positive, got {getattr(p, key)}"
    if p.min_length > p.max_length or p.junk_min_length > p.junk_max_length:
        return "a minimum length is larger than its maximum"
    if not 0 <= p.blank_wells_per_plate < p.plate_format:
        return (
            f"blank_wells_per_plate must be in [0, {p.plate_format}), got {p.blank_wells_per_plate}"
        )
    if not 1 <= p.min_barcode_distance <= p.barcode_length:
        return "min_barcode_distance must be between 1 and barcode_length"
    for key in (
        "fwd_primer",
        "rev_primer",
        "upstream_spacer",
        "upstream_flank",
        "downstream_flank",
        "downstream_spacer",
    ):
        bad = invalid_characters(getattr(p, key), "ACGT")
        if bad:
            return f"{key} has characters other than A, C, G, T: {''.join(sorted(bad))}"
    return None


# --------------------------------------------------------------------------------------------
# Library, plate layout and colonies


def _stage_rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, so changing read settings keeps the same library."""
    names = ("library", "layout", "colonies", "barcodes", "reader", "reads")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def variant_ids(n: int) -> list[str]:
    """Library ids v000001, v000002, ... (as in the table-level simulation)."""
    return [f"v{i + 1:06d}" for i in range(n)]


def plate_layout(params: RunSimulation, rng: np.random.Generator) -> pd.DataFrame:
    """Every well of every plate with its true role (sample, blank, empty) and mixed flag.

    Blanks take the last wells of the last column (H12, G12, ...), where people put them; empty
    and mixed wells are drawn among the rest of each plate.
    """
    rows, cols = FORMATS[params.plate_format]
    names = well_names(params.plate_format)
    column_major = [names[r * cols + c] for c in range(cols) for r in range(rows)]
    blanks = set(column_major[len(column_major) - params.blank_wells_per_plate :])
    frames = []
    for p in range(params.n_plates):
        role = np.array(["blank" if w in blanks else "sample" for w in names], dtype=object)
        candidates = np.flatnonzero(role == "sample")
        n_empty = round(params.empty_fraction * candidates.size)
        empty = rng.choice(candidates, size=n_empty, replace=False)
        role[empty] = "empty"
        colonies = np.flatnonzero(role == "sample")
        n_mixed = round(params.mixed_fraction * colonies.size)
        mixed = np.zeros(len(names), dtype=bool)
        mixed[rng.choice(colonies, size=n_mixed, replace=False)] = True
        frames.append(
            pd.DataFrame({"plate": plate_name(p), "well": names, "role": role, "mixed": mixed})
        )
    return pd.concat(frames, ignore_index=True)


def synthesize(rng: np.random.Generator, designs: list[str], rate: float) -> list[str]:
    """Colony inserts as synthesized: each design with random substitutions and 1-nt indels."""
    if rate <= 0 or not designs:
        return list(designs)
    seq = nanopore.to_array(designs)
    lengths = np.fromiter((len(s) for s in designs), dtype=np.int64, count=len(designs))
    made = nanopore.apply_errors(rng, seq, lengths, _SYNTHESIS.with_rate(rate))
    return nanopore.split_text(made.seq, made.lengths)


@dataclass(frozen=True)
class Colonies:
    """Picked colonies: which design each carries, its actual insert and true expression."""

    variant: np.ndarray  # index into the library
    sequence: list[str]  # actual insert (synthesis errors included)
    expression: np.ndarray  # true log2 expression of the actual insert


def pick_colonies(
    layout: pd.DataFrame, designs: list[str], params: RunSimulation, rng: np.random.Generator
) -> tuple[Colonies, np.ndarray, np.ndarray]:
    """Colonies for every colony well: (colonies, major colony per well, minor colony per well).

    Replicate wells receive a colony already picked into another well (on any plate); mixed
    wells get a second, minor colony. Wells without a colony hold -1.
    """
    wells = np.flatnonzero(layout["role"].to_numpy() == "sample")
    n_rep = min(round(params.replicate_fraction * wells.size), max(wells.size - 1, 0))
    replicate = np.zeros(wells.size, dtype=bool)
    replicate[rng.choice(wells.size, size=n_rep, replace=False)] = True
    n_own = wells.size - n_rep
    mixed_wells = np.flatnonzero(layout["mixed"].to_numpy())
    n_colonies = n_own + mixed_wells.size
    variant = rng.choice(len(designs), size=n_colonies, replace=n_colonies > len(designs))
    sequence = synthesize(rng, [designs[v] for v in variant], params.synthesis_error_rate)
    colonies = Colonies(variant, sequence, truth.expression(sequence))

    major = np.full(len(layout), -1, dtype=np.int64)
    major[wells[~replicate]] = np.arange(n_own)
    if n_own:
        major[wells[replicate]] = rng.integers(0, n_own, size=n_rep)
    minor = np.full(len(layout), -1, dtype=np.int64)
    minor[mixed_wells] = n_own + np.arange(mixed_wells.size)
    return colonies, major, minor


# --------------------------------------------------------------------------------------------
# Plate reader


def plate_reader(
    layout: pd.DataFrame,
    linear_expression: np.ndarray,
    params: RunSimulation,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """GFP and OD600 per well: background + gain x OD x expression x plate effect x noise.

    `linear_expression` is 2**expression (ratio-weighted for mixed wells), 0 without cells.
    Values above the detector maximum read as the maximum, as a saturated reader reports.
    """
    n = len(layout)
    grown = linear_expression > 0
    culture_od = np.where(grown, rng.uniform(0.35, 0.95, size=n), 0.0)
    od600 = _MEDIUM_OD + culture_od + rng.normal(0.0, 0.002, size=n)
    plates = layout["plate"].to_numpy()
    plate_index = np.unique(plates, return_inverse=True)[1]
    plate_gain = np.exp2(rng.normal(0.0, params.plate_effect_sd, size=params.n_plates))
    noise = np.exp2(rng.normal(0.0, params.reader_noise_sd, size=n))
    background = params.reader_background * np.exp2(rng.normal(0.0, 0.03, size=n))
    gfp = background + (
        params.reader_gain * culture_od * linear_expression * plate_gain[plate_index] * noise
    )
    gfp = np.minimum(np.rint(gfp), params.reader_max)
    return pd.DataFrame(
        {
            "plate": plates,
            "well": layout["well"].to_numpy(),
            "gfp": gfp,
            "od600": np.round(od600, 4),
        }
    )


def grid_text(frame: pd.DataFrame, plate_format: int, channels: tuple[str, ...]) -> str:
    """Reader grid export: per channel a line with its name, a header of column numbers, then
    one line per row letter; blocks separated by an empty line."""
    rows, cols = FORMATS[plate_format]
    values = frame.set_index("well")
    lines: list[str] = []
    for channel in channels:
        lines.append(channel)
        lines.append("," + ",".join(str(c + 1) for c in range(cols)))
        for r in range(rows):
            letter = chr(ord("A") + r)
            cells = [_format_value(values.at[f"{letter}{c + 1}", channel]) for c in range(cols)]
            lines.append(letter + "," + ",".join(cells))
        lines.append("")
    return "\n".join(lines)


def _format_value(value: float) -> str:
    """Integers without a decimal point, other values with up to 6 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def write_reader(frame: pd.DataFrame, path: Path, params: RunSimulation) -> None:
    """One plate's reader file, tidy or grid."""
    plate = frame[["well", "gfp", "od600"]].copy()
    plate["gfp"] = plate["gfp"].astype(np.int64)
    with atomic_path(path) as tmp:
        if params.reader_format == "grid":
            tmp.write_text(grid_text(plate, params.plate_format, ("gfp", "od600")))
        else:
            plate.to_csv(tmp, index=False, lineterminator="\n")


# --------------------------------------------------------------------------------------------
# Templates and the read plan


def amplicon(fwd_barcode: str, rev_barcode: str, insert: str, p: RunSimulation) -> str:
    """The well's amplicon, forward orientation: bc · primer · … · flank · UTR · flank · … · rc."""
    return "".join(
        (
            fwd_barcode,
            p.fwd_primer,
            p.upstream_spacer,
            p.upstream_flank,
            insert,
            p.downstream_flank,
            p.downstream_spacer,
            reverse_complement(p.rev_primer),
            reverse_complement(rev_barcode),
        )
    )


@dataclass(frozen=True)
class Templates:
    """All amplicons (both strands) in one pool, plus each well's major/minor template."""

    pool: np.ndarray  # ASCII: forward templates, reverse templates, adapter, adapter rc
    forward_at: np.ndarray  # offset of each template's forward strand
    reverse_at: np.ndarray  # offset of each template's reverse strand
    length: np.ndarray
    adapter_at: int
    adapter_rc_at: int
    major: np.ndarray  # template per well (-1: no reads possible)
    minor: np.ndarray  # second template of mixed wells, else -1


def build_templates(
    wells: pd.DataFrame,
    colonies: Colonies,
    major: np.ndarray,
    minor: np.ndarray,
    params: RunSimulation,
    rng: np.random.Generator,
) -> Templates:
    """One amplicon per colony in a well; blank/empty wells get a stray template: their own
    barcodes around a random colony's insert from the same plate (carry-over contamination)."""
    texts: list[str] = []
    well_major = np.full(len(wells), -1, dtype=np.int64)
    well_minor = np.full(len(wells), -1, dtype=np.int64)
    fwd = wells["fwd_barcode"].tolist()
    rev = wells["rev_barcode"].tolist()
    plates = wells["plate"].to_numpy()
    for i in range(len(wells)):
        source = major[i]
        if source < 0:
            donors = major[(plates == plates[i]) & (major >= 0)]
            if donors.size == 0:
                donors = major[major >= 0]
            if donors.size == 0:
                continue
            source = int(rng.choice(donors))
        well_major[i] = len(texts)
        texts.append(amplicon(fwd[i], rev[i], colonies.sequence[source], params))
        if minor[i] >= 0:
            well_minor[i] = len(texts)
            texts.append(amplicon(fwd[i], rev[i], colonies.sequence[minor[i]], params))
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    forward_at = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    pool = nanopore.to_array(
        "".join(texts)
        + "".join(reverse_complement(t) for t in texts)
        + nanopore.ADAPTER
        + nanopore.ADAPTER_RC
    )
    return Templates(
        pool=pool,
        forward_at=forward_at,
        reverse_at=total + forward_at,
        length=lengths,
        adapter_at=2 * total,
        adapter_rc_at=2 * total + len(nanopore.ADAPTER),
        major=well_major,
        minor=well_minor,
    )


@dataclass(frozen=True)
class ReadPlan:
    """What every read of one file is, in file order (small integer arrays)."""

    kind: np.ndarray  # int8: 0 full, 1 truncated, 2 chimera, 3 junk
    well: np.ndarray  # global well index, -1 for chimeras and junk
    first: np.ndarray  # template of the read (first part of a chimera); -1 for junk
    second: np.ndarray  # second template of a chimera, else -1
    strand: np.ndarray  # int8 strand of the first part: 0 forward, 1 reverse
    second_strand: np.ndarray  # int8 strand of a chimera's second part


def well_read_counts(
    wells: pd.DataFrame, templates: Templates, params: RunSimulation, rng: np.random.Generator
) -> np.ndarray:
    """Reads per well: negative binomial for colony wells, a few strays for blank/empty wells."""
    role = wells["role"].to_numpy()
    n = len(wells)
    size = params.reads_per_well_dispersion
    mean = params.reads_per_well_mean
    colony = rng.negative_binomial(size, size / (size + mean), size=n)
    stray = rng.poisson(params.stray_reads_mean, size=n)
    counts = np.where(role == "sample", colony, stray)
    return np.where(templates.major >= 0, counts, 0).astype(np.int64)


def plan_reads(
    wells_in_file: np.ndarray,
    counts: np.ndarray,
    mixed_ratio: np.ndarray,
    templates: Templates,
    params: RunSimulation,
    rng: np.random.Generator,
) -> ReadPlan:
    """The reads of one file: the wells' reads, then chimeras and junk at their fractions, shuffled.

    Chimera parts are drawn from the file's own well reads, so abundant amplicons join more often.
    """
    well = np.repeat(wells_in_file, counts[wells_in_file])
    n_well = well.size
    take_minor = (templates.minor[well] >= 0) & (rng.random(n_well) >= mixed_ratio[well])
    first = np.where(take_minor, templates.minor[well], templates.major[well])
    other = params.chimera_fraction + params.junk_fraction
    scale = 1.0 / (1.0 - other)
    truncated = rng.random(n_well) < params.truncated_fraction * scale
    n_chimera = round(n_well * params.chimera_fraction * scale) if n_well else 0
    n_junk = round(n_well * params.junk_fraction * scale)
    parts = first[rng.integers(0, max(n_well, 1), size=(2, n_chimera))] if n_chimera else None
    n = n_well + n_chimera + n_junk
    kind = np.concatenate(
        [
            np.where(truncated, _TRUNCATED, _FULL).astype(np.int8),
            np.full(n_chimera, _CHIMERA, np.int8),
            np.full(n_junk, _JUNK, np.int8),
        ]
    )
    empty = np.full(n_chimera + n_junk, -1, dtype=np.int64)
    chim_first = parts[0] if parts is not None else np.zeros(0, np.int64)
    chim_second = parts[1] if parts is not None else np.zeros(0, np.int64)
    plan = ReadPlan(
        kind=kind,
        well=np.concatenate([well, empty]),
        first=np.concatenate([first, chim_first, np.full(n_junk, -1, np.int64)]),
        second=np.concatenate(
            [np.full(n_well, -1, np.int64), chim_second, np.full(n_junk, -1, np.int64)]
        ),
        strand=rng.integers(0, 2, size=n, dtype=np.int8),
        second_strand=rng.integers(0, 2, size=n, dtype=np.int8),
    )
    order = rng.permutation(n)
    # int32 indices: the plan is the only part that grows with the run (~11 bytes per read).
    return ReadPlan(*(_narrow(getattr(plan, f.name))[order] for f in fields(ReadPlan)))


def _narrow(values: np.ndarray) -> np.ndarray:
    """int64 index arrays as int32 (wells and templates number far below 2**31)."""
    return values.astype(np.int32) if values.dtype == np.int64 else values


# --------------------------------------------------------------------------------------------
# Turning a chunk of the plan into true sequences


def _strand_at(templates: Templates, template: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """Pool offset of each template on the requested strand."""
    safe = np.maximum(template, 0)
    return np.where(strand == 0, templates.forward_at[safe], templates.reverse_at[safe])


def true_reads(
    plan: ReadPlan, templates: Templates, params: RunSimulation, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True bases of a chunk of reads, end to end, and their lengths.

    Each read is seven segments: junk · adapter remnant · amplicon (or junk body) · [junk ·
    second amplicon, chimeras only] · adapter-rc remnant · junk. Truncated reads stop inside
    their amplicon (the 5' part, in read orientation, survives) and lose the far end.
    """
    n = plan.kind.size
    kind = plan.kind
    is_junk = kind == _JUNK
    is_chimera = kind == _CHIMERA
    is_truncated = kind == _TRUNCATED
    safe_first = np.maximum(plan.first, 0)
    first_len = templates.length[safe_first]
    cut = np.floor(rng.uniform(0.15, 0.9, size=n) * first_len).astype(np.int64)
    first_len = np.where(is_truncated, cut, first_len)
    junk_body = rng.integers(params.junk_min_length, params.junk_max_length + 1, size=n)
    first_len = np.where(is_junk, junk_body, first_len)
    second_len = np.where(is_chimera, templates.length[np.maximum(plan.second, 0)], 0)
    adapter_len = len(nanopore.ADAPTER)
    open_len = rng.integers(adapter_len // 2, adapter_len + 1, size=n)
    close_len = np.where(is_truncated, 0, rng.integers(0, 16, size=n))
    junk_left = rng.integers(0, params.end_junk_max + 1, size=n)
    junk_mid = np.where(is_chimera, rng.integers(0, 6, size=n), 0)
    junk_right = np.where(is_truncated, 0, rng.integers(0, params.end_junk_max + 1, size=n))

    # Junk segments take consecutive slices of one fresh random buffer, after the templates.
    junk_lens = np.column_stack([junk_left, np.where(is_junk, first_len, 0), junk_mid, junk_right])
    junk_at = (
        templates.pool.size + np.cumsum(junk_lens.ravel()).reshape(junk_lens.shape) - junk_lens
    )
    pool = np.concatenate([templates.pool, nanopore.random_bases(rng, int(junk_lens.sum()))])

    first_at = np.where(is_junk, junk_at[:, 1], _strand_at(templates, plan.first, plan.strand))
    starts = np.column_stack(
        [
            junk_at[:, 0],
            templates.adapter_at + adapter_len - open_len,
            first_at,
            junk_at[:, 2],
            _strand_at(templates, plan.second, plan.second_strand),
            np.full(n, templates.adapter_rc_at),
            junk_at[:, 3],
        ]
    )
    lengths = np.column_stack(
        [junk_left, open_len, first_len, junk_mid, second_len, close_len, junk_right]
    )
    return nanopore.concat_segments(pool, starts, lengths), lengths.sum(axis=1)


# --------------------------------------------------------------------------------------------
# Writing the reads


def _truth_labels(
    wells: pd.DataFrame, wells_in_file: np.ndarray, file_plate: str
) -> tuple[list[bytes], dict[int, int]]:
    """Truth-row tails (after the read id) for every (well, kind, strand) the file can hold.

    Returns the labels and a map from global well index to its first label; label keys are
    base + kind * 2 + strand for well reads, then four chimera labels, then junk.
    """
    labels: list[bytes] = []
    first_label: dict[int, int] = {}
    plates = wells["plate"].tolist()
    names = wells["well"].tolist()
    for w in wells_in_file.tolist():
        first_label[w] = len(labels)
        for kind in (KINDS[_FULL], KINDS[_TRUNCATED]):
            for strand in _STRANDS:
                labels.append(f"\t{plates[w]}\t{names[w]}\t{kind}\t{strand}\n".encode())
    for a in _STRANDS:
        for b in _STRANDS:
            labels.append(f"\t{file_plate}\t\tchimera\t{a}{b}\n".encode())
    labels.append(f"\t{file_plate}\t\tjunk\t\n".encode())
    return labels, first_label


def _truth_rows(
    names: np.ndarray, plan: ReadPlan, labels: list[bytes], well_label: np.ndarray
) -> bytes:
    """truth_reads rows of a chunk: read id + the precomputed tail for its well/kind/strand."""
    n_wells_labels = len(labels) - 5
    kind = plan.kind.astype(np.int64)
    strand = plan.strand.astype(np.int64)
    key = np.where(
        kind == _JUNK,
        n_wells_labels + 4,
        np.where(
            kind == _CHIMERA,
            n_wells_labels + strand * 2 + plan.second_strand,
            well_label[np.maximum(plan.well, 0)] + kind * 2 + strand,
        ),
    ).tolist()
    text = names.tobytes()
    width = nanopore.NAME_WIDTH
    return b"".join(text[i * width : (i + 1) * width] + labels[k] for i, k in enumerate(key))


@dataclass
class ReadTally:
    """Running counts over all chunks of all files, for the summary."""

    kinds: np.ndarray
    plus_strand: int = 0
    stranded: int = 0
    errors: dict[str, int] | None = None
    per_well: np.ndarray | None = None

    def add(self, plan: ReadPlan, reads: nanopore.Reads, n_wells: int) -> None:
        """Fold one chunk in."""
        self.kinds += np.bincount(plan.kind, minlength=len(KINDS))
        from_well = plan.well >= 0
        self.plus_strand += int((plan.strand[from_well] == 0).sum())
        self.stranded += int(from_well.sum())
        totals = reads.errors.totals()
        self.errors = (
            totals if self.errors is None else {k: self.errors[k] + v for k, v in totals.items()}
        )
        counts = np.bincount(plan.well[from_well], minlength=n_wells)
        self.per_well = counts if self.per_well is None else self.per_well + counts


def write_read_file(
    group: str,
    wells_in_file: np.ndarray,
    wells: pd.DataFrame,
    counts: np.ndarray,
    mixed_ratio: np.ndarray,
    templates: Templates,
    params: RunSimulation,
    out_dir: Path,
    truth_out: BinaryIO,
    tally: ReadTally,
    rng: np.random.Generator,
) -> dict[str, str]:
    """Simulate one read file chunk by chunk; returns its paths by format."""
    plan = plan_reads(wells_in_file, counts, mixed_ratio, templates, params, rng)
    file_plate = group if params.plate_separation == "files" else ""
    labels, first_label = _truth_labels(wells, wells_in_file, file_plate)
    well_label = np.zeros(len(wells), dtype=np.int64)
    for w, at in first_label.items():
        well_label[w] = at
    paths: dict[str, str] = {}
    model = params.error_model()
    with ExitStack() as stack:
        fastq = bam = None
        if params.reads_format in ("fastq", "both"):
            path = out_dir / "reads" / f"{group}.fastq.gz"
            fastq = open_gzip_out(stack, path)
            paths["fastq"] = str(path)
        if params.reads_format in ("bam", "both"):
            path = out_dir / "reads" / f"{group}.bam"
            tmp = stack.enter_context(atomic_path(path))
            bam = stack.enter_context(nanopore.open_ubam(tmp))
            paths["bam"] = str(path)
        for start in range(0, plan.kind.size, params.chunk_reads):
            chunk = ReadPlan(
                *(getattr(plan, f.name)[start : start + params.chunk_reads] for f in fields(plan))
            )
            seq, lengths = true_reads(chunk, templates, params, rng)
            reads = nanopore.apply_errors(rng, seq, lengths, model)
            names = nanopore.read_names(rng, lengths.size)
            if fastq is not None:
                fastq.write(nanopore.fastq_bytes(names, reads))
            if bam is not None:
                nanopore.write_ubam(bam, names, reads)
            truth_out.write(_truth_rows(names, chunk, labels, well_label))
            tally.add(chunk, reads, len(wells))
    return paths


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
    designs = truth.design_library(
        rngs["library"], params.n_variants, params.min_length, params.max_length
    )
    library = pd.DataFrame({"id": variant_ids(len(designs)), "sequence": designs})
    layout = plate_layout(params, rngs["layout"])
    colonies, major, minor = pick_colonies(layout, designs, params, rngs["colonies"])
    barcodes = plate_barcodes(
        rngs["barcodes"],
        params.barcode_layout,
        params.plate_format,
        params.n_plates,
        params.plate_separation == "pooled",
        params.barcode_length,
        params.min_barcode_distance,
    )
    wells = layout.merge(barcodes, on=["plate", "well"], how="left", validate="one_to_one")
    linear = _linear_expression(colonies, major, minor, params.mixed_ratio)
    reader = plate_reader(wells, linear, params, rngs["reader"])

    plate_ids = [plate_name(p) for p in range(params.n_plates)]
    for plate in plate_ids:
        write_reader(reader[reader["plate"] == plate], out_dir / "reader" / f"{plate}.csv", params)

    reads_rng = rngs["reads"]
    templates = build_templates(wells, colonies, major, minor, params, reads_rng)
    counts = well_read_counts(wells, templates, params, reads_rng)
    mixed_ratio = np.where(minor >= 0, params.mixed_ratio, 1.0)
    plate_of = wells["plate"].to_numpy()
    groups = (
        [(plate, np.flatnonzero(plate_of == plate)) for plate in plate_ids]
        if params.plate_separation == "files"
        else [("pooled", np.arange(len(wells)))]
    )
    tally = ReadTally(kinds=np.zeros(len(KINDS), dtype=np.int64))
    read_paths: dict[str, str] = {}
    with ExitStack() as stack:
        truth_out = open_gzip_out(stack, out_dir / "truth_reads.tsv.gz")
        truth_out.write(("\t".join(TRUTH_READS_COLUMNS) + "\n").encode())
        for group, members in groups:
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
                reads_rng,
            )
            primary = paths.get("fastq", paths.get("bam", ""))
            for plate in sorted(set(plate_of[members])):
                read_paths[plate] = primary

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

    groups = (
        {plate: ((plate,), reads(plate)) for plate in plates}
        if params.plate_separation == "files"
        else {"+".join(plates): (plates, reads("pooled"))}
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


def from_config(values: dict[str, Any], source: str = "config") -> RunSimulation:
    """A RunSimulation from the config's `simulate.run` mapping; one line for a bad key or type."""
    known = {f.name: f for f in fields(RunSimulation)}
    defaults = RunSimulation()
    for key, value in values.items():
        if key not in known:
            raise InputError(
                f"{source}: unknown key '{key}' in 'simulate.run' (allowed: {', '.join(known)})"
            )
        expected = type(getattr(defaults, key))
        if getattr(defaults, key) is None:  # optional numbers such as error_rate
            expected = float
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if not ok or isinstance(value, bool) is not (expected is bool):
            raise InputError(
                f"{source}: key 'simulate.run.{key}': {value!r} is not of type {expected.__name__}"
            )
    try:
        return RunSimulation(**values)
    except InputError as err:
        raise InputError(f"{source}: {err}") from None
