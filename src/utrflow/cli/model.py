"""The model commands: encode, train (a member or a search candidate), the contest (select,
train-selected, learning-curve), ensemble and crossval."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from utrflow import io
from utrflow.cli.framework import THREADS, Argument, command, path, paths
from utrflow.model.settings import model_settings

ENCODED: tuple[Argument, ...] = (
    path("--onehot", "one-hot array (.npy)"),
    path("--split", "per-row split (TSV)"),
    path("--features", "encoding summary (JSON)"),
)
MEMBER: Argument = (
    "--member",
    {"type": int, "default": 0, "help": "ensemble member (seed = seed + member)"},
)


def encoded(args: argparse.Namespace) -> Any:
    """The encoded data set the `ENCODED` arguments name."""
    from utrflow.model.encode import load_encoded

    return load_encoded(args.onehot, args.split, args.features)


@command(
    "encode",
    "split passing rows and one-hot encode them (uint8, left-padded, written in chunks)",
    path("--table", "labelled table (TSV)"),
    path("--onehot", "one-hot array to write (.npy, uint8)"),
    path("--split", "per-row split, labels, weights and covariates to write (TSV)"),
    path("--features", "input length and covariate names to write (JSON)"),
)
def encode(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import encode as stage

    stage.run(
        table=args.table, onehot=args.onehot, split=args.split, features=args.features, cfg=cfg
    )


@command(
    "model-status",
    "decide whether the model stages can run on the labelled table; write ok or not_run + why",
    path("--table", "labelled table (TSV)"),
    path("--output", "status to write (JSON)"),
    path(
        "--library",
        "designed library the wells were picked from (CSV: id, sequence)",
        required=False,
    ),
)
def model_status(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import readiness

    result = readiness.run(table=args.table, output=args.output, cfg=cfg, library=args.library)
    if result["status"] != "ok":
        logging.getLogger("utrflow.model").warning(
            "model not run: %s; %s", result["reason"], result["advice"]
        )


@command(
    "train",
    "train one ensemble member (or one search candidate) with early stopping; save the model",
    *ENCODED,
    MEMBER,
    (
        "--candidate",
        {"default": "", "help": "preset auto: the candidate's name (--params: its settings)"},
    ),
    ("--without-covariates", {"action": "store_true", "help": "ignore the covariates"}),
    path("--model", "trained model to write (.keras)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    THREADS,
)
def train(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import training

    data = encoded(args)
    if args.without_covariates:
        data = dataclasses.replace(data, covariates=None)
    training.run_member(
        encoded=data,
        model_cfg=model_settings(cfg["model"]),
        seed=cfg["seed"],
        member=args.member,
        threads=args.threads,
        model=args.model,
        history=args.history,
        info=args.info,
        candidate=args.candidate,
    )


@command(
    "train-selected",
    "preset auto: one ensemble member of the selected model (member 0 is the selected model)",
    *ENCODED,
    MEMBER,
    path("--selection", "the contest's selection.json"),
    path("--selected", "the selected model (member 0)"),
    path("--selected-history", "its history (member 0)"),
    path("--selected-info", "its training summary (member 0)"),
    path("--model", "member model to write (.keras)"),
    path("--history", "per-epoch losses to write (TSV)"),
    path("--info", "training summary to write (JSON)"),
    THREADS,
)
def train_selected(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as stage

    stage.run_selected_member(
        data=encoded(args),
        cfg=cfg,
        selection=io.read_json(args.selection),
        selected=(args.selected, args.selected_history, args.selected_info),
        member=args.member,
        threads=args.threads,
        outputs=(args.model, args.history, args.info),
    )


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
)
def select(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as stage

    stage.run_select(
        data=encoded(args),
        cfg=cfg,
        candidate_models=args.models,
        candidate_infos=args.infos,
        candidate_histories=args.histories,
        baseline_predictions=args.baselines,
        baseline_summary=args.baseline_summary,
        out_dir=args.out_dir,
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
)
def learning_curve(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import select as stage

    stage.run_learning_curve(
        data=encoded(args),
        cfg=cfg,
        selection=io.read_json(args.selection),
        top_model=args.top_model,
        table_summary=args.table_summary,
        threads=args.threads,
        outputs=(args.output, args.summary),
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
        members=args.members,
        infos=args.infos,
        histories=args.histories,
        model=args.model,
        info=args.info,
        history=args.history,
    )


@command(
    "crossval",
    "k-fold cross-validation: one model per fold, each fold the test set once",
    *ENCODED,
    path("--output", "per-fold and summary metrics to write (JSON)"),
    THREADS,
)
def crossval(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.model import training

    training.cross_validate(
        encoded=encoded(args),
        model_cfg=model_settings(cfg["model"]),
        seed=cfg["seed"],
        validation=cfg["split"]["validation"],
        threads=args.threads,
        output=args.output,
    )
