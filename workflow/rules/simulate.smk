# Without real data: simulate the labelled table from a hidden ground truth (kept beside it).


if SIMULATED_TABLE:

    rule simulate_table:
        output:
            labelled=LABELLED,
            truth=TRUTH_WELLS,
            summary=SIMULATION_SUMMARY,
        log:
            f"{LOGS}/simulate_table.log",
        benchmark:
            f"{BENCH}/simulate_table.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=15,
        params:
            settings=settings_for("simulate-table"),
        shell:
            "utrflow simulate-table --params {params.settings:q} --labelled {output.labelled:q}"
            " --truth {output.truth:q} --summary {output.summary:q} > {log:q} 2>&1"


# The whole wet-lab run (plates, reader files, nanopore reads, truth): the input of the reads
# pipeline with simulate.level run, or on its own with `snakemake simulate_run`.
if SIMULATED:

    rule simulate_run:
        output:
            summary=f"{SIMULATED_RUN_DIR}/summary.json",
            plates=f"{SIMULATED_RUN_DIR}/plates.tsv",
            wells=f"{SIMULATED_RUN_DIR}/wells.tsv",
            library=f"{SIMULATED_RUN_DIR}/library.csv",
            construct=f"{SIMULATED_RUN_DIR}/construct.yaml",
            truth_reads=f"{SIMULATED_RUN_DIR}/truth_reads.tsv.gz",
            truth_wells=f"{SIMULATED_RUN_DIR}/truth_wells.tsv",
            reads=[reads for _plates, reads in RUN_LAYOUT.groups.values()],
            readers=list(RUN_LAYOUT.readers.values()),
        log:
            f"{LOGS}/simulate_run.log",
        benchmark:
            f"{BENCH}/simulate_run.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            settings=settings_for("simulate-run"),
            out_dir=lambda wildcards, output: Path(output.summary).parent,
        shell:
            "utrflow simulate-run --params {params.settings:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"
