# Labelled table -> model status (a checkpoint: a pilot plate too small to train on ends the run
# with its QC and a report saying why) -> one-hot + split -> CNN members (scattered), ensemble, baselines -> metrics.
# With model.preset auto: one job per search candidate, the contest (select) on validation with
# the baselines in it, the members as seeds of the selected model, and the learning curve.


checkpoint model_status:
    input:
        table=LABELLED,
        library=SETTINGS["library"] or [],
    output:
        status=MODEL_STATUS,
    log:
        f"{LOGS}/model_status.log",
    benchmark:
        f"{BENCH}/model_status.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=settings_for("model-status"),
        library=optional_flags("library"),
    shell:
        "utrflow model-status --params {params.settings:q} --table {input.table:q}"
        " {params.library} --output {output.status:q} > {log:q} 2>&1"


rule encode:
    input:
        table=LABELLED,
    output:
        **ENCODED,
    log:
        f"{LOGS}/encode.log",
    benchmark:
        f"{BENCH}/encode.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings_for("encode"),
    shell:
        "utrflow encode --params {params.settings:q} --table {input.table:q}"
        " --onehot {output.onehot:q} --split {output.split:q} --features {output.features:q}"
        " > {log:q} 2>&1"


rule candidate:
    input:
        **ENCODED,
    output:
        model=f"{CANDIDATE_DIR}/model.keras",
        history=f"{CANDIDATE_DIR}/history.tsv",
        info=f"{CANDIDATE_DIR}/training.json",
    log:
        f"{LOGS}/candidate_{{candidate}}.log",
    benchmark:
        f"{BENCH}/candidate_{{candidate}}.tsv"
    wildcard_constraints:
        candidate="|".join(CANDIDATES) or "no_candidates",
    conda:
        ENV
    threads: 8
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=RESOURCES.gpus,
    params:
        settings=candidate_settings,
    shell:
        "utrflow train --params {params.settings:q} --threads {threads}"
        f" --candidate {{wildcards.candidate}} {ENCODED_ARGS}"
        " --model {output.model:q} --history {output.history:q} --info {output.info:q} > {log:q} 2>&1"


rule select:
    input:
        **ENCODED,
        models=expand(rules.candidate.output.model, candidate=CANDIDATES),
        infos=expand(rules.candidate.output.info, candidate=CANDIDATES),
        histories=expand(rules.candidate.output.history, candidate=CANDIDATES),
        baselines=BASELINES,
        baseline_summary=BASELINE_SUMMARY,
    output:
        **SELECTED,
    log:
        f"{LOGS}/select.log",
    benchmark:
        f"{BENCH}/select.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        settings=settings_for("select"),
        out_dir=lambda wildcards, output: Path(output.selection).parent,
    shell:
        f"utrflow select --params {{params.settings:q}} {ENCODED_ARGS}"
        " --models {input.models:q} --infos {input.infos:q} --histories {input.histories:q}"
        " --baselines {input.baselines:q} --baseline-summary {input.baseline_summary:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule learning_curve:
    input:
        **ENCODED,
        selection=SELECTED["selection"],
        top_model=SELECTED["top"][0],
        table_summary=TABLE_SUMMARY if READS else [],
    output:
        curve=LEARNING,
        summary=NEXT_ROUND,
    log:
        f"{LOGS}/learning_curve.log",
    benchmark:
        f"{BENCH}/learning_curve.tsv"
    conda:
        ENV
    threads: 8
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=RESOURCES.gpus,
    params:
        settings=settings_for("learning-curve"),
        optional=optional_flags("table_summary"),
    shell:
        "utrflow learning-curve --params {params.settings:q} --threads {threads}"
        f" {ENCODED_ARGS} --selection {{input.selection:q}} --top-model {{input.top_model:q}}"
        " {params.optional} --output {output.curve:q} --summary {output.summary:q} > {log:q} 2>&1"


if AUTO:

    # Under auto the members are seeds of the selected model (member 0: the selected model).
    rule train:
        input:
            **ENCODED,
            selection=SELECTED["selection"],
            selected=SELECTED["selected"],
            selected_history=SELECTED["history"],
            selected_info=SELECTED["info"],
        output:
            model=f"{MEMBER_DIR}/model.keras",
            history=f"{MEMBER_DIR}/history.tsv",
            info=f"{MEMBER_DIR}/training.json",
        log:
            f"{LOGS}/train_member{{member}}.log",
        benchmark:
            f"{BENCH}/train_member{{member}}.tsv"
        wildcard_constraints:
            member=r"\d+",
        conda:
            ENV
        threads: 8
        resources:
            mem_mb=8000,
            runtime=240,
            gpu=RESOURCES.gpus,
        params:
            settings=settings_for("train-selected"),
        shell:
            "utrflow train-selected --params {params.settings:q} --threads {threads}"
            f" --member {{wildcards.member}} {ENCODED_ARGS}"
            " --selection {input.selection:q} --selected {input.selected:q}"
            " --selected-history {input.selected_history:q} --selected-info {input.selected_info:q}"
            " --model {output.model:q} --history {output.history:q} --info {output.info:q} > {log:q} 2>&1"

else:

    rule train:
        input:
            **ENCODED,
        output:
            model=f"{MEMBER_DIR}/model.keras",
            history=f"{MEMBER_DIR}/history.tsv",
            info=f"{MEMBER_DIR}/training.json",
        log:
            f"{LOGS}/train_member{{member}}.log",
        benchmark:
            f"{BENCH}/train_member{{member}}.tsv"
        wildcard_constraints:
            member=r"\d+",
        conda:
            ENV
        threads: 8  # capped at --cores locally; training scales with cores when there is no GPU
        resources:
            mem_mb=8000,
            runtime=240,
            gpu=RESOURCES.gpus,
        params:
            settings=settings_for("train"),
        shell:
            "utrflow train --params {params.settings:q} --threads {threads}"
            f" --member {{wildcards.member}} {ENCODED_ARGS}"
            " --model {output.model:q} --history {output.history:q} --info {output.info:q} > {log:q} 2>&1"


rule train_without_covariates:
    input:
        **ENCODED,
    output:
        model=f"{PLAIN_DIR}/model.keras",
        history=f"{PLAIN_DIR}/history.tsv",
        info=f"{PLAIN_DIR}/training.json",
    log:
        f"{LOGS}/train_without_covariates.log",
    benchmark:
        f"{BENCH}/train_without_covariates.tsv"
    conda:
        ENV
    threads: 8
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=RESOURCES.gpus,
    params:
        settings=settings_for("train"),
    shell:
        "utrflow train --params {params.settings:q} --threads {threads} --without-covariates"
        f" {ENCODED_ARGS}"
        " --model {output.model:q} --history {output.history:q} --info {output.info:q} > {log:q} 2>&1"


rule ensemble:
    input:
        models=expand(rules.train.output.model, member=MEMBERS),
        infos=expand(rules.train.output.info, member=MEMBERS),
        histories=expand(rules.train.output.history, member=MEMBERS),
    output:
        model=MODEL,
        info=TRAINING,
        history=HISTORY,
    log:
        f"{LOGS}/ensemble.log",
    benchmark:
        f"{BENCH}/ensemble.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    shell:
        "utrflow ensemble --members {input.models:q} --infos {input.infos:q}"
        " --histories {input.histories:q} --model {output.model:q} --info {output.info:q}"
        " --history {output.history:q} > {log:q} 2>&1"


rule baselines:
    input:
        **ENCODED,
    output:
        predictions=BASELINES,
        summary=BASELINE_SUMMARY,
    log:
        f"{LOGS}/baselines.log",
    benchmark:
        f"{BENCH}/baselines.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=settings_for("baselines"),
    shell:
        f"utrflow baselines --params {{params.settings:q}} {ENCODED_ARGS}"
        " --predictions {output.predictions:q} --summary {output.summary:q} > {log:q} 2>&1"


rule evaluate:
    input:
        **ENCODED,
        model=rules.ensemble.output.model,
        members=expand(rules.train.output.model, member=MEMBERS),
        without_covariates=(rules.train_without_covariates.output.model if WITH_COVARIATES else []),
        baselines=rules.baselines.output.predictions,
        truth=TRUTH_WELLS if SIMULATED_TABLE else [],
        table_summary=TABLE_SUMMARY if READS else [],
        selection=SELECTED["selection"] if AUTO else [],
        spread=SPREAD,
    output:
        metrics=report(
            METRICS,
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        predictions=PREDICTIONS,
    log:
        f"{LOGS}/evaluate.log",
    benchmark:
        f"{BENCH}/evaluate.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=settings_for("evaluate"),
        optional=optional_flags(
            "without_covariates", "truth", "table_summary", "selection", "spread"
        ),
    shell:
        f"utrflow evaluate --params {{params.settings:q}} {ENCODED_ARGS}"
        " --model {input.model:q} --members {input.members:q} {params.optional}"
        " --baselines {input.baselines:q}"
        " --metrics {output.metrics:q} --predictions {output.predictions:q} > {log:q} 2>&1"


rule crossval:
    input:
        **ENCODED,
    output:
        metrics=CROSSVAL_METRICS,
    log:
        f"{LOGS}/crossval.log",
    benchmark:
        f"{BENCH}/crossval.tsv"
    conda:
        ENV
    threads: 8
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=RESOURCES.gpus,
    params:
        settings=settings_for("crossval"),
    shell:
        f"utrflow crossval --params {{params.settings:q}} --threads {{threads}} {ENCODED_ARGS}"
        " --output {output.metrics:q} > {log:q} 2>&1"


rule predict:
    input:
        sequences=config["predict"]["input"] or [],
        members=expand(rules.train.output.model, member=MEMBERS),
    output:
        predictions=NEW_PREDICTIONS,
    log:
        f"{LOGS}/predict.log",
    benchmark:
        f"{BENCH}/predict.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "utrflow predict --input {input.sequences:q} --members {input.members:q}"
        " --output {output.predictions:q} > {log:q} 2>&1"
