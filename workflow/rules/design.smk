# The trained model proposes the next library: designs per target bin and the oligo order.
# Off with design.n_designs: 0, and for models that need covariates (sequence alone is designed).

DESIGN = config["design"]["n_designs"] > 0 and not WITH_COVARIATES
DESIGNED = {
    "next_library": "results/design/next_library.csv",
    "oligo_order": "results/design/oligo_order.csv",
    "summary": "results/design/summary.json",
}
# Only the hidden truth of the UTR simulation can score designs.
TRUTH_SCORES = SIMULATED and config["simulate"]["kind"] == "utr"
DESIGN_TRUTH = RUN_TRUTH_WELLS if SIMULATED_RUN else TRUTH_WELLS
# The design's uncertainty: the ensemble's spread from 3 members on, else (auto) the spread of
# the top three contenders of the model contest.
SPREAD = (
    SELECTED["top"]
    if AUTO and len(MEMBERS) < 3
    else expand("results/model/members/{member}/model.keras", member=MEMBERS)
)


if DESIGN:

    rule design:
        input:
            table="results/table/labelled.tsv",
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
        params:
            settings=settings("source", "seed", "design", "construct", model=["preset"]),
            truth=optional_input("--truth", DESIGN_TRUTH, TRUTH_SCORES),
        log:
            f"{LOGS}/design.log",
        benchmark:
            f"{BENCH}/design.tsv"
        threads: 2
        resources:
            mem_mb=4000,
            runtime=60,
        conda:
            ENV
        shell:
            "utrflow design --params {params.settings:q} --table {input.table}"
            " --model {input.model} --members {input.members} --metrics {input.metrics} {params.truth} --next-library {output.next_library}"
            " --oligo-order {output.oligo_order} --summary {output.summary} > {log} 2>&1"
