# Without real data: simulate the labelled table from a hidden ground truth (kept beside it).


if SIMULATED:

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
