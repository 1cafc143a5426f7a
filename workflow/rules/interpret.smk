# What the model learned: first-layer filters as motifs (planted ones found on simulated data),
# and in-silico mutagenesis of the highest and lowest predicted test sequences.


rule interpret:
    input:
        onehot=ENCODED["onehot"],
        # a first-layer Conv1D to read: under auto the best CNN (the winner may be a baseline)
        member=(
            SELECTED["best_cnn"] if AUTO else expand(rules.train.output.model, member=MEMBERS[:1])
        ),
        model=rules.ensemble.output.model,
        predictions=rules.evaluate.output.predictions,
    output:
        interpretation=INTERPRETATION,
    log:
        f"{LOGS}/interpret.log",
    benchmark:
        f"{BENCH}/interpret.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        settings=settings_for("interpret"),
    shell:
        "utrflow interpret --params {params.settings:q} --onehot {input.onehot:q}"
        " --member {input.member:q} --model {input.model:q} --predictions {input.predictions:q}"
        " --output {output.interpretation:q} > {log:q} 2>&1"
