# With a table the user already has (source: table): bring it into the labelled-table format.


if config["source"] == "table":

    rule import_table:
        input:
            table=config["table"],
        output:
            labelled=LABELLED,
        log:
            f"{LOGS}/import_table.log",
        benchmark:
            f"{BENCH}/import_table.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=15,
        shell:
            "utrflow import-table --input {input.table:q}"
            " --labelled {output.labelled:q} > {log:q} 2>&1"
