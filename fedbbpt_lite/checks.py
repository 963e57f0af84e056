"""Exercise checkers: each prints one fixed line on success or raises with a hint.

They test behaviour (what a function returns, how many queries it spends), not wording, so
any correct solution passes.
"""

from __future__ import annotations

import numpy as np

from .blackbox.base import TransientAPIError
from .blackbox.toy import ToyBlackBox, ToyFunction
from .datasets.registry import load_vision
from .tasks.vision import accuracy


class CheckFailed(AssertionError):
    """An exercise answer is wrong; the message says what to look at."""


def _expect(condition: bool, hint: str) -> None:
    if not condition:
        raise CheckFailed(hint)


def _passed(name: str) -> None:
    print(f"Correct: {name} passes every check.")


# ---------------------------------------------------------------- lesson 00


def check_class_counts(class_counts) -> None:
    """class_counts(dataset) -> {class name: number of test images}."""
    for name in ("mnist", "digits_upsampled"):
        data = load_vision(name)
        got = class_counts(data)
        _expect(isinstance(got, dict), "return a dict mapping class names to counts")
        want = {c: int((data.y_test == i).sum()) for i, c in enumerate(data.class_names)}
        _expect(set(got) == set(want), f"keys should be the class names {list(want)}")
        _expect(
            all(int(got[c]) == want[c] for c in want), "count the TEST labels equal to each index"
        )
    _passed("class_counts")


def check_make_prompts(make_prompts) -> None:
    """make_prompts(template, class_names) -> one prompt per class, in class order."""
    got = make_prompts("a photo of a {}", ["cat", "dog"])
    _expect(list(got) == ["a photo of a cat", "a photo of a dog"], "use template.format(name)")
    _expect(list(make_prompts("{} here", ["x"])) == ["x here"], "use template.format(name)")
    _expect(list(make_prompts("{}!", [])) == [], "no class names should give no prompts")
    _passed("make_prompts")


# ---------------------------------------------------------------- lesson 01


def check_zero_shot_accuracy(zero_shot_accuracy, blackbox) -> None:
    """zero_shot_accuracy(blackbox, dataset) -> test accuracy with the manual prompts, 1 call.

    The check itself spends one more query (the reference answer) on the same meter.
    """
    data = load_vision("mnist_inverted")
    want = accuracy(blackbox, data.x_test, data.y_test.numpy(), data.prompts)
    calls = blackbox.meter.calls
    got = zero_shot_accuracy(blackbox, data)
    spent = blackbox.meter.calls - calls
    _expect(spent == 1, f"score the whole test set in ONE query (you made {spent})")
    _expect(abs(float(got) - want) < 1e-9, f"expected {want:.3f}: argmax over classes vs y_test")
    _passed("zero_shot_accuracy")


def check_query_with_retry(query_with_retry) -> None:
    """query_with_retry(blackbox, inputs, max_attempts) -> outputs, retrying TransientAPIError."""
    points = np.array([[1.0, 2.0], [0.0, 0.0]])
    flaky = ToyBlackBox(ToyFunction("quadratic", 2), fault_rate=0.5, fault_seed=3)
    try:
        got = query_with_retry(flaky, points, 20)
    except TransientAPIError:
        raise CheckFailed(
            "catch TransientAPIError and call blackbox.query again, up to max_attempts times"
        ) from None
    want = ToyFunction("quadratic", 2).value(points)
    _expect(np.allclose(got, want), "return the black box's answer once a call succeeds")
    _expect(flaky.meter.failed_calls > 0, "call blackbox.query(...) itself and catch failures")
    _expect(flaky.meter.calls == 1, "stop retrying after the first successful call")
    hopeless = ToyBlackBox(ToyFunction("quadratic", 2), fault_rate=0.99, fault_seed=0)
    try:
        query_with_retry(hopeless, points, 3)
    except TransientAPIError:
        _expect(hopeless.meter.failed_calls == 3, "try exactly max_attempts times")
    else:
        raise CheckFailed("after max_attempts failures, re-raise the TransientAPIError")
    _passed("query_with_retry")


# ---------------------------------------------------------------- lesson 02


def _check_unbiased_one_call(estimator, name: str, rows_per_q: int) -> None:
    function = ToyFunction("quadratic", 4)
    w = np.array([1.0, -0.5, 0.25, 2.0])
    rows = []

    def loss_batch(W):
        rows.append(len(W))
        return function.value(W)

    rng = np.random.default_rng(0)
    first = np.asarray(estimator(loss_batch, w, rng, 0.01, 3))
    _expect(first.shape == w.shape, f"return one gradient entry per parameter, shape {w.shape}")
    _expect(rows == [rows_per_q * 3], f"evaluate all {rows_per_q}*q points in ONE loss_batch call")
    mean = np.mean([estimator(loss_batch, w, rng, 0.01, 8) for _ in range(1500)], axis=0)
    error = np.linalg.norm(mean - function.gradient(w)) / np.linalg.norm(function.gradient(w))
    _expect(
        error < 0.1, f"on average the estimate should equal the true gradient (off by {error:.0%})"
    )
    _passed(name)


def check_two_point_rge(two_point_rge) -> None:
    """two_point_rge(loss_batch, w, rng, mu, q): Gaussian directions, central differences."""
    _check_unbiased_one_call(two_point_rge, "two_point_rge", 2)


def check_spsa_segmented(spsa_segmented) -> None:
    """spsa_segmented(loss_batch, w, rng, c, q): BlackVIP's perturbations, divide by Delta."""
    _check_unbiased_one_call(spsa_segmented, "spsa_segmented", 2)


def check_gc_update(gc_update) -> None:
    """gc_update(w, g, m, a_k, beta) -> (w_new, m_new), SPSA-GC's corrected step."""
    w, g, m = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([0.1, 0.1])
    w_new, m_new = gc_update(w, g, m, 0.1, 0.9)
    want_m = 0.9 * m + g
    _expect(np.allclose(m_new, want_m), "update the correction first: m = beta * m + g")
    _expect(np.allclose(w_new, w - 0.1 * (g + 0.9 * want_m)), "then w - a_k * (g + beta * m)")
    _passed("gc_update")
