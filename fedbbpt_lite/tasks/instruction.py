"""Wire an instruction to the executor API and score it: InstructZero's execution accuracy
(the answer normalised, then exact match, or "contains" for synonyms) or, for a model too small to
answer, the choice among candidate outputs by log-likelihood. Scoring runs on the client.
"""

from __future__ import annotations

import re
import string

import numpy as np

from ..blackbox.executor import ExecutorBlackBox
from ..validation import check_choice

METRICS = ("em", "contains")
SCORINGS = ("generate", "choice")


def normalise(answer: str) -> str:
    """An answer as the Instruction Induction benchmark compares it: first line, up to the first
    full stop, lower case, hyphens as spaces, no punctuation, "and" dropped between words."""
    answer = str(answer).replace(" and ", " ").strip().split("\n")[0].split(".")[0].lower()
    # no strip after: as the benchmark's, "cold ." stays "cold " and fails an exact match
    return answer.replace("-", " ").translate(str.maketrans("", "", string.punctuation))


def answer_score(answer: str, expected: str, metric: str = "em") -> float:
    """1.0 when the answer matches (em) or contains the expected word(s) (contains), else 0.0."""
    answer, expected = normalise(answer), normalise(expected)
    if check_choice("metric", metric, METRICS) == "em":
        return float(answer == expected)
    return float(bool(re.search(rf"\b{re.escape(expected)}\b", answer)))


def candidate_outputs(inputs, outputs, distractors: int = 2, seed: int = 0) -> list[list[str]]:
    """Per input, the expected output first, then the input itself (what a weak model echoes)
    and `distractors` other examples' outputs: the choices the "choice" scoring offers."""
    rng = np.random.default_rng(seed)
    rows = []
    for number, (x, y) in enumerate(zip(inputs, outputs, strict=True)):
        others = [o for k, o in enumerate(outputs) if k != number and o not in (x, y)]
        picked = rng.choice(len(others), size=min(distractors, len(others)), replace=False)
        rows.append([y] + ([x] if x != y else []) + [others[k] for k in picked])
    width = min(len(row) for row in rows)
    return [row[:width] for row in rows]


def instruction_scores(
    api: ExecutorBlackBox,
    instruction: str,
    inputs,
    outputs,
    scoring: str = "generate",
    metric: str = "em",
    candidates=None,
) -> np.ndarray:
    """Per input, 1.0 when the executor gets it right under the instruction (one billed query):
    its generated answer (generate), or its likeliest candidate being the expected output
    (choice; candidates default to candidate_outputs)."""
    if check_choice("scoring", scoring, SCORINGS) == "generate":
        answers = api.query(list(inputs), instruction)
        return np.array([answer_score(a, y, metric) for a, y in zip(answers, outputs, strict=True)])
    candidates = candidates or candidate_outputs(inputs, outputs)
    chosen = api.query(list(inputs), instruction, candidates)
    chosen = chosen if chosen.ndim == 1 else chosen.argmax(1)  # output "label": indices already
    return np.array(
        [float(row[k] == y) for row, k, y in zip(candidates, chosen, outputs, strict=True)]
    )
