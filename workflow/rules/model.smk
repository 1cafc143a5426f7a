# Labelled table -> one-hot + split -> CNN and baselines -> metrics and predictions.


rule encode:
    input:
        table="results/table/labelled.tsv",
    output:
        onehot="results/encode/onehot.npy",
        labels="results/encode/labels.npy",
        split="results/encode/split.tsv",
    params:
        settings=settings("seed", "encode", "split"),
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
        " --onehot {output.onehot} --labels {output.labels} --split {output.split} > {log} 2>&1"


rule train:
    input:
        onehot=rules.encode.output.onehot,
        labels=rules.encode.output.labels,
        split=rules.encode.output.split,
    output:
        model="results/model/model.keras",
        scaler="results/model/scaler.json",
        history="results/model/history.tsv",
        info="results/model/training.json",
    params:
        settings=settings("seed", "model"),
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCH}/train.tsv"
    threads: 8  # capped at --cores locally; training scales with cores when there is no GPU
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=config["model"]["gpus"],
    conda:
        ENV
    shell:
        "utrflow train --params {params.settings:q} --threads {threads}"
        " --onehot {input.onehot} --labels {input.labels} --split {input.split}"
        " --model {output.model} --scaler {output.scaler} --history {output.history}"
        " --info {output.info} > {log} 2>&1"


rule baselines:
    input:
        split=rules.encode.output.split,
    output:
        predictions="results/baselines/predictions.tsv",
    params:
        settings=settings("baselines"),
    log:
        f"{LOGS}/baselines.log",
    benchmark:
        f"{BENCH}/baselines.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        ENV
    shell:
        "utrflow baselines --params {params.settings:q} --split {input.split}"
        " --predictions {output.predictions} > {log} 2>&1"


rule evaluate:
    input:
        model=rules.train.output.model,
        scaler=rules.train.output.scaler,
        onehot=rules.encode.output.onehot,
        split=rules.encode.output.split,
        baselines=rules.baselines.output.predictions,
        truth=TRUTH_WELLS if SIMULATED else [],
    output:
        metrics=report(
            "results/model/metrics.json",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        predictions="results/model/predictions.tsv",
    params:
        truth=optional_input("--truth", TRUTH_WELLS),
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
        "utrflow evaluate --model {input.model} --scaler {input.scaler} --onehot {input.onehot}"
        " --split {input.split} --baselines {input.baselines} {params.truth}"
        " --metrics {output.metrics} --predictions {output.predictions} > {log} 2>&1"
