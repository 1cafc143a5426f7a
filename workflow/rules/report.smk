# Everything the run produced -> one self-contained HTML report.


rule report:
    input:
        table="results/table/labelled.tsv",
        split=rules.encode.output.split,
        metrics=rules.evaluate.output.metrics,
        predictions=rules.evaluate.output.predictions,
        history=rules.ensemble.output.history,
        training=rules.ensemble.output.info,
        simulation=SIMULATION_SUMMARY if SIMULATED else [],
        crossval=rules.crossval.output.metrics if CROSSVAL else [],
    output:
        html=report(
            "results/report/report.html",
            caption="../report/evaluation.rst",
            category="Evaluation",
        ),
    params:
        settings=settings(*config),
        simulation=optional_input("--simulation", SIMULATION_SUMMARY),
        crossval="--crossval results/model/crossval.json" if CROSSVAL else "",
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{BENCH}/report.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    conda:
        ENV
    shell:
        "utrflow report --params {params.settings:q} --table {input.table} --split {input.split}"
        " --metrics {input.metrics} --predictions {input.predictions} --history {input.history}"
        " --training {input.training} {params.simulation} {params.crossval} --output {output.html} > {log} 2>&1"
