"""Choosing a method's step size on held-out pool examples, so the test set never picks it.

Every tuned method gets the same treatment: its default step size (SPSA-GC's a, Adam's or
AdamW's learning rate, the probe's learning rate) times each of STEP_MULTIPLIERS, scored on
validation images or texts that the few-shot pool is then drawn without.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..blackbox.base import BlackBox
from ..datasets.few_shot import per_class_indices
from ..datasets.text_sets import TextDataset
from ..datasets.vision_sets import VisionDataset
from ..validation import check_count
from .engine import run_experiment
from .selection import step_candidates
from .text_experiment import TextExperiment
from .vision_experiment import VisionExperiment


def validation_split(data, per_class: int, seed: int = 0):
    """The data set (vision or text) with `per_class` pool examples of each class moved out to
    be its test set."""
    if not isinstance(data, VisionDataset | TextDataset):
        raise TypeError(f"data must be a VisionDataset or TextDataset, got {type(data).__name__}")
    labels = data.y_train.numpy() if isinstance(data, VisionDataset) else data.y_train
    smallest = np.bincount(labels, minlength=len(data.class_names)).min()
    if smallest <= check_count("per_class", per_class):
        raise ValueError(
            f"a class has {smallest} pool examples; per_class={per_class} would leave none"
        )
    held = per_class_indices(
        labels, len(data.class_names), per_class, np.random.default_rng(seed), "per_class"
    )
    kept = np.setdiff1d(np.arange(len(labels)), held)
    if isinstance(data, TextDataset):
        return replace(
            data,
            train_texts=tuple(data.train_texts[i] for i in kept),
            y_train=labels[kept],
            test_texts=tuple(data.train_texts[i] for i in held),
            y_test=labels[held],
        )
    return replace(
        data,
        x_train=data.x_train[kept],
        y_train=data.y_train[kept],
        x_test=data.x_train[held],
        y_test=data.y_train[held],
    )


def candidates(experiment: VisionExperiment | TextExperiment) -> list[float]:
    """The step sizes tried for this experiment's method and generator (or prompt method)."""
    if experiment.method == "zero_shot":
        raise ValueError("method 'zero_shot' tunes nothing, so it has no step size to select")
    return step_candidates(experiment.default_step, None)


def select_step_size(
    experiment: VisionExperiment | TextExperiment,
    data: VisionDataset | TextDataset,
    blackbox: BlackBox | None = None,
    per_class: int = 30,
) -> tuple[float, dict[float, float]]:
    """The best step size on a validation split of the pool (ties go to the smaller) and every
    candidate's accuracy; the runs spend len(candidates) x the experiment's API budget."""
    validation = validation_split(data, per_class, seed=experiment.seed)
    # a run may return a control instead: score what the step size learned
    scores = {
        a: run_experiment(replace(experiment, step_size=a), validation, blackbox)[
            "learned_accuracy"
        ]
        for a in candidates(experiment)
    }
    return max(scores, key=scores.get), scores
