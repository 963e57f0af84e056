"""Choosing a method's step size on held-out pool images, so the test set never picks it.

Every tuned method gets the same treatment: its default step size (SPSA-GC's a, or Adam's
learning rate for white-box) times each of STEP_MULTIPLIERS, scored on validation images that
the few-shot pool is then drawn without.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..blackbox.miniclip import MiniCLIPBlackBox
from ..datasets.few_shot import per_class_indices
from ..datasets.registry import VisionDataset
from ..validation import check_count
from .vision_experiment import (
    STEP_SIZES,
    WHITEBOX_LR,
    VisionExperiment,
    run_vision,
)

STEP_MULTIPLIERS = (0.1, 0.3, 1.0, 3.0, 10.0)


def validation_split(data: VisionDataset, per_class: int, seed: int = 0) -> VisionDataset:
    """The data set with `per_class` pool images of each class moved out to be its test set."""
    labels = data.y_train.numpy()
    smallest = np.bincount(labels, minlength=len(data.class_names)).min()
    if smallest <= check_count("per_class", per_class):
        raise ValueError(
            f"a class has {smallest} pool images; per_class={per_class} would leave none"
        )
    held = per_class_indices(
        labels, len(data.class_names), per_class, np.random.default_rng(seed), "per_class"
    )
    kept = np.setdiff1d(np.arange(len(labels)), held)
    return replace(
        data,
        x_train=data.x_train[kept],
        y_train=data.y_train[kept],
        x_test=data.x_train[held],
        y_test=data.y_train[held],
    )


def candidates(experiment: VisionExperiment) -> list[float]:
    """The step sizes tried for this experiment's method and generator."""
    if experiment.method == "zero_shot":
        raise ValueError("method 'zero_shot' tunes nothing, so it has no step size to select")
    table = WHITEBOX_LR if experiment.method == "whitebox" else STEP_SIZES
    return [round(table[experiment.generator] * m, 6) for m in STEP_MULTIPLIERS]


def select_step_size(
    experiment: VisionExperiment,
    data: VisionDataset,
    blackbox: MiniCLIPBlackBox | None = None,
    per_class: int = 30,
) -> tuple[float, dict[float, float]]:
    """Run the experiment at every candidate step size on a validation split of the pool;
    return the best step size and each candidate's validation accuracy (ties go to the smaller).
    The runs spend len(candidates) x the experiment's API budget, on `blackbox` when given."""
    validation = validation_split(data, per_class, seed=experiment.seed)
    scores = {
        a: run_vision(replace(experiment, step_size=a), validation, blackbox)["accuracy"]
        for a in candidates(experiment)
    }
    return max(scores, key=scores.get), scores
