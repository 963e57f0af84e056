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
    label counts as far as the pool's leftovers allow. Raises when no example is left."""
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
    if not any(shares):
        raise ValueError(
            "the pool has no examples left beside the training draw to validate on: lower "
            "shots or give more training examples"
        )
    return [np.sort(np.asarray(share, dtype=int)) for share in shares]


def validation_accuracy(
    predict: Callable[[list, np.ndarray], np.ndarray],
    holders: list[tuple[list, np.ndarray, int]],
) -> float:
    """Accuracy of one candidate over the holders of validation examples, each (examples,
    labels, weight) answering with predict(examples, labels) -> predicted classes; holders
    with no examples are skipped (NaN when none has any)."""
    scored = [(predict(x, y) == y).mean() for x, y, _ in holders if len(y)]
    weights = [w for _, y, w in holders if len(y)]
    return round(weighted_average(scored, weights), 4) if scored else float("nan")


def choose(scores: dict[str, float]) -> str:
    """LEARNED when it beats every control on validation, else the best control (the first
    listed of equals); LEARNED too when there was nothing to validate on (NaN scores)."""
    if np.isnan(scores[LEARNED]):
        return LEARNED
    controls = {name: s for name, s in scores.items() if name != LEARNED}
    best = max(controls, key=controls.get)
    return LEARNED if scores[LEARNED] > controls[best] else best
