"""Which config keys each stage command reads: the declarations.

A command takes exactly its keys (from `--config`, or as the workflow passes them, `--params`
JSON), and its rule passes exactly these (`settings_for` in the workflow's common.smk reads them
from here, not from the command line), so a config change reruns exactly the jobs that read it.
A declaration names whole sections (`model`), single keys (`split.validation`) and keys left out
of a section taken whole (`!model.gpus`: a job that does not depend on it); `*` is the whole
config (see `utrflow.config.select`). A command missing here reads no settings and runs anywhere.

Each stage turns its keys into a typed, frozen Settings (`utrflow.config.settings_from`); this
module imports nothing, so the workflow and every job read it at no cost.
"""

from __future__ import annotations

ALL = ("*",)  # the whole config

# What one member's training reads: not the ensemble size, the GPU request, the covariates (the
# encoded files carry them), the classification threshold (evaluation's) or the search (the
# contest's; a candidate's job gets its own settings).
TRAINING = (
    "seed",
    "model",
    "!model.ensemble",
    "!model.gpus",
    "!model.covariates",
    "!model.threshold",
    "!model.search",
    "!model.interval",
)

# What the contest reads: the model settings that shape candidates and the baselines they refit;
# not the ensemble size or the GPU request (the rules pass the candidates the budget chose as
# files).
CONTEST = ("seed", "baselines", "model", "!model.ensemble", "!model.covariates", "!model.gpus")

# One plate by hand leaves out the keys only the gather (link) reads.
READER_ONLY = ("fluorescence", "!fluorescence.plate_centering", "!fluorescence.plate_flag_log2")

# The demux keys that place reads by their barcodes and primers; the barcode thresholds stay
# automatic, so changing them reruns demultiplexing, not the construct check.
CHECK_DEMUX_KEYS = tuple(
    f"demux.{key}"
    for key in ("end_window", "max_primer_error", "max_flank_error", "require_both_ends")
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
    "!demux.threads",
    "consensus",
    "!consensus.threads",
    "report",
    "model.task",
    "model.covariates",
)

DECLARED: dict[str, tuple[str, ...]] = {
    "check-config": ALL,
    "simulate-table": ("seed", "simulate", "!simulate.level", "!simulate.run"),
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
    "crossval": (
        "seed",
        "model",
        "!model.ensemble",
        "!model.gpus",
        "!model.covariates",
        "!model.search",
        "!model.interval",
        "split.validation",
    ),
    "demux": ("construct", "demux", "!demux.threads"),
    "check-construct": ("construct", *CHECK_DEMUX_KEYS),
    "consensus": (
        "consensus",
        "!consensus.threads",
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
