"""Design the next library: new UTRs that the trained model expects to cover the expression range.

One turn of design -> build -> test -> learn ends here. Chains of simulated annealing start from
measured sequences and take one edit at a time, scored by the model (or ensemble) in batches;
every proposal must keep the synthesis and cloning constraints, and stay within `max_edits` of
its start, so designs stay where the model has seen data. Target levels are quantile bins of the
model's predictions on the measured library; the lowest and highest bins are open-ended (their
chains minimize or maximize), so the library reaches beyond what was measured. Designs are then
picked greedily per bin, at least `min_distance_designs` apart and `min_distance_measured` from
anything measured, and marked exploratory when far from the data or uncertain.

The modules: `settings` (what to design, the rules a design keeps), `anneal` (targets, chains,
the pick), `library` (one library from a scorer), `stage` (the gate and the step from files).
"""

from utrflow.design.next_library.anneal import (
    Chain,
    MeanScorer,
    Measured,
    Target,
    anneal,
    mutate,
    pick,
    starts_for,
    targets,
)
from utrflow.design.next_library.library import NEXT_LIBRARY_COLUMNS, Scorer, design_library
from utrflow.design.next_library.settings import (
    Constraints,
    DesignSettings,
    constraints_for,
    longest_run,
)
from utrflow.design.next_library.stage import (
    ORDER_COLUMNS,
    TruthCheck,
    ensemble_scorer,
    gate_score,
    mean_scorer,
    measured_names,
    oligo_flanks,
    oligo_order,
    refusal,
    run_design,
)

__all__ = [
    "NEXT_LIBRARY_COLUMNS",
    "ORDER_COLUMNS",
    "Chain",
    "Constraints",
    "DesignSettings",
    "MeanScorer",
    "Measured",
    "Scorer",
    "Target",
    "TruthCheck",
    "anneal",
    "constraints_for",
    "design_library",
    "ensemble_scorer",
    "gate_score",
    "longest_run",
    "mean_scorer",
    "measured_names",
    "mutate",
    "oligo_flanks",
    "oligo_order",
    "pick",
    "refusal",
    "run_design",
    "starts_for",
    "targets",
]
