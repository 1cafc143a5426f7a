"""The commands that score and read a trained model: baselines, evaluate, predict, interpret."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from utrflow.cli.framework import command, path, paths
from utrflow.cli.model import ENCODED, encoded
from utrflow.model.settings import model_settings


@command(
    "baselines",
    "fit the baselines (mean, ridge, boosted trees) on the train split and predict every row",
    *ENCODED,
    path("--predictions", "baseline predictions to write (TSV)"),
    path("--summary", "each baseline's size and fitting time to write (JSON)", required=False),
)
def baselines(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import baselines as stage

    stage.run(
        encoded=encoded(args),
        kmer_max=cfg["baselines"]["kmer_max"],
        task=model_settings(cfg["model"]).task,
        seed=cfg["seed"],
        predictions=args.predictions,
        summary_path=args.summary,
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
    paths(
        "--spread",
        "models whose sd scales the intervals (top contenders or members)",
        required=False,
    ),
    path("--metrics", "metrics to write (JSON)"),
    path("--predictions", "predictions to write (TSV)"),
)
def evaluate(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import evaluate as stage

    model = model_settings(cfg["model"])
    stage.run(
        encoded=encoded(args),
        model=args.model,
        members=args.members,
        without_covariates=args.without_covariates,
        baselines=args.baselines,
        truth=args.truth,
        table_summary=args.table_summary,
        task=model.task,
        threshold=model.threshold,
        metrics_path=args.metrics,
        predictions_path=args.predictions,
        selection=args.selection,
        level=model.interval,
        spread=args.spread,
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

    stage.run(path=args.input, members=args.members, output=args.output)


@command(
    "interpret",
    "what the model learned: first-layer filters as motifs, in-silico mutagenesis of extremes",
    path("--onehot", "one-hot sequences (.npy)"),
    path("--member", "one member model: its first-layer filters (.keras)"),
    path("--model", "the (ensemble) model scored by mutagenesis (.keras)"),
    path("--predictions", "model predictions (TSV): the extremes of the test set"),
    path("--output", "filters, planted-motif matches and mutagenesis to write (JSON)"),
)
def interpret(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import interpret as stage

    planted: dict[str, str] = {}  # the motifs the simulator planted; real data has none
    if cfg["source"] == "simulate":
        from utrflow.simulate.table import planted_motifs

        planted = planted_motifs(cfg["simulate"]["kind"])
    stage.run(
        onehot_path=args.onehot,
        member=args.member,
        model=args.model,
        predictions=args.predictions,
        output=args.output,
        seed=cfg["seed"],
        planted=planted,
    )
