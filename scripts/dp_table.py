"""The accuracy cost of client-level differential privacy on one data set (mnist_inverted).

Fed-BBPT as in the vision table (10 clients, IID, 10 rounds x 5 SPSA-GC steps, grid prompt)
without privacy, then with DPFedAvg: every client's update clipped to C and Gaussian noise of
standard deviation z * C / 10 added to the average, for noise multipliers z, each scored by the
learned prompt's test accuracy. C is the median update norm of a clip-free calibration run
(seed 0), the usual way to set it. Results are
appended to a JSON-lines file and skipped when there, so a rerun prints the table at once.
Usage: python scripts/dp_table.py [--out FILE.jsonl] [--seeds 0 1 2] [--multipliers 0 0.5 1 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fedbbpt_lite.results_store import ResultStore
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.vision_experiment import STEP_SIZES, VisionExperiment

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
KEY = ("setting", "noise_multiplier", "seed")
UNCLIPPED = 1e9  # a clip no update reaches: the calibration run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "dp_cost.jsonl")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--multipliers", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    args = parser.parse_args()
    store = ResultStore(args.out, KEY)

    def run(setting: str, seed: int, privacy: dict | None, multiplier: float) -> dict:
        key = (setting, multiplier, seed)
        if key not in store:
            began = time.time()
            experiment = VisionExperiment(
                dataset="mnist_inverted", seed=seed, step_size=STEP_SIZES["grid"]
            )
            result = run_experiment(experiment, privacy=privacy)
            row = dict(zip(KEY, key, strict=True))
            # what training learned: a run may return zero-shot instead, hiding the cost
            row.update(accuracy=result["learned_accuracy"], zero_shot=result["zero_shot_accuracy"])
            row.update(privacy=result.get("privacy"), seconds=round(time.time() - began, 1))
            store.append(row)
        return store.rows[key]

    calibration = run("calibration", 0, {"clip_norm": UNCLIPPED, "noise_multiplier": 0.0}, 0.0)
    clip = float(np.median(calibration["privacy"]["median_update_norm"]))
    print(f"clip norm C = {clip:.4g} (median update norm of the calibration run)")
    rows = {"no privacy": [run("fedavg", s, None, 0.0)["accuracy"] for s in args.seeds]}
    for z in args.multipliers:
        privacy = {"clip_norm": clip, "noise_multiplier": z}
        rows[f"DP, z = {z:g}"] = [run("dp", s, privacy, z)["accuracy"] for s in args.seeds]
    base = np.mean(rows["no privacy"])
    print(f"zero-shot {calibration['zero_shot']:.3f}; seeds {args.seeds}")
    print("| aggregation | accuracy (mean +- std) | cost vs no privacy (points) |")
    print("|---|---|---|")
    for name, values in rows.items():
        cost = 100 * (np.mean(values) - base)
        print(
            f"| {name} | {100 * np.mean(values):.1f} +- {100 * np.std(values):.1f} | {cost:+.1f} |"
        )


if __name__ == "__main__":
    main()
