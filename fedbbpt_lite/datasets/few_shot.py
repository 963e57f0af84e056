"""Few-shot sampling shared by every task: the same number of random examples of each class."""

from __future__ import annotations

import numpy as np

from ..validation import check_count, check_rng


def per_class_indices(
    labels, num_classes: int, count: int, rng: np.random.Generator, name: str = "shots"
) -> np.ndarray:
    """Sorted indices of `count` random examples of every class in `labels`; `name` is the
    argument that set count, for the error when a class has fewer."""
    count = check_count(name, count)
    check_rng(rng)
    labels = np.asarray(labels)
    picked = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        if len(members) < count:
            raise ValueError(
                f"class {c} has {len(members)} pool examples, fewer than {name}={count}"
            )
        picked.append(rng.choice(members, count, replace=False))
    return np.sort(np.concatenate(picked))
