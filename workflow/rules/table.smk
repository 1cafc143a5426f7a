# With a table the user already has (source: table): bring it into the labelled-table format.


if config["source"] == "table":

    rule import_table:
        input:
            table=config["table"],
        output:
            labelled="results/table/labelled.tsv",
        params:
            settings=settings("table"),
        log:
            f"{LOGS}/import_table.log",
        benchmark:
            f"{BENCH}/import_table.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=15,
        conda:
            ENV
        shell:
            "utrflow import-table --params {params.settings:q} --input {input.table}"
            " --labelled {output.labelled} > {log} 2>&1"
