# Reads -> wells, scattered per read group (a plate, or plates pooled in the same files), so a new
# plate runs only its own jobs. The sheets are `ancient`: a group reruns when its own rows change
# (the layout digest param), not whenever someone edits another plate's rows.


if READS:
    # The construct against a sample of every group's reads, before any group is demultiplexed:
    # flanks that are missing, reverse-complemented or absent from the reads stop the run here
    # with the flanks the reads propose. `ancient` in demux: a new plate reruns this check, not
    # every other plate's demultiplexing.
    CONSTRUCT_CHECK = "results/qc/construct_check.json"

    rule construct_check:
        input:
            files=sorted({f for group in READ_GROUPS.values() for f in group.files}),
            plates=ancient(SETTINGS["plates"]),
            wells=ancient(SETTINGS["wells"]),
        output:
            CONSTRUCT_CHECK,
        log:
            f"{LOGS}/construct_check.log",
        benchmark:
            f"{BENCH}/construct_check.tsv"
        conda:
            ENV
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            settings=settings_for("check-construct"),
        shell:
            "utrflow check-construct --params {params.settings:q} --plates {input.plates:q}"
            " --wells {input.wells:q} --output {output:q} > {log:q} 2>&1"

    rule demux:
        input:
            files=lambda wildcards: READ_GROUPS[wildcards.group].files,
            check=ancient(CONSTRUCT_CHECK),
            plates=ancient(SETTINGS["plates"]),
            wells=ancient(SETTINGS["wells"]),
        output:
            assignments=f"{DEMUX_DIR}/assignments.tsv.gz",
            regions=f"{DEMUX_DIR}/regions.tsv.gz",
            counts=f"{DEMUX_DIR}/well_counts.tsv",
            funnel=f"{DEMUX_DIR}/funnel.json",
        log:
            f"{LOGS}/demux/{{group}}.log",
        benchmark:
            f"{BENCH}/demux/{{group}}.tsv"
        conda:
            ENV
        # a core per 50 MB of reads (about 140,000 reads, 10-15 s of one core's work)
        threads: cores_by_size(RESOURCES.demux_threads, 50)
        resources:
            mem_mb=lambda wildcards, threads: 1000 + 500 * threads,
            runtime=120,
        params:
            settings=settings_for("demux"),
            layout=lambda wildcards: layout_digest(READ_GROUPS[wildcards.group].plates),
            out_dir=lambda wildcards, output: Path(output.funnel).parent,
        shell:
            "utrflow demux --params {params.settings:q} --plates {input.plates:q}"
            " --wells {input.wells:q} --group {wildcards.group:q} --out-dir {params.out_dir:q}"
            " --threads {threads} > {log:q} 2>&1"

    rule consensus:
        input:
            regions=lambda wildcards: expand(
                rules.demux.output.regions, group=PLATE_GROUP[wildcards.plate]
            ),
            counts=lambda wildcards: expand(
                rules.demux.output.counts, group=PLATE_GROUP[wildcards.plate]
            ),
            library=SETTINGS["library"] or [],
        output:
            table=CONSENSUS,
        log:
            f"{LOGS}/consensus/{{plate}}.log",
        benchmark:
            f"{BENCH}/consensus/{{plate}}.tsv"
        conda:
            ENV
        # a core per 768 wells: a 384-well plate is called in 1-2 s of one core
        threads: cores_by_wells(RESOURCES.consensus_threads, 768)
        resources:
            mem_mb=lambda wildcards, threads: 1000 + 300 * threads,
            runtime=60,
        params:
            settings=settings_for("consensus"),
            library=optional_flags("library"),
        shell:
            "utrflow consensus --params {params.settings:q} --plate {wildcards.plate:q}"
            " --counts {input.counts:q} --regions {input.regions:q} {params.library}"
            " --output {output.table:q} --threads {threads} > {log:q} 2>&1"
