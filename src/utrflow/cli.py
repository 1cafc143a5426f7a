"""The `utrflow` command line: one subcommand per workflow stage.

Each Snakemake rule calls exactly one of these, so every stage also runs by hand. Settings come
from `--config config/config.yaml` or, as the workflow passes them, `--params JSON` holding the
config sections the stage uses; either way they are validated and defaults are filled in.
A bad input ends with one line on stderr, `utrflow: error: ...`, and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import config as config_module
from utrflow import io
from utrflow.errors import InputError

Handler = Callable[[argparse.Namespace, dict[str, Any]], None]
COMMANDS: dict[str, tuple[str, Handler, list[tuple[str, dict[str, Any]]]]] = {}


def command(name: str, help_text: str, *arguments: tuple[str, dict[str, Any]]):
    """Register a subcommand with its file arguments."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (help_text, handler, list(arguments))
        return handler

    return register


def path(flag: str, help_text: str, required: bool = True) -> tuple[str, dict[str, Any]]:
    return flag, {"help": help_text, "required": required, "type": Path}


@command("check-config", "validate a config file and print it with defaults filled in")
def check_config(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    print(json.dumps(cfg, indent=2))


@command(
    "simulate-table",
    "simulate a labelled table from the hidden ground truth (no plates, no reads)",
    path("--labelled", "labelled table to write (TSV)"),
    path("--truth", "true labels per well to write (TSV)"),
    path("--summary", "simulation summary with the noise ceiling (JSON)"),
)
def simulate_table(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.simulate import table as simulate

    result = simulate.simulate_from_config(cfg["simulate"], cfg["seed"])
    io.write_tsv(result.labelled, args.labelled)
    io.write_tsv(result.truth, args.truth)
    io.write_json(result.summary, args.summary)


@command(
    "simulate-run",
    "simulate a whole wet-lab run: library, plates, plate reader, nanopore reads, and the truth",
    path("--out-dir", "folder to write the input sheets, reads, reader files and truth to"),
)
def simulate_run(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.simulate import run, run_settings

    params = run_settings.from_config({"seed": cfg["seed"], **cfg["simulate"]["run"]})
    summary = run.simulate_run(params, args.out_dir)
    print(json.dumps(summary, indent=2))


@command(
    "import-table",
    "read a user's labelled CSV/TSV into the labelled-table format",
    path("--input", "user table with sequence, label and optional covariates"),
    path("--labelled", "labelled table to write (TSV)"),
)
def import_table(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.labelled import read_user_table

    io.write_tsv(read_user_table(args.input), args.labelled)


@command(
    "encode",
    "split passing rows and one-hot encode them (uint8, left-padded, written in chunks)",
    path("--table", "labelled table (TSV)"),
    path("--onehot", "one-hot array to write (.npy, uint8)"),
    path("--split", "per-row split, labels, weights and covariates to write (TSV)"),
    path("--features", "input length and covariate names to write (JSON)"),
)
def encode(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import encode as enc

    table = io.read_tsv(args.table)
    features = enc.build_features(table, cfg, source=str(args.table))
    rows = features.rows.copy()
    for i, name in enumerate(features.covariate_names):
        rows[name] = features.covariates[:, i]
    enc.write_onehot(rows["sequence"].tolist(), features.length, args.onehot)
    io.write_tsv(rows, args.split)
    io.write_json(
        {
            "length": features.length,
            "n": len(rows),
            "covariates": features.covariate_names,
            "task": cfg["model"]["task"],
        },
        args.features,
    )


def _encoded(args: argparse.Namespace) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """One-hot (memory-mapped), rows and covariates of an encoded table."""
    from utrflow.model.encode import load_onehot

    rows = io.read_tsv(args.split)
    names = io.read_json(args.features)["covariates"]
    covariates = rows[names].to_numpy(dtype=np.float32) if names else None
    return load_onehot(args.onehot), rows, covariates


ENCODED = (
    path("--onehot", "one-hot array (.npy)"),
    path("--split", "per-row split (TSV)"),
    path("--features", "encoding summary (JSON)"),
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
    path("--selection", "preset auto: the contest's selection.json", required=False),
    path("--selected", "preset auto: the selected model (member 0)", required=False),
    path("--selected-history", "preset auto: its history (member 0)", required=False),
    path("--selected-info", "preset auto: its training summary (member 0)", required=False),
    ("--without-covariates", {"action": "store_true", "help": "ignore the covariates"}),
    path("--model", "trained model to write (.keras)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    ("--threads", {"type": int, "default": 1, "help": "CPU threads for training"}),
)
def train(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    import time

    from utrflow.model import select as select_module
    from utrflow.model.training import train_member

    onehot, rows, covariates = _encoded(args)
    if args.without_covariates:
        covariates = None
    if args.selection:
        data = select_module.Encoded(onehot, rows, covariates)
        selection = io.read_json(args.selection)
        model, history = select_module.selected_member(
            data, cfg, selection, args.selected, args.member, args.threads
        )
        with io.atomic_path(args.model) as tmp:
            model.save(tmp)
        info = io.read_json(args.selected_info)
        if history is None:
            history = io.read_tsv(args.selected_history)
        io.write_tsv(history, args.history)
        io.write_json({**info, "seed": cfg["seed"] + args.member, "member": args.member}, args.info)
        return
    model_cfg = cfg["model"]
    started = time.perf_counter()
    member = train_member(
        onehot, rows, covariates, model_cfg, cfg["seed"] + args.member, args.threads
    )
    seconds = round(time.perf_counter() - started, 1)
    with io.atomic_path(args.model) as tmp:
        member.model.save(tmp)
    io.write_tsv(member.history, args.history)
    extra = {"candidate": args.candidate} if args.candidate else {}
    io.write_json(
        {
            **member.info,
            **extra,
            "member": args.member,
            "seconds": seconds,
            "scaler": member.scaler.to_dict(),
        },
        args.info,
    )


@command(
    "select",
    "preset auto: rank the candidates and the baselines on validation; save the selected model",
    *ENCODED,
    ("--models", {"type": Path, "nargs": "+", "required": True, "help": "candidate models"}),
    ("--infos", {"type": Path, "nargs": "+", "required": True, "help": "candidate summaries"}),
    ("--histories", {"type": Path, "nargs": "+", "required": True, "help": "their histories"}),
    path("--baselines", "baseline predictions (TSV)"),
    path("--baseline-summary", "baseline sizes and times (JSON)"),
    path("--out-dir", "folder for selected.keras, top/, leaderboard.tsv, selection.json"),
)
def select(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import select as select_module

    select_module.run_select(
        select_module.Encoded(*_encoded(args)),
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
    ("--threads", {"type": int, "default": 1, "help": "CPU threads for training"}),
)
def learning_curve(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import network as model_module
    from utrflow.model import select as select_module

    selection = io.read_json(args.selection)
    data = select_module.Encoded(*_encoded(args))
    top = model_module.load(args.top_model)
    curve = select_module.learning_curve(data, cfg, selection, args.threads, top)
    io.write_tsv(curve, args.output)
    ceiling = None
    if args.table_summary:
        ceiling = io.read_json(args.table_summary)["noise_ceiling"].get("r2")
    io.write_json(select_module.next_round(curve, selection, cfg, ceiling), args.summary)


@command(
    "ensemble",
    "join the trained members into one model that averages them",
    ("--members", {"type": Path, "nargs": "+", "required": True, "help": "member models (.keras)"}),
    ("--infos", {"type": Path, "nargs": "+", "required": True, "help": "member summaries (JSON)"}),
    ("--histories", {"type": Path, "nargs": "+", "required": True, "help": "member histories"}),
    path("--model", "ensemble model to write (.keras)"),
    path("--info", "training summary to write (JSON)"),
    path("--history", "all members' histories to write (TSV)"),
)
def ensemble(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import network as model_module

    joined = model_module.ensemble([model_module.load(p) for p in args.members])
    with io.atomic_path(args.model) as tmp:
        joined.save(tmp)
    infos = [io.read_json(p) for p in args.infos]
    io.write_json({**infos[0], "ensemble": len(infos), "members": infos}, args.info)
    histories = [io.read_tsv(p).assign(member=i) for i, p in enumerate(args.histories)]
    io.write_tsv(pd.concat(histories, ignore_index=True), args.history)


@command(
    "baselines",
    "fit the baselines (mean, ridge, boosted trees) on the train split and predict every row",
    *ENCODED,
    path("--predictions", "baseline predictions to write (TSV)"),
    path("--summary", "each baseline's size and fitting time to write (JSON)", required=False),
)
def baselines(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model.baselines import baseline_predictions

    _onehot, rows, covariates = _encoded(args)
    summary: dict[str, Any] = {}
    predictions = baseline_predictions(
        rows, cfg["baselines"]["kmer_max"], cfg["model"]["task"], covariates, cfg["seed"], summary
    )
    io.write_tsv(predictions, args.predictions)
    if args.summary:
        io.write_json(summary, args.summary)


@command(
    "evaluate",
    "score the model, its members and the baselines; noise ceiling when truth is known",
    *ENCODED,
    path("--model", "trained (ensemble) model (.keras)"),
    ("--members", {"type": Path, "nargs": "+", "required": True, "help": "member models"}),
    path("--without-covariates", "model trained without covariates (.keras)", required=False),
    path("--baselines", "baseline predictions (TSV)"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--table-summary", "labelled-table summary with the replicate ceiling", required=False),
    path("--selection", "preset auto: the contest's selection.json", required=False),
    path("--metrics", "metrics to write (JSON)"),
    path("--predictions", "predictions to write (TSV)"),
)
def evaluate(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import baselines as bl
    from utrflow.model import evaluate as ev
    from utrflow.model import network as model_module

    onehot, rows, covariates = _encoded(args)
    task, threshold = cfg["model"]["task"], cfg["model"]["threshold"]
    ensemble_model = model_module.load(args.model)
    members = np.stack(
        [model_module.predict(model_module.load(p), onehot, covariates) for p in args.members]
    )
    predictions = rows[["sequence", "split", "label"]].copy()
    predictions["prediction"] = model_module.predict(ensemble_model, onehot, covariates)
    if len(members) > 1:
        predictions["prediction_sd"] = members.std(axis=0)

    def scores(frame: pd.DataFrame, column: str) -> dict[str, Any]:
        return ev.split_metrics(frame, column, task, threshold)

    metrics: dict[str, Any] = {"task": task, **scores(predictions, "prediction")}
    if len(members) > 1:
        metrics["members"] = [
            scores(predictions.assign(member=m), "member")["test"] for m in members
        ]
        test = (predictions["split"] == "test").to_numpy()
        metrics["ensemble_spread"] = {"test_mean_sd": float(members[:, test].std(axis=0).mean())}
    if args.without_covariates:
        plain = model_module.predict(model_module.load(args.without_covariates), onehot, None)
        metrics["without_covariates"] = scores(predictions.assign(plain=plain), "plain")
    base = io.read_tsv(args.baselines)
    names = bl.CLASSIFIER_DESCRIPTIONS if task == "classification" else bl.DESCRIPTIONS
    metrics["baselines"] = {
        name: {"description": text, **scores(base, name)} for name, text in names.items()
    }
    if task == "regression":
        ceiling = None
        if args.truth:
            ceiling = {"r2": ev.noise_ceiling(rows, io.read_tsv(args.truth)), "source": "truth"}
        elif args.table_summary:
            replicate = io.read_json(args.table_summary)["noise_ceiling"]
            if replicate.get("r2") is not None:
                value = replicate["r2"]
                ceiling = {
                    "r2": {"validation": value, "test": value},
                    "source": "replicate wells",
                    "ci95": replicate.get("ci95"),
                }
        if ceiling:
            metrics["noise_ceiling"] = ceiling
            if metrics.get("test", {}).get("r2") is not None and ceiling["r2"].get("test"):
                ceiling["test_fraction_reached"] = metrics["test"]["r2"] / ceiling["r2"]["test"]
    if args.selection:
        selection = io.read_json(args.selection)
        metrics["selection"] = {
            k: selection[k]
            for k in ("selected", "kind", "averages", "baseline_won", "metric", "validation")
        }
    io.write_json(metrics, args.metrics)
    io.write_tsv(predictions, args.predictions)


@command(
    "crossval",
    "k-fold cross-validation: one model per fold, each fold the test set once",
    *ENCODED,
    path("--output", "per-fold and summary metrics to write (JSON)"),
    ("--threads", {"type": int, "default": 1, "help": "CPU threads for training"}),
)
def crossval(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import evaluate as ev
    from utrflow.model import network as model_module
    from utrflow.model.splits import carve_validation
    from utrflow.model.training import train_member

    onehot, rows, covariates = _encoded(args)
    task, threshold = cfg["model"]["task"], cfg["model"]["threshold"]
    folds = []
    for fold in sorted(rows["fold"].unique()):
        split = np.where(rows["fold"] == fold, "test", "train")
        split = carve_validation(
            split, rows["sequence"].to_numpy(dtype=object), cfg["split"]["validation"], cfg["seed"]
        )
        fold_rows = rows.assign(split=split)
        member = train_member(
            onehot, fold_rows, covariates, cfg["model"], cfg["seed"], args.threads
        )
        fold_rows["prediction"] = model_module.predict(member.model, onehot, covariates)
        folds.append(
            {
                "fold": int(fold),
                **ev.split_metrics(fold_rows, "prediction", task, threshold)["test"],
            }
        )
    key = "roc_auc" if task == "classification" else "r2"
    values = np.array([f[key] for f in folds if f.get(key) is not None], dtype=float)
    summary = {f"{key}_mean": float(values.mean()), f"{key}_sd": float(values.std(ddof=1))}
    io.write_json({"folds": folds, "summary": summary}, args.output)


@command(
    "demux",
    "demultiplex one read group's reads to wells and extract each read's variable region",
    path("--plates", "plates sheet (TSV)"),
    path("--wells", "wells sheet (TSV)"),
    ("--group", {"required": True, "help": "read group: a plate, or plates sharing files (A+B)"}),
    path(
        "--out-dir", "folder for assignments.tsv.gz, regions.tsv.gz, well_counts.tsv, funnel.json"
    ),
    ("--threads", {"type": int, "default": 1, "help": "processes (default 1)"}),
)
def demux(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.reads import demux as demux_module
    from utrflow.reads import sheets

    construct = sheets.load_construct(cfg["construct"])
    plates = sheets.load_plates(args.plates)
    wells = sheets.load_wells(args.wells, plates["plate"].tolist())
    groups = {g.name: g for g in sheets.read_groups(plates, str(args.plates))}
    if args.group not in groups:
        raise InputError(f"{args.plates}: no read group {args.group!r} (has: {', '.join(groups)})")
    group = groups[args.group]
    settings = config_module.settings_from(demux_module.DemuxSettings, cfg["demux"])
    sheets.check_group_barcodes(wells, group, settings.min_barcode_set_distance, str(args.wells))
    funnel = demux_module.run_group(group, wells, construct, settings, args.out_dir, args.threads)
    logging.getLogger("utrflow.reads.demux").info("funnel: %s", json.dumps(funnel["status"]))


@command(
    "consensus",
    "call each well's UTR from its reads' regions and match it to the library",
    ("--plate", {"required": True, "help": "plate to call"}),
    path("--counts", "well_counts.tsv of the plate's read group"),
    path("--regions", "regions.tsv.gz of the plate's read group"),
    path("--library", "designed library (CSV: id, sequence)", required=False),
    path("--output", "per-well consensus table to write (TSV)"),
    ("--threads", {"type": int, "default": 1, "help": "processes (default 1)"}),
)
def consensus(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.reads import consensus as consensus_module
    from utrflow.reads import sheets

    settings = config_module.settings_from(consensus_module.ConsensusSettings, cfg["consensus"])
    library = None
    if args.library:
        designs = sheets.load_library(args.library)
        library = consensus_module.LibraryIndex(
            designs["id"], designs["sequence"], settings.max_variant_distance
        )
    counts = io.read_tsv(args.counts).fillna("")
    regions = consensus_module.read_plate_regions([args.regions], args.plate, settings.max_reads)
    table = consensus_module.call_plate(
        args.plate, counts, regions, library, settings, args.threads
    )
    io.write_tsv(table, args.output)


@command(
    "fluorescence",
    "normalize one plate's reader file: blank subtraction, division by OD, log2, flags",
    ("--plate", {"required": True, "help": "plate to normalize"}),
    path("--reader", "the plate's reader file (an instrument's export: CSV, text or xlsx)"),
    path("--wells", "wells sheet (TSV)"),
    path("--output", "per-well readings and labels to write (TSV)"),
    path("--summary", "what was read, blank levels, reader wells not in the layout (JSON)"),
    ("--reader-plate", {"default": "", "help": "the file's plate block (name or number)"}),
)
def fluorescence(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.plates import reader as fluorescence_module
    from utrflow.plates.reader import FluorescenceSettings
    from utrflow.reads import sheets

    settings = config_module.settings_from(FluorescenceSettings, cfg["fluorescence"])
    wells = sheets.load_wells(args.wells)
    if not (wells["plate"] == args.plate).any():
        raise InputError(f"{args.wells}: no wells of plate {args.plate!r}")
    found = fluorescence_module.read_plate(
        args.plate, wells, args.reader, settings, args.reader_plate
    )
    table, unlisted = found.table, found.unlisted
    if unlisted:
        logging.getLogger("utrflow.plates.reader").warning(
            "%s: %d reader wells not in the layout, ignored: %s",
            args.reader,
            len(unlisted),
            ", ".join(unlisted),
        )
    io.write_tsv(table, args.output, exact=fluorescence_module.EXACT_COLUMNS)
    summary = {
        "plate": args.plate,
        "reader": str(args.reader),
        **found.details,
        "blank_wells": int((table["role"] == "blank").sum()),
        "unlisted_wells": unlisted,
        "flags": {
            flag: int(table["flags"].str.split(";").apply(lambda f, k=flag: k in f).sum())
            for flag in fluorescence_module.FLAGS
        },
    }
    io.write_json(summary, args.summary)


@command(
    "link",
    "join well calls with fluorescence: labelled table, replicates, noise ceiling, plate QC",
    ("--consensus", {"type": Path, "nargs": "+", "required": True, "help": "per-plate calls"}),
    ("--fluorescence", {"type": Path, "nargs": "*", "default": [], "help": "per-plate readings"}),
    ("--reader-summaries", {"type": Path, "nargs": "*", "default": [], "help": "their JSONs"}),
    path("--labelled", "labelled table to write (TSV)"),
    path("--replicates", "sequences in several passing wells to write (TSV)"),
    path("--plate-qc", "one row per plate to write (TSV)"),
    path("--summary", "QC counts, noise ceiling and flagged plates to write (JSON)"),
)
def link(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.plates import link as link_module
    from utrflow.plates.reader import FluorescenceSettings

    settings = config_module.settings_from(FluorescenceSettings, cfg["fluorescence"])
    calls = [io.read_tsv(p) for p in args.consensus]
    readings = {str(f["plate"].iloc[0]): f for f in map(io.read_tsv, args.fluorescence) if len(f)}
    readers = {s["plate"]: s for s in map(io.read_json, args.reader_summaries)}
    unlisted = {plate: s["unlisted_wells"] for plate, s in readers.items()}
    table, shifts = link_module.link(calls, readings, settings)
    combined = pd.concat(readings.values(), ignore_index=True) if readings else None
    plates = link_module.plate_summary(table, combined, shifts, settings, unlisted, readers)
    ceiling = link_module.noise_ceiling(table, seed=cfg["seed"])
    io.write_tsv(table, args.labelled)
    io.write_tsv(link_module.replicates(table), args.replicates)
    io.write_tsv(plates, args.plate_qc)
    io.write_json(
        {
            "wells": len(table),
            "qc": link_module.qc_counts(table),
            "noise_ceiling": ceiling,
            "plate_centering": settings.plate_centering,
            "flagged_plates": dict(plates.loc[plates["flag"] != "", ["plate", "flag"]].values),
        },
        args.summary,
    )
    log = logging.getLogger("utrflow.plates.link")
    log.info("wells per qc: %s", json.dumps(link_module.qc_counts(table)))
    log.info("noise ceiling: %s", json.dumps(ceiling))


@command(
    "predict",
    "score new sequences (FASTA, CSV or TSV) with trained members: mean and sd per sequence",
    path("--input", "sequences to score"),
    ("--members", {"type": Path, "nargs": "+", "required": True, "help": "member models"}),
    path("--output", "predictions to write (TSV)"),
)
def predict(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import network as model_module
    from utrflow.model.predict import predict_sequences, read_sequences

    frame = read_sequences(args.input)
    members = [model_module.load(p) for p in args.members]
    if len(members[0].inputs) > 1:
        raise InputError(f"{args.input}: the model needs covariates; predict takes sequences only")
    mean, sd = predict_sequences(frame["sequence"].tolist(), members)
    io.write_tsv(frame.assign(prediction=mean, prediction_sd=sd), args.output)


@command(
    "interpret",
    "what the model learned: first-layer filters as motifs, in-silico mutagenesis of extremes",
    path("--onehot", "one-hot sequences (.npy)"),
    path("--member", "one member model: its first-layer filters (.keras)"),
    path("--model", "the (ensemble) model scored by mutagenesis (.keras)"),
    path("--predictions", "model predictions (TSV): the extremes of the test set"),
    path("--output", "filters, planted-motif matches and mutagenesis to write (JSON)"),
)
def interpret(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.model import interpret as interpret_module
    from utrflow.model import network as model_module
    from utrflow.model.encode import load_onehot

    onehot = load_onehot(args.onehot)
    rows = interpret_module.sample_rows(len(onehot), cfg["seed"])
    member = model_module.load(args.member)
    planted: dict[str, str] = {}  # the motifs the simulator planted; real data has none
    if cfg["source"] == "simulate":
        from utrflow.simulate.table import planted_motifs

        planted = planted_motifs(cfg["simulate"]["kind"])
    result = interpret_module.filter_motifs(member, np.asarray(onehot[rows]), planted)
    result["rows_scanned"] = len(rows)
    model = model_module.load(args.model)
    if len(model.inputs) == 1:
        extremes = interpret_module.extremes(io.read_tsv(args.predictions))
        result["mutagenesis"] = interpret_module.saturation_mutagenesis(
            model, extremes, onehot.shape[1]
        )
    io.write_json(result, args.output)


@command(
    "design",
    "propose the next library with the selected model: designs per target bin and the oligo order",
    path("--table", "labelled table (TSV): its passing rows are the measured library"),
    path("--model", "the selected model (.keras): the designs' predicted mean"),
    (
        "--members",
        {
            "type": Path,
            "nargs": "+",
            "required": True,
            "help": "models whose spread "
            "is the uncertainty (ensemble members, or the top contenders)",
        },
    ),
    path("--metrics", "metrics (JSON): the model's validation r² and error"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--next-library", "designs to write (CSV)"),
    path("--oligo-order", "oligos with their flanks to write (CSV)"),
    path("--summary", "bins, constraints and (simulated data) true expression (JSON)"),
)
def design(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.design import next_library as design_module

    default_flanks = ("", "")
    truth = None
    if cfg["source"] == "simulate":
        from utrflow.simulate.run_settings import construct_flanks

        default_flanks = construct_flanks()
    if args.truth:
        from utrflow.simulate.quality import truth_check

        wells = io.read_tsv(args.truth)
        truth = lambda designs, table: truth_check(designs, table, wells)  # noqa: E731
    summary = design_module.run_design(
        cfg,
        args.table,
        args.model,
        args.members,
        io.read_json(args.metrics),
        (args.next_library, args.oligo_order, args.summary),
        default_flanks,
        truth,
    )
    logging.getLogger("utrflow.design").info(
        "%d designs (%d exploratory)", summary["designed"], summary["exploratory"]
    )


@command(
    "report",
    "render the self-contained HTML evaluation report",
    path("--table", "labelled table (TSV)"),
    path("--split", "per-row split (TSV)"),
    path("--metrics", "metrics (JSON)"),
    path("--predictions", "model predictions (TSV)"),
    path("--history", "training history (TSV)"),
    path("--training", "training summary (JSON)"),
    path("--simulation", "simulation summary (JSON)", required=False),
    path("--crossval", "cross-validation metrics (JSON)", required=False),
    path("--plate-qc", "per-plate QC of the labelled table (TSV), plates only", required=False),
    path("--table-summary", "labelled-table summary (JSON), plates only", required=False),
    path("--interpretation", "filters and mutagenesis (JSON)", required=False),
    ("--funnels", {"type": Path, "nargs": "*", "default": [], "help": "demux funnel.json files"}),
    path("--designs", "the next library (CSV)", required=False),
    path("--design-summary", "the design summary (JSON)", required=False),
    path("--leaderboard", "preset auto: the model contest (TSV)", required=False),
    path("--learning-curve", "preset auto: scores over training-set size (TSV)", required=False),
    path("--next-round", "preset auto: sizes suggested for the next round (JSON)", required=False),
    path("--output", "report to write (HTML)"),
)
def report(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.report.render import ReportInputs, render

    inputs = ReportInputs(
        config=cfg,
        table=io.read_tsv(args.table),
        split=io.read_tsv(args.split),
        metrics=io.read_json(args.metrics),
        predictions=io.read_tsv(args.predictions),
        history=io.read_tsv(args.history),
        training=io.read_json(args.training),
        simulation=io.read_json(args.simulation) if args.simulation else None,
        crossval=io.read_json(args.crossval) if args.crossval else None,
        plate_qc=io.read_tsv(args.plate_qc) if args.plate_qc else None,
        table_summary=io.read_json(args.table_summary) if args.table_summary else None,
        interpretation=io.read_json(args.interpretation) if args.interpretation else None,
        funnels=[io.read_json(p) for p in args.funnels] or None,
        designs=pd.read_csv(args.designs) if args.designs else None,
        design_summary=io.read_json(args.design_summary) if args.design_summary else None,
        leaderboard=io.read_tsv(args.leaderboard) if args.leaderboard else None,
        learning_curve=io.read_tsv(args.learning_curve) if args.learning_curve else None,
        next_round=io.read_json(args.next_round) if args.next_round else None,
    )
    with io.atomic_path(args.output) as tmp:
        tmp.write_text(render(inputs), encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="utrflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, _handler, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        settings = p.add_mutually_exclusive_group()
        settings.add_argument(
            "--config",
            type=Path,
            default=Path("config/config.yaml"),
            help="config file (default: config/config.yaml)",
        )
        settings.add_argument("--params", help="config sections as JSON (what the workflow passes)")
        for flag, options in arguments:
            p.add_argument(flag, **options)
    return parser


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The validated config from --params or --config."""
    if args.params is not None:
        try:
            raw = json.loads(args.params)
        except json.JSONDecodeError as err:
            raise InputError(f"--params: not valid JSON: {err.msg}") from None
        return config_module.validate(raw, source="--params")
    return config_module.load(args.config)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        cfg = settings(args)
        COMMANDS[args.command][1](args, cfg)
    except InputError as err:
        print(f"utrflow: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
