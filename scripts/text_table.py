"""The text results table: every prompt method on the text suite beside its three controls,
mean +- std over seeds, at the budget of TextExperiment's defaults.

First each prompt method picks its step size (BDPL's lr, BBT's alpha under CMA-ES, SPSA-GC's
a, the probe's lr) on a validation split of the pool (fedbbpt_lite.tasks.step_size),
centralised, at SELECT_ROUNDS of the budget's rounds, first seed only. Then each prompt method
runs centralised and federated on IID clients, and federated and local-only on Dirichlet(0.5)
clients. Every run also validates on its clients' held-out texts and returns the learned prompt
only if it beats the best control there (tasks.selection): the table shows the accuracy of what
runs return and, beside it, of what they learned. The training API caches repeated queries, so
each row also records the calls and examples the cache saved (answers are unchanged by it).
Rows are
appended to a JSON-lines store as they finish (fedbbpt_lite.results_store), so an interrupted
run resumes; the committed store makes a rerun print the README's table at once.
Usage: python scripts/text_table.py [--out FILE.jsonl] [--seeds 0 1 2] [--prompts ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fedbbpt_lite.datasets.text_sets import load_text, text_dataset_names
from fedbbpt_lite.results_store import ResultStore
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.step_size import select_step_size
from fedbbpt_lite.tasks.text_experiment import CONTROLS, PROMPTS, TextExperiment, text_api

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
RUNS = [("centralized", "iid"), ("fedbbpt", "iid"), ("fedbbpt", "dirichlet")]
RUNS += [("local_only", "dirichlet")]
KEY = ("phase", "dataset", "prompt", "method", "partition", "seed")
SELECT_ROUNDS = 2  # selection runs 2 of the 5 rounds: 40% of the budget per candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "text_table.jsonl")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--prompts", nargs="+", default=list(PROMPTS), choices=PROMPTS)
    names = text_dataset_names()
    parser.add_argument("--datasets", nargs="+", default=names, choices=names)
    args = parser.parse_args()
    store = ResultStore(args.out, KEY)
    start = time.time()
    for seed in args.seeds:
        for dataset in args.datasets:
            data = load_text(dataset)
            for prompt in args.prompts:
                chosen = select(store, data, prompt, args.seeds[0])
                for method, partition in RUNS:
                    if ("test", dataset, prompt, method, partition, seed) in store:
                        continue
                    began = time.time()
                    experiment = TextExperiment(
                        dataset=dataset,
                        method=method,
                        prompt=prompt,
                        partition=partition,
                        step_size=chosen,
                        seed=seed,
                    )
                    api = text_api(experiment.blackbox, data, cache=True)
                    row = run_experiment(experiment, data, api)
                    seconds = round(time.time() - began, 1)
                    store.append({"phase": "test", **row, "seconds": seconds})
                    print(
                        f"{dataset} {prompt} {method} {partition} seed {seed}: "
                        f"{row['accuracy']:.3f} {row['learned_prompts'][0]!r}",
                        flush=True,
                    )
    print(f"wall time this run: {time.time() - start:.0f} s")
    rows = [r for r in store.rows.values() if r["phase"] == "test"]
    for row in store.rows.values():
        if row["phase"] == "select":
            print(
                f"step size for {row['prompt']} on {row['dataset']}: {row['step_size']:g} "
                f"(validation accuracy by candidate {row['scores']})"
            )
    print(f"seconds recorded in {args.out}: {sum(r['seconds'] for r in rows):.0f}")
    print_table(rows, args.datasets, args.prompts)


def select(store: ResultStore, data, prompt: str, seed: int) -> float:
    """The prompt method's step size, chosen on validation texts (stored, so chosen once)."""
    key = ("select", data.name, prompt, "centralized", "iid", seed)
    if key not in store:
        began = time.time()
        experiment = TextExperiment(
            dataset=data.name, method="centralized", prompt=prompt, rounds=SELECT_ROUNDS, seed=seed
        )
        best, scores = select_step_size(experiment, data)
        row = {"phase": "select", **asdict(experiment), "step_size": best}
        store.append({**row, "scores": scores, "seconds": round(time.time() - began, 1)})
        print(f"{data.name} {prompt}: step size {best:g} {scores}", flush=True)
    return store.rows[key]["step_size"]


def _cell(values: list[float]) -> str:
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f}" if values else "-"


def print_table(rows: list[dict], datasets: list[str], prompts: list[str]) -> None:
    """Markdown tables of test accuracy (%) with the controls, and the targets' differences:
    of what runs returned, then of what they learned."""
    for key, what in (("accuracy", "returned"), ("learned_accuracy", "learned")):
        print(f"\n## Test accuracy (%) of the prompt runs {what}")
        _tables(rows, datasets, prompts, key)
    returned = [r for r in rows if any(s != "learned" for s in r["selected"])]
    print(f"\n{len(returned)} of {len(rows)} runs returned a control for at least one model")
    for row in returned:
        print(
            f"  {row['prompt']} {row['method']} {row['partition']} seed {row['seed']}: "
            f"{row['selected']}"
        )


def _tables(rows: list[dict], datasets: list[str], prompts: list[str], key: str) -> None:
    for dataset in datasets:
        mine = [r for r in rows if r["dataset"] == dataset]
        by_seed = {r["seed"]: r["controls"] for r in mine}
        controls = {c: [by_seed[s][c] for s in sorted(by_seed)] for c in CONTROLS}
        print(
            f"\n{dataset}: controls (no tuning, {len(by_seed)} seeds) "
            + ", ".join(f"{c} prompt {_cell(v)}" for c, v in controls.items())
        )
        print("\n| prompt method | " + " | ".join(f"{m} ({p})" for m, p in RUNS) + " | API calls |")
        print("|---" * (len(RUNS) + 2) + "|")
        means = {}
        for prompt in prompts:
            cells = []
            for method, partition in RUNS:
                accs = [
                    r[key]
                    for r in mine
                    if (r["prompt"], r["method"], r["partition"]) == (prompt, method, partition)
                ]
                means[prompt, method, partition] = np.mean(accs) if accs else np.nan
                cells.append(_cell(accs))
            calls = [
                r["api_calls"]
                for r in mine
                if r["prompt"] == prompt and r["method"] == "fedbbpt" and r["partition"] == "iid"
            ]
            print(f"| {prompt} | " + " | ".join(cells) + f" | {calls[0] if calls else '-'} |")
        summarise(dataset, mine, means, controls, prompts)


def summarise(dataset, rows, means, controls, prompts) -> None:
    """Best federated prompt method against the best control; federated against baselines."""
    best_control = max(controls, key=lambda c: np.mean(controls[c]) if controls[c] else -1)
    control = np.mean(controls[best_control]) if controls[best_control] else np.nan
    tuned = [p for p in prompts if p != "probe"]
    federated = {p: means.get((p, "fedbbpt", "iid"), np.nan) for p in tuned}
    if federated and controls[best_control]:
        best = max(federated, key=lambda p: np.nan_to_num(federated[p], nan=-1))
        print(f"\n  best control: {best_control} prompt {100 * control:.1f}")
        print(
            f"  best federated prompt method: {best} {100 * federated[best]:.1f} "
            f"({100 * (federated[best] - control):+.1f} points)"
        )
    for prompt in prompts:
        iid = means.get((prompt, "fedbbpt", "iid"), np.nan) - means.get(
            (prompt, "centralized", "iid"), np.nan
        )
        skew = means.get((prompt, "fedbbpt", "dirichlet"), np.nan) - means.get(
            (prompt, "local_only", "dirichlet"), np.nan
        )
        print(
            f"  {prompt}: federated minus centralised (IID) {100 * iid:+.1f}, "
            f"federated minus local-only (Dirichlet 0.5) {100 * skew:+.1f}"
        )
    sent = sum(r["examples_sent"] for r in rows)
    saved = sum(r["saved_examples"] for r in rows)
    if sent:
        print(
            f"  query cache: {saved} of {sent + saved} training examples answered from the "
            f"cache ({saved / (sent + saved):.1%}), {sum(r['saved_calls'] for r in rows)} "
            "whole calls saved"
        )


if __name__ == "__main__":
    main()
