"""Which config keys each stage command reads: the declarations.

A command takes exactly its keys (from `--config`, or as the workflow passes them, `--params`
JSON), and its rule passes exactly these (`settings_for` in the workflow's common.smk reads them
from here, not from the command line), so a config change reruns exactly the jobs that read it.
A declaration names whole sections (`model`) and single keys (`split.validation`), nothing else;
`*` is the whole config (see `utrflow.config.select`). What a run spends (threads, GPUs, the
ensemble size, the search budget) is the `resources` section, which no stage command reads. A
command missing here reads no settings and runs anywhere.

Each stage turns its keys into a typed, frozen Settings (`utrflow.config.settings_from`); this
module imports nothing, so the workflow and every job read it at no cost.
"""

from __future__ import annotations

ALL = ("*",)  # the whole config


def keys(section: str, *names: str) -> tuple[str, ...]:
    """Single keys of one section (`keys("model", "task")` is `("model.task",)`)."""
    return tuple(f"{section}.{name}" for name in names)


# What shapes and fits one network, in the schema's order: one member's training reads these and
# not the covariates (the encoded files carry them), the classification threshold and the
# intervals (evaluation's) or the search (the contest's; a candidate's job gets its own settings).
NETWORK = keys(
    "model",
    "task",
    "preset",
    "dilations",
    "conv_filters",
    "kernel_size",
    "pool_size",
    "dropout",
    "dense_units",
    "layers",
    "reverse_complement",
    "learning_rate",
    "batch_size",
    "epochs",
    "patience",
    "in_memory_gb",
    "mixed_precision",
    "deterministic",
)
TRAINING = ("seed", *NETWORK)

# What the contest reads: the settings that shape candidates, the search's ranking, the intervals
# and the threshold, and the baselines it refits (the rules pass the candidates the budget chose
# as files).
CONTEST = ("seed", "baselines", *keys("model", "search", "interval", "threshold"), *NETWORK)

# One plate by hand leaves out the keys only the gather (link) reads.
READER_ONLY = keys(
    "fluorescence",
    "signal",
    "normalize_by",
    "read",
    "loop",
    "plate_format",
    "blank_subtract",
    "saturated_at",
    "min_od",
    "log2",
)

# The demux keys that place reads by their barcodes and primers; the barcode thresholds stay
# automatic, so changing them reruns demultiplexing, not the construct check.
CHECK_DEMUX_KEYS = keys(
    "demux", "end_window", "max_primer_error", "max_flank_error", "require_both_ends"
)

# What the QC-only report reads of the config: not the model's settings, nor how many cores a
# job takes, so that neither reruns it.
QC_REPORT = (
    "source",
    "seed",
    "plates",
    "wells",
    "library",
    "table",
    "construct",
    "fluorescence",
    "simulate",
    "demux",
    "consensus",
    "report",
    "model.task",
    "model.covariates",
)

# The simulated table: not the level (a run simulates plates instead) nor the run's settings.
SIMULATE_TABLE = keys(
    "simulate",
    "kind",
    "accessibility",
    "n_sequences",
    "min_length",
    "max_length",
    "noise_sd",
    "plate_format",
)

DECLARED: dict[str, tuple[str, ...]] = {
    "check-config": ALL,
    "simulate-table": ("seed", *SIMULATE_TABLE),
    "simulate-run": ("seed", "simulate.run"),
    "encode": ("seed", "encode", "split", "model.covariates", "model.task"),
    "model-status": ("seed", "encode", "split", "model.covariates", "model.task"),
    "train": TRAINING,
    "train-selected": ("seed", "baselines.kmer_max", "model.task"),
    "select": CONTEST,
    # the candidates' settings come from --selection (an input, so a change there reruns it)
    "learning-curve": ("seed", "baselines.kmer_max", "model.task", "model.threshold"),
    "baselines": ("seed", "baselines.kmer_max", "model.task"),
    "evaluate": ("model.task", "model.threshold", "model.interval"),
    # One model per fold, scored with the threshold; its validation share is carved per fold.
    "crossval": ("seed", *NETWORK, "model.threshold", "split.validation"),
    "demux": ("construct", "demux"),
    "check-construct": ("construct", *CHECK_DEMUX_KEYS),
    "consensus": (
        "consensus",
        "construct.upstream_flank",
        "construct.downstream_flank",
    ),
    "fluorescence": READER_ONLY,
    "link": ("seed", "fluorescence"),
    "interpret": ("seed", "source", "simulate.kind"),
    "design": (
        "seed",
        "source",
        "design",
        "construct.upstream_flank",
        "construct.downstream_flank",
        "model.preset",
    ),
    "report": ALL,  # the report prints the config that made the run
    "report-qc": QC_REPORT,
}


def declared(command: str) -> tuple[str, ...]:
    """The config keys `command` reads (none for a command that reads no settings)."""
    return DECLARED.get(command, ())
