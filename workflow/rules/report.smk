# Everything the run produced -> one self-contained HTML report.


rule report:
    input:
        table=LABELLED,
        split=rules.encode.output.split,
        metrics=rules.evaluate.output.metrics,
        predictions=rules.evaluate.output.predictions,
        history=rules.ensemble.output.history,
        training=rules.ensemble.output.info,
        interpretation=rules.interpret.output.interpretation,
        simulation=SIMULATION_SUMMARY if SIMULATED_TABLE else [],
        crossval=CROSSVAL_METRICS if CROSSVAL else [],
        plate_qc=PLATE_QC if READS else [],
        table_summary=TABLE_SUMMARY if READS else [],
        funnels=expand(f"{DEMUX_DIR}/funnel.json", group=list(READ_GROUPS)),
        designs=DESIGNED["next_library"] if DESIGN else [],
        design_summary=DESIGNED["summary"] if DESIGN else [],
        leaderboard=SELECTED["leaderboard"] if AUTO else [],
        learning_curve=LEARNING if LEARNING_CURVE else [],
        next_round=NEXT_ROUND if LEARNING_CURVE else [],
    output:
        html=report(
            REPORT,
            caption="../report/evaluation.rst",
            category="Evaluation",
        ),
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{BENCH}/report.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=settings_for("report"),
        optional=optional_flags(
            "simulation",
            "crossval",
            "plate_qc",
            "table_summary",
            "funnels",
            "designs",
            "design_summary",
            "leaderboard",
            "learning_curve",
            "next_round",
        ),
    shell:
        "utrflow report --params {params.settings:q} --table {input.table:q} --split {input.split:q}"
        " --metrics {input.metrics:q} --predictions {input.predictions:q} --history {input.history:q}"
        " --training {input.training:q} --interpretation {input.interpretation:q}"
        " {params.optional} --output {output.html:q} > {log:q} 2>&1"
