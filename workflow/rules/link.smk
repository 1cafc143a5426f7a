# Plate reader + well calls -> the labelled table. One gather normalizes every plate's reader
# file (a tenth of a second each, where a job of its own per plate cost half a second more to
# start), joins it with every plate's calls, centres plates if asked, and finds replicate wells
# and the noise ceiling. A new plate runs its own reads jobs and this gather, which reruns
# whenever any plate changes anyway.


if READS:

    rule link:
        input:
            consensus=expand(CONSENSUS, plate=list(PLATE_GROUP)),
            readers=list(READERS.values()),
            wells=ancient(SETTINGS["wells"]),
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
            readings=expand(READINGS, plate=list(READERS)),
            reader_summaries=expand(READER_SUMMARY, plate=list(READERS)),
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
            readers=[f"{plate}={reader}" for plate, reader in READERS.items()],
            reader_plates=[f"{plate}={block}" for plate, block in READER_PLATES.items() if block],
            layout=layout_digest(list(READERS)),
            readings_dir=READINGS_DIR,
        shell:
            "utrflow link --params {params.settings:q} --consensus {input.consensus:q}"
            " --readers {params.readers:q} --reader-plates {params.reader_plates:q}"
            " --wells {input.wells:q} --readings-dir {params.readings_dir:q}"
            " --labelled {output.labelled:q} --replicates {output.replicates:q}"
            " --plate-qc {output.plate_qc:q} --summary {output.summary:q} > {log:q} 2>&1"
