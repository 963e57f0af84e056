"""Every exercise checker accepts the lessons' own solutions and rejects plausible wrong answers.

The reference solutions are not copied here: they are executed from the solution cells of the
lesson notebooks, so these tests also prove that the shipped solutions pass their checks.
"""

from __future__ import annotations

import inspect
import io
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pytest

import fedbbpt_lite as fbl
from fedbbpt_lite import checks
from fedbbpt_lite.blackbox import TransientAPIError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BEGIN = "### BEGIN SOLUTION"

# checker name -> the exercise function it grades (the name the lesson defines)
EXERCISES = {
    "check_class_counts": "class_counts",
    "check_make_prompts": "make_prompts",
    "check_zero_shot_accuracy": "zero_shot_accuracy",
    "check_query_with_retry": "query_with_retry",
    "check_two_point_rge": "two_point_rge",
    "check_spsa_segmented": "spsa_segmented",
    "check_gc_update": "gc_update",
    "check_fedavg": "fedavg",
    "check_num_sampled": "num_sampled",
    "check_client_view": "client_view",
    "check_gap_recovered": "gap_recovered",
    "check_policy_gradient": "policy_gradient_by_hand",
    "check_gain_over_controls": "gain_over_controls",
    "check_accuracy_of": "accuracy_of",
    "check_add_dataset": "add_dataset",
    "check_clip_update": "clip_update",
    "check_answered_fraction": "answered_fraction",
    "check_expected_improvement": "expected_improvement",
    "check_execution_accuracy": "execution_accuracy",
}


def _solution_namespace() -> dict:
    """Run every solution cell of every lesson in a namespace holding np and fbl."""
    namespace = {"np": np, "fbl": fbl}
    lessons = sorted(NOTEBOOKS.glob("0*.ipynb"))
    assert lessons, f"no lesson notebooks under {NOTEBOOKS}"
    for lesson in lessons:
        nb = nbformat.read(lesson, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and BEGIN in cell.source:
                code = compile(cell.source, f"{lesson.name}[cell {index}]", "exec")
                exec(code, namespace)
    return namespace


@pytest.fixture(scope="module")
def solutions() -> dict:
    return _solution_namespace()


@pytest.fixture
def miniclip(clip_shared):
    return clip_shared


def _check(name: str):
    return getattr(checks, name)


def _rejection(checker, answer, *args) -> checks.CheckFailed:
    """The CheckFailed a wrong answer gets (and check that no success line was printed)."""
    with pytest.raises(checks.CheckFailed) as caught, redirect_stdout(io.StringIO()) as out:
        checker(answer, *args)
    assert "Correct" not in out.getvalue(), "a rejected answer must not print success"
    return caught.value


# ------------------------------------------------------------------ every checker is covered


def test_every_checker_is_tested_here():
    found = {
        name
        for name, value in vars(checks).items()
        if name.startswith("check_") and inspect.isfunction(value)
    }
    assert found == set(EXERCISES), "add the new checker to EXERCISES and give it wrong answers"
    assert set(checks.EXERCISES) == set(EXERCISES.values())


def test_lessons_define_every_exercise_function(solutions):
    for exercise in EXERCISES.values():
        assert callable(solutions.get(exercise)), f"no lesson solution cell defines {exercise}"


# ------------------------------------------------------------------ reference solutions pass


@pytest.mark.parametrize("checker", sorted(EXERCISES))
def test_reference_solution_passes_and_prints_one_line(checker, solutions, miniclip, capsys):
    extra = (miniclip,) if checker == "check_zero_shot_accuracy" else ()
    _check(checker)(solutions[EXERCISES[checker]], *extra)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.endswith("\n"), f"expected exactly one line, got {out!r}"
    assert out.startswith("Correct: ") and EXERCISES[checker] in out


def test_check_failed_is_an_assertion_error():
    assert issubclass(checks.CheckFailed, AssertionError)


# ------------------------------------------------------------------ wrong answers, by mistake


def _train_counts(d):
    return {n: int((d.y_train == i).sum()) for i, n in enumerate(d.class_names)}


def _off_by_one_counts(d):
    return {n: int((d.y_test == i).sum()) + (i == 0) for i, n in enumerate(d.class_names)}


def _accuracy(blackbox, dataset, prompts=None, transform=lambda a: a):
    logits = blackbox.query(dataset.x_test, dataset.prompts if prompts is None else prompts)
    return transform(float((logits.argmax(1) == dataset.y_test.numpy()).mean()))


def _accuracy_in_two_queries(blackbox, dataset):
    half = len(dataset.x_test) // 2
    parts = [
        blackbox.query(x, dataset.prompts) for x in (dataset.x_test[:half], dataset.x_test[half:])
    ]
    return float((np.concatenate(parts).argmax(1) == dataset.y_test.numpy()).mean())


def _retrying(on_last=None, queries=1, catch=TransientAPIError, transform=lambda a: a):
    """A retry loop with one mistake: what it does after the last failure, how often it
    queries per attempt, what it catches, or what it returns."""

    def answer(blackbox, inputs, max_attempts):
        for attempt in range(max_attempts):
            try:
                for _ in range(queries):
                    result = blackbox.query(inputs)
                return transform(result)
            except catch:
                if attempt == max_attempts - 1:
                    if on_last is None:
                        raise
                    return on_last()
        return None

    return answer


def _retries_forever(blackbox, inputs, max_attempts):
    while True:
        try:
            return blackbox.query(inputs)
        except TransientAPIError:
            pass


def _one_attempt_too_many(blackbox, inputs, max_attempts):
    return _retrying()(blackbox, inputs, max_attempts + 1)


def _raise_runtime_error():
    raise RuntimeError("no answer")


def _estimator(
    perturb, points="central", scale=lambda diff, c: diff / (2 * c), combine=None, calls=1
):
    """A two-point estimator built from parts, so each wrong answer changes one part."""

    def answer(loss_batch, w, rng, c, q):
        delta = perturb(rng, q, len(w))
        if points == "forward-with-w":
            losses = loss_batch(np.vstack([w[None], w + c * delta]))
            diff = losses[1:] - losses[0]
        elif points == "forward-repeated":
            losses = loss_batch(np.vstack([w + c * delta, np.repeat(w[None], q, 0)]))
            diff = losses[:q] - losses[q:]
        elif calls == 1:
            losses = loss_batch(np.vstack([w + c * delta, w - c * delta]))
            diff = losses[:q] - losses[q:]
        else:
            diff = np.array(
                [np.subtract(*loss_batch(np.stack([w + c * d, w - c * d]))) for d in delta]
            )
        slopes = scale(diff, c)
        return (combine or (lambda s, d: (s[:, None] / d).mean(0)))(slopes, delta)

    return answer


def _gaussian(rng, q, d):
    return rng.standard_normal((q, d))


def _segmented_delta(rng, q, d):
    return rng.choice([-1.0, 1.0], size=(q, d)) * rng.uniform(0.5, 1.0, size=(q, d))


def _rge(**parts):
    return _estimator(_gaussian, **{"combine": lambda s, u: s @ u / len(s), **parts})


def _gc(step, new_m=lambda m, g, beta: beta * m + g, order="wm"):
    def answer(w, g, m, a_k, beta):
        m_new = new_m(m, g, beta)
        w_new = step(w, g, m, m_new, a_k, beta)
        return (w_new, m_new) if order == "wm" else (m_new, w_new)

    return answer


def _right_step(w, g, m, m_new, a_k, beta):
    return w - a_k * (g + beta * m_new)


def _fedavg_in_place(params, counts):
    total = params[0]
    total *= counts[0]
    for n, p in zip(counts[1:], params[1:], strict=True):
        total += n * p
    return total / sum(counts)


def _weighted_in(per_class, divide_by):
    def answer(predicted, labels, client_labels, num_classes):
        weights = np.bincount(client_labels, minlength=num_classes)
        correct = np.asarray(predicted) == np.asarray(labels)
        accuracy = [correct[labels == c].mean() for c in range(num_classes)]
        return per_class(weights, accuracy, correct, divide_by(weights, num_classes))

    return answer


def _pg(weights, divide, importance=True, sign=1.0, flatten=False):
    def answer(theta, prompts, losses):
        theta, losses = np.asarray(theta), np.asarray(losses, dtype=float)
        gradient, rows = np.zeros_like(theta), np.arange(theta.shape[0])
        for weight, prompt in zip(weights(losses), prompts, strict=True):
            gradient[rows, prompt] += weight / (theta[rows, prompt] if importance else 1.0)
        gradient = sign * gradient / divide(len(prompts))
        return gradient.ravel() if flatten else gradient

    return answer


def _mean_control(tuned, controls, pick=max, key=np.mean, gain=None):
    name = pick(controls, key=lambda c: key(controls[c]))
    return name, (gain or (lambda t, c: float(np.mean(t) - np.mean(c))))(tuned, controls[name])


def _rows(table, dataset, method, setting, columns=("dataset", "method", "setting")):
    wanted = dict(zip(("dataset", "method", "setting"), (dataset, method, setting), strict=True))
    keep = np.ones(len(table), dtype=bool)
    for column in columns:
        keep &= table[column] == wanted[column]
    return table[keep]


def _mutates(spec, name):
    object.__setattr__(spec, "datasets", (*spec.datasets, name))
    return spec


def _clip_in_place(update, clip_norm):
    update *= min(1.0, clip_norm / np.linalg.norm(update))
    return update


def _answered(share):
    def answer(history, server_round):
        answered = sum(row["round"] == server_round for row in history.fits)
        failed = sum(row["round"] == server_round for row in history.failures)
        return share(answered, failed)

    return answer


def _replace_datasets(spec, name, datasets):
    from dataclasses import replace

    return replace(spec, datasets=datasets(spec, name))


def _ei(mean, std, best, spread=1, mirror=False):
    """The closed form of expected improvement, with its std term scaled by `spread`; mirrored,
    the gap's sign is flipped on both terms (best above mean counts as improvement)."""
    from scipy.stats import norm

    z = (mean - best) / std
    gap = mean - best
    if mirror:
        return float(gap * norm.cdf(z) + std * norm.pdf(z))
    return float(gap * norm.cdf(z) + spread * std * norm.pdf(z))


def _matches(answers, expected, same) -> float:
    normalise = fbl.tasks.normalise
    return float(
        np.mean([same(normalise(a), normalise(e)) for a, e in zip(answers, expected, strict=True)])
    )


WRONG = [
    # lesson 00
    ("class_counts", "not-dict", lambda d: [int((d.y_test == i).sum()) for i in range(10)]),
    ("class_counts", "keys", lambda d: {i: int((d.y_test == i).sum()) for i in range(10)}),
    ("class_counts", "train", _train_counts),
    ("class_counts", "counts", _off_by_one_counts),
    ("make_prompts", "not-list", lambda t, names: (t.format(n) for n in names)),
    ("make_prompts", "ignores-template", lambda t, names: list(names)),
    ("make_prompts", "ignores-template", lambda t, names: [f"a photo of a {n}" for n in names]),
    ("make_prompts", "placeholder", lambda t, names: [f"{t} {n}" for n in names]),
    ("make_prompts", "order", lambda t, names: [t.format(n) for n in sorted(names)]),
    ("make_prompts", "wrong", lambda t, names: [t.format(n).upper() for n in names]),
    # lesson 01
    ("zero_shot_accuracy", "calls", _accuracy_in_two_queries),
    ("zero_shot_accuracy", "percent", lambda b, d: _accuracy(b, d, transform=lambda a: 100 * a)),
    ("zero_shot_accuracy", "error-rate", lambda b, d: _accuracy(b, d, transform=lambda a: 1 - a)),
    ("zero_shot_accuracy", "count", lambda b, d: _accuracy(b, d, transform=lambda a: 1000 * a)),
    ("zero_shot_accuracy", "prompts", lambda b, d: _accuracy(b, d, list(d.class_names))),
    ("query_with_retry", "no-retry", lambda blackbox, inputs, n: blackbox.query(inputs)),
    ("query_with_retry", "gives-up-silently", _retrying(on_last=lambda: None)),
    ("query_with_retry", "attempts", _one_attempt_too_many),
    ("query_with_retry", "attempts", _retries_forever),
    ("query_with_retry", "extra-queries", _retrying(queries=2)),
    ("query_with_retry", "retries-everything", _retrying(catch=Exception)),
    ("query_with_retry", "wrong-answer", _retrying(transform=lambda a: 2 * a)),
    ("query_with_retry", "wrong-error", _retrying(on_last=_raise_runtime_error)),
    # lesson 02
    ("two_point_rge", "shape", _rge(combine=lambda s, u: s[:, None] * u)),
    ("two_point_rge", "one-call", _rge(calls="per direction")),
    ("two_point_rge", "points", _rge(points="forward-with-w", scale=lambda d, c: d / c)),
    ("two_point_rge", "not-central", _rge(points="forward-repeated", scale=lambda d, c: d)),
    ("two_point_rge", "no-scale", _rge(scale=lambda d, c: d)),
    ("two_point_rge", "divided-by-mu", _rge(scale=lambda d, c: d / c)),
    (
        "two_point_rge",
        "biased",
        _estimator(
            lambda rng, q, d: rng.uniform(-1, 1, (q, d)), combine=lambda s, u: s @ u / len(s)
        ),
    ),
    ("spsa_segmented", "shape", _estimator(_segmented_delta, combine=lambda s, d: s[:, None] / d)),
    ("spsa_segmented", "one-call", _estimator(_segmented_delta, calls="per draw")),
    ("spsa_segmented", "points", _estimator(_segmented_delta, points="forward-with-w")),
    ("spsa_segmented", "not-central", _estimator(_segmented_delta, points="forward-repeated")),
    (
        "spsa_segmented",
        "magnitude-range",
        _estimator(lambda rng, q, d: rng.choice([-1.0, 1.0], (q, d)) * rng.uniform(0, 1, (q, d))),
    ),
    ("spsa_segmented", "rademacher", _estimator(lambda rng, q, d: rng.choice([-1.0, 1.0], (q, d)))),
    ("spsa_segmented", "signs", _estimator(lambda rng, q, d: rng.uniform(0.5, 1.0, (q, d)))),
    (
        "spsa_segmented",
        "multiplied",
        _estimator(_segmented_delta, combine=lambda s, d: (s[:, None] * d).mean(0)),
    ),
    (
        "spsa_segmented",
        "sign-only",
        _estimator(_segmented_delta, combine=lambda s, d: (s[:, None] / np.sign(d)).mean(0)),
    ),
    (
        "spsa_segmented",
        "biased",
        _estimator(_segmented_delta, combine=lambda s, d: (s[:, None] / d).mean(0) / len(s)),
    ),
    ("gc_update", "not-pair", lambda w, g, m, a_k, beta: w - a_k * (g + beta * (beta * m + g))),
    ("gc_update", "order", _gc(_right_step, order="mw")),
    ("gc_update", "m-not-updated", _gc(_right_step, new_m=lambda m, g, beta: m)),
    ("gc_update", "m-wrong", _gc(_right_step, new_m=lambda m, g, beta: beta * m + (1 - beta) * g)),
    ("gc_update", "no-look-ahead", _gc(lambda w, g, m, m_new, a_k, beta: w - a_k * g)),
    ("gc_update", "old-m", _gc(lambda w, g, m, m_new, a_k, beta: w - a_k * m_new)),
    ("gc_update", "old-m", _gc(lambda w, g, m, m_new, a_k, beta: w - a_k * (g + beta * m))),
    ("gc_update", "step", _gc(lambda w, g, m, m_new, a_k, beta: w + a_k * (g + beta * m_new))),
    # lesson 03
    ("fedavg", "in-place", _fedavg_in_place),
    (
        "fedavg",
        "shape",
        lambda params, counts: np.stack([n * p for n, p in zip(counts, params, strict=True)]),
    ),
    ("fedavg", "unweighted", lambda params, counts: np.mean(params, axis=0)),
    (
        "fedavg",
        "not-normalised",
        lambda params, counts: sum(n * p for n, p in zip(counts, params, strict=True)),
    ),
    (
        "fedavg",
        "wrong",
        lambda params, counts: (
            sum(n * p for n, p in zip(counts, params, strict=True)) // sum(counts)
        ),
    ),
    ("num_sampled", "not-int", lambda f, m, a: max(f * a // 1, m)),
    ("num_sampled", "rounds", lambda f, m, a: max(round(f * a), m)),
    ("num_sampled", "rounds", lambda f, m, a: round(f * a)),
    ("num_sampled", "minimum", lambda f, m, a: int(f * a)),
    ("num_sampled", "wrong", lambda f, m, a: max(int(f * (a - 1)), m)),
    # lesson 04
    ("client_view", "ignores-client", lambda p, labels, held, k: float((p == labels).mean())),
    (
        "client_view",
        "unweighted",
        _weighted_in(
            lambda w, acc, correct, _: float(np.mean([acc[c] for c in np.flatnonzero(w)])),
            lambda w, k: 1,
        ),
    ),
    (
        "client_view",
        "wrong",
        _weighted_in(lambda w, acc, correct, total: float(np.dot(w, acc) / total), lambda w, k: k),
    ),
    ("gap_recovered", "ratio", lambda zero_shot, tuned, upper: tuned / upper),
    (
        "gap_recovered",
        "clipped",
        lambda zero_shot, tuned, upper: max(0.0, (tuned - zero_shot) / max(upper - zero_shot, 1)),
    ),
    (
        "gap_recovered",
        "no-error",
        lambda z, t, u: (t - z) / (u - z) if u != z else 0.0,
    ),
    ("gap_recovered", "wrong-error", lambda z, t, u: (t - z) / (u - z)),
    ("gap_recovered", "wrong", lambda z, t, u: (t - z) / (u - z) / 2 if u > z else 1 / 0),
    # lesson 05
    (
        "policy_gradient_by_hand",
        "shape",
        _pg(lambda L: L - L.mean(), lambda i: i - 1, flatten=True),
    ),
    ("policy_gradient_by_hand", "no-baseline", _pg(lambda L: L, lambda i: i - 1)),
    ("policy_gradient_by_hand", "divides-by-I", _pg(lambda L: L - L.mean(), lambda i: i)),
    (
        "policy_gradient_by_hand",
        "no-importance-weight",
        _pg(lambda L: L - L.mean(), lambda i: i - 1, importance=False),
    ),
    ("policy_gradient_by_hand", "wrong", _pg(lambda L: L - L.mean(), lambda i: i - 1, sign=-1.0)),
    ("gain_over_controls", "not-pair", lambda tuned, controls: _mean_control(tuned, controls)[1]),
    ("gain_over_controls", "order", lambda tuned, controls: _mean_control(tuned, controls)[::-1]),
    (
        "gain_over_controls",
        "first-control",
        lambda tuned, controls: _mean_control(tuned, controls, pick=lambda c, key: next(iter(c))),
    ),
    ("gain_over_controls", "best-single-run", lambda t, c: _mean_control(t, c, key=max)),
    (
        "gain_over_controls",
        "absolute",
        lambda t, c: _mean_control(t, c, gain=lambda t, c: abs(np.mean(t) - np.mean(c))),
    ),
    (
        "gain_over_controls",
        "wrong",
        lambda t, c: _mean_control(t, c, gain=lambda t, _: float(np.mean(t) - 0.75)),
    ),
    # lesson 06
    ("accuracy_of", "not-number", lambda *key: _rows(*key)["accuracy_mean"]),
    (
        "accuracy_of",
        "dataset-only",
        lambda *key: float(_rows(*key, columns=("dataset",))["accuracy_mean"].iloc[0]),
    ),
    (
        "accuracy_of",
        "no-setting",
        lambda *key: float(_rows(*key, columns=("dataset", "method"))["accuracy_mean"].iloc[0]),
    ),
    ("accuracy_of", "wrong", lambda *key: float(_rows(*key)["accuracy_std"].iloc[0])),
    ("add_dataset", "not-spec", lambda spec, name: (*spec.datasets, name)),
    ("add_dataset", "mutates", _mutates),
    (
        "add_dataset",
        "replaces",
        lambda spec, name: _replace_datasets(spec, name, lambda s, n: (n,)),
    ),
    (
        "add_dataset",
        "defaults",
        lambda spec, name: fbl.sweep.SweepSpec(datasets=(*spec.datasets, name)),
    ),
    (
        "add_dataset",
        "wrong",
        lambda spec, name: _replace_datasets(spec, name, lambda s, n: (n, *s.datasets)),
    ),
    # lesson 07
    ("clip_update", "in-place", _clip_in_place),
    ("clip_update", "shape", lambda u, c: (u * min(1.0, c / np.linalg.norm(u)))[None]),
    ("clip_update", "coordinates", lambda u, c: np.clip(u, -c, c)),
    ("clip_update", "scales-up", lambda u, c: u * c / np.linalg.norm(u)),
    ("clip_update", "norm", lambda u, c: u.copy()),
    (
        "clip_update",
        "zero",
        lambda u, c: u / max(1.0, np.linalg.norm(u) / c) if u.any() else u * np.nan,
    ),
    ("clip_update", "zero-warning", lambda u, c: u * min(1.0, c / np.linalg.norm(u))),
    ("clip_update", "wrong", lambda u, c: u * min(1.0, 1.0 / np.linalg.norm(u))),
    ("answered_fraction", "not-number", _answered(lambda a, f: f"{a / (a + f):.0%}")),
    ("answered_fraction", "count", _answered(lambda a, f: a)),
    (
        "answered_fraction",
        "all-rounds",
        lambda h, r: len(h.fits) / (len(h.fits) + len(h.failures)),
    ),
    ("answered_fraction", "wrong", _answered(lambda a, f: a / (a + f + 1))),
    # lesson 08
    ("expected_improvement", "not-number", lambda m, s, b: [_ei(m, s, b)]),
    ("expected_improvement", "negative", lambda m, s, b: _ei(m, s, b, spread=-1)),
    ("expected_improvement", "sign", lambda m, s, b: _ei(b, s, m, spread=1, mirror=True)),
    ("expected_improvement", "wrong", lambda m, s, b: _ei(m, s, b, spread=0)),
    ("expected_improvement", "no-spread", lambda m, s, b: _ei(m, s, b) if s > 1e-6 else 0.0),
    ("execution_accuracy", "not-number", lambda a, e: [x == y for x, y in zip(a, e, strict=True)]),
    (
        "execution_accuracy",
        "raw",
        lambda a, e: float(np.mean([x == y for x, y in zip(a, e, strict=True)])),
    ),
    ("execution_accuracy", "contains", lambda a, e: _matches(a, e, lambda x, y: y in x)),
    ("execution_accuracy", "wrong", lambda a, e: _matches(a, e, lambda x, y: x == y) * len(a)),
]
CHECKER_OF = {exercise: checker for checker, exercise in EXERCISES.items()}


@pytest.mark.parametrize(
    ("exercise", "mistake", "answer"),
    WRONG,
    ids=[f"{exercise}-{mistake}-{i}" for i, (exercise, mistake, _) in enumerate(WRONG)],
)
def test_a_wrong_answer_is_told_its_mistake(exercise, mistake, answer, miniclip):
    extra = (miniclip,) if exercise == "zero_shot_accuracy" else ()
    failure = _rejection(_check(CHECKER_OF[exercise]), answer, *extra)
    assert (failure.exercise, failure.mistake) == (exercise, mistake), str(failure)


def test_every_mistake_a_checker_knows_is_tested_and_worded_apart():
    tested = {(exercise, mistake) for exercise, mistake, _ in WRONG}
    for exercise, mistakes in checks.EXERCISES.items():
        untested = {key for key in mistakes if (exercise, key) not in tested}
        assert not untested, f"{exercise}: no wrong answer here reaches {sorted(untested)}"
        concepts = [mistake.concept for mistake in mistakes.values()]
        assert len(set(concepts)) == len(concepts), f"{exercise}: two mistakes read the same"


def test_hints_name_concepts_in_words_not_reference_code():
    for exercise, mistakes in checks.EXERCISES.items():
        for key, mistake in mistakes.items():
            assert mistake.steps, f"{exercise}/{key} has no next step for hint()"
            for text in (mistake.concept, *mistake.steps):
                assert not set(text) & set("=*[]"), f"{exercise}/{key} shows a formula: {text}"


# ------------------------------------------------------------------ how a failure shows


def test_a_failure_shows_one_message_and_where_to_get_a_hint():
    failure = _rejection(checks.check_fedavg, lambda params, counts: np.mean(params, axis=0))
    lines = failure._render_traceback_()
    assert len(lines) == 2
    assert lines[0].startswith("CheckFailed: fedavg: every client counts the same")
    assert lines[1] == 'Stuck? fbl.checks.hint("fedavg") gives the next step.'
    assert not any("checks.py" in line or 'File "' in line for line in lines)


def test_hints_come_one_step_at_a_time_and_reset_on_success(capsys):
    _rejection(checks.check_fedavg, lambda params, counts: np.mean(params, axis=0))
    for _ in range(3):
        checks.hint("fedavg")
    steps = capsys.readouterr().out.splitlines()
    assert steps[0].startswith("Step 1 of 2: Weight each client")
    assert steps[1].startswith("Step 2 of 2: Then divide")
    assert steps[2].startswith("No further steps for fedavg")
    checks.check_fedavg(lambda params, counts: np.average(params, axis=0, weights=counts))
    checks.hint("fedavg")
    assert "has no failed check to explain" in capsys.readouterr().out.splitlines()[-1]


def test_hint_takes_the_checkers_name_too(capsys):
    def policy_gradient_by_hand(theta, prompts, losses):
        return np.zeros_like(theta)

    _rejection(checks.check_policy_gradient, policy_gradient_by_hand)
    checks.hint("policy_gradient")
    checks.hint("check_policy_gradient")
    assert capsys.readouterr().out.splitlines()[0].startswith("Step 1 of ")


def test_a_new_mistake_starts_the_hints_again(capsys):
    _rejection(checks.check_fedavg, lambda params, counts: np.mean(params, axis=0))
    checks.hint("fedavg")
    _rejection(
        checks.check_fedavg,
        lambda params, counts: sum(n * p for n, p in zip(counts, params, strict=True)),
    )
    checks.hint("fedavg")
    assert capsys.readouterr().out.splitlines()[-1] == (
        "Step 1 of 1: Divide the weighted sum by the total number of examples."
    )


@pytest.mark.parametrize("name", ["fed_avg", 3])
def test_hint_names_the_bad_argument_in_one_line(name):
    with pytest.raises((ValueError, TypeError), match="exercise") as caught:
        checks.hint(name)
    assert len(caught.value._render_traceback_()) == 1


def test_an_unwritten_exercise_stops_with_not_implemented_error_and_spends_nothing(miniclip):
    def zero_shot_accuracy(blackbox, dataset):
        raise NotImplementedError("Your turn: write this part, then run the check below.")

    calls = miniclip.meter.calls
    with pytest.raises(NotImplementedError) as caught:
        checks.check_zero_shot_accuracy(zero_shot_accuracy, miniclip)
    assert miniclip.meter.calls == calls, "an unwritten answer must not cost the lesson queries"
    assert str(caught.value) == checks.NOT_WRITTEN.format(exercise="zero_shot_accuracy")
    assert caught.value._render_traceback_() == [f"NotImplementedError: {caught.value}"]
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_error_in_the_answer_is_reported_with_its_line_in_the_answer():
    def fedavg(params, counts):
        total = sum(counts)
        return params[total]  # an IndexError in the student's own code

    failure = _rejection(checks.check_fedavg, fedavg)
    assert failure.mistake == "raised"
    assert "IndexError" in str(failure)
    assert "at line " in str(failure) and "of your cell" in str(failure)


def test_a_numpy_warning_in_the_answer_is_a_mistake():
    def class_counts(dataset):
        np.mean([])  # warns: mean of an empty slice
        return {}

    assert _rejection(checks.check_class_counts, class_counts).mistake == "warned"


def test_an_answer_that_is_no_number_is_told_so(miniclip):
    def zero_shot_accuracy(blackbox, dataset):
        logits = blackbox.query(dataset.x_test, dataset.prompts)
        return list(logits.argmax(1) == dataset.y_test.numpy())

    failure = _rejection(checks.check_zero_shot_accuracy, zero_shot_accuracy, miniclip)
    assert failure.mistake == "not-a-number" and "returned a list" in str(failure)


def test_a_checker_given_something_other_than_a_function_says_so():
    with pytest.raises(TypeError, match="pass your function fedavg itself, not a float"):
        checks.check_fedavg(0.5)


def test_ipython_shows_a_failed_check_as_its_message_alone():
    # What a notebook shows: IPython renders _render_traceback_ instead of the traceback.
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns.update(np=np, fbl=fbl)
    shown = io.StringIO()
    with redirect_stdout(shown):
        shell.run_cell("fbl.checks.check_fedavg(lambda p, n: np.mean(p, axis=0))")
        shell.run_cell(
            "def fedavg(p, n):\n    raise NotImplementedError('Your turn')\n"
            "fbl.checks.check_fedavg(fedavg)"
        )
    lines = shown.getvalue().splitlines()
    assert lines == [
        "CheckFailed: fedavg: every client counts the same in your average. Revisit FedAvg in "
        "Concepts: what decides how much a client counts?",
        'Stuck? fbl.checks.hint("fedavg") gives the next step.',
        "NotImplementedError: " + checks.NOT_WRITTEN.format(exercise="fedavg"),
    ]
