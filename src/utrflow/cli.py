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
    from utrflow.simulate import simulate_table as simulate

    sim = cfg["simulate"]
    result = simulate(
        sim["n_sequences"],
        sim["min_length"],
        sim["max_length"],
        sim["noise_sd"],
        cfg["seed"],
        sim["plate_format"],
    )
    io.write_tsv(result.labelled, args.labelled)
    io.write_tsv(result.truth, args.truth)
    io.write_json(result.summary, args.summary)


@command(
    "import-table",
    "read a user's labelled CSV/TSV into the labelled-table format",
    path("--input", "user table with sequence, label and optional covariates"),
    path("--labelled", "labelled table to write (TSV)"),
)
def import_table(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.table import read_user_table

    io.write_tsv(read_user_table(args.input), args.labelled)


@command(
    "encode",
    "one-hot encode passing rows (uint8, left-padded) and split them",
    path("--table", "labelled table (TSV)"),
    path("--onehot", "one-hot array to write (.npy, uint8)"),
    path("--labels", "labels to write (.npy, float32)"),
    path("--split", "per-row split to write (TSV)"),
)
def encode(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.encode import encode_table

    table = io.read_tsv(args.table)
    if not (table["qc"] == "pass").any():
        raise InputError(f"{args.table}: no row has qc 'pass'; nothing to train on")
    encoded = encode_table(
        table,
        cfg["encode"]["length"],
        cfg["split"]["validation"],
        cfg["split"]["test"],
        cfg["seed"],
    )
    io.write_npy(encoded.onehot, args.onehot)
    io.write_npy(encoded.labels, args.labels)
    io.write_tsv(encoded.rows, args.split)


@command(
    "train",
    "train the CNN with early stopping; save model, scaler, history and device info",
    path("--onehot", "one-hot array (.npy)"),
    path("--labels", "labels (.npy)"),
    path("--split", "per-row split (TSV)"),
    path("--model", "trained model to write (.keras)"),
    path("--scaler", "label scaler to write (JSON)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    ("--threads", {"type": int, "default": 1, "help": "CPU threads for training"}),
)
def train(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow import model as model_module

    onehot = np.load(args.onehot, mmap_mode="r", allow_pickle=False)
    labels = np.load(args.labels, allow_pickle=False)
    split = io.read_tsv(args.split)["split"].to_numpy(dtype=str)
    result = model_module.train(onehot, labels, split, cfg["model"], cfg["seed"], args.threads)
    with io.atomic_path(args.model) as tmp:
        result.model.save(tmp)
    io.write_json(result.scaler.to_dict(), args.scaler)
    io.write_tsv(result.history, args.history)
    io.write_json(result.info, args.info)


@command(
    "baselines",
    "fit the mean and ridge-on-k-mer baselines on the train split and predict every row",
    path("--split", "per-row split (TSV)"),
    path("--predictions", "baseline predictions to write (TSV)"),
)
def baselines(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.evaluate import baseline_predictions

    rows = io.read_tsv(args.split)
    io.write_tsv(baseline_predictions(rows, cfg["baselines"]["kmer_max"]), args.predictions)


@command(
    "evaluate",
    "score the model and the baselines on validation and test; noise ceiling when truth is known",
    path("--model", "trained model (.keras)"),
    path("--scaler", "label scaler (JSON)"),
    path("--onehot", "one-hot array (.npy)"),
    path("--split", "per-row split (TSV)"),
    path("--baselines", "baseline predictions (TSV)"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--metrics", "metrics to write (JSON)"),
    path("--predictions", "predictions to write (TSV)"),
)
def evaluate(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow import evaluate as ev
    from utrflow import model as model_module

    rows = io.read_tsv(args.split)
    onehot = np.load(args.onehot, mmap_mode="r", allow_pickle=False)
    scaler = model_module.Scaler(**io.read_json(args.scaler))
    prediction = model_module.predict(model_module.load(args.model), onehot, scaler)
    predictions = pd.DataFrame(
        {
            "sequence": rows["sequence"],
            "split": rows["split"],
            "label": rows["label"],
            "prediction": prediction,
        }
    )
    base = io.read_tsv(args.baselines)
    metrics: dict[str, Any] = {"task": "regression", **ev.split_metrics(predictions, "prediction")}
    metrics["baselines"] = {
        name: {"description": text, **ev.split_metrics(base, name)}
        for name, text in ev.BASELINE_COLUMNS.items()
    }
    if args.truth:
        ceiling = ev.noise_ceiling(rows, io.read_tsv(args.truth))
        metrics["noise_ceiling"] = {"r2": ceiling}
        if metrics.get("test", {}).get("r2") is not None and ceiling.get("test"):
            metrics["noise_ceiling"]["test_fraction_reached"] = (
                metrics["test"]["r2"] / ceiling["test"]
            )
    io.write_json(metrics, args.metrics)
    io.write_tsv(predictions, args.predictions)


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
    path("--output", "report to write (HTML)"),
)
def report(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    from utrflow.report import ReportInputs, render

    inputs = ReportInputs(
        config=cfg,
        table=io.read_tsv(args.table),
        split=io.read_tsv(args.split),
        metrics=io.read_json(args.metrics),
        predictions=io.read_tsv(args.predictions),
        history=io.read_tsv(args.history),
        training=io.read_json(args.training),
        simulation=io.read_json(args.simulation) if args.simulation else None,
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
