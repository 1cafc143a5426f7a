# Shared set-up: check the config and its files before any job runs; every path, switch and
# helper the rule files use is defined here, so they can be included in any order.
import collections
import json
import math
import shlex
import sys
from pathlib import Path

from utrflow import config as utrflow_config
from utrflow import preflight as utrflow_preflight
from utrflow import settings as utrflow_settings
from utrflow.model import search as utrflow_search
from utrflow import resources as utrflow_resources
from utrflow.errors import InputError
from snakemake.exceptions import WorkflowError
from utrflow.yamlio import load_yaml

CONFIG_SOURCE = ", ".join(str(p) for p in workflow.configfiles) or "config"


def stop(error):
    sys.stderr.write(f"utrflow: error: {error}\n")
    sys.exit(1)


try:
    for _file in workflow.configfiles:  # Snakemake's own reading keeps the last of a key twice
        load_yaml(_file)
    _validated = utrflow_config.validate(config, source=CONFIG_SOURCE)
    _reads_setup = utrflow_preflight.check(_validated, Path.cwd(), source=CONFIG_SOURCE)
    utrflow_preflight.check_commands(
        any(m.name == "CONDA" for m in workflow.deployment_settings.deployment_method)
    )
except InputError as _error:
    stop(_error)
config.clear()
config.update(_validated)

# ---- what this run is -----------------------------------------------------------------------
SIMULATED = config["source"] == "simulate"
# simulate.level run: the simulated plates go through the same jobs as real ones.
SIMULATED_RUN = SIMULATED and config["simulate"]["level"] == "run"
# Table-level simulation: the true label of every row is known, so is the noise ceiling.
SIMULATED_TABLE = SIMULATED and not SIMULATED_RUN
READS = config["source"] == "reads" or SIMULATED_RUN
RESOURCES = utrflow_resources.resources(config)  # threads, GPUs, members, search budget
MEMBERS = list(range(RESOURCES.ensemble))
# preset auto: one training job per search candidate, then the contest (select) on validation.
AUTO = config["model"]["preset"] == "auto"
CANDIDATES = [c.name for c in utrflow_search.candidates(config["model"], RESOURCES)]
LEARNING_CURVE = AUTO and config["model"]["search"]["learning_curve"]
WITH_COVARIATES = bool(config["model"]["covariates"])
CROSSVAL = config["split"]["folds"] >= 2
PREDICT = bool(config["predict"]["input"])
# The design works on sequence alone; off with design.n_designs: 0.
DESIGN = config["design"]["n_designs"] > 0 and not WITH_COVARIATES
# Only the hidden truth of the UTR simulation can score designs.
TRUTH_SCORES = SIMULATED and config["simulate"]["kind"] == "utr"

# ---- paths, each named once ------------------------------------------------------------------
ENV = "../envs/utrflow.yaml"
LOGS = "results/logs"
BENCH = "results/benchmarks"
SIMULATED_RUN_DIR = "results/simulated/run"
TRUTH_WELLS = "results/simulated/truth_wells.tsv"
RUN_TRUTH_WELLS = f"{SIMULATED_RUN_DIR}/truth_wells.tsv"
DESIGN_TRUTH = RUN_TRUTH_WELLS if SIMULATED_RUN else TRUTH_WELLS
SIMULATION_SUMMARY = "results/simulated/simulation.json"
LABELLED = "results/table/labelled.tsv"
REPLICATES = "results/table/replicates.tsv"
TABLE_SUMMARY = "results/table/summary.json"
PLATE_QC = "results/table/plate_qc.tsv"
DEMUX_DIR = "results/demux/{group}"
CONSENSUS = "results/consensus/{plate}.tsv"
READINGS_DIR = "results/fluorescence"
READINGS = f"{READINGS_DIR}/{{plate}}.tsv"
READER_SUMMARY = f"{READINGS_DIR}/{{plate}}.json"
ENCODED = {
    "onehot": "results/encode/onehot.npy",
    "split": "results/encode/split.tsv",
    "features": "results/encode/features.json",
}
ENCODED_ARGS = "--onehot {input.onehot:q} --split {input.split:q} --features {input.features:q}"
MEMBER_DIR = "results/model/members/{member}"
CANDIDATE_DIR = "results/model/candidates/{candidate}"
SELECTED = {
    "selected": "results/model/selected.keras",
    "history": "results/model/selected_history.tsv",
    "info": "results/model/selected_training.json",
    "best_cnn": "results/model/best_cnn.keras",
    "top": [f"results/model/top/{i}.keras" for i in range(3)],
    "leaderboard": "results/model/leaderboard.tsv",
    "selection": "results/model/selection.json",
}
LEARNING = "results/model/learning_curve.tsv"
NEXT_ROUND = "results/model/next_round.json"
PLAIN_DIR = "results/model/without_covariates"
MODEL = "results/model/model.keras"
TRAINING = "results/model/training.json"
HISTORY = "results/model/history.tsv"
METRICS = "results/model/metrics.json"
PREDICTIONS = "results/model/predictions.tsv"
CROSSVAL_METRICS = "results/model/crossval.json"
BASELINES = "results/baselines/predictions.tsv"
BASELINE_SUMMARY = "results/baselines/summary.json"
NEW_PREDICTIONS = "results/predict/predictions.tsv"
INTERPRETATION = "results/interpret/interpretation.json"
DESIGNED = {
    "next_library": "results/design/next_library.csv",
    "oligo_order": "results/design/oligo_order.csv",
    "summary": "results/design/summary.json",
}
REPORT = "results/report/report.html"
QC_REPORT = "results/report/qc.html"
MODEL_STATUS = "results/model/status.json"
CONSTRUCT_CHECK = "results/qc/construct_check.json"
# The design's uncertainty: the ensemble's spread from 3 members on, else (auto) the spread of
# the top three contenders of the model contest.
SPREAD = (
    SELECTED["top"]
    if AUTO and len(MEMBERS) < 3
    else expand(f"{MEMBER_DIR}/model.keras", member=MEMBERS)
)

# ---- plates and read groups ------------------------------------------------------------------
READ_GROUPS = {}
PLATE_GROUP = {}
READERS = {}
# plate -> its block in a several-plate reader file ('': the one named like it, or the only one)
READER_PLATES = {}
_WELLS = None
PLATE_WELLS = {}  # plate -> wells in the layout
RUN_LAYOUT = None
# Keys a simulated run decides itself (its sheets, construct and reader maximum), kept apart from
# `config` (which stays what the config files say); SETTINGS, the config with them laid over it,
# is what the jobs read.
DERIVED = {}
if SIMULATED:  # only a simulated run needs the simulator: real runs never import it
    from utrflow.simulate import run as utrflow_simulate_run
    from utrflow.simulate import run_settings as utrflow_run_settings
    from utrflow.sheets import ReadGroup

    try:  # the simulator checks its own settings: the runtime's start-up check never imports it
        _RUN = utrflow_run_settings.from_config(
            {"seed": config["seed"], **config["simulate"]["run"]}, CONFIG_SOURCE
        )
    except InputError as _error:
        stop(_error)
    # Where `simulate_run` writes its reads and reader files: known before it runs.
    RUN_LAYOUT = utrflow_simulate_run.run_layout(_RUN, SIMULATED_RUN_DIR)
    DERIVED = utrflow_simulate_run.derived_settings(
        _RUN,
        SIMULATED_RUN_DIR,
        config["simulate"]["level"],
        config["fluorescence"]["saturated_at"],
    )
SETTINGS = utrflow_config.overlay(config, DERIVED)
if SIMULATED_RUN:
    READ_GROUPS = {
        name: ReadGroup(name, plates, (reads,))
        for name, (plates, reads) in RUN_LAYOUT.groups.items()
    }
    PLATE_GROUP = {plate: name for name, group in READ_GROUPS.items() for plate in group.plates}
    READERS = RUN_LAYOUT.readers
    PLATE_WELLS = dict.fromkeys(PLATE_GROUP, _RUN.plate_format)
elif READS:
    from utrflow import sheets as utrflow_sheets

    for _warning in _reads_setup["warnings"]:  # valid but empty inputs: said once, up front
        sys.stderr.write(f"utrflow: warning: {_warning}\n")
    READ_GROUPS = {group.name: group for group in _reads_setup["groups"]}
    PLATE_GROUP = {plate: group.name for group in _reads_setup["groups"] for plate in group.plates}
    _WELLS = _reads_setup["wells"]
    PLATE_WELLS = collections.Counter(row["plate"] for row in _WELLS)
    READERS = _reads_setup["readers"]
    READER_PLATES = _reads_setup["reader_plates"]


wildcard_constraints:
    group=r"[^/]+",
    plate=r"[^/+]+",


# ---- helpers ---------------------------------------------------------------------------------
def layout_digest(plates):
    """Hash of some plates' wells rows: their jobs rerun when (only) those rows change (a
    simulated run's rows change only with its settings, which its jobs depend on already)."""
    if _WELLS is None:
        return ""
    return utrflow_sheets.layout_digest(_WELLS, tuple(plates))


def cores_for(amount, per_core, most):
    """One core per `per_core` of a job's work, at least one and at most `most` (the config's)."""
    return max(1, min(most, math.ceil(amount / per_core)))


def cores_by_size(most, mb_per_core):
    """A job's cores from its inputs' size (`cores_for`). A small read file's job runs on one
    core, so Snakemake runs several side by side instead of one at a time, each waiting on its
    start-up and its last chunk with cores idle."""

    def cores(wildcards, input):
        try:
            return cores_for(input.size_mb, mb_per_core, most)
        except WorkflowError:  # a dry run before the (simulated) reads exist: the most it may take
            return most

    return cores


def cores_by_wells(most, wells_per_core):
    """A plate job's cores from the plate's wells, its work (`cores_for`)."""
    return lambda wildcards: cores_for(PLATE_WELLS.get(wildcards.plate, 0), wells_per_core, most)


def settings_for(command):
    """The JSON `utrflow COMMAND --params` takes: exactly the config keys the command declares
    it reads (utrflow.settings), so Snakemake reruns a job when, and only when, one of them changes.
    """
    keys = utrflow_settings.declared(command)
    return json.dumps(utrflow_config.select(SETTINGS, keys), sort_keys=True)


def optional_flags(*names):
    """Command-line flags for a rule's optional inputs (`--truth PATH`), from `input` itself:
    an input a source does not have is an empty list there, and gives no flag."""

    def flags(wildcards, input):
        given = []
        for name in names:
            value = getattr(input, name, [])  # absent: a checkpoint not yet done
            files = [value] if isinstance(value, str) else list(value)
            if files:
                flag = f"--{name.replace('_', '-')}"
                given.append(f"{flag} {' '.join(shlex.quote(str(f)) for f in files)}")
        return " ".join(given)

    return flags


def candidate_settings(wildcards):
    """preset auto: one search candidate's settings, as `utrflow train` reads them (its job
    reruns when, and only when, they change)."""
    chosen = {
        "seed": config["seed"],
        "model": utrflow_search.candidate_settings(config["model"], wildcards.candidate),
    }
    keys = utrflow_settings.declared("train")
    return json.dumps(utrflow_config.select(chosen, keys), sort_keys=True)


# ---- the model's go/no-go (the model_status checkpoint) and what the report reads of it ----


def model_runs():
    """Whether the model stages run: the model_status checkpoint's verdict on the table."""
    with open(checkpoints.model_status.get().output.status, encoding="utf-8") as handle:
        return json.load(handle)["status"] == "ok"


MODEL_FLAGS = [
    "split",
    "metrics",
    "predictions",
    "history",
    "training",
    "interpretation",
    "crossval",
    "designs",
    "design_summary",
    "leaderboard",
    "learning_curve",
    "next_round",
]


def model_report_inputs(wildcards):
    """The model's outputs for the report when the model stages run (the model_status
    checkpoint); every name is there either way, empty when the model did not run."""
    if not model_runs():
        return {name: [] for name in MODEL_FLAGS}
    return {
        "split": ENCODED["split"],
        "metrics": METRICS,
        "predictions": PREDICTIONS,
        "history": HISTORY,
        "training": TRAINING,
        "interpretation": INTERPRETATION,
        "crossval": CROSSVAL_METRICS if CROSSVAL else [],
        "designs": DESIGNED["next_library"] if DESIGN else [],
        "design_summary": DESIGNED["summary"] if DESIGN else [],
        "leaderboard": SELECTED["leaderboard"] if AUTO else [],
        "learning_curve": LEARNING if LEARNING_CURVE else [],
        "next_round": NEXT_ROUND if LEARNING_CURVE else [],
    }


def model_targets(wildcards):
    """What `all` asks of the model stages: nothing when they cannot run (the report says why)."""
    if not model_runs():
        return []
    return [
        METRICS,
        PREDICTIONS,
        *([CROSSVAL_METRICS] if CROSSVAL else []),
        *([NEW_PREDICTIONS] if PREDICT else []),
        *(list(DESIGNED.values()) if DESIGN else []),
    ]
