"""The contest of `model.preset: auto`, run as workflow steps: gather the trained candidates and
the baselines, rank them on the validation split, and save the selected model (a CNN, a mean of
the top contenders, or a baseline exported to Keras) with the leaderboard; the members of the
ensemble are then seeds of the selected configuration; the learning curve over training-set
size trains it again on shares of the training rows.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.model import baselines, evaluate, portable, search, smalldata
from utrflow.model import network as model_module
from utrflow.model.encode import Encoded
from utrflow.model.settings import model_settings
from utrflow.model.training import train_member
from utrflow.resources import resources

log = logging.getLogger(__name__)
TOP_SPREAD = smalldata.SPREAD_OF  # contenders whose spread is the design's uncertainty


def baseline_model(
    name: str, data: Encoded, task: str, kmax: int, seed: int, all_rows: bool = False
) -> Any:
    """Refit one baseline exactly as the baselines job did and export it to Keras; with
    `all_rows` on train + validation (a cross-validated contest scored it on all of them)."""
    rows = data.rows
    if all_rows:
        rows = rows.assign(split=rows["split"].replace({"validation": "train"}))
    fitted, _, _ = baselines.fit_baselines(rows, kmax, task, data.covariates, seed, names=[name])
    n_cov = 0 if data.covariates is None else data.covariates.shape[1]
    return portable.export_baseline(name, fitted[name], data.onehot.shape[1], kmax, task, n_cov)


def _task_and_threshold(cfg: Mapping[str, Any]) -> tuple[str, float]:
    """The task and the classification threshold of a config's model section."""
    settings = model_settings(cfg["model"])
    return settings.task, settings.threshold


def contender_model(
    name: str,
    candidates: dict[str, Path],
    data: Encoded,
    cfg: Mapping[str, Any],
    all_rows: bool = False,
) -> Any:
    """A contender's Keras model: a trained candidate, or a baseline refitted and exported
    (on train + validation with `all_rows`)."""
    if name in candidates:
        return model_module.load(candidates[name])
    return baseline_model(
        name,
        data,
        model_settings(cfg["model"]).task,
        cfg["baselines"]["kmer_max"],
        cfg["seed"],
        all_rows,
    )


def save(model: Any, path: Path) -> None:
    with io.atomic_path(path) as tmp:
        model.save(tmp)


@dataclass
class _Candidates:
    """The trained candidates as the contest reads them: each one's model file, training.json
    and history, by name."""

    models: dict[str, Path]
    infos: dict[str, dict[str, Any]]
    histories: dict[str, pd.DataFrame]


def _cnn_entries(
    data: Encoded,
    cfg: Mapping[str, Any],
    paths: tuple[list[Path], list[Path], list[Path]],
    predictions: pd.DataFrame,
) -> tuple[_Candidates, list[dict[str, Any]]]:
    """Load each trained candidate, add its predictions to `predictions` and its leaderboard
    entry: the candidates' half of the contest, in the order the rules passed them."""
    catalogue = {c.name: c for c in search.catalogue(cfg["model"])}
    found = _Candidates({}, {}, {})
    entries = []
    for model_path, info_path, history_path in zip(*paths, strict=True):
        info = io.read_json(info_path)
        name = info["candidate"]
        found.models[name], found.infos[name] = Path(model_path), info
        found.histories[name] = io.read_tsv(history_path)
        model = model_module.load(model_path)
        predictions[name] = model_module.predict(model, data.onehot, data.covariates)
        entries.append(
            {
                "name": name,
                "kind": "cnn",
                "description": catalogue[name].description + _restart_note(info),
                "parameters": info["parameters"],
                "seconds": info.get("seconds"),
                "epochs": info["epochs_run"],
            }
        )
    return found, entries


def _baseline_entries(
    task: str, base: pd.DataFrame, fitted: Mapping[str, Any], predictions: pd.DataFrame
) -> list[dict[str, Any]]:
    """The baselines' half: their validation predictions (from the baselines job) added to
    `predictions`, and their leaderboard entries."""
    entries = []
    for name in search.BASELINES:
        predictions[name] = base[name].to_numpy()
        entries.append(
            {
                "name": name,
                "kind": "baseline",
                "description": _described(name, task),
                "parameters": fitted[name]["parameters"],
                "seconds": fitted[name]["seconds"],
                "epochs": None,
            }
        )
    return entries


def _save_contenders(
    board: pd.DataFrame,
    chosen: list[str],
    found: _Candidates,
    data: Encoded,
    cfg: Mapping[str, Any],
    refit: bool,
    out_dir: Path,
) -> list[str]:
    """Write the selected model (a mean of `chosen`), the best single contenders (`top/`, the
    design's spread), the best CNN and the leaderboard; returns the single contenders in rank
    order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    models = {name: contender_model(name, found.models, data, cfg, refit) for name in chosen}
    save(model_module.ensemble(list(models.values())), out_dir / "selected.keras")
    singles: list[str] = board[board["kind"] != "ensemble"]["name"].tolist()
    for i, name in enumerate(singles[:TOP_SPREAD]):
        model = models.get(name) or contender_model(name, found.models, data, cfg, refit)
        save(model, out_dir / "top" / f"{i}.keras")
    cnns = board[board["kind"] == "cnn"]["name"].tolist()
    shutil.copyfile(found.models[cnns[0]], out_dir / "best_cnn.keras")
    io.write_tsv(board, out_dir / "leaderboard.tsv")
    return singles


def _selection_summary(
    board: pd.DataFrame,
    chosen: list[str],
    entries: list[dict[str, Any]],
    found: _Candidates,
    cfg: Mapping[str, Any],
    ranking: dict[str, Any],
    singles: list[str],
) -> dict[str, Any]:
    """selection.json: the winner, what it averages, whether a baseline won, its validation
    scores, every candidate's settings (the members retrain them) and how it was ranked."""
    task = model_settings(cfg["model"]).task
    winner = board.iloc[0]
    kinds = {e["name"]: e["kind"] for e in entries}
    scored = "cv" if ranking["scored_by"] == "crossval" else "validation"
    return {
        "metric": f"{scored}_{search.score_name(task)}",
        "selected": winner["name"],
        "kind": winner["kind"],
        "averages": chosen,
        "baseline_won": all(kinds[n] == "baseline" for n in chosen),
        "validation": {k: _plain(winner[k]) for k in board.columns if k.startswith("validation_")},
        "candidates": {n: search.candidate_settings(cfg["model"], n) for n in found.models},
        "best_cnn": board[board["kind"] == "cnn"]["name"].tolist()[0],
        "top": singles[:TOP_SPREAD],
        **ranking,
    }


def _selected_history(chosen: list[str], found: _Candidates) -> pd.DataFrame:
    """The training history of the selected model: its one CNN's, or each averaged CNN's
    with a `member` column; empty when only baselines were chosen."""
    trained = [n for n in chosen if n in found.models]
    if len(trained) == 1:
        return found.histories[trained[0]]
    if trained:
        parts = [found.histories[n].assign(member=i) for i, n in enumerate(trained)]
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame(columns=["epoch", "loss", "val_loss"])


def run_select(
    data: Encoded,
    cfg: Mapping[str, Any],
    candidate_models: list[Path],
    candidate_infos: list[Path],
    candidate_histories: list[Path],
    baseline_predictions: Path,
    baseline_summary: Path,
    out_dir: Path,
) -> dict[str, Any]:
    """Rank candidates and baselines on validation; write `selected.keras` (with
    `selected_history.tsv` and `selected_training.json`), `best_cnn.keras`, `top/{0,1,2}.keras`
    (the best single contenders: the design's spread), `leaderboard.tsv` and `selection.json`
    under `out_dir`."""
    task = model_settings(cfg["model"]).task
    predictions = data.rows[["split", "label"]].copy()
    paths = (candidate_models, candidate_infos, candidate_histories)
    found, entries = _cnn_entries(data, cfg, paths, predictions)
    fitted = io.read_json(baseline_summary)
    base = io.read_tsv(baseline_predictions)
    entries += _baseline_entries(task, base, fitted, predictions)
    board, chosen, ranking = smalldata.rank_contenders(
        data.rows, data.covariates, cfg, predictions, entries
    )
    refit = ranking["refit_on"] == "train+validation"
    singles = _save_contenders(board, chosen, found, data, cfg, refit, out_dir)
    summary = _selection_summary(board, chosen, entries, found, cfg, ranking, singles)
    if summary["baseline_won"]:
        log.warning(
            "a baseline won the model contest (%s): %s is the model (prediction and design use it)",
            ranking["scored_by"],
            summary["selected"],
        )
    io.write_json(summary, out_dir / "selection.json")
    io.write_tsv(_selected_history(chosen, found), out_dir / "selected_history.tsv")
    trained = [n for n in chosen if n in found.models]
    described = (
        found.infos[trained[0]] if trained else _baseline_info(data, cfg, fitted[chosen[0]], refit)
    )
    io.write_json(
        {**described, "preset": "auto", "selected": summary["selected"], "averages": chosen},
        out_dir / "selected_training.json",
    )
    return summary


def _baseline_info(
    data: Encoded, cfg: Mapping[str, Any], fitted: dict[str, Any], refit: bool = False
) -> dict[str, Any]:
    """What training.json says of a baseline that won: no epochs, its size, the rows (with
    `refit`, it was fitted again on train + validation)."""
    import keras

    split = data.rows["split"].replace({"validation": "train"}) if refit else data.rows["split"]
    return {
        "device": "cpu (scikit-learn fit, exported to Keras)",
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "seed": cfg["seed"],
        "task": model_settings(cfg["model"]).task,
        "epochs_run": 0,
        "best_epoch": 0,
        "n_train": int((split == "train").sum()),
        "n_validation": int((split == "validation").sum()),
        "parameters": fitted["parameters"],
        "seconds": fitted["seconds"],
        "input_length": int(data.onehot.shape[1]),
        "covariates": 0 if data.covariates is None else int(data.covariates.shape[1]),
    }


def _restart_note(info: Mapping[str, Any]) -> str:
    """What the leaderboard says of a candidate whose output collapsed during training."""
    if info.get("output_collapsed"):
        return "; its output stayed one value for every input (it predicts the mean)"
    if info.get("restarts"):
        return (
            f"; trained anew at learning rate {info['learning_rate']:g} after its output collapsed"
        )
    return ""


def _described(name: str, task: str) -> str:
    texts = (
        baselines.CLASSIFIER_DESCRIPTIONS if task == "classification" else baselines.DESCRIPTIONS
    )
    return texts[name]


def _plain(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def selected_member(
    data: Encoded,
    cfg: Mapping[str, Any],
    selection: dict[str, Any],
    selected: Path,
    member: int,
    threads: int,
) -> tuple[Any, pd.DataFrame | None]:
    """Ensemble member `member` of the selected model: member 0 is the selected model itself;
    the others train its CNN configurations again with seed + member (baselines are fitted
    deterministically, so each member holds the same refit). `cfg` holds seed, model.task and
    baselines.kmer_max: what the others depend on."""
    seed, task, kmax = cfg["seed"], model_settings(cfg["model"]).task, cfg["baselines"]["kmer_max"]
    if member == 0:
        return model_module.load(selected), None
    models, histories = [], []
    for name in selection["averages"]:
        if name in selection["candidates"]:
            trained = train_member(
                data.onehot,
                data.rows,
                data.covariates,
                selection["candidates"][name],
                seed + member,
                threads,
            )
            models.append(trained.model)
            histories.append(trained.history)
        else:
            models.append(baseline_model(name, data, task, kmax, seed))
    return model_module.ensemble(models), (histories[0] if histories else None)


def learning_curve(
    data: Encoded,
    cfg: Mapping[str, Any],
    selection: dict[str, Any],
    threads: int,
    first_model: Any = None,
) -> pd.DataFrame:
    """Validation and test scores of the selected model's configuration (its best single
    contender) and of the best baseline, trained on 25 / 50 / 75 / 100 % of the training rows
    of the same split. `first_model`, the best contender as the contest saved it, is the 100 %
    point (not trained again)."""
    task, threshold = _task_and_threshold(cfg)
    key = search.score_name(task)
    first = selection["top"][0]
    best_baseline = next(
        n for n in selection["top"] + list(search.BASELINES) if n in search.BASELINES
    )
    models = [first] if first == best_baseline else [first, best_baseline]
    rows = []
    for fraction in search.training_fractions():
        part = search.subsample_train(data.rows, fraction, cfg["seed"])
        for name in models:
            started = time.perf_counter()
            if fraction == 1.0 and name == first and first_model is not None:
                predicted = model_module.predict(first_model, data.onehot, data.covariates)
            elif name in selection["candidates"]:
                member = train_member(
                    data.onehot, part, data.covariates, selection["candidates"][name], cfg["seed"],
                    threads,
                )  # fmt: skip
                predicted = model_module.predict(member.model, data.onehot, data.covariates)
            else:
                fitted, features, _ = baselines.fit_baselines(
                    part, cfg["baselines"]["kmer_max"], task, data.covariates, cfg["seed"], [name]
                )
                predicted = baselines.predict(fitted[name], features[name], task)
            scored = evaluate.split_metrics(
                part.assign(prediction=predicted), "prediction", task, threshold
            )
            rows.append(
                {
                    "model": name,
                    "fraction": fraction,
                    "n_train": int((part["split"] == "train").sum()),
                    **{
                        f"{s}_{m}": scored.get(s, {}).get(m)
                        for s in ("validation", "test")
                        for m in (key, "r2")
                    },
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
    return pd.DataFrame(rows)


def next_round(
    curve: pd.DataFrame,
    selection: dict[str, Any],
    cfg: Mapping[str, Any],
    ceiling: float | None = None,
) -> dict[str, Any]:
    """The training sizes the learning curve suggests for the next round, for the selected
    model's configuration (validation r² against training rows)."""
    if model_settings(cfg["model"]).task == "classification":
        column, ceiling = "validation_roc_auc", 1.0
    else:
        column = "validation_r2"
    first = selection["top"][0]
    part = curve[curve["model"] == first]
    return {
        "model": first,
        "score": column,
        **search.suggest_sizes(part["n_train"].tolist(), part[column].tolist(), ceiling),
    }


@dataclass
class Searched:
    """An in-process search: the selected model, the top contenders, leaderboard, choice."""

    model: Any
    top: list[Any]
    leaderboard: pd.DataFrame
    chosen: list[str]
    predictions: pd.DataFrame  # split, label and one column per contender (all rows)
    ranking: dict[str, Any]  # how the contest scored (see smalldata.rank_contenders)


def search_in_process(data: Encoded, cfg: Mapping[str, Any], threads: int = 1) -> Searched:
    """The workflow's candidate, baselines and select steps in one process (benchmarks, and
    comparisons on real data): same candidates, same contest, same exported models."""
    task = model_settings(cfg["model"]).task
    predictions = data.rows[["split", "label"]].copy()
    entries, models = [], {}
    for candidate in search.candidates(cfg["model"], resources(cfg)):
        started = time.perf_counter()
        settings = search.candidate_settings(cfg["model"], candidate.name)
        member = train_member(
            data.onehot, data.rows, data.covariates, settings, cfg["seed"], threads
        )
        models[candidate.name] = member.model
        predictions[candidate.name] = model_module.predict(
            member.model, data.onehot, data.covariates
        )
        entries.append(
            {"name": candidate.name, "kind": "cnn", "description": candidate.description,
             "parameters": member.info["parameters"], "epochs": member.info["epochs_run"],
             "seconds": round(time.perf_counter() - started, 1)}
        )  # fmt: skip
    kmax = cfg["baselines"]["kmer_max"]
    fitted, features, seconds = baselines.fit_baselines(
        data.rows, kmax, task, data.covariates, cfg["seed"]
    )
    sizes = baselines.sizes(fitted, seconds)
    n_cov = 0 if data.covariates is None else data.covariates.shape[1]
    for name, estimator in fitted.items():
        predictions[name] = baselines.predict(estimator, features[name], task)
        models[name] = portable.export_baseline(
            name, estimator, data.onehot.shape[1], kmax, task, n_cov
        )
        entries.append(
            {"name": name, "kind": "baseline", "description": _described(name, task),
             "epochs": None, **sizes[name]}
        )  # fmt: skip
    board, chosen, ranking = smalldata.rank_contenders(
        data.rows, data.covariates, cfg, predictions, entries
    )
    singles = board[board["kind"] != "ensemble"]["name"].tolist()[:TOP_SPREAD]
    if ranking["refit_on"] == "train+validation":  # cross-validated: fitted on all of it
        for name in {*chosen, *singles} & set(fitted):
            models[name] = baseline_model(name, data, task, kmax, cfg["seed"], all_rows=True)
    return Searched(
        model_module.ensemble([models[n] for n in chosen]),
        [models[n] for n in singles],
        board,
        chosen,
        predictions,
        ranking,
    )


def run_selected_member(
    data: Encoded,
    cfg: Mapping[str, Any],
    selection: dict[str, Any],
    selected: tuple[Path, Path, Path],
    member: int,
    threads: int,
    outputs: tuple[Path, Path, Path],
) -> None:
    """The `train-selected` stage: member `member` of the selected model (model, history and
    summary from `selected` for member 0), written to `outputs` (model, history, info)."""
    selected_model, selected_history, selected_info = selected
    model_path, history_path, info_path = outputs
    model, history = selected_member(data, cfg, selection, selected_model, member, threads)
    with io.atomic_path(model_path) as tmp:
        model.save(tmp)
    info = io.read_json(selected_info)
    io.write_tsv(io.read_tsv(selected_history) if history is None else history, history_path)
    io.write_json({**info, "seed": cfg["seed"] + member, "member": member}, info_path)


def run_learning_curve(
    data: Encoded,
    cfg: Mapping[str, Any],
    selection: dict[str, Any],
    top_model: Path,
    table_summary: Path | None,
    threads: int,
    outputs: tuple[Path, Path],
) -> None:
    """The `learning-curve` stage: the selected configuration on shares of the training rows
    (the contest's best contender is the 100 % point), and the sizes it suggests next."""
    curve_path, summary_path = outputs
    curve = learning_curve(data, cfg, selection, threads, model_module.load(top_model))
    io.write_tsv(curve, curve_path)
    ceiling = None
    if table_summary:
        ceiling = io.read_json(table_summary)["noise_ceiling"].get("r2")
    io.write_json(next_round(curve, selection, cfg, ceiling), summary_path)
