"""Exercise checkers: each prints one fixed line on success, or stops with one short message.

A checker tests behaviour (what a function returns, how many queries it spends), not wording,
so any correct solution passes. When an answer fails, the checker names the mistake it
recognises and the concept to revisit; `hint(exercise)` then gives the next step, one step per
call. Messages never show reference code, and a notebook shows them without a traceback into
the kit (IPython renders an exception's `_render_traceback_` instead of the traceback).
"""

from __future__ import annotations

import contextlib
import numbers
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .blackbox.base import TransientAPIError
from .blackbox.meter import Budget, BudgetExceededError
from .blackbox.toy import ToyBlackBox, ToyFunction
from .datasets.vision_sets import load_vision
from .policy_gradient import policy_gradient, sample_prompts
from .sweep import SweepSpec, experiments, run_id
from .tasks.vision import accuracy, client_accuracy

PACKAGE = Path(__file__).resolve().parent
NOT_WRITTEN = (
    "{exercise} is not written yet: replace the line `raise NotImplementedError(...)` in its "
    "cell with your code, run that cell, then run this check again."
)


@dataclass(frozen=True)
class Mistake:
    """A mistake a checker recognises: the concept to revisit (shown when the check fails) and
    the next steps that `hint` gives one at a time. Placeholders like {detail} are filled in."""

    concept: str
    steps: tuple[str, ...]


RAISED = Mistake(
    "your function raised {detail}. The checker calls it with inputs shaped like the lesson's.",
    (
        "Run your function yourself on the lesson's data and read the error it raises.",
        "Check the types: NumPy arrays, tensors, lists and dicts each index differently.",
    ),
)
NOT_A_NUMBER = Mistake(
    "your function returned a {detail} where one number was expected.",
    ("Return a single float: float(...) turns a NumPy or torch scalar into one.",),
)
WARNED = Mistake(
    "your function made NumPy warn ({detail}); a correct answer computes without warnings.",
    ("Find the operation that warned: a division by zero or an empty mean are the usual ones.",),
)


class CheckFailed(AssertionError):
    """An exercise answer is wrong. It names the exercise and the recognised mistake, whose
    concept is the message; in a notebook it shows as that message and a pointer to hint()."""

    def __init__(self, exercise: str, mistake: str, message: str):
        super().__init__(f"{exercise}: {message}")
        self.exercise, self.mistake = exercise, mistake

    def _render_traceback_(self) -> list[str]:
        return [
            f"CheckFailed: {self}",
            f'Stuck? fbl.checks.hint("{self.exercise}") gives the next step.',
        ]


def _shown_alone(error: Exception) -> Exception:
    """The error, set to show in a notebook as its one-line message, without a traceback."""
    error._render_traceback_ = lambda: [f"{type(error).__name__}: {error}"]
    return error


class _Wrong(Exception):
    """Raised inside a checker: the answer made mistake `key` (with details for its text)."""

    def __init__(self, key: str, detail: str = ""):
        super().__init__(key)
        self.key, self.detail = key, detail


class _Grader:
    """Calls an answer and records what it got wrong, for one exercise's check."""

    def __init__(self, exercise: str, answer, mistakes: dict[str, Mistake]):
        if not callable(answer):
            message = f"pass your function {exercise} itself, not a {type(answer).__name__}"
            raise _shown_alone(TypeError(message))
        self.exercise, self.answer, self.mistakes = exercise, answer, mistakes

    def call(self, *args, on_warning: str = "warned"):
        """The answer's return value; its errors and NumPy warnings become mistakes."""
        value, error = self.outcome(*args, on_warning=on_warning)
        if error is not None:
            raise _Wrong("raised", _describe(error))
        return value

    def outcome(self, *args, on_warning: str = "warned"):
        """(value, None) or (None, the exception the answer raised)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                return self.answer(*args), None
        except NotImplementedError:
            unwritten = NotImplementedError(NOT_WRITTEN.format(exercise=self.exercise))
            raise _shown_alone(unwritten) from None
        except RuntimeWarning as warning:
            raise _Wrong(on_warning, str(warning)) from None
        except Exception as error:  # the student's own error: reported, not re-raised
            return None, error

    def expect(self, condition: bool, key: str, detail: str = "") -> None:
        if not condition:
            raise _Wrong(key, detail)

    def failure(self, wrong: _Wrong) -> CheckFailed:
        known = {"raised": RAISED, "warned": WARNED, "not-a-number": NOT_A_NUMBER}
        mistake = self.mistakes.get(wrong.key) or known[wrong.key]
        _failures[self.exercise] = [mistake, wrong.detail, 0]
        return CheckFailed(self.exercise, wrong.key, _fill(mistake.concept, wrong.detail))


_failures: dict[str, list] = {}  # exercise -> [mistake, detail, steps already given]


def _describe(error: BaseException) -> str:
    """The student's error and where in their own code it was raised."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not Path(frame.filename).resolve().is_relative_to(PACKAGE)
        and "site-packages" not in frame.filename
    ]
    where = f" at line {frames[-1].lineno} of your cell" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def _fill(text: str, detail: str) -> str:
    return text.replace("{detail}", detail)


@contextlib.contextmanager
def _grading(exercise: str, answer, mistakes: dict[str, Mistake]):
    """Run one check: print the success line, or raise CheckFailed for the first mistake."""
    grader = _Grader(exercise, answer, mistakes)
    try:
        yield grader
    except _Wrong as wrong:
        raise grader.failure(wrong) from None
    _failures.pop(exercise, None)
    print(f"Correct: {exercise} passes every check.")


def hint(exercise: str) -> None:
    """Print the next step towards fixing the last failed check of `exercise` (the function's
    name, or its checker's); each call gives the step after the previous one."""
    if not isinstance(exercise, str):
        raise _shown_alone(
            TypeError(f"exercise must be the exercise's name as a string, got {exercise!r}")
        )
    exercise = CHECKED.get(exercise.removeprefix("check_"), exercise)
    if exercise not in EXERCISES:
        names = ", ".join(sorted(EXERCISES))
        raise _shown_alone(ValueError(f"exercise must be one of {names}; got {exercise!r}"))
    if exercise not in _failures:
        print(f"{exercise} has no failed check to explain: run its check cell first.")
        return
    mistake, detail, given = _failures[exercise]
    if given == len(mistake.steps):
        print(
            f"No further steps for {exercise}: reread the Concepts it builds on, then try your "
            "function on a tiny input you can work out by hand."
        )
        return
    _failures[exercise][2] = given + 1
    print(f"Step {given + 1} of {len(mistake.steps)}: {_fill(mistake.steps[given], detail)}")


def _number(value) -> bool:
    return isinstance(value, numbers.Real | np.floating | np.integer) and not isinstance(
        value, bool
    )


def _as_float(value) -> float:
    """A number from a float, a NumPy scalar or a one-element tensor."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _Wrong("not-a-number", type(value).__name__) from None


# ---------------------------------------------------------------- lesson 00

CLASS_COUNTS = {
    "not-dict": Mistake(
        "the answer should be a dict from class name to count, not a {detail}.",
        ("Start from an empty dict and add one entry per class name.",),
    ),
    "keys": Mistake(
        "the keys should be the class names, such as 'zero' or 'T-shirt', not their indices.",
        ("dataset.class_names lists the names in label order: label i has the i-th name.",),
    ),
    "train": Mistake(
        "these are the counts of the training pool. The exercise asks about the TEST set.",
        ("Count the labels in dataset.y_test, not dataset.y_train.",),
    ),
    "counts": Mistake(
        "some counts are off: each class name should map to how many test labels equal its index.",
        (
            "For one class, compare the test labels with its index and count the matches.",
            "Convert each count to a plain int so the dict prints cleanly.",
        ),
    ),
}


def check_class_counts(class_counts) -> None:
    """class_counts(dataset) -> {class name: number of test images}."""
    with _grading("class_counts", class_counts, CLASS_COUNTS) as grade:
        for name in ("mnist", "digits_upsampled"):
            data = load_vision(name)
            got = grade.call(data)
            grade.expect(isinstance(got, dict), "not-dict", type(got).__name__)
            grade.expect(set(got) == set(data.class_names), "keys")
            counts = [int((data.y_test == i).sum()) for i in range(len(data.class_names))]
            train = [int((data.y_train == i).sum()) for i in range(len(data.class_names))]
            mine = [int(got[c]) for c in data.class_names]
            grade.expect(mine != train or mine == counts, "train")
            grade.expect(mine == counts, "counts")


MAKE_PROMPTS = {
    "not-list": Mistake(
        "return a list of strings, not a {detail}: the black box is given a list of prompts.",
        ("A list comprehension over class_names builds the list in one line.",),
    ),
    "ignores-template": Mistake(
        "your prompts do not change when the template changes. The template is an argument "
        "of the function: fill it, don't write your own.",
        ("For each class name, put the name where the template has its {} placeholder.",),
    ),
    "placeholder": Mistake(
        "the template's {} placeholder is still in your prompts: the class name goes in its "
        "place, not after the template.",
        ("Python's str.format fills a template's {} with the argument you give it.",),
    ),
    "order": Mistake(
        "the prompts are right but in another order. Prompt i must belong to class i: the "
        "black box's answer for column i is read as class i.",
        ("Keep class_names in the order you were given; don't sort them.",),
    ),
    "wrong": Mistake(
        "for the template '{} here' and the class 'x', the prompt should read 'x here' "
        "(got {detail}).",
        ("Fill the template with each class name, and add nothing else.",),
    ),
}


def check_make_prompts(make_prompts) -> None:
    """make_prompts(template, class_names) -> a list with one prompt per class, in class order."""
    with _grading("make_prompts", make_prompts, MAKE_PROMPTS) as grade:
        got = grade.call("a photo of a {}", ["dog", "cat"])
        grade.expect(isinstance(got, list), "not-list", type(got).__name__)
        other = grade.call("{} in the wild", ["dog", "cat"])
        grade.expect(got != other, "ignores-template")
        grade.expect(not any("{}" in str(p) for p in got), "placeholder")
        want = ["a photo of a dog", "a photo of a cat"]
        grade.expect(got == want or sorted(got) != sorted(want), "order")
        grade.expect(got == want, "wrong", repr(got))
        short = grade.call("{} here", ["x"])
        grade.expect(short == ["x here"], "wrong", repr(short))
        grade.expect(grade.call("{}!", []) == [], "wrong", "prompts for no class names")


# ---------------------------------------------------------------- lesson 01

ZERO_SHOT_ACCURACY = {
    "calls": Mistake(
        "your function made {detail} queries. Revisit the meter in Concepts: one request can "
        "score a whole batch, and each request is billed.",
        ("Send all of dataset.x_test in a single blackbox.query call.",),
    ),
    "percent": Mistake(
        "your answer is 100 times too large: accuracy is a fraction between 0 and 1 here.",
        ("Drop the factor of 100.",),
    ),
    "count": Mistake(
        "your answer is the number of images classified right, {detail}; accuracy is their "
        "share of the test set.",
        ("Divide the count by the number of test images, or take the mean of the matches.",),
    ),
    "error-rate": Mistake(
        "your answer is the error rate: the share of images whose top class is wrong.",
        ("Count the images whose highest-scoring prompt IS their label.",),
    ),
    "prompts": Mistake(
        "{detail}. Zero-shot accuracy uses the data set's own manual prompts.",
        (
            "Pass dataset.prompts as the black box's prompts, one per class, in class order.",
            "The prediction for an image is the column with the highest score.",
        ),
    ),
}


def check_zero_shot_accuracy(zero_shot_accuracy, blackbox) -> None:
    """zero_shot_accuracy(blackbox, dataset) -> test accuracy with the manual prompts, 1 call.

    The check spends one more query per data set (the reference answer) on the same meter, after
    the answer's, so an unwritten answer spends nothing.
    """
    with _grading("zero_shot_accuracy", zero_shot_accuracy, ZERO_SHOT_ACCURACY) as grade:
        for name in ("mnist_inverted", "fashion_noisy"):
            data = load_vision(name)
            calls = blackbox.meter.calls
            got = _as_float(grade.call(blackbox, data))
            spent = blackbox.meter.calls - calls
            grade.expect(spent == 1, "calls", str(spent))
            want = accuracy(blackbox, data.x_test, data.y_test.numpy(), data.prompts)
            grade.expect(not np.isclose(got, 100 * want), "percent")
            count = want * len(data.y_test)
            grade.expect(not np.isclose(got, count), "count", f"{got:g} of {len(data.y_test)}")
            grade.expect(not np.isclose(got, 1 - want) or np.isclose(want, 0.5), "error-rate")
            grade.expect(
                abs(got - want) < 1e-6, "prompts", f"on {name} you got {got:.4f}, not {want:.4f}"
            )


QUERY_WITH_RETRY = {
    "no-retry": Mistake(
        "the first TransientAPIError went straight through your function. Revisit latency "
        "and faults in Concepts: a transient fault is worth another try.",
        (
            "Put the query in a try block and catch fbl.blackbox.TransientAPIError.",
            "Loop: try again after each caught error, up to max_attempts tries in all.",
        ),
    ),
    "gives-up-silently": Mistake(
        "after max_attempts failures your function returned {detail} instead of raising. The "
        "caller must learn that the query never succeeded.",
        ("On the last attempt, let the error propagate (a bare `raise` re-raises it).",),
    ),
    "attempts": Mistake(
        "with max_attempts set to 3 and every try failing, your function tried {detail} times.",
        ("Count the first try as an attempt too: max_attempts tries in all, not retries.",),
    ),
    "extra-queries": Mistake(
        "your function queried again after a success ({detail} tries for one answer): every "
        "query is billed.",
        ("Return the answer of the first query that succeeds, straight away.",),
    ),
    "retries-everything": Mistake(
        "your function retried a BudgetExceededError. Only transient faults recover by "
        "themselves; a spent budget refuses every later query too.",
        ("Catch fbl.blackbox.TransientAPIError only, and let other errors through.",),
    ),
    "wrong-answer": Mistake(
        "the value returned is not the black box's answer.",
        ("Return what blackbox.query returns, unchanged.",),
    ),
    "wrong-error": Mistake(
        "after max_attempts failures your function raised {detail}; re-raise the "
        "TransientAPIError itself, so the caller knows what failed.",
        ("A bare `raise` inside the except block re-raises the error it caught.",),
    ),
}


class _CountingBlackBox:
    """Forwards queries to a black box and counts the attempts, failed or not."""

    def __init__(self, blackbox):
        self.blackbox, self.attempts = blackbox, 0

    def query(self, inputs, *args):
        self.attempts += 1
        return self.blackbox.query(inputs, *args)


def check_query_with_retry(query_with_retry) -> None:
    """query_with_retry(blackbox, inputs, max_attempts) -> outputs, retrying TransientAPIError."""
    inputs = np.array([[1.0, 2.0], [0.0, 0.0]])
    quadratic = ToyFunction("quadratic", 2)
    with _grading("query_with_retry", query_with_retry, QUERY_WITH_RETRY) as grade:
        flaky = ToyBlackBox(quadratic, fault_rate=0.5, fault_seed=3)  # its first call fails
        counting = _CountingBlackBox(flaky)
        got, error = grade.outcome(counting, inputs, 20)
        grade.expect(not isinstance(error, TransientAPIError), "no-retry")
        grade.expect(error is None, "raised", _describe(error) if error else "")
        grade.expect(
            counting.attempts == flaky.meter.failed_calls + 1,
            "extra-queries",
            str(counting.attempts - flaky.meter.failed_calls),
        )
        grade.expect(np.allclose(np.asarray(got), quadratic.value(inputs)), "wrong-answer")

        counting = _CountingBlackBox(ToyBlackBox(quadratic, fault_rate=0.99, fault_seed=0))
        got, error = grade.outcome(counting, inputs, 3)
        grade.expect(counting.attempts == 3, "attempts", str(counting.attempts))
        grade.expect(error is not None, "gives-up-silently", repr(got))
        grade.expect(isinstance(error, TransientAPIError), "wrong-error", type(error).__name__)

        counting = _CountingBlackBox(ToyBlackBox(quadratic, budget=Budget(max_calls=0)))
        got, error = grade.outcome(counting, inputs, 5)
        grade.expect(counting.attempts == 1, "retries-everything")
        grade.expect(isinstance(error, BudgetExceededError), "retries-everything")


# ---------------------------------------------------------------- lesson 02


def _mean_estimate(grade: _Grader, points_check=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean of many estimates, true gradient) for a ZO estimator on a 4-d quadratic, after
    checking the points of a first estimate (q = 3, c = mu = 0.01) and, with `points_check`,
    their perturbations (point - w) / c."""
    function = ToyFunction("quadratic", 4)
    w = np.array([1.0, -0.5, 0.25, 2.0])
    sent = []

    def loss_batch(W):
        sent.append(np.array(W, dtype=np.float64))
        return function.value(W)

    rng = np.random.default_rng(0)
    first = np.asarray(grade.call(loss_batch, w, rng, 0.01, 3))
    grade.expect(first.shape == w.shape, "shape", str(first.shape))
    grade.expect(len(sent) == 1, "one-call", str(len(sent)))
    grade.expect(len(sent[0]) == 6, "points", str(len(sent[0])))
    offsets = (sent[0] - w) / 0.01
    paired = all(np.isclose(offsets, -row).all(1).any() for row in offsets)
    grade.expect(paired, "not-central")
    if points_check is not None:
        points_check(grade, offsets)
    estimates = [np.asarray(grade.call(loss_batch, w, rng, 0.01, 8)) for _ in range(1500)]
    return np.mean(estimates, axis=0), function.gradient(w)


def _ratio(mean: np.ndarray, gradient: np.ndarray) -> float:
    """How long the mean estimate is along the true gradient, in gradient lengths."""
    return float(mean @ gradient / (gradient @ gradient))


_ZO_SHARED = {
    "shape": Mistake(
        "the estimate should hold one number per parameter, shape (4,) here, not {detail}.",
        ("Average over the q directions (axis 0), keeping the parameter axis.",),
    ),
    "one-call": Mistake(
        "your estimator called loss_batch {detail} times. Revisit 'One query for the whole "
        "perturbation batch' in Concepts: every call is a billed request.",
        (
            "Stack all perturbed points into one (2q, d) array and call loss_batch once.",
            "Split the returned losses: the first q belong to the plus points, the last q to "
            "the minus points.",
        ),
    ),
    "points": Mistake(
        "your estimator sent {detail} points for q set to 3; two-point estimates send 2q: each "
        "direction at w plus and at w minus the perturbation.",
        ("Build the plus points and the minus points for each direction, then stack them.",),
    ),
    "not-central": Mistake(
        "the points do not come in pairs on both sides of w. Central differences compare "
        "the loss on either side of w along the same direction.",
        ("For each direction, send the point w plus the step and the point w minus it.",),
    ),
}

TWO_POINT_RGE = _ZO_SHARED | {
    "no-scale": Mistake(
        "on average your estimate is about {detail} times the gradient: a loss difference "
        "is not yet a slope.",
        ("Divide each loss difference by the distance between its two points.",),
    ),
    "divided-by-mu": Mistake(
        "on average your estimate is twice the gradient. The two points of a pair are "
        "2 mu apart, not mu.",
        ("Divide each loss difference by the full distance between its two points.",),
    ),
    "biased": Mistake(
        "on average your estimate misses the true gradient by {detail}. Revisit RGE in "
        "Concepts: each slope is put back along its own direction.",
        (
            "Multiply each direction's slope by that direction vector, then average over q.",
            "Draw the directions from a standard normal distribution with the rng you are given.",
        ),
    ),
}


def check_two_point_rge(two_point_rge) -> None:
    """two_point_rge(loss_batch, w, rng, mu, q): Gaussian directions, central differences."""
    with _grading("two_point_rge", two_point_rge, TWO_POINT_RGE) as grade:
        mean, gradient = _mean_estimate(grade)
        ratio = _ratio(mean, gradient)
        grade.expect(ratio > 0.1, "no-scale", f"{ratio:.2f}")
        grade.expect(abs(ratio - 2) > 0.2, "divided-by-mu")
        error = np.linalg.norm(mean - gradient) / np.linalg.norm(gradient)
        grade.expect(error < 0.1, "biased", f"{error:.0%}")


def _segmented(grade: _Grader, deltas: np.ndarray) -> None:
    magnitudes = np.abs(deltas)
    grade.expect(
        bool(np.all((magnitudes >= 0.5 - 1e-9) & (magnitudes <= 1 + 1e-9))), "magnitude-range"
    )
    grade.expect(np.ptp(magnitudes) > 0.1, "rademacher")
    one_signed = (deltas > 0).all(1) | (deltas < 0).all(1)  # each pair is +Delta and -Delta
    grade.expect(not one_signed.all(), "signs")


SPSA_SEGMENTED = _ZO_SHARED | {
    "magnitude-range": Mistake(
        "some perturbation coordinates have magnitudes outside the range 0.5 to 1. Revisit SPSA in "
        "Concepts: BlackVIP's segmented uniform keeps every magnitude in that range.",
        ("Draw each magnitude uniformly between 0.5 and 1, then give it a sign.",),
    ),
    "rademacher": Mistake(
        "every perturbation coordinate is +1 or -1: that is classic (Rademacher) SPSA. "
        "BlackVIP's segmented uniform also draws the magnitude.",
        ("Multiply random signs by magnitudes drawn uniformly between 0.5 and 1.",),
    ),
    "signs": Mistake(
        "all perturbation coordinates have the same sign, so the points never probe the "
        "other side of w along a coordinate.",
        ("Give each coordinate a random sign, + or - with equal probability.",),
    ),
    "multiplied": Mistake(
        "on average your estimate is about 0.58 times the gradient: it multiplies the slope "
        "by Delta. Revisit why SPSA is unbiased (Concepts): the division is what cancels.",
        ("Divide the slope by Delta, coordinate by coordinate.",),
    ),
    "sign-only": Mistake(
        "on average your estimate is about 0.75 times the gradient: dividing by the sign of "
        "Delta alone ignores its magnitude.",
        ("Divide by Delta itself, magnitude and sign, coordinate by coordinate.",),
    ),
    "biased": Mistake(
        "on average your estimate misses the true gradient by {detail}. Revisit SPSA in "
        "Concepts: one slope per draw, spread over the coordinates by dividing by Delta.",
        (
            "For each draw, compute the slope from its pair of losses.",
            "Divide the slope by that draw's Delta element-wise, then average over the draws.",
        ),
    ),
}


def check_spsa_segmented(spsa_segmented) -> None:
    """spsa_segmented(loss_batch, w, rng, c, q): BlackVIP's perturbations, divide by Delta."""
    with _grading("spsa_segmented", spsa_segmented, SPSA_SEGMENTED) as grade:
        mean, gradient = _mean_estimate(grade, _segmented)
        ratio = _ratio(mean, gradient)
        grade.expect(abs(ratio - 7 / 12) > 0.06, "multiplied")
        grade.expect(abs(ratio - 0.75) > 0.06, "sign-only")
        error = np.linalg.norm(mean - gradient) / np.linalg.norm(gradient)
        grade.expect(error < 0.1, "biased", f"{error:.0%}")


GC_UPDATE = {
    "not-pair": Mistake(
        "return two arrays, the new parameters and the new correction vector, as a pair.",
        ("End with `return w_new, m_new`.",),
    ),
    "order": Mistake(
        "the two arrays are right but swapped: the parameters come first, the correction "
        "vector second.",
        ("Return the pair in the order (new parameters, new correction).",),
    ),
    "m-not-updated": Mistake(
        "the correction vector you return is the one you were given. Revisit SPSA-GC in "
        "Concepts: the correction accumulates every new estimate.",
        ("Update the correction first: decay the old one by beta and add the new estimate.",),
    ),
    "m-wrong": Mistake(
        "the new correction vector is off. It keeps beta times the old correction and adds "
        "the new estimate g.",
        ("Decay the old correction by beta, then add g; don't scale g.",),
    ),
    "no-look-ahead": Mistake(
        "your step moves along g alone, as plain SPSA does. Revisit SPSA-GC in Concepts: the "
        "step also looks ahead along the correction.",
        ("Step along g plus beta times the correction vector.",),
    ),
    "old-m": Mistake(
        "your step looks ahead along the OLD correction (the same step as plain heavy-ball "
        "momentum). Revisit SPSA-GC in Concepts: the step adds the fresh estimate g to a "
        "look-ahead along the correction after this step's update.",
        (
            "Update the correction first, then take the step with the updated one.",
            "The step direction is g plus beta times the updated correction.",
        ),
    ),
    "step": Mistake(
        "the new parameters are off. The step has size a_k and goes against the corrected "
        "direction.",
        ("Subtract a_k times the corrected direction from w.",),
    ),
}


def check_gc_update(gc_update) -> None:
    """gc_update(w, g, m, a_k, beta) -> (w_new, m_new), SPSA-GC's corrected step."""
    w, g, m = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([0.1, 0.1])
    with _grading("gc_update", gc_update, GC_UPDATE) as grade:
        result = grade.call(w, g, m, 0.1, 0.9)
        grade.expect(isinstance(result, tuple | list) and len(result) == 2, "not-pair")
        w_new, m_new = (np.asarray(x, dtype=float) for x in result)
        m_want = 0.9 * m + g
        w_want = w - 0.1 * (g + 0.9 * m_want)
        grade.expect(not (np.allclose(w_new, m_want) and np.allclose(m_new, w_want)), "order")
        grade.expect(not np.allclose(m_new, m), "m-not-updated")
        grade.expect(np.allclose(m_new, m_want), "m-wrong")
        grade.expect(not np.allclose(w_new, w - 0.1 * g), "no-look-ahead")
        grade.expect(not np.allclose(w_new, w - 0.1 * (g + 0.9 * m)), "old-m")
        grade.expect(np.allclose(w_new, w_want), "step")


# ---------------------------------------------------------------- lesson 03

FEDAVG = {
    "in-place": Mistake(
        "your function changed the clients' arrays. The server must not alter what the "
        "clients sent: it may need them again (and so may you).",
        ("Build the average in a new array instead of adding into a client's array.",),
    ),
    "shape": Mistake(
        "the average should have the shape of one client's parameters, {detail} here.",
        ("Add up arrays of the same shape; don't stack or flatten them.",),
    ),
    "unweighted": Mistake(
        "every client counts the same in your average. Revisit FedAvg in Concepts: what "
        "decides how much a client counts?",
        (
            "Weight each client's parameters by its number of examples.",
            "Then divide by the total number of examples, so the weights sum to one.",
        ),
    ),
    "not-normalised": Mistake(
        "your average is {detail} times too large: the weights must sum to one.",
        ("Divide the weighted sum by the total number of examples.",),
    ),
    "wrong": Mistake(
        "the average is off. Revisit FedAvg in Concepts: each client counts in proportion to "
        "its share of all the examples.",
        (
            "Weight each client's parameters by its number of examples, over every client.",
            "Use true division (/), not integer division (//).",
        ),
    ),
}


def check_fedavg(fedavg) -> None:
    """fedavg(client_parameters, num_examples) -> the example-weighted average array."""
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(2, 3)) for _ in range(3)]
    originals = [p.copy() for p in params]
    counts = [10, 30, 60]
    with _grading("fedavg", fedavg, FEDAVG) as grade:
        got = np.asarray(grade.call(params, counts))
        unchanged = all(np.array_equal(p, o) for p, o in zip(params, originals, strict=True))
        grade.expect(unchanged, "in-place")
        grade.expect(got.shape == (2, 3), "shape", "(2, 3)")
        grade.expect(not np.allclose(got, np.mean(params, axis=0)), "unweighted")
        want = sum(n * p for n, p in zip(counts, params, strict=True)) / sum(counts)
        scale = float(np.sum(got * want) / np.sum(want * want))
        normalised = not np.allclose(got, scale * want) or np.isclose(scale, 1)
        grade.expect(normalised, "not-normalised", f"{scale:g}")
        grade.expect(np.allclose(got, want), "wrong")
        grade.expect(np.allclose(np.asarray(grade.call(params[:1], [7])), params[0]), "wrong")


NUM_SAMPLED = {
    "not-int": Mistake(
        "return a whole number of clients, an int, not a {detail}.",
        ("int(...) turns a float into a whole number.",),
    ),
    "rounds": Mistake(
        "with a fraction_fit of 0.29 and 10 clients your answer rounds 2.9 to the nearest "
        "number. Revisit client sampling in Concepts: Flower rounds the fraction down.",
        ("Truncate the product of the fraction and the clients available.",),
    ),
    "minimum": Mistake(
        "num_sampled(0.05, 3, 10) should train 3 clients: with min_fit_clients set to 3, a "
        "round never trains fewer. Revisit client sampling in Concepts.",
        ("Take the larger of the rounded-down fraction and min_fit_clients.",),
    ),
    "wrong": Mistake(
        "num_sampled{detail} is off. Revisit client sampling in Concepts.",
        (
            "First the fraction of the clients available, rounded down.",
            "Then at least min_fit_clients.",
        ),
    ),
}


def check_num_sampled(num_sampled) -> None:
    """num_sampled(fraction_fit, min_fit_clients, available) -> clients trained per round."""
    cases = [((0.1, 1, 10), 1), ((0.5, 1, 10), 5), ((0.05, 3, 10), 3), ((0.29, 1, 10), 2)]
    cases += [((1.0, 1, 7), 7), ((0.34, 2, 9), 3)]
    with _grading("num_sampled", num_sampled, NUM_SAMPLED) as grade:
        answers = {args: grade.call(*args) for args, _ in cases}
        for got in answers.values():
            whole = isinstance(got, int | np.integer) and not isinstance(got, bool)
            grade.expect(whole, "not-int", type(got).__name__)
        grade.expect(answers[(0.29, 1, 10)] != 3, "rounds")
        grade.expect(answers[(0.05, 3, 10)] == 3, "minimum")
        for args, want in cases:
            grade.expect(answers[args] == want, "wrong", f"{args} gives {answers[args]}")


# ---------------------------------------------------------------- lesson 04

CLIENT_VIEW = {
    "ignores-client": Mistake(
        "your answer is the plain test accuracy, whatever the client holds. Revisit the "
        "client's view (non-IID clients): a client cares about the classes it meets.",
        ("Weight each class's test accuracy by how many examples of it the client holds.",),
    ),
    "unweighted": Mistake(
        "your answer treats every class the client holds alike. A client holding 6 images of "
        "one class and 2 of another cares three times more about the first.",
        ("Weight each class's test accuracy by its count among client_labels.",),
    ),
    "wrong": Mistake(
        "the accuracy is off for a client holding classes {detail}.",
        (
            "First compute each class's accuracy on the test images of that class.",
            "Then average those accuracies with weights equal to the client's counts per "
            "class, divided by the client's total.",
        ),
    ),
}


def check_client_view(client_view) -> None:
    """client_view(predicted, labels, client_labels, num_classes) -> accuracy on its label mix."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 5)
    predicted = np.where(rng.random(20) < 0.6, labels, (labels + 1) % 4)
    correct = predicted == labels
    with _grading("client_view", client_view, CLIENT_VIEW) as grade:
        one_class = grade.call(predicted, labels, np.array([2, 2, 2]), 4)
        grade.expect(not np.isclose(one_class, correct.mean()), "ignores-client")
        for _ in range(5):
            held = rng.integers(0, 4, rng.integers(2, 30))
            got = grade.call(predicted, labels, held, 4)
            equal = np.mean([correct[labels == c].mean() for c in np.unique(held)])
            want = client_accuracy(predicted, labels, held, 4)
            grade.expect(np.isclose(got, want) or not np.isclose(got, equal), "unweighted")
            grade.expect(np.isclose(got, want), "wrong", str(sorted(set(held.tolist()))))


GAP_RECOVERED = {
    "ratio": Mistake(
        "your answer compares accuracies as a ratio. Revisit 'one budget for everyone' in "
        "Concepts: what matters is how much of the distance from zero-shot to the upper bound "
        "the tuned method covered.",
        (
            "Measure two distances: from zero-shot to tuned, and from zero-shot to the upper "
            "bound.",
            "Return the first distance as a share of the second.",
        ),
    ),
    "clipped": Mistake(
        "gap_recovered(0.3, 0.2, 0.8) should be negative: tuning that hurt recovers a "
        "negative share, and beating the bound gives more than 1. Don't clip.",
        ("Return the share as it is, without max(...) or min(...).",),
    ),
    "no-error": Mistake(
        "when upper is not above zero_shot there is no gap to recover, yet your function returned "
        "{detail}. It should raise ValueError.",
        ("Check the arguments first, and raise ValueError with a message saying why.",),
    ),
    "wrong-error": Mistake(
        "with no gap your function raised {detail}; raise ValueError, the error Python uses "
        "for an argument whose value makes no sense.",
        ("raise ValueError('...') before dividing.",),
    ),
    "wrong": Mistake(
        "gap_recovered{detail} is off.",
        ("The share is the distance tuning covered, divided by the distance to the bound.",),
    ),
}


def check_gap_recovered(gap_recovered) -> None:
    """gap_recovered(zero_shot, tuned, upper) -> share of the zero-shot -> upper-bound gap."""
    with _grading("gap_recovered", gap_recovered, GAP_RECOVERED) as grade:
        half = _as_float(grade.call(0.25, 0.5, 0.75))
        grade.expect(not np.isclose(half, 0.5 / 0.75), "ratio")
        hurt = _as_float(grade.call(0.3, 0.2, 0.8))
        grade.expect(hurt < 0 or not np.isclose(hurt, 0.0), "clipped")
        for args, want in [((0.25, 0.75, 0.75), 1.0), ((0.25, 0.5, 0.75), 0.5)]:
            got = _as_float(grade.call(*args))
            grade.expect(np.isclose(got, want), "wrong", f"{args} gives {got:g}, not {want:g}")
        grade.expect(np.isclose(hurt, -0.2), "wrong", f"(0.3, 0.2, 0.8) gives {hurt:g}, not -0.2")
        got, error = grade.outcome(0.5, 0.6, 0.5)
        grade.expect(error is not None, "no-error", repr(got))
        grade.expect(isinstance(error, ValueError), "wrong-error", type(error).__name__)


# ---------------------------------------------------------------- lesson 05

POLICY_GRADIENT = {
    "shape": Mistake(
        "the estimate should have theta's shape, {detail}: one entry per position and candidate.",
        ("Start from an array of zeros shaped like theta and add into it.",),
    ),
    "no-baseline": Mistake(
        "your estimate weights each prompt by its raw loss. Revisit the baseline in 'The "
        "policy gradient, step by step': what does subtracting the mean loss remove?",
        ("Weight each prompt by how much its loss exceeds the mean loss of the I samples.",),
    ),
    "divides-by-I": Mistake(
        "your estimate is (I - 1) / I times the right one. With the baseline taken from the "
        "same samples, the average over I draws is biased; the lesson says what fixes it.",
        ("Divide the sum by I - 1, not by I.",),
    ),
    "no-importance-weight": Mistake(
        "your estimate adds the same amount at a chosen candidate whatever its probability. "
        "Revisit the score function: the log-probability's slope depends on theta.",
        ("At each position, divide by the chosen candidate's probability.",),
    ),
    "wrong": Mistake(
        "the estimate is off. Revisit 'The policy gradient, step by step'.",
        (
            "Loop over the prompts; for each, find the chosen candidate at every position.",
            "Add that prompt's weight, divided by the chosen candidate's probability, at those "
            "entries only; leave the others at zero.",
        ),
    ),
}


def _score_sum(theta, prompts, weights) -> np.ndarray:
    """Sum over prompts of weight * (1 / theta at each position's chosen candidate)."""
    total, rows = np.zeros_like(theta), np.arange(theta.shape[0])
    for weight, prompt in zip(weights, prompts, strict=True):
        total[rows, prompt] += weight / theta[rows, prompt]
    return total


def check_policy_gradient(policy_gradient_by_hand) -> None:
    """policy_gradient_by_hand(theta, prompts, losses) -> BDPL's variance-reduced estimate."""
    rng = np.random.default_rng(5)
    with _grading("policy_gradient_by_hand", policy_gradient_by_hand, POLICY_GRADIENT) as grade:
        for positions, candidates, samples in ((1, 3, 2), (2, 4, 5), (3, 6, 20)):
            theta = rng.dirichlet(np.ones(candidates), size=positions)
            prompts = sample_prompts(theta, samples, rng)
            losses = rng.normal(size=samples) + 1.0
            got = np.asarray(grade.call(theta, prompts, losses), dtype=float)
            grade.expect(got.shape == theta.shape, "shape", str(theta.shape))
            want = policy_gradient(theta, prompts, losses)
            if np.allclose(got, want):
                continue
            variants = {
                "no-baseline": _score_sum(theta, prompts, losses) / (samples - 1),
                "divides-by-I": want * (samples - 1) / samples,
                "no-importance-weight": _score_sum(
                    np.ones_like(theta), prompts, losses - losses.mean()
                )
                / (samples - 1),
            }
            for key, variant in variants.items():
                grade.expect(not np.allclose(got, variant), key)
            grade.expect(False, "wrong")


GAIN_OVER_CONTROLS = {
    "not-pair": Mistake(
        "return a pair: the best control's name and the gain over it.",
        ("End with `return name, gain`.",),
    ),
    "order": Mistake(
        "the name and the gain are right but swapped: the name comes first.",
        ("Return the pair in the order (name, gain).",),
    ),
    "first-control": Mistake(
        "your function compared with the first control, not the best one. Revisit 'Controls' "
        "in Concepts: a tuned prompt must beat the strongest prompt nobody tuned.",
        ("Pick the control with the highest mean accuracy over its seeds.",),
    ),
    "best-single-run": Mistake(
        "your function judged the controls by their best seed. One lucky seed is not a "
        "result: compare means over seeds.",
        ("Rank the controls by their mean accuracy, and subtract that mean.",),
    ),
    "absolute": Mistake(
        "your gain is never negative. A tuned prompt can lose to a control, and the sign says so.",
        ("Return the tuned mean minus the best control's mean, sign included.",),
    ),
    "wrong": Mistake(
        "the {detail} is off. Revisit 'Controls' in Concepts.",
        (
            "The best control is the one with the highest mean over its seeds.",
            "The gain is the tuned runs' mean minus that control's mean.",
        ),
    ),
}


def check_gain_over_controls(gain_over_controls) -> None:
    """gain_over_controls(tuned, controls) -> (best control's name, mean(tuned) - its mean)."""
    with _grading("gain_over_controls", gain_over_controls, GAIN_OVER_CONTROLS) as grade:
        controls = {"random": [0.70, 0.74], "empty": [0.79, 0.79], "manual": [0.75, 0.82]}
        got = grade.call([0.83, 0.85], controls)
        grade.expect(isinstance(got, tuple | list) and len(got) == 2, "not-pair")
        name, gain = got
        grade.expect(not (isinstance(gain, str) and _number(name)), "order")
        grade.expect(name != "random", "first-control")
        grade.expect(name != "manual", "best-single-run")
        grade.expect(name == "empty", "wrong", "best control")
        grade.expect(np.isclose(_as_float(gain), 0.05), "wrong", "gain")
        name, gain = grade.call([0.75], {"empty": [0.79], "random": [0.7]})
        grade.expect(not np.isclose(_as_float(gain), 0.04), "absolute")
        grade.expect(name == "empty" and np.isclose(_as_float(gain), -0.04), "wrong", "gain")


# ---------------------------------------------------------------- lesson 06

ACCURACY_OF = {
    "not-number": Mistake(
        "return one number, not a {detail}: a filtered table is still a table.",
        ("Take the single value out of the filtered column, then make it a float.",),
    ),
    "dataset-only": Mistake(
        "your answer depends on the data set alone. A summary holds one row per data set, "
        "method and setting: filter on all three columns.",
        ("Keep the rows whose dataset, method and setting all match.",),
    ),
    "no-setting": Mistake(
        "your answer ignores the setting: iid and dirichlet(0.5) are different rows.",
        ("Add the setting column to your filter.",),
    ),
    "wrong": Mistake(
        "for {detail} the table's accuracy_mean differs from your answer.",
        ("Filter the rows on dataset, method and setting, then read accuracy_mean.",),
    ),
}


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
    with _grading("accuracy_of", accuracy_of, ACCURACY_OF) as grade:
        answers = [grade.call(table, d, m, s) for d, m, s, _ in rows]
        for got in answers:
            grade.expect(_number(got), "not-number", type(got).__name__)
        got = dict(zip([r[:3] for r in rows], map(float, answers), strict=True))
        grade.expect(got[("mnist", "local_only", "dirichlet(0.5)")] != 0.81, "dataset-only")
        grade.expect(got[("mnist", "fedbbpt", "dirichlet(0.5)")] != 0.81, "no-setting")
        for key, (*_, want) in zip(got, rows, strict=True):
            grade.expect(np.isclose(got[key], want), "wrong", ", ".join(key))


ADD_DATASET = {
    "not-spec": Mistake(
        "return a SweepSpec, not a {detail}.",
        ("dataclasses.replace(spec, ...) returns a SweepSpec with the fields you change.",),
    ),
    "mutates": Mistake(
        "your function changed the spec it was given. Specs are values: a finished sweep's "
        "spec should still describe that sweep.",
        ("Build a new spec with dataclasses.replace instead of changing the old one.",),
    ),
    "replaces": Mistake(
        "the new spec lost the data sets that were there; the new one goes after them.",
        ("The new datasets field is the old tuple with the new name added at the end.",),
    ),
    "defaults": Mistake(
        "the new spec lost the other fields (methods, seeds, ...). Revisit 'A run's identity' "
        "in Concepts: any changed setting makes every finished run count as new.",
        ("Copy the spec with dataclasses.replace, changing the datasets field only.",),
    ),
    "wrong": Mistake(
        "the new spec's data sets should be the old ones, then the new one; got {detail}.",
        ("Add the new name after the existing ones, as a tuple.",),
    ),
}


def check_add_dataset(add_dataset) -> None:
    """add_dataset(spec, name) -> the same sweep spec with one more data set."""
    spec = SweepSpec(datasets=("mnist",), methods=("zero_shot", "fedbbpt"), seeds=(0, 1))
    with _grading("add_dataset", add_dataset, ADD_DATASET) as grade:
        bigger = grade.call(spec, "fashion_mnist")
        grade.expect(spec.datasets == ("mnist",), "mutates")
        grade.expect(isinstance(bigger, SweepSpec), "not-spec", type(bigger).__name__)
        grade.expect("mnist" in bigger.datasets, "replaces")
        grade.expect(
            list(bigger.datasets) == ["mnist", "fashion_mnist"], "wrong", str(bigger.datasets)
        )
        old = {run_id(e) for e in experiments(spec)}
        grade.expect(old <= {run_id(e) for e in experiments(bigger)}, "defaults")


# ---------------------------------------------------------------- lesson 07

CLIP_UPDATE = {
    "in-place": Mistake(
        "your function changed the update it was given. The server may still need the "
        "client's original update.",
        ("Return a new array; don't scale the argument in place.",),
    ),
    "shape": Mistake(
        "return an array of the update's shape, {detail} here.",
        ("Scale the whole array by one number.",),
    ),
    "coordinates": Mistake(
        "your function clips each coordinate separately, which changes the update's "
        "direction. Revisit DP in Concepts: the clip bounds the update's L2 norm.",
        ("Compute the update's L2 norm and scale the whole update by one factor.",),
    ),
    "scales-up": Mistake(
        "your function stretched an update that was already short enough. Clipping only ever "
        "shrinks: an update inside the ball stays as it is.",
        ("Scale by the smaller of 1 and clip_norm over the norm.",),
    ),
    "norm": Mistake(
        "a clipped update's L2 norm must be at most clip_norm.",
        ("Scale a long update by clip_norm over its norm.",),
    ),
    "zero": Mistake(
        "a zero update has no direction to keep; yours came back as {detail}. A correct "
        "answer returns zeros, without dividing by the zero norm.",
        ("Handle a norm of zero before you divide: return the zero update as it is.",),
    ),
    "zero-warning": Mistake(
        "for a zero update your function divided by its zero norm (NumPy warned: {detail}). "
        "A correct answer never divides by zero.",
        ("Handle a norm of zero before you divide: return the zero update as it is.",),
    ),
    "wrong": Mistake(
        "the clipped update is off.",
        ("Keep the direction: scale the whole update by one non-negative factor.",),
    ),
}


def check_clip_update(clip_update) -> None:
    """clip_update(update, clip_norm) -> the update scaled to L2 norm at most clip_norm."""
    rng = np.random.default_rng(0)
    with _grading("clip_update", clip_update, CLIP_UPDATE) as grade:
        for scale in (0.1, 1.0, 30.0):
            update = rng.normal(size=12) * scale
            kept = update.copy()
            got = np.asarray(grade.call(update, 1.5), dtype=float)
            grade.expect(np.array_equal(update, kept), "in-place")
            grade.expect(got.shape == update.shape, "shape", str(update.shape))
            norm = np.linalg.norm(update)
            want = update * min(1.0, 1.5 / norm)
            same_direction = np.allclose(got / np.linalg.norm(got), update / norm)
            grade.expect(same_direction, "coordinates")
            grade.expect(norm > 1.5 or np.allclose(got, update), "scales-up")
            grade.expect(np.linalg.norm(got) <= 1.5 + 1e-9, "norm")
            grade.expect(np.allclose(got, want), "wrong")
        zero = np.asarray(grade.call(np.zeros(3), 1.0, on_warning="zero-warning"), dtype=float)
        grade.expect(np.all(np.isfinite(zero)) and not zero.any(), "zero", str(zero))


ANSWERED_FRACTION = {
    "not-number": Mistake(
        "return one number, a fraction between 0 and 1, not a {detail}.",
        ("Divide the count of answers by the count of clients sampled.",),
    ),
    "count": Mistake(
        "your answer is a count of clients, not a share. The share divides by every client "
        "sampled in that round, answered or failed.",
        ("Divide the round's answers by the round's answers plus its failures.",),
    ),
    "all-rounds": Mistake(
        "your answer is the same for every round: it mixes the rows of all rounds.",
        ("Count only the rows whose 'round' is server_round, in fits and in failures.",),
    ),
    "wrong": Mistake(
        "round {detail} is off.",
        (
            "Answers are the round's rows in history.fits; failures its rows in history.failures.",
            "The clients sampled are those that answered plus those that failed.",
        ),
    ),
}


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
    with _grading("answered_fraction", answered_fraction, ANSWERED_FRACTION) as grade:
        answers = {r: grade.call(history, r) for r in (1, 2, 3)}
        for got in answers.values():
            grade.expect(_number(got), "not-number", type(got).__name__)
        grade.expect(answers[1] != 4, "count")
        grade.expect(len(set(map(float, answers.values()))) > 1, "all-rounds")
        for server_round, want in ((1, 1.0), (2, 0.5), (3, 0.5)):
            grade.expect(np.isclose(answers[server_round], want), "wrong", str(server_round))


EXPECTED_IMPROVEMENT = {
    "not-number": Mistake(
        "return one number, the expected improvement, not a {detail}.",
        ("Compute it for one point: float(...) turns a NumPy scalar into a number.",),
    ),
    "negative": Mistake(
        "expected improvement is never negative (got {detail}): it averages how far f lands "
        "above best, counting a value below best as no improvement at all.",
        ("Both terms of the closed form are non-negative: add them, subtract neither.",),
    ),
    "no-spread": Mistake(
        "with std near zero the improvement is the larger of zero and mean minus best; yours "
        "was {detail}.",
        ("Handle a tiny std apart: the posterior is then sure of its mean.",),
    ),
    "sign": Mistake(
        "your improvement grows as the mean falls below best: the sign of the gap is flipped. "
        "We maximise accuracy, so improvement is how far above best a value lands.",
        ("Standardise the gap as mean minus best, over std, not best minus mean.",),
    ),
    "wrong": Mistake(
        "at mean {detail} the value is off. Revisit the acquisition step in Concepts.",
        (
            "Phi is the standard normal's CDF, phi its density (scipy.stats.norm.cdf and .pdf).",
            "Weight the gap above best by Phi of the standardised gap, then add std times phi "
            "of it.",
        ),
    ),
}


def check_expected_improvement(expected_improvement) -> None:
    """expected_improvement(mean, std, best) -> E[max(0, f - best)] for f ~ N(mean, std^2)."""
    from scipy.stats import norm

    with _grading("expected_improvement", expected_improvement, EXPECTED_IMPROVEMENT) as grade:
        for mean, std, best in (
            (0.2, 0.5, 0.0),
            (-1.0, 0.3, 0.0),
            (1.5, 2.0, 1.0),
            (0.0, 1.0, 0.0),
        ):
            got = grade.call(mean, std, best)
            grade.expect(_number(got), "not-number", type(got).__name__)
            grade.expect(got >= 0, "negative", f"{got:.4g}")
            z = (mean - best) / std
            want = (mean - best) * norm.cdf(z) + std * norm.pdf(z)
            flipped = (best - mean) * norm.cdf(-z) + std * norm.pdf(z)
            grade.expect(mean == best or not np.isclose(got, flipped), "sign")
            grade.expect(np.isclose(got, want, atol=1e-6), "wrong", f"{mean:g}")
        for mean in (0.3, -0.3):
            got = grade.call(mean, 1e-12, 0.0)
            grade.expect(_number(got) and np.isclose(got, max(mean, 0.0)), "no-spread", f"{got}")


EXECUTION_ACCURACY = {
    "not-number": Mistake(
        "return one number, the share of answers that match, not a {detail}.",
        ("Count the matches, then divide by the number of answers.",),
    ),
    "raw": Mistake(
        "answers that differ only in case, punctuation or a trailing sentence must count as "
        "right: InstructZero normalises both sides before it compares them.",
        ("Compare fbl.tasks.instruction.normalise(answer) with normalise(expected).",),
    ),
    "contains": Mistake(
        "an answer that merely contains the expected word is not an exact match.",
        ("Test equality of the normalised strings, not `in`.",),
    ),
    "wrong": Mistake(
        "the share is off: {detail}.",
        ("Average over all answers: right ones count 1, the others 0.",),
    ),
}


def check_execution_accuracy(execution_accuracy) -> None:
    """execution_accuracy(answers, expected) -> the share of normalised exact matches."""
    answers = ["Cold.", "BIG", "late. I think so", "a small one", "hot"]
    expected = ["cold", "small", "late", "small", "cold"]
    with _grading("execution_accuracy", execution_accuracy, EXECUTION_ACCURACY) as grade:
        got = grade.call(list(answers), list(expected))
        grade.expect(_number(got), "not-number", type(got).__name__)
        grade.expect(not np.isclose(got, 0.0), "raw")
        grade.expect(not np.isclose(got, 0.6), "contains")
        grade.expect(np.isclose(got, 0.4), "wrong", f"{got:.3g} for 5 answers")
        grade.expect(np.isclose(grade.call(["x"], ["x"]), 1.0), "wrong", "one right answer")


EXERCISES = {  # exercise function -> the mistakes its check recognises
    "class_counts": CLASS_COUNTS,
    "make_prompts": MAKE_PROMPTS,
    "zero_shot_accuracy": ZERO_SHOT_ACCURACY,
    "query_with_retry": QUERY_WITH_RETRY,
    "two_point_rge": TWO_POINT_RGE,
    "spsa_segmented": SPSA_SEGMENTED,
    "gc_update": GC_UPDATE,
    "fedavg": FEDAVG,
    "num_sampled": NUM_SAMPLED,
    "client_view": CLIENT_VIEW,
    "gap_recovered": GAP_RECOVERED,
    "policy_gradient_by_hand": POLICY_GRADIENT,
    "gain_over_controls": GAIN_OVER_CONTROLS,
    "accuracy_of": ACCURACY_OF,
    "add_dataset": ADD_DATASET,
    "clip_update": CLIP_UPDATE,
    "answered_fraction": ANSWERED_FRACTION,
    "expected_improvement": EXPECTED_IMPROVEMENT,
    "execution_accuracy": EXECUTION_ACCURACY,
}
# A checker's own name, where it differs from the exercise's (check_policy_gradient).
CHECKED = {"policy_gradient": "policy_gradient_by_hand"}
