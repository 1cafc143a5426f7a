# Without real data: simulate the labelled table from a hidden ground truth (kept beside it).


if SIMULATED_TABLE:

    rule simulate_table:
        output:
            labelled="results/table/labelled.tsv",
            truth=TRUTH_WELLS,
            summary=SIMULATION_SUMMARY,
        params:
            settings=settings("seed", "simulate"),
        log:
            f"{LOGS}/simulate_table.log",
        benchmark:
            f"{BENCH}/simulate_table.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=15,
        conda:
            ENV
        shell:
            "utrflow simulate-table --params {params.settings:q} --labelled {output.labelled}"
            " --truth {output.truth} --summary {output.summary} > {log} 2>&1"


# The whole wet-lab run (plates, reader files, nanopore reads, truth): the input of the reads
# pipeline with simulate.level run, or on its own with `snakemake simulate_run`.
if SIMULATED:

    rule simulate_run:
        output:
            summary="results/simulated/run/summary.json",
            plates="results/simulated/run/plates.tsv",
            wells="results/simulated/run/wells.tsv",
            library="results/simulated/run/library.csv",
            construct="results/simulated/run/construct.yaml",
            truth_reads="results/simulated/run/truth_reads.tsv.gz",
            truth_wells="results/simulated/run/truth_wells.tsv",
            reads=[reads for _plates, reads in RUN_LAYOUT.groups.values()],
            readers=list(RUN_LAYOUT.readers.values()),
        params:
            settings=settings("seed", simulate=["run"]),
            out_dir=lambda wildcards, output: Path(output.summary).parent,
        log:
            f"{LOGS}/simulate_run.log",
        benchmark:
            f"{BENCH}/simulate_run.tsv"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        conda:
            ENV
        shell:
            "utrflow simulate-run --params {params.settings:q} --out-dir {params.out_dir} > {log} 2>&1"
