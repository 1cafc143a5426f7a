"""The `utrflow` command line: one subcommand per workflow stage.

Each Snakemake rule calls exactly one of these, so every stage also runs by hand. A command
parses its arguments and calls its stage's `run()`; nothing else happens here.

Each command declares the config keys it reads (`settings=`). It takes them from
`--config config/config.yaml` or, as the workflow passes them, `--params JSON` holding exactly
those keys (validated, defaults filled in); the rule builds that JSON from the same declaration,
so a config change reruns exactly the jobs that read it. A command that reads no settings takes
neither option and runs anywhere. A bad input ends with one line on stderr,
`utrflow: error: ...`, and exit status 1.

Stage modules are imported inside the commands: the reads and plates commands start without
loading TensorFlow or matplotlib.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from utrflow import config as config_module
from utrflow import io
from utrflow.errors import InputError

Handler = Callable[[argparse.Namespace, Mapping[str, Any]], None]
Argument = tuple[str, dict[str, Any]]
ALL = ("*",)  # the whole config


@dataclasses.dataclass(frozen=True)
class Command:
    """A subcommand: what it does, the stage call, its file arguments and the config keys it
    reads (see `utrflow.config.select`)."""

    help: str
    handler: Handler
    arguments: tuple[Argument, ...]
    settings: tuple[str, ...]


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help_text: str, *arguments: Argument, settings: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Register a subcommand with its file arguments and the config keys it reads."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(help_text, handler, arguments, settings)
        return handler

    return register


def path(flag: str, help_text: str, required: bool = True) -> Argument:
    return flag, {"help": help_text, "required": required, "type": Path}


def paths(flag: str, help_text: str, required: bool = True) -> Argument:
    nargs = "+" if required else "*"
    default: dict[str, Any] = {} if required else {"default": []}
    return flag, {"help": help_text, "required": required, "type": Path, "nargs": nargs, **default}


THREADS: Argument = ("--threads", {"type": int, "default": 1, "help": "CPU threads (default 1)"})
ENCODED = (
    path("--onehot", "one-hot array (.npy)"),
    path("--split", "per-row split (TSV)"),
    path("--features", "encoding summary (JSON)"),
)


def _encoded(args: argparse.Namespace) -> Any:
    from utrflow.model.encode import load_encoded

    return load_encoded(args.onehot, args.split, args.features)


@command(
    "check-config", "validate a config file and print it with defaults filled in", settings=ALL
)
def check_config(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    if cfg["source"] == "simulate":  # the simulator checks its own settings: preflight never
        # imports it (the workflow's common.smk runs the same check)
        from utrflow.simulate import run_settings

        source = "--params" if args.params is not None else str(args.config)
        run_settings.from_config({"seed": cfg["seed"], **cfg["simulate"]["run"]}, source)
    print(json.dumps(cfg, indent=2))


@command(
    "simulate-table",
    "simulate a labelled table from the hidden ground truth (no plates, no reads)",
    path("--labelled", "labelled table to write (TSV)"),
    path("--truth", "true labels per well to write (TSV)"),
    path("--summary", "simulation summary with the noise ceiling (JSON)"),
    settings=("seed", "simulate", "!simulate.level", "!simulate.run"),
)
def simulate_table(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.simulate import table

    table.run(cfg["simulate"], cfg["seed"], args.labelled, args.truth, args.summary)


@command(
    "simulate-run",
    "simulate a whole wet-lab run: library, plates, plate reader, nanopore reads, and the truth",
    path("--out-dir", "folder to write the input sheets, reads, reader files and truth to"),
    settings=("seed", "simulate.run"),
)
def simulate_run(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.simulate import run, run_settings

    params = run_settings.from_config({"seed": cfg["seed"], **cfg["simulate"]["run"]})
    print(json.dumps(run.simulate_run(params, args.out_dir), indent=2))


@command(
    "import-table",
    "read a user's labelled CSV/TSV into the labelled-table format",
    path("--input", "user table with sequence, label and optional covariates"),
    path("--labelled", "labelled table to write (TSV)"),
)
def import_table(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow import labelled

    labelled.import_table(args.input, args.labelled)


@command(
    "encode",
    "split passing rows and one-hot encode them (uint8, left-padded, written in chunks)",
    path("--table", "labelled table (TSV)"),
    path("--onehot", "one-hot array to write (.npy, uint8)"),
    path("--split", "per-row split, labels, weights and covariates to write (TSV)"),
    path("--features", "input length and covariate names to write (JSON)"),
    settings=("seed", "encode", "split", "model.covariates", "model.task"),
)
def encode(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import encode as stage

    stage.run(args.table, args.onehot, args.split, args.features, cfg)


@command(
    "model-status",
    "decide whether the model stages can run on the labelled table; write ok or not_run + why",
    path("--table", "labelled table (TSV)"),
    path("--output", "status to write (JSON)"),
    settings=("seed", "encode", "split", "model.covariates", "model.task"),
)
def model_status(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import readiness

    result = readiness.run(args.table, args.output, cfg)
    if result["status"] != "ok":
        logging.getLogger("utrflow.model").warning(
            "model not run: %s; %s", result["reason"], result["advice"]
        )


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
)


@command(
    "train",
    "train one ensemble member (or one search candidate) with early stopping; save the model",
    *ENCODED,
    ("--member", {"type": int, "default": 0, "help": "ensemble member (seed = seed + member)"}),
    (
        "--candidate",
        {"default": "", "help": "preset auto: the candidate's name (--params: its settings)"},
    ),
    ("--without-covariates", {"action": "store_true", "help": "ignore the covariates"}),
    path("--model", "trained model to write (.keras)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    THREADS,
    settings=TRAINING,
)
def train(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import training

    encoded = _encoded(args)
    if args.without_covariates:
        encoded = dataclasses.replace(encoded, covariates=None)
    training.run_member(
        encoded,
        cfg["model"],
        cfg["seed"],
        args.member,
        args.threads,
        args.model,
        args.history,
        args.info,
        args.candidate,
    )


@command(
    "train-selected",
    "preset auto: one ensemble member of the selected model (member 0 is the selected model)",
    *ENCODED,
    ("--member", {"type": int, "default": 0, "help": "ensemble member (seed = seed + member)"}),
    path("--selection", "the contest's selection.json"),
    path("--selected", "the selected model (member 0)"),
    path("--selected-history", "its history (member 0)"),
    path("--selected-info", "its training summary (member 0)"),
    path("--model", "member model to write (.keras)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    THREADS,
    settings=("seed", "baselines.kmer_max", "model.task"),
)
def train_selected(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as select_module

    select_module.run_selected_member(
        _encoded(args),
        cfg,
        io.read_json(args.selection),
        (args.selected, args.selected_history, args.selected_info),
        args.member,
        args.threads,
        (args.model, args.history, args.info),
    )


# What the contest and the learning curve read: the model settings that shape candidates and
# the baselines they refit; not the ensemble size or the GPU request (the rules pass the
# candidates the budget chose as files).
CONTEST = ("seed", "baselines", "model", "!model.ensemble", "!model.covariates", "!model.gpus")


@command(
    "select",
    "preset auto: rank the candidates and the baselines on validation; save the selected model",
    *ENCODED,
    paths("--models", "candidate models (.keras)"),
    paths("--infos", "candidate summaries (JSON)"),
    paths("--histories", "their histories (TSV)"),
    path("--baselines", "baseline predictions (TSV)"),
    path("--baseline-summary", "baseline sizes and times (JSON)"),
    path("--out-dir", "folder for selected.keras, top/, leaderboard.tsv, selection.json"),
    settings=CONTEST,
)
def select(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as select_module

    select_module.run_select(
        _encoded(args),
        cfg,
        args.models,
        args.infos,
        args.histories,
        args.baselines,
        args.baseline_summary,
        args.out_dir,
    )


@command(
    "learning-curve",
    "preset auto: train the selected configuration on 25/50/75/100 % of the training rows",
    *ENCODED,
    path("--selection", "the contest's selection.json"),
    path("--top-model", "the contest's best single contender (top/0.keras): the 100 % point"),
    path("--table-summary", "labelled-table summary with the replicate ceiling", required=False),
    path("--output", "learning curve to write (TSV)"),
    path("--summary", "sizes suggested for the next round to write (JSON)"),
    THREADS,
    # the candidates' settings come from --selection (an input, so a change there reruns it)
    settings=("seed", "baselines.kmer_max", "model.task", "model.threshold"),
)
def learning_curve(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as select_module

    select_module.run_learning_curve(
        _encoded(args),
        cfg,
        io.read_json(args.selection),
        args.top_model,
        args.table_summary,
        args.threads,
        (args.output, args.summary),
    )


@command(
    "ensemble",
    "join the trained members into one model that averages them",
    paths("--members", "member models (.keras)"),
    paths("--infos", "member summaries (JSON)"),
    paths("--histories", "member histories (TSV)"),
    path("--model", "ensemble model to write (.keras)"),
    path("--info", "training summary to write (JSON)"),
    path("--history", "all members' histories to write (TSV)"),
)
def ensemble(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import training

    training.join_members(
        args.members, args.infos, args.histories, args.model, args.info, args.history
    )


@command(
    "baselines",
    "fit the baselines (mean, ridge, boosted trees) on the train split and predict every row",
    *ENCODED,
    path("--predictions", "baseline predictions to write (TSV)"),
    path("--summary", "each baseline's size and fitting time to write (JSON)", required=False),
    settings=("seed", "baselines.kmer_max", "model.task"),
)
def baselines(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import baselines as stage

    stage.run(
        _encoded(args),
        cfg["baselines"]["kmer_max"],
        cfg["model"]["task"],
        cfg["seed"],
        args.predictions,
        args.summary,
    )


@command(
    "evaluate",
    "score the model, its members and the baselines; noise ceiling when truth is known",
    *ENCODED,
    path("--model", "trained (ensemble) model (.keras)"),
    paths("--members", "member models (.keras)"),
    path("--without-covariates", "model trained without covariates (.keras)", required=False),
    path("--baselines", "baseline predictions (TSV)"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--table-summary", "labelled-table summary with the replicate ceiling", required=False),
    path("--selection", "preset auto: the contest's selection.json", required=False),
    path("--metrics", "metrics to write (JSON)"),
    path("--predictions", "predictions to write (TSV)"),
    settings=("model.task", "model.threshold"),
)
def evaluate(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import evaluate as stage

    stage.run(
        _encoded(args),
        args.model,
        args.members,
        args.without_covariates,
        args.baselines,
        args.truth,
        args.table_summary,
        cfg["model"]["task"],
        cfg["model"]["threshold"],
        args.metrics,
        args.predictions,
        args.selection,
    )


@command(
    "crossval",
    "k-fold cross-validation: one model per fold, each fold the test set once",
    *ENCODED,
    path("--output", "per-fold and summary metrics to write (JSON)"),
    THREADS,
    # One model per fold, scored with the threshold; its validation share is carved per fold.
    settings=(
        "seed",
        "model",
        "!model.ensemble",
        "!model.gpus",
        "!model.covariates",
        "!model.search",
        "split.validation",
    ),
)
def crossval(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import training

    training.cross_validate(
        _encoded(args),
        cfg["model"],
        cfg["seed"],
        cfg["split"]["validation"],
        args.threads,
        args.output,
    )


@command(
    "demux",
    "demultiplex one read group's reads to wells and extract each read's variable region",
    path("--plates", "plates sheet (TSV)"),
    path("--wells", "wells sheet (TSV)"),
    ("--group", {"required": True, "help": "read group: a plate, or plates sharing files (A+B)"}),
    path(
        "--out-dir", "folder for assignments.tsv.gz, regions.tsv.gz, well_counts.tsv, funnel.json"
    ),
    THREADS,
    settings=("construct", "demux", "!demux.threads"),
)
def demux(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import demux as stage

    funnel = stage.run(
        args.plates,
        args.wells,
        args.group,
        cfg["construct"],
        config_module.settings_from(stage.DemuxSettings, cfg["demux"]),
        args.out_dir,
        args.threads,
    )
    logging.getLogger("utrflow.demux").info("funnel: %s", json.dumps(funnel["status"]))


# The demux keys that place reads by their barcodes and primers; the barcode thresholds stay
# automatic, so changing them reruns demultiplexing, not this check.
CHECK_DEMUX_KEYS = tuple(
    f"demux.{key}"
    for key in ("end_window", "max_primer_error", "max_flank_error", "require_both_ends")
)


@command(
    "check-construct",
    "check the construct against a sample of the reads: flanks found, reversed or missing; "
    "propose flanks from the reads",
    path("--plates", "plates sheet"),
    path("--wells", "wells sheet"),
    path("--output", "construct_check.json"),
    settings=("construct", *CHECK_DEMUX_KEYS),
)
def check_construct(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import construct_check as stage
    from utrflow.reads.demux import DemuxSettings

    result = stage.run(
        args.plates,
        args.wells,
        cfg["construct"],
        config_module.settings_from(DemuxSettings, cfg["demux"]),
    )
    for line in result["messages"]:
        logging.getLogger("utrflow.construct").warning(line)
    io.write_json(result, args.output)  # for a run of the command alone: snakemake removes it
    stage.raise_on_error(result)


@command(
    "init",
    "write a new project folder: config, sheets, folders for the reads and reader files",
    ("folder", {"type": Path, "help": "the new project folder"}),
    ("--plates", {"type": int, "default": 1, "help": "plates (default 1)"}),
    ("--format", {"type": int, "default": 96, "help": "wells per plate, 96 or 384"}),
    path("--barcodes", "barcode table: barcode, end (F/R), optional name", required=False),
)
def init(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow import project

    commands = project.init(args.folder, args.plates, args.format, args.barcodes)
    print(f"A new project in {args.folder}. Put each plate's reads under reads/, its reader file")
    print("under reader/, the barcodes in sheets/wells.tsv and the construct in")
    print(f"config/config.yaml; then, in the project (cd {args.folder}):")
    for line in commands:
        print(f"  {line}")


@command(
    "consensus",
    "call each well's UTR from its reads' regions and match it to the library",
    ("--plate", {"required": True, "help": "plate to call"}),
    path("--counts", "well_counts.tsv of the plate's read group"),
    path("--regions", "regions.tsv.gz of the plate's read group"),
    path("--library", "designed library (CSV: id, sequence)", required=False),
    path("--output", "per-well consensus table to write (TSV)"),
    THREADS,
    settings=(
        "consensus",
        "!consensus.threads",
        "construct.upstream_flank",
        "construct.downstream_flank",
    ),
)
def consensus(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import consensus as stage

    settings = config_module.settings_from(stage.ConsensusSettings, cfg["consensus"])
    construct = cfg["construct"]
    flanks = stage.construct_ends(construct["upstream_flank"], construct["downstream_flank"])
    stage.run(
        args.plate,
        args.counts,
        args.regions,
        args.library,
        settings,
        args.output,
        args.threads,
        flanks,
    )


# One plate by hand leaves out the keys only the gather (link) reads.
READER_ONLY = ("fluorescence", "!fluorescence.plate_centering", "!fluorescence.plate_flag_log2")


@command(
    "fluorescence",
    "normalize one plate's reader file by hand (the workflow's link job does every plate): "
    "blank subtraction, division by OD, log2, flags",
    ("--plate", {"required": True, "help": "plate to normalize"}),
    path("--reader", "the plate's reader file (an instrument's export: CSV, text or xlsx)"),
    path("--wells", "wells sheet (TSV)"),
    path("--output", "per-well readings and labels to write (TSV)"),
    path("--summary", "what was read, blank levels, reader wells not in the layout (JSON)"),
    ("--reader-plate", {"default": "", "help": "the file's plate block (name or number)"}),
    settings=READER_ONLY,
)
def fluorescence(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.plates import reader

    settings = config_module.settings_from(reader.FluorescenceSettings, cfg["fluorescence"])
    reader.run(
        args.plate,
        args.reader,
        args.wells,
        settings,
        args.output,
        args.summary,
        args.reader_plate,
    )


def _pairs(given: list[str], flag: str) -> dict[str, str]:
    """`PLATE=VALUE` arguments by plate (a plate name holds no '=')."""
    pairs: dict[str, str] = {}
    for item in given:
        plate, sep, value = item.partition("=")
        if not sep or not plate or not value:
            raise InputError(f"{flag}: expected PLATE=VALUE, got {item!r}")
        if plate in pairs:
            raise InputError(f"{flag}: plate {plate!r} given twice")
        pairs[plate] = value
    return pairs


@command(
    "link",
    "normalize every plate's reader file and join it with the well calls: labelled table, "
    "replicates, noise ceiling, plate QC",
    paths("--consensus", "per-plate calls (TSV)"),
    (
        "--readers",
        {"nargs": "*", "default": [], "help": "each plate's reader file, as PLATE=FILE"},
    ),
    (
        "--reader-plates",
        {
            "nargs": "*",
            "default": [],
            "help": "a plate's block in a reader file holding several, as PLATE=BLOCK",
        },
    ),
    path("--wells", "wells sheet (TSV), needed with --readers", required=False),
    path(
        "--readings-dir",
        "folder for each plate's readings (<plate>.tsv, .json), needed with --readers",
        required=False,
    ),
    path("--labelled", "labelled table to write (TSV)"),
    path("--replicates", "sequences in several passing wells to write (TSV)"),
    path("--plate-qc", "one row per plate to write (TSV)"),
    path("--summary", "QC counts, noise ceiling and flagged plates to write (JSON)"),
    settings=("seed", "fluorescence"),
)
def link(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.plates import link as stage
    from utrflow.plates.reader import FluorescenceSettings

    files = _pairs(args.readers, "--readers")
    blocks = _pairs(args.reader_plates, "--reader-plates")
    if files and args.readings_dir is None:
        raise InputError("--readers: give --readings-dir, the folder for each plate's readings")
    strays = sorted(blocks.keys() - files.keys())
    if strays:
        raise InputError(f"--reader-plates: plate {strays[0]!r} has no file in --readers")
    readers = [
        stage.ReaderFile(plate, Path(f), blocks.get(plate, "")) for plate, f in files.items()
    ]
    stage.run(
        args.consensus,
        readers,
        args.wells,
        config_module.settings_from(FluorescenceSettings, cfg["fluorescence"]),
        cfg["seed"],
        args.labelled,
        args.replicates,
        args.plate_qc,
        args.summary,
        args.readings_dir,
    )


@command(
    "predict",
    "score new sequences (FASTA, CSV or TSV) with trained members: mean and sd per sequence",
    path("--input", "sequences to score"),
    paths("--members", "member models (.keras)"),
    path("--output", "predictions to write (TSV)"),
)
def predict(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import predict as stage

    stage.run(args.input, args.members, args.output)


@command(
    "interpret",
    "what the model learned: first-layer filters as motifs, in-silico mutagenesis of extremes",
    path("--onehot", "one-hot sequences (.npy)"),
    path("--member", "one member model: its first-layer filters (.keras)"),
    path("--model", "the (ensemble) model scored by mutagenesis (.keras)"),
    path("--predictions", "model predictions (TSV): the extremes of the test set"),
    path("--output", "filters, planted-motif matches and mutagenesis to write (JSON)"),
    settings=("seed", "source", "simulate.kind"),
)
def interpret(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import interpret as stage

    planted: dict[str, str] = {}  # the motifs the simulator planted; real data has none
    if cfg["source"] == "simulate":
        from utrflow.simulate.table import planted_motifs

        planted = planted_motifs(cfg["simulate"]["kind"])
    stage.run(
        args.onehot, args.member, args.model, args.predictions, args.output, cfg["seed"], planted
    )


@command(
    "design",
    "propose the next library with the selected model: designs per target bin and the oligo order",
    path("--table", "labelled table (TSV): its passing rows are the measured library"),
    path("--model", "the selected model (.keras): the designs' predicted mean"),
    paths("--members", "models whose spread is the uncertainty (members, or top contenders)"),
    path("--metrics", "metrics (JSON): the model's validation r² and error"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--next-library", "designs to write (CSV)"),
    path("--oligo-order", "oligos with their flanks to write (CSV)"),
    path("--summary", "bins, constraints and (simulated data) true expression (JSON)"),
    settings=(
        "seed",
        "source",
        "design",
        "construct.upstream_flank",
        "construct.downstream_flank",
        "model.preset",
    ),
)
def design(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.design import next_library as stage

    judge = None
    if args.truth:  # simulated data: the hidden truth scores the designs
        from utrflow.simulate.quality import truth_check

        truth_wells = io.read_tsv(args.truth)

        def judge(designs: Any, measured: Any) -> dict[str, Any]:
            return truth_check(designs, measured, truth_wells)

    default_flanks = ("", "")
    if cfg["source"] == "simulate":  # the simulated construct's flanks, from its defaults
        run = config_module.section_defaults("simulate", "run")
        default_flanks = (run["upstream_flank"], run["downstream_flank"])
    summary = stage.run_design(
        cfg,
        args.table,
        args.model,
        args.members,
        io.read_json(args.metrics),
        (args.next_library, args.oligo_order, args.summary),
        default_flanks,
        judge,
    )
    logging.getLogger("utrflow.design").info(
        "%d designs (%d exploratory)", summary["designed"], summary["exploratory"]
    )


REPORT_MODEL_FILES = (
    "split",
    "metrics",
    "predictions",
    "history",
    "training",
    "crossval",
    "interpretation",
    "designs",
    "design_summary",
    "leaderboard",
    "learning_curve",
    "next_round",
)


@command(
    "report",
    "render the self-contained HTML report (QC only, or with the model, or saying why not)",
    path("--table", "labelled table (TSV)"),
    path("--model-status", "whether the model ran, and if not why (JSON)", required=False),
    path("--split", "per-row split (TSV)", required=False),
    path("--metrics", "metrics (JSON); without it the report shows QC only", required=False),
    path("--predictions", "model predictions (TSV)", required=False),
    path("--history", "training history (TSV)", required=False),
    path("--training", "training summary (JSON)", required=False),
    path("--simulation", "simulation summary (JSON)", required=False),
    path("--crossval", "cross-validation metrics (JSON)", required=False),
    path("--plate-qc", "per-plate QC of the labelled table (TSV), plates only", required=False),
    path("--table-summary", "labelled-table summary (JSON), plates only", required=False),
    path("--interpretation", "filters and mutagenesis (JSON)", required=False),
    paths("--funnels", "demux funnel.json files", required=False),
    path("--designs", "the next library (CSV)", required=False),
    path("--design-summary", "the design summary (JSON)", required=False),
    path("--leaderboard", "preset auto: the model contest (TSV)", required=False),
    path("--learning-curve", "preset auto: scores over training-set size (TSV)", required=False),
    path("--next-round", "preset auto: sizes suggested for the next round (JSON)", required=False),
    path("--construct-check", "the construct check (JSON)", required=False),
    path("--benchmarks", "Snakemake's benchmark folder: run times per stage", required=False),
    path("--output", "report to write (HTML)"),
    settings=ALL,  # the report prints the config that made the run
)
def report(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    model = {name: getattr(args, name) for name in REPORT_MODEL_FILES}
    missing = [n for n in ("split", "predictions", "history", "training") if not model[n]]
    if model["metrics"] and missing:
        raise InputError(f"report: --metrics needs --{missing[0]} too")
    _render_report(args, cfg, model, args.model_status)


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


@command(
    "report-qc",
    "render the QC-only HTML report (reads, wells, plates, checks): the first look at new data",
    path("--table", "labelled table (TSV)"),
    path("--simulation", "simulation summary (JSON)", required=False),
    path("--plate-qc", "per-plate QC of the labelled table (TSV), plates only", required=False),
    path("--table-summary", "labelled-table summary (JSON), plates only", required=False),
    paths("--funnels", "demux funnel.json files", required=False),
    path("--construct-check", "the construct check (JSON)", required=False),
    path("--benchmarks", "Snakemake's benchmark folder: run times per stage", required=False),
    path("--output", "report to write (HTML)"),
    settings=QC_REPORT,
)
def report_qc(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    _render_report(args, cfg, {}, None)


def _render_report(
    args: argparse.Namespace, cfg: Mapping[str, Any], model: dict[str, Any], status: Any
) -> None:
    from utrflow.report import render

    render.run(
        json.loads(json.dumps(cfg)),  # a plain copy of every key: the report prints them all
        args.output,
        args.table,
        model=model,
        model_status=status,
        simulation=args.simulation,
        plate_qc=args.plate_qc,
        table_summary=args.table_summary,
        funnels=args.funnels,
        construct_check=args.construct_check,
        benchmarks=args.benchmarks,
    )


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__ or "utrflow"
    parser = argparse.ArgumentParser(prog="utrflow", description=doc.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        text = _literal(cmd.help)
        p = sub.add_parser(name, help=text, description=text)
        if cmd.settings:
            source = p.add_mutually_exclusive_group()
            source.add_argument(
                "--config",
                type=Path,
                default=Path("config/config.yaml"),
                help="config file (default: config/config.yaml)",
            )
            source.add_argument(
                "--params", help="the config keys this command reads, as JSON (what rules pass)"
            )
        for flag, options in cmd.arguments:
            p.add_argument(flag, **{**options, "help": _literal(options.get("help", ""))})
    return parser


def _literal(text: str) -> str:
    """Help text as argparse prints it verbatim: it reads '%' as a format (e.g. '100 % of')."""
    return text.replace("%", "%%")


def _keys(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from _keys(value, f"{dotted}.")


class _Audited(dict[str, Any]):
    """A settings mapping that notes every key read (UTRFLOW_SETTINGS_AUDIT, for the contract
    test that holds each rule's params to what its command reads)."""

    def __init__(self, data: Mapping[str, Any], read: set[str], prefix: str = "") -> None:
        super().__init__(data)
        self._read, self._prefix = read, prefix

    def __getitem__(self, key: str) -> Any:
        self._read.add(f"{self._prefix}{key}")
        value = super().__getitem__(key)
        return (
            _Audited(value, self._read, f"{self._prefix}{key}.")
            if isinstance(value, dict)
            else value
        )

    def __iter__(self) -> Iterator[str]:  # unpacking (`{**cfg}`) then reads through getitem
        return iter(list(dict.keys(self)))

    def items(self) -> Any:
        return [(k, self[k]) for k in dict.keys(self)]

    def get(self, key: str, default: Any = None) -> Any:
        return self.__getitem__(key) if dict.__contains__(self, key) else default


def settings(args: argparse.Namespace, cmd: Command) -> dict[str, Any]:
    """The config keys `cmd` reads, from --params (exactly those) or --config."""
    if not cmd.settings:
        return {}
    if args.params is not None:
        try:
            raw = json.loads(args.params)
        except json.JSONDecodeError as err:
            raise InputError(f"--params: not valid JSON: {err.msg}") from None
        if not isinstance(raw, dict):
            raise InputError("--params: expected a JSON object of config keys")
        unread = config_module.unread_keys(raw, cmd.settings)
        if unread:
            raise InputError(f"--params: key '{unread[0]}' is not read by `{args.command}`")
        full = config_module.validate(raw, source="--params")
    else:
        from utrflow import preflight  # a whole config's checks: the workflow's jobs pass --params

        full = preflight.load(args.config)
    return config_module.select(full, cmd.settings)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    cmd = COMMANDS[args.command]
    audit = os.environ.get("UTRFLOW_SETTINGS_AUDIT")
    read: set[str] = set()
    try:
        cfg: Mapping[str, Any] = settings(args, cmd)
        given = sorted(_keys(cfg))
        cmd.handler(args, _Audited(cfg, read) if audit else cfg)
    except InputError as err:
        print(f"utrflow: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk is the lab's to fix, not a bug: one line
        if err.errno not in io.DISK_FULL:
            raise
        print(f"utrflow: error: {io.disk_full(err, err.filename or args.command)}", file=sys.stderr)
        return 1
    if audit:
        with open(audit, "a", encoding="utf-8") as log:
            log.write(
                json.dumps({"command": args.command, "given": given, "read": sorted(read)}) + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
