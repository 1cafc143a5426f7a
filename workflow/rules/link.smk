# Plate reader + well calls -> the labelled table. Readings are normalized per plate (a new plate
# runs only its own job), then one gather joins every plate, centres plates if asked, and finds
# replicate wells and the noise ceiling.

# The per-plate job leaves out the settings only the gather reads (utrflow.cli.READER_ONLY), so
# changing those reruns the gather alone.


if READS:

    rule fluorescence:
        input:
            reader=lambda wildcards: READERS[wildcards.plate],
            wells=ancient(config["wells"]),
        output:
            table=READINGS,
            summary=READER_SUMMARY,
        log:
            f"{LOGS}/fluorescence/{{plate}}.log",
        benchmark:
            f"{BENCH}/fluorescence/{{plate}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            settings=settings_for("fluorescence"),
            layout=lambda wildcards: layout_digest([wildcards.plate]),
            reader_plate=lambda wildcards: READER_PLATES.get(wildcards.plate, ""),
        shell:
            "utrflow fluorescence --params {params.settings:q} --plate {wildcards.plate:q}"
            " --reader {input.reader:q} --wells {input.wells:q} --output {output.table:q}"
            " --summary {output.summary:q} --reader-plate={params.reader_plate:q} > {log} 2>&1"

    rule link:
        input:
            consensus=expand(CONSENSUS, plate=list(PLATE_GROUP)),
            fluorescence=expand(READINGS, plate=list(READERS)),
            summaries=expand(READER_SUMMARY, plate=list(READERS)),
        output:
            labelled=report(
                LABELLED,
                caption="../report/labelled.rst",
                category="Labelled table",
            ),
            replicates=REPLICATES,
            plate_qc=report(
                PLATE_QC,
                caption="../report/plate_qc.rst",
                category="Labelled table",
            ),
            summary=TABLE_SUMMARY,
        log:
            f"{LOGS}/link.log",
        benchmark:
            f"{BENCH}/link.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=4000,
            runtime=15,
        params:
            settings=settings_for("link"),
        shell:
            "utrflow link --params {params.settings:q} --consensus {input.consensus:q}"
            " --fluorescence {input.fluorescence:q} --reader-summaries {input.summaries:q}"
            " --labelled {output.labelled:q} --replicates {output.replicates:q}"
            " --plate-qc {output.plate_qc:q} --summary {output.summary:q} > {log} 2>&1"
