"""Every exercise checker accepts the lessons' own solutions and rejects plausible wrong answers.

The reference solutions are not copied here: they are executed from the solution cells of the
lesson notebooks, so these tests also prove that the shipped solutions pass their checks.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

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


def _assert_rejected(capsys, checker, answer, *args, errors=(checks.CheckFailed,)):
    with pytest.raises(errors):
        checker(answer, *args)
    assert "Correct" not in capsys.readouterr().out, "a rejected answer must not print success"


# ------------------------------------------------------------------ every checker is covered


def test_every_checker_is_tested_here():
    found = {
        name
        for name, value in vars(checks).items()
        if name.startswith("check_") and inspect.isfunction(value)
    }
    assert found == set(EXERCISES), "add the new checker to EXERCISES and give it wrong answers"


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


# ------------------------------------------------------------------ lesson 00


def _counts_of_train_labels(dataset):
    return {name: int((dataset.y_train == i).sum()) for i, name in enumerate(dataset.class_names)}


def _counts_by_index(dataset):
    return {i: int((dataset.y_test == i).sum()) for i in range(len(dataset.class_names))}


def _counts_as_list(dataset):
    return [int((dataset.y_test == i).sum()) for i in range(len(dataset.class_names))]


@pytest.mark.parametrize("answer", [_counts_of_train_labels, _counts_by_index, _counts_as_list])
def test_class_counts_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_class_counts, answer)


def _names_only(template, class_names):
    return list(class_names)


def _digit_template_hardcoded(template, class_names):
    return [f"a photo of the digit {name}" for name in class_names]


def _template_appended(template, class_names):
    return [f"{template} {name}" for name in class_names]


def _fashion_template_hardcoded(template, class_names):
    return [f"a photo of a {name}" for name in class_names]


@pytest.mark.parametrize(
    "answer",
    [
        _names_only,
        _digit_template_hardcoded,
        _template_appended,
        _fashion_template_hardcoded,
    ],
)
def test_make_prompts_rejects_answers_ignoring_the_template(answer, capsys):
    _assert_rejected(capsys, checks.check_make_prompts, answer)


# ------------------------------------------------------------------ lesson 01


def _accuracy_in_two_queries(blackbox, dataset):
    half = len(dataset.x_test) // 2
    logits = np.concatenate(
        [
            blackbox.query(dataset.x_test[:half], dataset.prompts),
            blackbox.query(dataset.x_test[half:], dataset.prompts),
        ]
    )
    return float((logits.argmax(1) == dataset.y_test.numpy()).mean())


def _accuracy_in_percent(blackbox, dataset):
    logits = blackbox.query(dataset.x_test, dataset.prompts)
    return 100 * float((logits.argmax(1) == dataset.y_test.numpy()).mean())


def _error_rate(blackbox, dataset):
    logits = blackbox.query(dataset.x_test, dataset.prompts)
    return float((logits.argmax(1) != dataset.y_test.numpy()).mean())


def _accuracy_with_class_names_as_prompts(blackbox, dataset):
    logits = blackbox.query(dataset.x_test, list(dataset.class_names))
    return float((logits.argmax(1) == dataset.y_test.numpy()).mean())


@pytest.mark.parametrize(
    "answer",
    [
        _accuracy_in_two_queries,
        _accuracy_in_percent,
        _error_rate,
        _accuracy_with_class_names_as_prompts,
    ],
)
def test_zero_shot_accuracy_rejects(answer, miniclip, capsys):
    _assert_rejected(capsys, checks.check_zero_shot_accuracy, answer, miniclip)


def _never_retries(blackbox, inputs, max_attempts):
    return blackbox.query(inputs)


def _retries_forever(blackbox, inputs, max_attempts):
    while True:
        try:
            return blackbox.query(inputs)
        except TransientAPIError:
            pass


def _swallows_the_final_error(blackbox, inputs, max_attempts):
    for _ in range(max_attempts):
        try:
            return blackbox.query(inputs)
        except TransientAPIError:
            pass
    return None


def _one_attempt_too_many(blackbox, inputs, max_attempts):
    for attempt in range(max_attempts + 1):
        try:
            return blackbox.query(inputs)
        except TransientAPIError:
            if attempt == max_attempts:
                raise


def _queries_twice(blackbox, inputs, max_attempts):
    for attempt in range(max_attempts):
        try:
            blackbox.query(inputs)
            return blackbox.query(inputs)
        except TransientAPIError:
            if attempt == max_attempts - 1:
                raise


@pytest.mark.parametrize(
    "answer", [_retries_forever, _swallows_the_final_error, _one_attempt_too_many, _queries_twice]
)
def test_query_with_retry_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_query_with_retry, answer)


def test_query_with_retry_rejects_an_answer_that_never_retries(capsys):
    # The check's first flaky call fails, so the TransientAPIError (whose message says
    # "retry the query") escapes the check rather than a CheckFailed: either is a rejection.
    _assert_rejected(
        capsys,
        checks.check_query_with_retry,
        _never_retries,
        errors=(checks.CheckFailed, TransientAPIError),
    )


# ------------------------------------------------------------------ lesson 02


def _rge_forward_differences(loss_batch, w, rng, mu, q):
    u = rng.standard_normal((q, len(w)))
    losses = loss_batch(np.vstack([w[None], w + mu * u]))
    return ((losses[1:] - losses[0]) / mu) @ u / q


def _rge_forward_differences_unscaled(loss_batch, w, rng, mu, q):
    u = rng.standard_normal((q, len(w)))
    losses = loss_batch(np.vstack([w + mu * u, np.repeat(w[None], q, 0)]))
    return (losses[:q] - losses[q:]) @ u / q


def _rge_without_the_difference_scale(loss_batch, w, rng, mu, q):
    u = rng.standard_normal((q, len(w)))
    losses = loss_batch(np.vstack([w + mu * u, w - mu * u]))
    return (losses[:q] - losses[q:]) @ u / q


def _rge_divided_by_mu_not_two_mu(loss_batch, w, rng, mu, q):
    u = rng.standard_normal((q, len(w)))
    losses = loss_batch(np.vstack([w + mu * u, w - mu * u]))
    return ((losses[:q] - losses[q:]) / mu) @ u / q


def _rge_one_call_per_direction(loss_batch, w, rng, mu, q):
    u = rng.standard_normal((q, len(w)))
    slopes = [np.diff(loss_batch(np.stack([w - mu * v, w + mu * v])))[0] / (2 * mu) for v in u]
    return np.array(slopes) @ u / q


@pytest.mark.parametrize(
    "answer",
    [
        _rge_forward_differences,
        _rge_forward_differences_unscaled,
        _rge_without_the_difference_scale,
        _rge_divided_by_mu_not_two_mu,
        _rge_one_call_per_direction,
    ],
)
def test_two_point_rge_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_two_point_rge, answer)


def _segmented_delta(rng, q, d):
    return rng.choice([-1.0, 1.0], size=(q, d)) * rng.uniform(0.5, 1.0, size=(q, d))


def _spsa_multiplies_by_delta(loss_batch, w, rng, c, q):
    delta = _segmented_delta(rng, q, len(w))
    losses = loss_batch(np.vstack([w + c * delta, w - c * delta]))
    slopes = (losses[:q] - losses[q:]) / (2 * c)
    return (slopes[:, None] * delta).mean(0)


def _spsa_rademacher_instead_of_segmented_scaled(loss_batch, w, rng, c, q):
    # Right perturbation law, but divides by the sign only: biased by E[|delta|] = 0.75.
    delta = _segmented_delta(rng, q, len(w))
    losses = loss_batch(np.vstack([w + c * delta, w - c * delta]))
    slopes = (losses[:q] - losses[q:]) / (2 * c)
    return (slopes[:, None] / np.sign(delta)).mean(0)


def _spsa_one_call_per_draw(loss_batch, w, rng, c, q):
    estimates = []
    for _ in range(q):
        delta = _segmented_delta(rng, 1, len(w))[0]
        plus, minus = loss_batch(np.stack([w + c * delta, w - c * delta]))
        estimates.append((plus - minus) / (2 * c) / delta)
    return np.mean(estimates, axis=0)


@pytest.mark.parametrize(
    "answer",
    [
        _spsa_multiplies_by_delta,
        _spsa_rademacher_instead_of_segmented_scaled,
        _spsa_one_call_per_draw,
    ],
)
def test_spsa_segmented_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_spsa_segmented, answer)


def _gc_without_look_ahead(w, g, m, a_k, beta):
    m = beta * m + g
    return w - a_k * g, m


def _gc_plain_momentum(w, g, m, a_k, beta):
    m = beta * m + g
    return w - a_k * m, m


def _gc_look_ahead_with_old_m(w, g, m, a_k, beta):
    w_new = w - a_k * (g + beta * m)
    return w_new, beta * m + g


def _gc_forgets_to_update_m(w, g, m, a_k, beta):
    return w - a_k * (g + beta * (beta * m + g)), m


@pytest.mark.parametrize(
    "answer",
    [
        _gc_without_look_ahead,
        _gc_plain_momentum,
        _gc_look_ahead_with_old_m,
        _gc_forgets_to_update_m,
    ],
)
def test_gc_update_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_gc_update, answer)


# ------------------------------------------------------------------ answers a student really wrote


def test_zero_shot_accuracy_accepts_a_float32_torch_mean(miniclip, capsys):
    def torch_mean(blackbox, dataset):
        logits = torch.from_numpy(blackbox.query(dataset.x_test, dataset.prompts))
        return (logits.argmax(1) == dataset.y_test).float().mean()

    checks.check_zero_shot_accuracy(torch_mean, miniclip)
    assert capsys.readouterr().out.startswith("Correct")


def test_zero_shot_accuracy_rejects_a_hard_coded_template(miniclip, capsys):
    def digit_template(blackbox, dataset):
        prompts = [f"a photo of the digit {name}" for name in dataset.class_names]
        logits = blackbox.query(dataset.x_test, prompts)
        return float((logits.argmax(1) == dataset.y_test.numpy()).mean())

    _assert_rejected(capsys, checks.check_zero_shot_accuracy, digit_template, miniclip)


@pytest.mark.parametrize(
    "answer",
    [
        lambda template, names: [template.format(n) for n in sorted(names)],
        lambda template, names: (template.format(n) for n in names),
    ],
    ids=["sorted", "generator"],
)
def test_make_prompts_rejects_reordered_or_lazy_answers(answer, capsys):
    _assert_rejected(capsys, checks.check_make_prompts, answer)


def test_query_with_retry_rejects_retrying_every_exception(capsys):
    def retries_everything(blackbox, inputs, max_attempts):
        for attempt in range(max_attempts):
            try:
                return blackbox.query(inputs)
            except Exception:
                if attempt == max_attempts - 1:
                    raise

    _assert_rejected(capsys, checks.check_query_with_retry, retries_everything)


def _spsa_with(perturb):
    def estimator(loss_batch, w, rng, c, q):
        delta = perturb(rng, q, len(w))
        losses = loss_batch(np.vstack([w + c * delta, w - c * delta]))
        return (((losses[:q] - losses[q:]) / (2 * c))[:, None] / delta).mean(0)

    return estimator


@pytest.mark.parametrize(
    "perturb",
    [
        lambda rng, q, d: rng.choice([-1.0, 1.0], size=(q, d)),
        lambda rng, q, d: rng.uniform(0.5, 1.0, size=(q, d)),
    ],
    ids=["rademacher", "positive-only"],
)
def test_spsa_segmented_rejects_other_perturbations(perturb, capsys):
    _assert_rejected(capsys, checks.check_spsa_segmented, _spsa_with(perturb))


def test_gc_update_hints_name_the_mistake():
    def swapped(w, g, m, a_k, beta):
        m = beta * m + g
        return m, w - a_k * (g + beta * m)

    def old_m_in_step(w, g, m, a_k, beta):
        return w - a_k * (g + beta * m), beta * m + g

    with pytest.raises(checks.CheckFailed, match="order"):
        checks.check_gc_update(swapped)
    with pytest.raises(checks.CheckFailed, match="UPDATED"):
        checks.check_gc_update(old_m_in_step)


@pytest.mark.parametrize(
    "answer",
    [
        lambda params, counts: np.mean(params, axis=0),
        lambda params, counts: sum(n * p for n, p in zip(counts, params, strict=True)),
    ],
    ids=["unweighted", "not-normalised"],
)
def test_fedavg_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_fedavg, answer)


@pytest.mark.parametrize(
    "answer",
    [
        lambda fraction, minimum, available: round(fraction * available),
        lambda fraction, minimum, available: max(round(fraction * available), minimum),
        lambda fraction, minimum, available: int(fraction * available),
    ],
    ids=["rounds-and-no-minimum", "rounds-up", "no-minimum"],
)
def test_num_sampled_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_num_sampled, answer)


def _plain_accuracy(predicted, labels, client_labels, num_classes):
    return float((np.asarray(predicted) == np.asarray(labels)).mean())


def _classes_held_equally(predicted, labels, client_labels, num_classes):
    held = np.unique(client_labels)
    correct = np.asarray(predicted) == np.asarray(labels)
    return float(np.mean([correct[labels == c].mean() for c in held]))


@pytest.mark.parametrize(
    "answer", [_plain_accuracy, _classes_held_equally], ids=["ignores-client", "unweighted"]
)
def test_client_view_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_client_view, answer)


@pytest.mark.parametrize(
    "answer",
    [
        lambda zero_shot, tuned, upper: (tuned - zero_shot) / (upper - zero_shot),
        lambda zero_shot, tuned, upper: tuned / upper,
        lambda zero_shot, tuned, upper: max(0.0, (tuned - zero_shot) / max(upper - zero_shot, 1)),
    ],
    ids=["no-gap-unchecked", "ratio-of-accuracies", "clipped"],
)
def test_gap_recovered_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_gap_recovered, answer)


def _no_baseline(theta, prompts, losses):
    gradient = np.zeros_like(theta)
    for loss, prompt in zip(losses, prompts, strict=True):
        gradient[np.arange(len(theta)), prompt] += loss / theta[np.arange(len(theta)), prompt]
    return gradient / (len(prompts) - 1)


def _divides_by_i(theta, prompts, losses):
    return (
        fbl.policy_gradient.policy_gradient(theta, prompts, losses)
        * (len(prompts) - 1)
        / len(prompts)
    )


def _no_importance_weight(theta, prompts, losses):
    gradient = np.zeros_like(theta)
    advantages = np.asarray(losses) - np.mean(losses)
    for advantage, prompt in zip(advantages, prompts, strict=True):
        gradient[np.arange(len(theta)), prompt] += advantage
    return gradient / (len(prompts) - 1)


@pytest.mark.parametrize(
    "answer",
    [_no_baseline, _divides_by_i, _no_importance_weight],
    ids=["no-baseline", "divides-by-I", "no-1/theta"],
)
def test_policy_gradient_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_policy_gradient, answer)


def _first_control(tuned, controls):
    name = next(iter(controls))
    return name, float(np.mean(tuned) - np.mean(controls[name]))


def _best_single_run(tuned, controls):
    name = max(controls, key=lambda c: max(controls[c]))
    return name, float(np.mean(tuned) - max(controls[name]))


def _absolute_gain(tuned, controls):
    name = max(controls, key=lambda c: np.mean(controls[c]))
    return name, abs(float(np.mean(tuned) - np.mean(controls[name])))


@pytest.mark.parametrize(
    "answer",
    [_first_control, _best_single_run, _absolute_gain],
    ids=["first-control", "best-single-run", "absolute"],
)
def test_gain_over_controls_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_gain_over_controls, answer)


def _first_match(table, dataset, method, setting):
    return float(table[table["dataset"] == dataset]["accuracy_mean"].iloc[0])


def _a_series(table, dataset, method, setting):
    rows = table[(table["dataset"] == dataset) & (table["method"] == method)]
    return rows[rows["setting"] == setting]["accuracy_mean"]


def _ignores_setting(table, dataset, method, setting):
    rows = table[(table["dataset"] == dataset) & (table["method"] == method)]
    return float(rows["accuracy_mean"].iloc[0])


@pytest.mark.parametrize(
    "answer",
    [_first_match, _a_series, _ignores_setting],
    ids=["dataset-only", "series", "no-setting"],
)
def test_accuracy_of_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_accuracy_of, answer)


def _replaces_datasets(spec, name):
    from dataclasses import replace

    return replace(spec, datasets=(name,))


def _new_spec_from_defaults(spec, name):
    return fbl.sweep.SweepSpec(datasets=(*spec.datasets, name))


def _mutates(spec, name):
    object.__setattr__(spec, "datasets", (*spec.datasets, name))
    return spec


@pytest.mark.parametrize(
    "answer",
    [_replaces_datasets, _new_spec_from_defaults, _mutates],
    ids=["replaces", "defaults", "mutates"],
)
def test_add_dataset_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_add_dataset, answer)


# ------------------------------------------------------------------ lesson 07


@pytest.mark.parametrize(
    "answer",
    [
        lambda u, c: np.clip(u, -c, c),  # clips coordinates, not the norm
        lambda u, c: u * c / np.linalg.norm(u),  # scales small updates up too
        lambda u, c: u / max(1.0, np.linalg.norm(u) / c) if np.linalg.norm(u) else u * np.nan,
    ],
)
def test_clip_update_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_clip_update, answer)


@pytest.mark.parametrize(
    "answer",
    [
        lambda h, r: sum(f["round"] == r for f in h.fits),  # a count, not a fraction
        lambda h, r: len(h.fits) / (len(h.fits) + len(h.failures)),  # every round at once
    ],
)
def test_answered_fraction_rejects(answer, capsys):
    _assert_rejected(capsys, checks.check_answered_fraction, answer)
