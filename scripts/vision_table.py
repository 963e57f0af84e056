"""The vision results table: every method on the shifted data sets, mean +- std over seeds.

Each (data set, method, partition, seed) result is appended to a JSON-lines file as soon as
it finishes, and results already there are skipped, so an interrupted run resumes.
Usage: python scripts/vision_table.py [--out build/vision_table.jsonl] [--seeds 0 1 2]
       [--generator grid] [--datasets ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from fedbbpt_lite.blackbox.miniclip import MiniCLIPBlackBox
from fedbbpt_lite.datasets.registry import dataset_info, dataset_names, load_vision
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment, run_vision

# (method, partition): the federated and local-only runs under IID and Dirichlet(0.5) splits.
RUNS = [
    ("zero_shot", "iid"),
    ("centralized", "iid"),
    ("fedbbpt", "iid"),
    ("fedbbpt", "dirichlet"),
    ("local_only", "dirichlet"),
    ("whitebox", "iid"),
]


def key(row: dict) -> tuple:
    return row["dataset"], row["method"], row["partition"], row["generator"], row["seed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/vision_table.jsonl"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generator", default="grid")
    shifted = [n for n in dataset_names() if dataset_info(n)["shift"] != "none"]
    parser.add_argument("--datasets", nargs="+", default=shifted)
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done[key(row)] = row
    blackbox = MiniCLIPBlackBox()
    start = time.time()
    for dataset in args.datasets:
        data = load_vision(dataset)
        for seed in args.seeds:
            for method, partition in RUNS:
                experiment = VisionExperiment(
                    dataset=dataset,
                    method=method,
                    partition=partition,
                    generator=args.generator,
                    seed=seed,
                )
                wanted = (dataset, method, partition, args.generator, seed)
                if wanted in done:
                    continue
                row = run_vision(experiment, data, blackbox)
                done[wanted] = row
                with args.out.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(
                    f"{dataset} {method} {partition} seed {seed}: {row['accuracy']:.3f}", flush=True
                )
    print(f"wall time this run: {time.time() - start:.0f} s")
    print_table(done, args.datasets, args.generator)


def print_table(done: dict, datasets: list[str], generator: str) -> None:
    columns = [f"{m} ({p})" for m, p in RUNS]
    print("\n| data set | " + " | ".join(columns) + " | gap recovered |")
    print("|---" * (len(columns) + 2) + "|")
    for dataset in datasets:
        cells, means = [], {}
        for method, partition in RUNS:
            accs = [
                r["accuracy"]
                for k, r in done.items()
                if k[:4] == (dataset, method, partition, generator)
            ]
            means[(method, partition)] = np.mean(accs) if accs else np.nan
            cells.append(f"{100 * np.mean(accs):.1f} ± {100 * np.std(accs):.1f}" if accs else "-")
        gap = means[("whitebox", "iid")] - means[("zero_shot", "iid")]
        gain = means[("fedbbpt", "iid")] - means[("zero_shot", "iid")]
        recovered = f"{100 * gain / gap:.0f}%" if gap > 0.01 else "n/a"
        print(f"| {dataset} | " + " | ".join(cells) + f" | {recovered} |")


if __name__ == "__main__":
    main()
