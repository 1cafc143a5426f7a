# Everything the run produced -> one self-contained HTML report.


rule report:
    input:
        table="results/table/labelled.tsv",
        split=rules.encode.output.split,
        metrics=rules.evaluate.output.metrics,
        predictions=rules.evaluate.output.predictions,
        history=rules.ensemble.output.history,
        training=rules.ensemble.output.info,
        simulation=SIMULATION_SUMMARY if SIMULATED_TABLE else [],
        crossval=rules.crossval.output.metrics if CROSSVAL else [],
        plate_qc=PLATE_QC if READS else [],
        table_summary=TABLE_SUMMARY if READS else [],
        funnels=expand("results/demux/{group}/funnel.json", group=list(READ_GROUPS)),
        design=list(DESIGNED.values()) if DESIGN else [],
        interpretation=INTERPRETATION,
        leaderboard=SELECTED["leaderboard"] if AUTO else [],
        curve=rules.learning_curve.output.curve if LEARNING_CURVE else [],
        next_round=rules.learning_curve.output.summary if LEARNING_CURVE else [],
    output:
        html=report(
            "results/report/report.html",
            caption="../report/evaluation.rst",
            category="Evaluation",
        ),
    params:
        settings=settings(*config),
        simulation=optional_input("--simulation", SIMULATION_SUMMARY),
        crossval=optional_input("--crossval", "results/model/crossval.json", CROSSVAL),
        plates=optional_input(f"--plate-qc {PLATE_QC} --table-summary", TABLE_SUMMARY, READS),
        leaderboard=optional_input("--leaderboard", SELECTED["leaderboard"], AUTO),
        curve=optional_input(
            "--learning-curve results/model/learning_curve.tsv --next-round",
            "results/model/next_round.json",
            LEARNING_CURVE,
        ),
        design=optional_input(
            f"--designs {DESIGNED['next_library']} --design-summary", DESIGNED["summary"], DESIGN
        ),
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
        " --training {input.training} --interpretation {input.interpretation}"
        " {params.simulation} {params.crossval} {params.plates}"
        " {params.design} {params.leaderboard} {params.curve} --funnels {input.funnels}"
        " --output {output.html} > {log} 2>&1"
