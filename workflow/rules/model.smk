# Labelled table -> one-hot + split -> CNN members (scattered), ensemble, baselines -> metrics.

MEMBERS = list(range(config["model"]["ensemble"]))
# preset auto: one training job per search candidate, then the contest (select) on validation.
AUTO = config["model"]["preset"] == "auto"
CANDIDATES = [c.name for c in utrflow_search.candidates(config["model"])]
LEARNING_CURVE = AUTO and config["model"]["search"]["learning_curve"]
SELECTED = {
    "selected": "results/model/selected.keras",
    "history": "results/model/selected_history.tsv",
    "info": "results/model/selected_training.json",
    "best_cnn": "results/model/best_cnn.keras",
    "top": [f"results/model/top/{i}.keras" for i in range(3)],
    "leaderboard": "results/model/leaderboard.tsv",
    "selection": "results/model/selection.json",
}
BASELINE_SUMMARY = "results/baselines/summary.json"
# What the contest, the learning curve and the members under auto depend on: the model settings
# (not the ensemble size, nor the GPU request) and the baselines they refit.
AUTO_SETTINGS = settings(
    "seed", "baselines", model=[k for k in config["model"] if k not in ("ensemble", "gpus")]
)
WITH_COVARIATES = bool(config["model"]["covariates"])
CROSSVAL = config["split"]["folds"] >= 2
PREDICT = bool(config["predict"]["input"])
# What one member's training depends on: not the ensemble size, nor the GPU request.
MEMBER_SETTINGS = settings(
    "seed", model=[k for k in config["model"] if k not in ("ensemble", "gpus")]
)
ENCODED = {
    "onehot": "results/encode/onehot.npy",
    "split": "results/encode/split.tsv",
    "features": "results/encode/features.json",
}
ENCODED_ARGS = "--onehot {input.onehot} --split {input.split} --features {input.features}"


rule encode:
    input:
        table="results/table/labelled.tsv",
    output:
        **ENCODED,
    params:
        settings=settings("seed", "encode", "split", model=["covariates", "task"]),
    log:
        f"{LOGS}/encode.log",
    benchmark:
        f"{BENCH}/encode.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "utrflow encode --params {params.settings:q} --table {input.table}"
        " --onehot {output.onehot} --split {output.split} --features {output.features}"
        " > {log} 2>&1"


rule candidate:
    input:
        **ENCODED,
    output:
        model="results/model/candidates/{candidate}/model.keras",
        history="results/model/candidates/{candidate}/history.tsv",
        info="results/model/candidates/{candidate}/training.json",
    wildcard_constraints:
        candidate="|".join(CANDIDATES) or "no_candidates",
    params:
        settings=candidate_settings,
    log:
        f"{LOGS}/candidate_{{candidate}}.log",
    benchmark:
        f"{BENCH}/candidate_{{candidate}}.tsv"
    threads: 8
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        "utrflow train --params {params.settings:q} --threads {threads}"
        f" --candidate {{wildcards.candidate}} {ENCODED_ARGS}"
        " --model {output.model} --history {output.history} --info {output.info} > {log} 2>&1"


rule select:
    input:
        **ENCODED,
        models=expand(rules.candidate.output.model, candidate=CANDIDATES),
        infos=expand(rules.candidate.output.info, candidate=CANDIDATES),
        histories=expand(rules.candidate.output.history, candidate=CANDIDATES),
        baselines="results/baselines/predictions.tsv",
        baseline_summary=BASELINE_SUMMARY,
    output:
        **SELECTED,
    params:
        settings=AUTO_SETTINGS,
    log:
        f"{LOGS}/select.log",
    benchmark:
        f"{BENCH}/select.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        ENV
    shell:
        f"utrflow select --params {{params.settings:q}} {ENCODED_ARGS}"
        " --models {input.models} --infos {input.infos} --histories {input.histories}"
        " --baselines {input.baselines} --baseline-summary {input.baseline_summary}"
        " --out-dir results/model > {log} 2>&1"


rule learning_curve:
    input:
        **ENCODED,
        selection=SELECTED["selection"],
        top=SELECTED["top"][0],
        table_summary=TABLE_SUMMARY if READS else [],
    output:
        curve="results/model/learning_curve.tsv",
        summary="results/model/next_round.json",
    params:
        settings=AUTO_SETTINGS,
        table_summary=optional_input("--table-summary", TABLE_SUMMARY, READS),
    log:
        f"{LOGS}/learning_curve.log",
    benchmark:
        f"{BENCH}/learning_curve.tsv"
    threads: 8
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        "utrflow learning-curve --params {params.settings:q} --threads {threads}"
        f" {ENCODED_ARGS} --selection {{input.selection}} --top-model {{input.top}}"
        " {params.table_summary}"
        " --output {output.curve} --summary {output.summary} > {log} 2>&1"


# Under auto the members are seeds of the selected model (member 0: the selected model itself).
AUTO_MEMBER = {
    "selection": SELECTED["selection"],
    "selected": SELECTED["selected"],
    "selected_history": SELECTED["history"],
    "selected_info": SELECTED["info"],
} if AUTO else {}
AUTO_MEMBER_ARGS = (
    " --selection {input.selection} --selected {input.selected}"
    " --selected-history {input.selected_history} --selected-info {input.selected_info}"
    if AUTO
    else ""
)


rule train:
    input:
        **ENCODED,
        **AUTO_MEMBER,
    output:
        model="results/model/members/{member}/model.keras",
        history="results/model/members/{member}/history.tsv",
        info="results/model/members/{member}/training.json",
    wildcard_constraints:
        member=r"\d+",
    params:
        settings=(
            AUTO_SETTINGS
            if AUTO
            else MEMBER_SETTINGS
        ),
    log:
        f"{LOGS}/train_member{{member}}.log",
    benchmark:
        f"{BENCH}/train_member{{member}}.tsv"
    threads: 8  # capped at --cores locally; training scales with cores when there is no GPU
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        "utrflow train --params {params.settings:q} --threads {threads} --member {wildcards.member}"
        f" {ENCODED_ARGS}{AUTO_MEMBER_ARGS}"
        " --model {output.model} --history {output.history} --info {output.info} > {log} 2>&1"


rule train_without_covariates:
    input:
        **ENCODED,
    output:
        model="results/model/without_covariates/model.keras",
        history="results/model/without_covariates/history.tsv",
        info="results/model/without_covariates/training.json",
    params:
        settings=MEMBER_SETTINGS,
    log:
        f"{LOGS}/train_without_covariates.log",
    benchmark:
        f"{BENCH}/train_without_covariates.tsv"
    threads: 8
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        "utrflow train --params {params.settings:q} --threads {threads} --without-covariates"
        f" {ENCODED_ARGS}"
        " --model {output.model} --history {output.history} --info {output.info} > {log} 2>&1"


rule ensemble:
    input:
        models=expand(rules.train.output.model, member=MEMBERS),
        infos=expand(rules.train.output.info, member=MEMBERS),
        histories=expand(rules.train.output.history, member=MEMBERS),
    output:
        model="results/model/model.keras",
        info="results/model/training.json",
        history="results/model/history.tsv",
    log:
        f"{LOGS}/ensemble.log",
    benchmark:
        f"{BENCH}/ensemble.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        ENV
    shell:
        "utrflow ensemble --members {input.models} --infos {input.infos}"
        " --histories {input.histories} --model {output.model} --info {output.info}"
        " --history {output.history} > {log} 2>&1"


rule baselines:
    input:
        **ENCODED,
    output:
        predictions="results/baselines/predictions.tsv",
        summary=BASELINE_SUMMARY,
    params:
        settings=settings("seed", "baselines", model=["covariates", "task"]),
    log:
        f"{LOGS}/baselines.log",
    benchmark:
        f"{BENCH}/baselines.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        ENV
    shell:
        f"utrflow baselines --params {{params.settings:q}} {ENCODED_ARGS}"
        " --predictions {output.predictions} --summary {output.summary} > {log} 2>&1"


rule evaluate:
    input:
        **ENCODED,
        model=rules.ensemble.output.model,
        members=expand(rules.train.output.model, member=MEMBERS),
        without_covariates=(
            rules.train_without_covariates.output.model if WITH_COVARIATES else []
        ),
        baselines=rules.baselines.output.predictions,
        truth=TRUTH_WELLS if SIMULATED_TABLE else [],
        table_summary=TABLE_SUMMARY if READS else [],
        selection=SELECTED["selection"] if AUTO else [],
    output:
        metrics=report(
            "results/model/metrics.json",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        predictions="results/model/predictions.tsv",
    params:
        settings=settings(model=["task", "threshold"]),
        truth=optional_input("--truth", TRUTH_WELLS),
        table_summary=optional_input("--table-summary", TABLE_SUMMARY, READS),
        selection=optional_input("--selection", SELECTED["selection"], AUTO),
        without_covariates=(
            "--without-covariates results/model/without_covariates/model.keras"
            if WITH_COVARIATES
            else ""
        ),
    log:
        f"{LOGS}/evaluate.log",
    benchmark:
        f"{BENCH}/evaluate.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        f"utrflow evaluate --params {{params.settings:q}} {ENCODED_ARGS}"
        " --model {input.model} --members {input.members} {params.without_covariates}"
        " --baselines {input.baselines} {params.truth} {params.table_summary} {params.selection}"
        " --metrics {output.metrics} --predictions {output.predictions} > {log} 2>&1"


rule crossval:
    input:
        **ENCODED,
    output:
        metrics="results/model/crossval.json",
    params:
        settings=MEMBER_SETTINGS,
    log:
        f"{LOGS}/crossval.log",
    benchmark:
        f"{BENCH}/crossval.tsv"
    threads: 8
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        f"utrflow crossval --params {{params.settings:q}} --threads {{threads}} {ENCODED_ARGS}"
        " --output {output.metrics} > {log} 2>&1"


rule predict:
    input:
        sequences=config["predict"]["input"] or [],
        members=expand(rules.train.output.model, member=MEMBERS),
    output:
        predictions="results/predict/predictions.tsv",
    log:
        f"{LOGS}/predict.log",
    benchmark:
        f"{BENCH}/predict.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "utrflow predict --input {input.sequences} --members {input.members}"
        " --output {output.predictions} > {log} 2>&1"
