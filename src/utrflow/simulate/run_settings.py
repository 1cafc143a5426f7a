"""The simulated run's settings: every knob with its default, checked in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utrflow.config import section_defaults
from utrflow.errors import InputError
from utrflow.geometry import FORMATS
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


_DEFAULTS = section_defaults("simulate", "run")


@dataclass(frozen=True)
class RunSimulation:
    """Every knob of the simulated run; the defaults give a small, realistic MinION experiment."""

    # Library
    n_variants: int = _DEFAULTS["n_variants"]
    min_length: int = _DEFAULTS["min_length"]
    max_length: int = _DEFAULTS["max_length"]
    shared_boundary_bases: bool = _DEFAULTS["shared_boundary_bases"]
    close_variants: int = _DEFAULTS["close_variants"]
    synthesis_error_rate: float = _DEFAULTS["synthesis_error_rate"]
    # Plates
    n_plates: int = _DEFAULTS["n_plates"]
    plate_format: int = _DEFAULTS["plate_format"]
    barcode_layout: str = _DEFAULTS["barcode_layout"]
    plate_separation: str = _DEFAULTS["plate_separation"]
    barcode_length: int = _DEFAULTS["barcode_length"]
    min_barcode_distance: int = _DEFAULTS["min_barcode_distance"]
    barcode_constant_5: str = _DEFAULTS["barcode_constant_5"]
    barcode_constant_3: str = _DEFAULTS["barcode_constant_3"]
    blank_wells_per_plate: int = _DEFAULTS["blank_wells_per_plate"]
    empty_fraction: float = _DEFAULTS["empty_fraction"]
    mixed_fraction: float = _DEFAULTS["mixed_fraction"]
    mixed_ratio: float = _DEFAULTS["mixed_ratio"]
    replicate_fraction: float = _DEFAULTS["replicate_fraction"]
    # Plate reader
    reader_format: str = _DEFAULTS["reader_format"]
    reader_gain: float = _DEFAULTS["reader_gain"]
    reader_background: float = _DEFAULTS["reader_background"]
    reader_max: float = _DEFAULTS["reader_max"]
    reader_noise_sd: float = _DEFAULTS["reader_noise_sd"]
    plate_effect_sd: float = _DEFAULTS["plate_effect_sd"]
    # Reads
    reads_per_well_mean: float = _DEFAULTS["reads_per_well_mean"]
    reads_per_well_dispersion: float = _DEFAULTS["reads_per_well_dispersion"]
    stray_reads_mean: float = _DEFAULTS["stray_reads_mean"]
    error_preset: str = _DEFAULTS["error_preset"]
    error_rate: float | None = _DEFAULTS["error_rate"]
    truncated_fraction: float = _DEFAULTS["truncated_fraction"]
    clipped_fraction: float = _DEFAULTS["clipped_fraction"]
    artefact_fraction: float = _DEFAULTS["artefact_fraction"]
    tandem_fraction: float = _DEFAULTS["tandem_fraction"]
    chimera_fraction: float = _DEFAULTS["chimera_fraction"]
    junk_fraction: float = _DEFAULTS["junk_fraction"]
    end_junk_max: int = _DEFAULTS["end_junk_max"]
    junk_min_length: int = _DEFAULTS["junk_min_length"]
    junk_max_length: int = _DEFAULTS["junk_max_length"]
    reads_format: str = _DEFAULTS["reads_format"]
    chunk_reads: int = _DEFAULTS["chunk_reads"]
    # Construct (forward orientation); barcodes sit right 5' of the primers
    fwd_primer: str = _DEFAULTS["fwd_primer"]
    rev_primer: str = _DEFAULTS["rev_primer"]
    upstream_spacer: str = _DEFAULTS["upstream_spacer"]
    upstream_flank: str = _DEFAULTS["upstream_flank"]
    downstream_flank: str = _DEFAULTS["downstream_flank"]
    downstream_spacer: str = _DEFAULTS["downstream_spacer"]
    seed: int = section_defaults()["seed"]  # every random choice derives from it

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


_FRACTIONS = (
    "empty_fraction",
    "mixed_fraction",
    "replicate_fraction",
    "truncated_fraction",
    "clipped_fraction",
    "artefact_fraction",
    "tandem_fraction",
    "chimera_fraction",
    "junk_fraction",
    "synthesis_error_rate",
)
_POSITIVE = (
    "n_variants",
    "n_plates",
    "min_length",
    "barcode_length",
    "chunk_reads",
    "reads_per_well_mean",
    "reader_max",
    "junk_min_length",
)
_DNA = (
    "barcode_constant_5",
    "barcode_constant_3",
    "fwd_primer",
    "rev_primer",
    "upstream_spacer",
    "upstream_flank",
    "downstream_flank",
    "downstream_spacer",
)


def _check(p: RunSimulation) -> str | None:
    """The first thing wrong with a parameter set, as one line, or None."""
    for check in (_check_choices, _check_fractions, _check_sizes, _check_sequences):
        problem = check(p)
        if problem:
            return problem
    return None


def _check_choices(p: RunSimulation) -> str | None:
    """A knob that names one of a few options (formats, layouts, presets) names a known one."""
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
    return None


def _check_fractions(p: RunSimulation) -> str | None:
    """Fractions and rates are probabilities, and the read kinds that replace a read leave some
    reads whole."""
    for key in _FRACTIONS:
        if not 0.0 <= getattr(p, key) < 1.0:
            return f"{key} must be in [0, 1), got {getattr(p, key)}"
    if p.truncated_fraction + p.chimera_fraction + p.junk_fraction >= 1.0:
        return "truncated_fraction + chimera_fraction + junk_fraction must stay below 1"
    if not 0.0 < p.mixed_ratio < 1.0:
        return f"mixed_ratio must be in (0, 1), got {p.mixed_ratio}"
    if p.error_rate is not None and not 0.0 <= p.error_rate < 0.5:
        return f"error_rate must be in [0, 0.5), got {p.error_rate}"
    return None


def _check_sizes(p: RunSimulation) -> str | None:
    """Counts and lengths are positive, minima stay under maxima and barcodes can be told
    apart."""
    for key in _POSITIVE:
        if getattr(p, key) <= 0:
            return f"{key} must be positive, got {getattr(p, key)}"
    if p.reads_per_well_dispersion < 0:
        dispersion = p.reads_per_well_dispersion
        return f"reads_per_well_dispersion must be 0 (fixed) or positive, got {dispersion}"
    if p.shared_boundary_bases and p.min_length < 3:
        return "shared_boundary_bases needs min_length of 3 or more"
    if p.min_length > p.max_length or p.junk_min_length > p.junk_max_length:
        return "a minimum length is larger than its maximum"
    if not 0 <= p.blank_wells_per_plate < p.plate_format:
        return (
            f"blank_wells_per_plate must be in [0, {p.plate_format}), got {p.blank_wells_per_plate}"
        )
    if not 1 <= p.min_barcode_distance <= p.barcode_length:
        return "min_barcode_distance must be between 1 and barcode_length"
    return None


def _check_sequences(p: RunSimulation) -> str | None:
    """The construct's fixed parts are plain DNA (the simulator writes them into reads)."""
    for key in _DNA:
        bad = invalid_characters(getattr(p, key), "ACGT")
        if bad:
            return f"{key} has characters other than A, C, G, T: {''.join(sorted(bad))}"
    return None


def from_config(values: dict[str, Any], source: str = "config") -> RunSimulation:
    """A RunSimulation from a validated config's `simulate.run` mapping (the schema checked each
    key and type); the rules that tie keys together stop with one line naming `source`."""
    try:
        return RunSimulation(**values)
    except InputError as err:
        raise InputError(f"{source}: {err}") from None
