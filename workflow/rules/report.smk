# Everything the run produced -> one self-contained HTML report; and a QC-only report (reads,
# wells, plates, checks) for the first look at new data, before any model job.

# The construct check's findings, when a rule of the workflow writes them (the Checks section).
CONSTRUCT_CHECKED = any(CONSTRUCT_CHECK in [str(f) for f in r.output] for r in workflow.rules)

# What the reports read besides the model: the table, its plates, the read funnels, the checks.
QC_INPUTS = {
    "table": LABELLED,
    "simulation": SIMULATION_SUMMARY if SIMULATED_TABLE else [],
    "plate_qc": PLATE_QC if READS else [],
    "table_summary": TABLE_SUMMARY if READS else [],
    "funnels": expand(f"{DEMUX_DIR}/funnel.json", group=list(READ_GROUPS)),
    "construct_check": CONSTRUCT_CHECK if CONSTRUCT_CHECKED else [],
}
QC_FLAGS = ["simulation", "plate_qc", "table_summary", "funnels", "construct_check"]


rule report:
    input:
        unpack(model_report_inputs),
        **QC_INPUTS,
        model_status=MODEL_STATUS,
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
        benchmarks=BENCH,
        optional=optional_flags(*QC_FLAGS, *MODEL_FLAGS),
    shell:
        "utrflow report --params {params.settings:q} --table {input.table:q}"
        " --model-status {input.model_status:q} --benchmarks {params.benchmarks:q}"
        " {params.optional} --output {output.html:q} > {log:q} 2>&1"


rule report_qc:
    input:
        **QC_INPUTS,
    output:
        html=QC_REPORT,
    log:
        f"{LOGS}/report_qc.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=settings_for("report-qc"),
        benchmarks=BENCH,
        optional=optional_flags(*QC_FLAGS),
    shell:
        "utrflow report-qc --params {params.settings:q} --table {input.table:q}"
        " --benchmarks {params.benchmarks:q} {params.optional} --output {output.html:q} > {log:q} 2>&1"
