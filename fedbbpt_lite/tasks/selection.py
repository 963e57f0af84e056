"""Model selection on the clients' held-out validation examples: the test set never chooses.

Beside its few-shot training share each client holds validation examples drawn from the rest
of the pool with the same label counts (BBT's and LM-BFF's dev set, as large as the training
set). A run scores its candidates there, the learned prompt at each step size tried and the
controls, each client answering for its own examples (one billed query per client and
candidate, weighted by the clients' training counts as FedAvg weights them), and returns the
learned prompt only if it beats the best control, else that control.
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


def step_candidates(default: float, step_size: float | None) -> list[float]:
    """[step_size] when one is given, else the default times each of STEP_MULTIPLIERS."""
    if step_size is not None:
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
    """Pool indices of each client's validation examples: outside the training draw
    (train_index, split among clients as `parts` index into it), with the client's training
    label counts as far as the pool's leftovers allow (none when nothing is left: the run then
    returns what it learned, unvalidated)."""
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
    """Accuracy of one candidate over the holders of validation examples, each (examples,
    labels, weight) answering with predict(examples, labels) -> predicted classes; holders
    with no examples are skipped. NaN when none has any, or when the API budget is spent
    before all have answered (a run stopped by its budget still returns what it learned)."""
    try:
        scored = [(predict(x, y) == y).mean() for x, y, _ in holders if len(y)]
    except BudgetExceededError:
        return float("nan")
    weights = [w for _, y, w in holders if len(y)]
    return round(weighted_average(scored, weights), 4) if scored else float("nan")


def holder_groups(method: str, held: list[np.ndarray], parts: list[np.ndarray]):
    """Who validates each model, as [(validation indices, weight), ...] per model: every
    client its own model (local_only), every client the one global model (fedbbpt), else the
    pooled examples the one centralised model was trained beside."""
    if method == "local_only":
        return [[(v, len(p))] for v, p in zip(held, parts, strict=True)]
    if method == "fedbbpt":
        return [[(v, len(p)) for v, p in zip(held, parts, strict=True)]]
    return [[(np.concatenate(held), sum(len(p) for p in parts))]]


def search_steps(steps: list[float], train, validate) -> tuple[float, dict, dict]:
    """Train at each step size (train(step) -> {"models": [...], ...}), score each model with
    validate(models, step) -> one validation accuracy per model, and return the best step
    size (ties go to the smaller; local-only: the mean over clients that hold validation
    examples; the first when none could be scored), its run with its "validation" scores, and
    every step size's score."""
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
    """LEARNED when it beats every control on validation, else the best control (the first
    listed of equals); LEARNED too when it could not be validated (a NaN score), or no
    control could."""
    controls = {n: s for n, s in scores.items() if n != LEARNED and not np.isnan(s)}
    if np.isnan(scores[LEARNED]) or not controls:
        return LEARNED
    best = max(controls, key=controls.get)
    return LEARNED if scores[LEARNED] > controls[best] else best
