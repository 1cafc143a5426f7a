# Plate reader + well calls -> the labelled table. Readings are normalized per plate (a new plate
# runs only its own job), then one gather joins every plate, centres plates if asked, and finds
# replicate wells and the noise ceiling.

# The per-plate job ignores the settings only the gather uses, so changing them reruns the gather.
GATHER_ONLY = ("plate_centering", "plate_flag_log2")
READER_SETTINGS = settings(fluorescence=[k for k in config["fluorescence"] if k not in GATHER_ONLY])


if READS:

    rule fluorescence:
        input:
            reader=lambda wildcards: READERS[wildcards.plate],
            wells=ancient(config["wells"]),
        output:
            table="results/fluorescence/{plate}.tsv",
            summary="results/fluorescence/{plate}.json",
        params:
            settings=READER_SETTINGS,
            layout=lambda wildcards: layout_digest([wildcards.plate]),
            reader_plate=lambda wildcards: READER_PLATES.get(wildcards.plate, ""),
        log:
            f"{LOGS}/fluorescence/{{plate}}.log",
        benchmark:
            f"{BENCH}/fluorescence/{{plate}}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        conda:
            ENV
        shell:
            "utrflow fluorescence --params {params.settings:q} --plate {wildcards.plate:q}"
            " --reader {input.reader:q} --wells {input.wells:q} --output {output.table:q}"
            " --summary {output.summary:q} --reader-plate={params.reader_plate:q} > {log} 2>&1"

    rule link:
        input:
            consensus=expand("results/consensus/{plate}.tsv", plate=list(PLATE_GROUP)),
            fluorescence=expand("results/fluorescence/{plate}.tsv", plate=list(READERS)),
            summaries=expand("results/fluorescence/{plate}.json", plate=list(READERS)),
        output:
            labelled=report(
                "results/table/labelled.tsv",
                caption="../report/labelled.rst",
                category="Labelled table",
            ),
            replicates="results/table/replicates.tsv",
            plate_qc=report(
                PLATE_QC,
                caption="../report/plate_qc.rst",
                category="Labelled table",
            ),
            summary=TABLE_SUMMARY,
        params:
            settings=settings("seed", "fluorescence"),
        log:
            f"{LOGS}/link.log",
        benchmark:
            f"{BENCH}/link.tsv"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=15,
        conda:
            ENV
        shell:
            "utrflow link --params {params.settings:q} --consensus {input.consensus:q}"
            " --fluorescence {input.fluorescence:q} --reader-summaries {input.summaries:q}"
            " --labelled {output.labelled:q} --replicates {output.replicates:q}"
            " --plate-qc {output.plate_qc:q} --summary {output.summary:q} > {log} 2>&1"
