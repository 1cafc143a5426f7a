"""Model presets on the default simulated table, each as a fraction of the test noise ceiling.

The default configuration (config/config.yaml), the `optimus` preset and the `lecture` preset
(the lecture's plain stack: one Conv1D of 10 filters, width 5, max-pooling by 4, straight to
the output) are trained with the same seed on the same 30,000 simulated UTRs
and split, one model each, by `utrflow.simulate.quality.simulated_quality` — the function behind the
slow test that asserts the default reaches 0.95 of the ceiling (tests/test_quality.py).

    .venv/bin/python benchmarks/presets_ceiling.py [--threads 2] [--only default]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRESETS = {
    "default": {},
    "optimus": {"preset": "optimus"},
    "lecture": {"preset": "lecture"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=PRESETS, action="append", help="run just these")
    args = parser.parse_args()

    from utrflow import config, preflight
    from utrflow.simulate.quality import simulated_quality

    default = preflight.load(REPO / "config" / "config.yaml", base_dir=REPO)
    rows = []
    for name in args.only or PRESETS:
        cfg = copy.deepcopy(default)
        cfg["model"].update(PRESETS[name])
        start = time.perf_counter()
        result = simulated_quality(config.validate(cfg), args.threads)
        result["seconds"] = round(time.perf_counter() - start)
        rows.append((name, result))
        print(json.dumps({"name": name, **result}))
    print(f"\n{'preset':10s} {'parameters':>10s} {'epochs':>6s} {'test r2':>8s} {'ceiling':>8s}")
    for name, r in rows:
        print(
            f"{name:10s} {r['parameters']:10d} {r['epochs_run']:6d} {r['test']['r2']:8.3f} "
            f"{r['noise_ceiling_r2']:8.3f}  {r['fraction_of_ceiling']:.1%} of the ceiling"
        )


if __name__ == "__main__":
    main()
