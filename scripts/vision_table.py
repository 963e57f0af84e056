"""The vision results table: every method on the shifted data sets, mean +- std over seeds.

First each tuned (method, partition) picks its step size on a validation split of the pool
(fedbbpt_lite.tasks.step_size, first seed only); then every seed runs at that step size. The
table compares what each method learned (learned_accuracy): a run may return zero-shot instead
when that did better on its clients' validation images, which would hide a method's losses.
Each result is appended to a JSON-lines file as soon as it finishes and results already there
are skipped, so an interrupted run resumes; each row records its own seconds. The committed
results (benchmarks/results/) make a rerun print the README's table at once; point --out at a
new file to measure from scratch.
Usage: python scripts/vision_table.py [--generator grid] [--out FILE.jsonl] [--seeds 0 1 2]
       [--datasets ...] [--runs fedbbpt:iid whitebox:iid ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fedbbpt_lite.blackbox.miniclip import MiniCLIPBlackBox
from fedbbpt_lite.datasets.vision_sets import dataset_info, dataset_names, load_vision
from fedbbpt_lite.results_store import ResultStore
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.step_size import select_step_size
from fedbbpt_lite.tasks.vision_experiment import GENERATORS, VisionExperiment

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
# (method, partition): the federated and local-only runs under IID and Dirichlet(0.5) splits.
RUNS = [
    ("zero_shot", "iid"),
    ("centralized", "iid"),
    ("fedbbpt", "iid"),
    ("fedbbpt", "dirichlet"),
    ("local_only", "dirichlet"),
    ("whitebox", "iid"),
]
# Data sets where white-box tuning gains less than this over zero-shot count as unfixable.
FIXABLE = 0.05


KEY = ("phase", "dataset", "method", "partition", "generator", "seed")


def key(row: dict) -> tuple:
    return tuple(row[f] for f in KEY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, help="default: benchmarks/results/vision_GENERATOR.jsonl"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generator", default="grid", choices=GENERATORS)
    shifted = [n for n in dataset_names() if dataset_info(n)["shift"] != "none"]
    parser.add_argument("--datasets", nargs="+", default=shifted, choices=dataset_names())
    everything = [f"{m}:{p}" for m, p in RUNS]
    parser.add_argument("--runs", nargs="+", default=everything, choices=everything)
    args = parser.parse_args()
    runs = [tuple(r.split(":")) for r in args.runs]
    args.out = args.out or RESULTS / f"vision_{args.generator}.jsonl"

    store = ResultStore(args.out, KEY)
    done = store.rows
    blackbox = MiniCLIPBlackBox()
    start = time.time()

    def record(row: dict, began: float) -> None:
        row["seconds"] = round(time.time() - began, 1)
        store.append(row)

    for dataset in args.datasets:
        data = load_vision(dataset)
        for method, partition in runs:
            base = VisionExperiment(
                dataset=dataset, method=method, partition=partition, generator=args.generator
            )
            chosen = None
            if method != "zero_shot":
                wanted = ("select", dataset, method, partition, args.generator, args.seeds[0])
                if wanted not in done:
                    began = time.time()
                    best, scores = select_step_size(
                        VisionExperiment(**{**asdict(base), "seed": args.seeds[0]}), data
                    )
                    selection = {**asdict(base), "seed": args.seeds[0], "step_size": best}
                    record({"phase": "select", **selection, "scores": scores}, began)
                    print(f"{dataset} {method} {partition}: step size {best} {scores}", flush=True)
                chosen = done[wanted]["step_size"]
            for seed in args.seeds:
                if ("test", dataset, method, partition, args.generator, seed) in done:
                    continue
                began = time.time()
                experiment = VisionExperiment(**{**asdict(base), "seed": seed, "step_size": chosen})
                row = {"phase": "test", **run_experiment(experiment, data, blackbox)}
                record(row, began)
                print(
                    f"{dataset} {method} {partition} seed {seed}: {row['learned_accuracy']:.3f}",
                    flush=True,
                )
    print(f"wall time this run: {time.time() - start:.0f} s")
    print(f"seconds recorded in {args.out}: {sum(r['seconds'] for r in done.values()):.0f}")
    print_table(done, args.datasets, args.generator, runs)


def print_table(done: dict, datasets: list[str], generator: str, runs: list) -> None:
    """Markdown table of the learned prompts' mean +- std test accuracy (%), the chosen step
    sizes, and summaries."""
    means = {}
    print("\n| data set | " + " | ".join(f"{m} ({p})" for m, p in runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for dataset in datasets:
        cells = []
        for method, partition in runs:
            accs = [
                r["learned_accuracy"]
                for k, r in done.items()
                if k[:5] == ("test", dataset, method, partition, generator)
            ]
            means[dataset, method, partition] = np.mean(accs) if accs else np.nan
            cells.append(f"{100 * np.mean(accs):.1f} ± {100 * np.std(accs):.1f}" if accs else "-")
        print(f"| {dataset} | " + " | ".join(cells) + " |")
    print("\nstep sizes chosen on validation (SPSA-GC a; Adam lr for whitebox):")
    for dataset in datasets:
        steps = [
            f"{r['method']} ({r['partition']}) {r['step_size']:g}"
            for k, r in done.items()
            if k[0] == "select" and k[1] == dataset and k[4] == generator
        ]
        print(f"  {dataset}: " + ", ".join(steps))
    summarise(means, datasets)


def summarise(means: dict, datasets: list[str]) -> None:
    """Gap recovered and the pairwise differences the targets name, over fixable data sets."""

    def mean(dataset, method, partition="iid"):
        return means.get((dataset, method, partition), np.nan)

    fixable = [d for d in datasets if mean(d, "whitebox") - mean(d, "zero_shot") >= FIXABLE]
    print(f"\nfixable data sets (white-box gains >= {100 * FIXABLE:.0f} points): {fixable}")
    if not fixable:
        return
    recovered = [
        (mean(d, "fedbbpt") - mean(d, "zero_shot")) / (mean(d, "whitebox") - mean(d, "zero_shot"))
        for d in fixable
    ]
    lines = {
        "Fed-BBPT (IID) share of the zero-shot -> white-box gap, mean": np.mean(recovered),
        "Fed-BBPT (IID) gain over zero-shot, points": np.mean(
            [mean(d, "fedbbpt") - mean(d, "zero_shot") for d in fixable]
        ),
        "Fed-BBPT (IID) minus centralised, points": np.mean(
            [mean(d, "fedbbpt") - mean(d, "centralized") for d in fixable]
        ),
        "Fed-BBPT (Dirichlet 0.5) minus centralised, points": np.mean(
            [mean(d, "fedbbpt", "dirichlet") - mean(d, "centralized") for d in fixable]
        ),
        "Fed-BBPT (Dirichlet 0.5) minus local-only, points": np.mean(
            [mean(d, "fedbbpt", "dirichlet") - mean(d, "local_only", "dirichlet") for d in fixable]
        ),
    }
    for label, value in lines.items():
        if np.isfinite(value):  # runs left out with --runs have no line
            print(f"  {label}: {100 * value:+.1f}{'%' if 'share' in label else ''}")
    print("  per data set, share of gap: " + ", ".join(f"{r:.0%}" for r in recovered))


if __name__ == "__main__":
    main()
