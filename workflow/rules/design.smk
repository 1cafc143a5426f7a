# The selected model proposes the next library: designs per target bin and the oligo order.
# Off with design.n_designs: 0, and for models that need covariates (sequence alone is designed).


if DESIGN:

    rule design:
        input:
            table=LABELLED,
            model=rules.ensemble.output.model,
            members=SPREAD,
            metrics=rules.evaluate.output.metrics,
            truth=DESIGN_TRUTH if TRUTH_SCORES else [],
        output:
            next_library=report(
                DESIGNED["next_library"],
                caption="../report/design.rst",
                category="Next library",
            ),
            oligo_order=DESIGNED["oligo_order"],
            summary=DESIGNED["summary"],
        log:
            f"{LOGS}/design.log",
        benchmark:
            f"{BENCH}/design.tsv"
        conda:
            ENV
        threads: 2
        resources:
            mem_mb=4000,
            runtime=60,
        params:
            settings=settings_for("design"),
            truth=optional_flags("truth"),
        shell:
            "utrflow design --params {params.settings:q} --table {input.table:q}"
            " --model {input.model:q} --members {input.members:q} --metrics {input.metrics:q}"
            " {params.truth} --next-library {output.next_library:q}"
            " --oligo-order {output.oligo_order:q} --summary {output.summary:q} > {log:q} 2>&1"
