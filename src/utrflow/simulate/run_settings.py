"""The simulated run's settings: every knob with its default, checked in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from utrflow.errors import InputError
from utrflow.plates.geometry import FORMATS
from utrflow.sequences import invalid_characters
from utrflow.simulate import nanopore
from utrflow.simulate.barcodes import LAYOUTS

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
    barcode_constant_5: str = ""  # bases every barcode entry starts with (e.g. a kit's flank)
    barcode_constant_3: str = ""  # ... and ends with: entry = constant_5 + core + constant_3
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


def construct_flanks() -> tuple[str, str]:
    """The simulated construct's bases around the UTR: the oligo flanks of designs made from
    simulated data, which brings no construct of its own."""
    defaults = RunSimulation()
    return defaults.upstream_flank, defaults.downstream_flank


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
        "barcode_constant_5",
        "barcode_constant_3",
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
