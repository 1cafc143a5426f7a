# Reads -> wells, scattered per read group (a plate, or plates pooled in the same files), so a new
# plate runs only its own jobs. The sheets are `ancient`: a group reruns when its own rows change
# (the layout digest param), not whenever someone edits another plate's rows.


if READS:

    rule demux:
        input:
            files=lambda wildcards: READ_GROUPS[wildcards.group].files,
            plates=ancient(config["plates"]),
            wells=ancient(config["wells"]),
        output:
            assignments="results/demux/{group}/assignments.tsv.gz",
            regions="results/demux/{group}/regions.tsv.gz",
            counts="results/demux/{group}/well_counts.tsv",
            funnel="results/demux/{group}/funnel.json",
        params:
            settings=settings("construct", "demux"),
            layout=lambda wildcards: layout_digest(READ_GROUPS[wildcards.group].plates),
            out_dir=lambda wildcards, output: Path(output.funnel).parent,
        log:
            f"{LOGS}/demux/{{group}}.log",
        benchmark:
            f"{BENCH}/demux/{{group}}.tsv"
        threads: config["demux"]["threads"]
        resources:
            mem_mb=lambda wildcards, threads: 1000 + 500 * threads,
            runtime=120,
        conda:
            ENV
        shell:
            "utrflow demux --params {params.settings:q} --plates {input.plates:q}"
            " --wells {input.wells:q} --group {wildcards.group:q} --out-dir {params.out_dir:q}"
            " --threads {threads} > {log} 2>&1"

    rule consensus:
        input:
            regions=lambda wildcards: f"results/demux/{PLATE_GROUP[wildcards.plate]}/regions.tsv.gz",
            counts=lambda wildcards: f"results/demux/{PLATE_GROUP[wildcards.plate]}/well_counts.tsv",
            library=config["library"] or [],
        output:
            table="results/consensus/{plate}.tsv",
        params:
            settings=settings("consensus"),
            library=lambda wildcards, input: f"--library {input.library}" if input.library else "",
        log:
            f"{LOGS}/consensus/{{plate}}.log",
        benchmark:
            f"{BENCH}/consensus/{{plate}}.tsv"
        threads: config["consensus"]["threads"]
        resources:
            mem_mb=lambda wildcards, threads: 1000 + 300 * threads,
            runtime=60,
        conda:
            ENV
        shell:
            "utrflow consensus --params {params.settings:q} --plate {wildcards.plate:q}"
            " --counts {input.counts:q} --regions {input.regions:q} {params.library}"
            " --output {output.table:q} --threads {threads} > {log} 2>&1"
