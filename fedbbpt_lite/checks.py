"""Exercise checkers: each prints one fixed line on success or raises with a hint.

They test behaviour (what a function returns, how many queries it spends), not wording, so
any correct solution passes.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .blackbox.base import TransientAPIError
from .blackbox.meter import Budget, BudgetExceededError
from .blackbox.toy import ToyBlackBox, ToyFunction
from .datasets.registry import load_vision
from .policy_gradient import policy_gradient, sample_prompts
from .sweep import SweepSpec, experiments, run_id
from .tasks.vision import accuracy, client_accuracy


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
    """make_prompts(template, class_names) -> a list with one prompt per class, in class order."""
    got = make_prompts("a photo of a {}", ["dog", "cat"])
    _expect(isinstance(got, list), f"return a list, not a {type(got).__name__}")
    _expect(got == ["a photo of a dog", "a photo of a cat"], "use template.format(name), in order")
    _expect(make_prompts("{} here", ["x"]) == ["x here"], "use template.format(name)")
    _expect(make_prompts("{}!", []) == [], "no class names should give no prompts")
    _passed("make_prompts")


# ---------------------------------------------------------------- lesson 01


def check_zero_shot_accuracy(zero_shot_accuracy, blackbox) -> None:
    """zero_shot_accuracy(blackbox, dataset) -> test accuracy with the manual prompts, 1 call.

    The check itself spends one more query per data set (the reference answer) on the same meter.
    """
    for name in ("mnist_inverted", "fashion_noisy"):
        data = load_vision(name)
        want = accuracy(blackbox, data.x_test, data.y_test.numpy(), data.prompts)
        calls = blackbox.meter.calls
        got = float(zero_shot_accuracy(blackbox, data))
        spent = blackbox.meter.calls - calls
        _expect(spent == 1, f"score the whole test set in ONE query (you made {spent})")
        _expect(
            abs(got - want) < 1e-6,
            f"{name}: expected {want:.4f}, got {got:.4f}; use dataset.prompts and compare the "
            "argmax over classes with y_test",
        )
    _passed("zero_shot_accuracy")


class _CountingBlackBox:
    """Forwards queries to a black box and counts the attempts, failed or not."""

    def __init__(self, blackbox):
        self.blackbox, self.attempts = blackbox, 0

    def query(self, inputs, *args):
        self.attempts += 1
        return self.blackbox.query(inputs, *args)


def _retry_outcome(query_with_retry, blackbox, max_attempts):
    """(result or raised exception, attempts made) for one call of the student's function."""
    counting = _CountingBlackBox(blackbox)
    try:
        return query_with_retry(counting, np.array([[1.0, 2.0], [0.0, 0.0]]), max_attempts), (
            counting.attempts
        )
    except Exception as error:  # the checker inspects whatever the answer raised
        return error, counting.attempts


def check_query_with_retry(query_with_retry) -> None:
    """query_with_retry(blackbox, inputs, max_attempts) -> outputs, retrying TransientAPIError."""
    quadratic = ToyFunction("quadratic", 2)
    flaky = ToyBlackBox(quadratic, fault_rate=0.5, fault_seed=3)
    got, attempts = _retry_outcome(query_with_retry, flaky, 20)
    _expect(
        not isinstance(got, Exception),
        "catch TransientAPIError and call blackbox.query again, up to max_attempts times",
    )
    _expect(np.allclose(got, quadratic.value([[1.0, 2.0], [0.0, 0.0]])), "return the answer")
    _expect(attempts == flaky.meter.failed_calls + 1, "stop retrying after the first success")

    hopeless = ToyBlackBox(quadratic, fault_rate=0.99, fault_seed=0)
    got, attempts = _retry_outcome(query_with_retry, hopeless, 3)
    _expect(isinstance(got, Exception), "after max_attempts failures, raise the last error")
    _expect(attempts == 3, f"try exactly max_attempts (3) times, not {attempts}")
    _expect(isinstance(got, TransientAPIError), "re-raise the TransientAPIError itself")

    spent = ToyBlackBox(quadratic, budget=Budget(max_calls=0))
    got, attempts = _retry_outcome(query_with_retry, spent, 5)
    _expect(
        isinstance(got, BudgetExceededError) and attempts == 1,
        "retry only TransientAPIError: a spent budget will not recover, so let it propagate",
    )
    _passed("query_with_retry")


# ---------------------------------------------------------------- lesson 02


def _check_unbiased_one_call(estimator, name: str, perturbations=None) -> None:
    """The estimate has the right shape, sends its 2q points in one call, is right on average,
    and (when given) its perturbations (point - w) / c pass the `perturbations` test."""
    function = ToyFunction("quadratic", 4)
    w = np.array([1.0, -0.5, 0.25, 2.0])
    sent = []

    def loss_batch(W):
        sent.append(np.array(W, dtype=np.float64))
        return function.value(W)

    rng = np.random.default_rng(0)
    first = np.asarray(estimator(loss_batch, w, rng, 0.01, 3))
    _expect(first.shape == w.shape, f"return one gradient entry per parameter, shape {w.shape}")
    _expect(
        [len(points) for points in sent] == [6],
        "evaluate all 2*q points (w + mu*u and w - mu*u) in ONE loss_batch call",
    )
    if perturbations is not None:
        perturbations((sent[0][:3] - w) / 0.01)
    mean = np.mean([estimator(loss_batch, w, rng, 0.01, 8) for _ in range(1500)], axis=0)
    error = np.linalg.norm(mean - function.gradient(w)) / np.linalg.norm(function.gradient(w))
    _expect(
        error < 0.1, f"on average the estimate should equal the true gradient (off by {error:.0%})"
    )
    _passed(name)


def check_two_point_rge(two_point_rge) -> None:
    """two_point_rge(loss_batch, w, rng, mu, q): Gaussian directions, central differences."""
    _check_unbiased_one_call(two_point_rge, "two_point_rge")


def _segmented(deltas: np.ndarray) -> None:
    magnitudes = np.abs(deltas)
    _expect(
        bool(np.all((magnitudes >= 0.5 - 1e-9) & (magnitudes <= 1 + 1e-9))),
        "every perturbation coordinate should have magnitude in [0.5, 1]",
    )
    _expect(
        np.ptp(magnitudes) > 0.1, "draw the magnitudes uniformly in [0.5, 1], not all equal to 1"
    )
    _expect(bool((deltas > 0).any() and (deltas < 0).any()), "give each coordinate a random sign")


def check_spsa_segmented(spsa_segmented) -> None:
    """spsa_segmented(loss_batch, w, rng, c, q): BlackVIP's perturbations, divide by Delta."""
    _check_unbiased_one_call(spsa_segmented, "spsa_segmented", _segmented)


def check_gc_update(gc_update) -> None:
    """gc_update(w, g, m, a_k, beta) -> (w_new, m_new), SPSA-GC's corrected step."""
    w, g, m = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([0.1, 0.1])
    result = gc_update(w, g, m, 0.1, 0.9)
    _expect(len(result) == 2, "return two arrays: (w_new, m_new)")
    w_new, m_new = (np.asarray(x) for x in result)
    want_m = 0.9 * m + g
    want_w = w - 0.1 * (g + 0.9 * want_m)
    if np.allclose(w_new, want_m) and np.allclose(m_new, want_w):
        raise CheckFailed("return them in the order (w_new, m_new)")
    _expect(np.allclose(m_new, want_m), "update the correction first: m = beta * m + g")
    if np.allclose(w_new, w - 0.1 * (g + 0.9 * m)):
        raise CheckFailed("the step uses the UPDATED m: w - a_k * (g + beta * m_new)")
    _expect(np.allclose(w_new, want_w), "then step: w_new = w - a_k * (g + beta * m_new)")
    _passed("gc_update")


# ---------------------------------------------------------------- lesson 03


def check_fedavg(fedavg) -> None:
    """fedavg(client_parameters, num_examples) -> the example-weighted average array."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(2, 3)) for _ in range(3)]
    originals = [p.copy() for p in params]
    counts = [10, 30, 60]
    got = np.asarray(fedavg(params, counts))
    _expect(
        all(np.array_equal(p, o) for p, o in zip(params, originals, strict=True)),
        "leave the clients' arrays unchanged: build a new array instead of adding in place",
    )
    _expect(got.shape == (2, 3), "return one array shaped like each client's parameters")
    if np.allclose(got, np.mean(params, axis=0)):
        raise CheckFailed("weight each client by its number of examples, not equally")
    want = sum(n * p for n, p in zip(counts, params, strict=True)) / sum(counts)
    _expect(
        np.allclose(got, want),
        "expected sum_k n_k * theta_k / sum_k n_k, with true division, over every client",
    )
    _expect(
        np.allclose(np.asarray(fedavg(params[:1], [7])), params[0]), "one client: its own values"
    )
    _passed("fedavg")


def check_num_sampled(num_sampled) -> None:
    """num_sampled(fraction_fit, min_fit_clients, available) -> clients trained per round."""
    cases = [((0.1, 1, 10), 1), ((0.5, 1, 10), 5), ((0.05, 3, 10), 3), ((0.29, 1, 10), 2)]
    cases += [((1.0, 1, 7), 7), ((0.34, 2, 9), 3)]
    for (fraction, minimum, available), want in cases:
        got = num_sampled(fraction, minimum, available)
        _expect(
            isinstance(got, int | np.integer) and not isinstance(got, bool),
            f"return a whole number of clients (an int), not {type(got).__name__}",
        )
        _expect(
            got == want,
            f"num_sampled({fraction}, {minimum}, {available}) should be {want}, not {got}: "
            "round the fraction DOWN, then take at least min_fit_clients",
        )
    _passed("num_sampled")


# ---------------------------------------------------------------- lesson 04


def check_client_view(client_view) -> None:
    """client_view(predicted, labels, client_labels, num_classes) -> accuracy on its label mix."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 5)
    predicted = np.where(rng.random(20) < 0.6, labels, (labels + 1) % 4)
    balanced = client_view(predicted, labels, labels, 4)
    _expect(
        np.isclose(balanced, (predicted == labels).mean()),
        "a client holding the test set's own label mix sees the plain accuracy",
    )
    one_class = client_view(predicted, labels, np.array([2, 2, 2]), 4)
    _expect(
        np.isclose(one_class, (predicted[labels == 2] == 2).mean()),
        "a client holding only class 2 sees the accuracy on class 2's test images alone",
    )
    for _ in range(5):
        held = rng.integers(0, 4, rng.integers(1, 30))
        got, want = (
            client_view(predicted, labels, held, 4),
            client_accuracy(predicted, labels, held, 4),
        )
        _expect(
            np.isclose(got, want),
            "weight each class's test accuracy by how many examples of it the client holds",
        )
    _passed("client_view")


def check_gap_recovered(gap_recovered) -> None:
    """gap_recovered(zero_shot, tuned, upper) -> share of the zero-shot -> upper-bound gap."""
    for args, want in [
        ((0.25, 0.75, 0.75), 1.0),
        ((0.25, 0.5, 0.75), 0.5),
        ((0.3, 0.2, 0.8), -0.2),
    ]:
        got = gap_recovered(*args)
        _expect(
            np.isclose(got, want),
            f"gap_recovered{args} should be {want}: (tuned - zero_shot) / (upper - zero_shot)",
        )
    hint = "with upper <= zero_shot there is no gap to recover: raise ValueError"
    try:
        gap_recovered(0.5, 0.6, 0.5)
    except ValueError:
        pass
    except Exception as error:
        raise CheckFailed(f"{hint}, not {type(error).__name__}") from error
    else:
        raise CheckFailed(hint)
    _passed("gap_recovered")


# ---------------------------------------------------------------- lesson 05


def check_policy_gradient(policy_gradient_by_hand) -> None:
    """policy_gradient_by_hand(theta, prompts, losses) -> BDPL's variance-reduced estimate."""
    rng = np.random.default_rng(5)
    for positions, candidates, samples in ((1, 3, 2), (2, 4, 5), (3, 6, 20)):
        theta = rng.dirichlet(np.ones(candidates), size=positions)
        prompts = sample_prompts(theta, samples, rng)
        losses = rng.normal(size=samples)
        got = np.asarray(policy_gradient_by_hand(theta, prompts, losses), dtype=float)
        _expect(got.shape == theta.shape, f"return one entry per theta entry, {theta.shape}")
        want = policy_gradient(theta, prompts, losses)
        _expect(
            np.allclose(got, want),
            "subtract the mean loss, add (L_j - mean) / theta[i, k] at each position's chosen "
            "candidate k, then divide by I - 1",
        )
    _passed("policy_gradient_by_hand")


def check_gain_over_controls(gain_over_controls) -> None:
    """gain_over_controls(tuned, controls) -> (best control's name, mean(tuned) - its mean)."""
    controls = {"empty": [0.79, 0.79], "manual": [0.80, 0.82], "random": [0.70, 0.76]}
    got = gain_over_controls([0.83, 0.85], controls)
    _expect(isinstance(got, tuple) and len(got) == 2, "return (name, gain)")
    name, gain = got
    _expect(name == "manual", "the best control is the one with the highest mean accuracy")
    _expect(np.isclose(gain, 0.03), "gain = mean of the tuned runs - mean of the best control")
    name, gain = gain_over_controls([0.75], {"empty": [0.79], "random": [0.7]})
    _expect(name == "empty" and np.isclose(gain, -0.04), "a tuned prompt can lose: gain < 0")
    _passed("gain_over_controls")


# ---------------------------------------------------------------- lesson 06


def check_accuracy_of(accuracy_of) -> None:
    """accuracy_of(table, dataset, method, setting) -> accuracy_mean of that row of a sweep
    summary (one variant and client count per data set, as in the quick preset's vision part)."""
    rows = [
        ("mnist", "fedbbpt", "iid", 0.81),
        ("mnist", "fedbbpt", "dirichlet(0.5)", 0.77),
        ("mnist", "local_only", "dirichlet(0.5)", 0.70),
        ("fashion_mnist", "fedbbpt", "iid", 0.66),
    ]
    table = pd.DataFrame(
        [
            {"task": "vision", "dataset": d, "method": m, "variant": "grid", "setting": s}
            | {"clients": 5, "accuracy_mean": a, "accuracy_std": 0.01, "seeds": 3}
            for d, m, s, a in rows
        ]
    )
    for dataset, method, setting, want in rows:
        got = accuracy_of(table, dataset, method, setting)
        _expect(
            isinstance(got, numbers.Real) and not isinstance(got, bool),
            "return one number (a float), not a table row or a Series: try float(...)",
        )
        _expect(
            np.isclose(got, want),
            f"for {dataset}, {method}, {setting} the table's accuracy_mean is {want}: "
            "filter on all three columns",
        )
    _passed("accuracy_of")


def check_add_dataset(add_dataset) -> None:
    """add_dataset(spec, name) -> the same sweep spec with one more data set."""
    spec = SweepSpec(datasets=("mnist",), methods=("zero_shot", "fedbbpt"), seeds=(0, 1))
    bigger = add_dataset(spec, "fashion_mnist")
    _expect(isinstance(bigger, SweepSpec), "return a SweepSpec (dataclasses.replace makes one)")
    _expect(spec.datasets == ("mnist",), "leave the spec you were given unchanged")
    _expect(
        list(bigger.datasets) == ["mnist", "fashion_mnist"],
        "keep the data sets already there and put the new one after them",
    )
    old = {run_id(e) for e in experiments(spec)}
    new = [e for e in experiments(bigger) if run_id(e) not in old]
    _expect(
        old <= {run_id(e) for e in experiments(bigger)} and new,
        "change only the data sets: every other field stays, so no finished run is redone",
    )
    _expect(
        {e.dataset for e in new} == {"fashion_mnist"},
        "the new runs should all be on the added data set",
    )
    _passed("add_dataset")


# ---------------------------------------------------------------- lesson 07


def check_clip_update(clip_update) -> None:
    """clip_update(update, clip_norm) -> the update scaled to L2 norm at most clip_norm."""
    rng = np.random.default_rng(0)
    for scale in (0.1, 1.0, 30.0):
        update = rng.normal(size=12) * scale
        kept = update.copy()
        got = np.asarray(clip_update(update, 1.5), dtype=float)
        _expect(np.array_equal(update, kept), "leave the update you were given unchanged")
        _expect(got.shape == update.shape, "return an array of the update's shape")
        norm = np.linalg.norm(update)
        want = update * min(1.0, 1.5 / norm)
        _expect(
            np.linalg.norm(got) <= 1.5 + 1e-9,
            "the clipped update's L2 norm must be at most clip_norm",
        )
        _expect(
            np.allclose(got, want),
            "scale the whole update by min(1, clip_norm / norm): keep its direction, and leave "
            "an update already inside the ball as it is",
        )
    zero = np.asarray(clip_update(np.zeros(3), 1.0), dtype=float)
    _expect(np.all(np.isfinite(zero)) and not zero.any(), "a zero update stays zero (no 0/0)")
    _passed("clip_update")


def check_answered_fraction(answered_fraction) -> None:
    """answered_fraction(history, server_round) -> the share of that round's sampled clients
    that answered: fits / (fits + failures) in that round."""
    from .federated.history import History

    history = History()
    for client in range(4):
        history.record_fit(1, client, {"num_examples": 10})
    for client in (0, 2):
        history.record_fit(2, client, {"num_examples": 10})
    history.record_failure(2, 1, RuntimeError("dropped"))
    history.record_failure(2, 3, RuntimeError("dropped"))
    history.record_failure(3, 0, RuntimeError("dropped"))
    history.record_fit(3, 1, {"num_examples": 10})
    for server_round, want in ((1, 1.0), (2, 0.5), (3, 0.5)):
        got = answered_fraction(history, server_round)
        _expect(
            isinstance(got, numbers.Real) and not isinstance(got, bool),
            "return one number (a float)",
        )
        _expect(
            np.isclose(got, want),
            f"round {server_round}: count that round's rows in history.fits (answered) and "
            "history.failures (sampled but failed), and divide",
        )
    _passed("answered_fraction")
