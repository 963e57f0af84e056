"""Model selection on the clients' held-out validation examples: the test set never chooses.

Each client holds validation examples with its training label counts (BBT's and LM-BFF's dev
set) and scores every candidate on them, one billed query per client weighted as FedAvg weights
it. A run returns the learned prompt only if it beats the best control, else that control.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..blackbox.meter import BudgetExceededError
from ..federated.strategy import weighted_average

# The step sizes a run tries when none is given: its method's default times each of these.
STEP_MULTIPLIERS = (0.1, 0.3, 1.0, 3.0, 10.0)
LEARNED = "learned"


def step_candidates(default: float | None, step_size: float | None) -> list:
    """[step_size] when one is given or the method has none (default None), else the default
    times each of STEP_MULTIPLIERS."""
    if step_size is not None or default is None:
        return [step_size]
    return [round(default * m, 6) for m in STEP_MULTIPLIERS]


def step_checkpoint(checkpoint, step: float, given: float | None) -> Path | None:
    """The checkpoint file of the run at `step`: the one given when the step size was, else
    one per step size tried, beside it (run.safetensors -> run-step0.1.safetensors)."""
    if checkpoint is None or given is not None:
        return checkpoint
    path = Path(checkpoint)
    return path.with_name(f"{path.stem}-step{step:g}{path.suffix}")


def validation_shares(
    pool_labels, train_index, parts: list[np.ndarray], seed: int
) -> list[np.ndarray]:
    """Pool indices of each client's validation examples, outside the training draw, with its
    training label counts as far as the leftovers allow (none left: the run goes unvalidated)."""
    pool_labels = np.asarray(pool_labels)
    train_labels = pool_labels[np.asarray(train_index)]
    left = np.setdiff1d(np.arange(len(pool_labels)), train_index)
    rng = np.random.default_rng([seed, 2])  # its own stream: training draws stay as they were
    shares: list[list[int]] = [[] for _ in parts]
    for c in np.unique(train_labels):
        spare = list(rng.permutation(left[pool_labels[left] == c]))
        for client, part in enumerate(parts):
            need = int((train_labels[part] == c).sum())
            shares[client] += spare[:need]
            spare = spare[need:]
    return [np.sort(np.asarray(share, dtype=int)) for share in shares]


def validation_accuracy(
    predict: Callable[[list, np.ndarray], np.ndarray],
    holders: list[tuple[list, np.ndarray, int]],
) -> float:
    """A candidate's weighted accuracy over the holders' validation examples; NaN when none has
    any or the API budget runs out (a run stopped by its budget still returns what it learned)."""
    try:
        scored = [(predict(x, y) == y).mean() for x, y, _ in holders if len(y)]
    except BudgetExceededError:
        return float("nan")
    weights = [w for _, y, w in holders if len(y)]
    return round(weighted_average(scored, weights), 4) if scored else float("nan")


def holder_groups(method: str, held: list[np.ndarray], parts: list[np.ndarray]):
    """Who validates each model, as [(validation indices, weight), ...] per model, weighted by
    training examples."""
    if method == "local_only":
        return [[(v, len(p))] for v, p in zip(held, parts, strict=True)]
    if method == "fedbbpt":
        return [[(v, len(p)) for v, p in zip(held, parts, strict=True)]]
    return [[(np.concatenate(held), sum(len(p) for p in parts))]]


def search_steps(steps: list[float], train, validate) -> tuple[float, dict, dict]:
    """Train and validate at each step size; return the best (ties go to the smaller; the first
    when none could be scored), its run with its "validation" scores, and every step's score."""
    runs, scores = {}, {}
    for step in steps:
        runs[step] = train(step)
        runs[step]["validation"] = validate(runs[step]["models"], step)
        scored = [s for s in runs[step]["validation"] if not np.isnan(s)]
        scores[step] = round(float(np.mean(scored)), 4) if scored else float("nan")
    best = max(scores, key=lambda step: -np.inf if np.isnan(scores[step]) else scores[step])
    return best, runs[best], scores


def pick(learned: list[float], controls: dict[str, list[float]]) -> tuple[list, list]:
    """Per model, what choose() returns given its learned and control validation scores, and
    those scores."""
    chosen, scores = [], []
    for number, score in enumerate(learned):
        candidate = {LEARNED: score, **{name: s[number] for name, s in controls.items()}}
        chosen.append(choose(candidate))
        scores.append(candidate)
    return chosen, scores


def choose(scores: dict[str, float]) -> str:
    """LEARNED when it beats every scored control on validation, or when it or every control
    went unscored (NaN); else the best control (the first listed of equals)."""
    controls = {n: s for n, s in scores.items() if n != LEARNED and not np.isnan(s)}
    if np.isnan(scores[LEARNED]) or not controls:
        return LEARNED
    best = max(controls, key=controls.get)
    return LEARNED if scores[LEARNED] > controls[best] else best
