"""The estimator dashboard driven without a browser, and the pure plot functions it wraps."""

from __future__ import annotations

import inspect
import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import fedbbpt_lite as fbl  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _cosine(a, b) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# ------------------------------------------------------------------ estimator explorer


def test_click_draws_estimates_and_bills_one_call_per_draw():
    explorer = fbl.widgets.estimator_explorer(draws=7)
    assert explorer.last_estimates is None
    meter = explorer.blackbox.meter
    for clicks in (1, 2, 3):
        explorer.button.click()
        assert explorer.last_estimates.shape == (7, 2)
        assert np.all(np.isfinite(explorer.last_estimates))
        assert meter.calls == 7 * clicks
    assert meter.failed_calls == 0


def test_moving_the_controls_spends_no_queries():
    explorer = fbl.widgets.estimator_explorer()
    for method in fbl.zo.ESTIMATORS:
        explorer.method.value = method
    for q in (2, 8, 32, 1):
        explorer.q.value = q
    for mu in (1e-3, 0.1, 1.0):
        explorer.mu.value = mu
    assert explorer.blackbox.meter.calls == 0
    assert explorer.blackbox.meter.examples == 0
    assert explorer.last_estimates is None
    explorer.button.click()
    before = explorer.last_estimates.copy()
    explorer.q.value = 4
    explorer.method.value = "cge"
    assert explorer.blackbox.meter.calls == explorer.draws
    np.testing.assert_array_equal(explorer.last_estimates, before)


@pytest.mark.parametrize("method", fbl.zo.ESTIMATORS)
def test_every_estimator_works_from_the_dashboard(method):
    draws, q = 5, 3
    explorer = fbl.widgets.estimator_explorer(draws=draws)
    explorer.method.value = method
    explorer.q.value = q
    explorer.mu.value = 1e-3
    explorer.button.click()
    estimates = explorer.last_estimates
    assert estimates.shape == (draws, 2)
    assert np.all(np.isfinite(estimates))
    meter = explorer.blackbox.meter
    assert meter.calls == draws
    points = fbl.zo.num_points(method, 2, 1 if method == "cge" else q)
    assert meter.examples == draws * points
    true = explorer.function.gradient(explorer.point)
    assert _cosine(estimates.mean(0), true) > 0.5  # each method points roughly downhill
    if method == "cge":  # deterministic and (nearly) exact
        np.testing.assert_allclose(estimates, np.tile(true, (draws, 1)), rtol=1e-3)


def test_many_directions_average_to_the_true_gradient():
    explorer = fbl.widgets.estimator_explorer(seed=1)
    explorer.method.value = "rge_gaussian"
    explorer.q.value = 32
    explorer.mu.value = 1e-3
    explorer.button.click()
    true = explorer.function.gradient(explorer.point)
    assert _cosine(explorer.last_estimates.mean(0), true) > 0.9


def test_same_seed_gives_the_same_estimates():
    first, second = (fbl.widgets.estimator_explorer(seed=5, draws=4) for _ in range(2))
    for explorer in (first, second):
        explorer.method.value, explorer.q.value = "spsa_segmented", 2
        explorer.button.click()
    np.testing.assert_array_equal(first.last_estimates, second.last_estimates)


def test_click_plots_the_new_estimates_and_closes_the_figure(monkeypatch):
    drawn = []
    original = fbl.plots.plot_gradient_estimates

    def recording(*args, **kwargs):
        figure = original(*args, **kwargs)
        drawn.append((args[3], figure))
        return figure

    monkeypatch.setattr(fbl.plots, "plot_gradient_estimates", recording)
    explorer = fbl.widgets.estimator_explorer(draws=3)
    explorer.button.click()
    assert len(drawn) == 1, "one click should draw once"
    np.testing.assert_array_equal(drawn[0][0], explorer.last_estimates)
    assert drawn[0][1].number not in plt.get_fignums(), "the figure should be closed after showing"


# ------------------------------------------------------------------ pure plot functions


def _quadratic_2d():
    return fbl.blackbox.ToyFunction("quadratic", 2)


PLOTS = {
    "show_images": lambda: fbl.plots.show_images(
        torch.rand(5, 1, 28, 28), [0, 1, 2, 1, 0], ["a", "b", "c"], ncols=4, title="grey"
    ),
    "show_images_rgb": lambda: fbl.plots.show_images(torch.rand(3, 3, 28, 28)),
    "plot_accuracy_bars": lambda: fbl.plots.plot_accuracy_bars(
        {"mnist": 0.99, "fashion": 0.5}, "zero-shot", reference=0.1
    ),
    "plot_error_curves": lambda: fbl.plots.plot_error_curves(
        pd.DataFrame(
            {"method": ["a", "a", "b", "b"], "q": [1, 2, 1, 2], "relative_mse": [3, 1.5, 2, 1]}
        ),
        "q",
        "relative_mse",
        title="error",
    ),
    "plot_gradient_estimates": lambda: fbl.plots.plot_gradient_estimates(
        _quadratic_2d(),
        [0.5, -0.5],
        _quadratic_2d().gradient(np.array([0.5, -0.5])),
        np.array([[0.4, -5.0], [0.6, -4.0]]),
    ),
    "plot_curves": lambda: fbl.plots.plot_curves(
        {"SPSA": [1.0, 0.5, 0.2], "SPSA-GC": [1.0, 0.3, 0.1]}, "step", "loss", logy=True
    ),
    "plot_partition": lambda: fbl.plots.plot_partition(
        [np.array([0, 1]), np.array([2, 3])], np.array([0, 1, 1, 2]), ["a", "b", "c"], "split"
    ),
    "plot_accuracy_curves": lambda: fbl.plots.plot_accuracy_curves(
        {"fed": _RUN}, references={"zero-shot": 0.2}
    ),
    "plot_client_spread": lambda: fbl.plots.plot_client_spread(
        {"fed": [0.7, 0.8, 0.6], "local": [0.9, 0.5, 0.7]}, "spread"
    ),
    "plot_gains": lambda: fbl.plots.plot_gains(_sweep_frame(), "sweep"),
    "plot_sweep_runs": lambda: fbl.plots.plot_sweep_runs(_sweep_frame(), "runs"),
}
_RUN = {"accuracy_per_round": [0.2, 0.5, 0.6], "api_calls": 100, "rounds": 2}


def test_every_plot_function_is_covered():
    public = {
        name
        for name, value in vars(fbl.plots).items()
        if inspect.isfunction(value) and value.__module__ == fbl.plots.__name__
        if not name.startswith("_")
    }
    covered = {name.removesuffix("_rgb") for name in PLOTS}
    assert public == covered


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plot_functions_return_a_figure(name):
    figure = PLOTS[name]()
    assert isinstance(figure, Figure)
    assert figure.axes
    plt.close(figure)


def test_show_images_captions_each_image_with_its_class_name():
    figure = fbl.plots.show_images(torch.rand(3, 1, 28, 28), [2, 0, 1], ["x", "y", "z"], ncols=2)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:3] == ["z", "x", "y"]
    assert len(figure.axes) == 4  # a 2x2 grid, the spare axis left blank
    plt.close(figure)


def test_accuracy_curves_put_each_round_at_the_tuning_calls_spent_so_far():
    validated = {**_RUN, "api_calls": 120, "validation_calls": 20}
    # a run that searched 5 step sizes trained 5 times as long; its curve is one of them
    searched = {**validated, "api_calls": 520, "step_size_scores": dict.fromkeys(range(5), 0.5)}
    runs = {"fed": _RUN, "validated": validated, "searched": searched}
    figure = fbl.plots.plot_accuracy_curves(runs)
    by_round, by_calls = figure.axes
    assert list(by_round.lines[0].get_xdata()) == [0, 1, 2]
    for line in by_calls.lines[:3]:
        assert list(line.get_xdata()) == [0, 50, 100]
        assert list(line.get_ydata()) == [0.2, 0.5, 0.6]
    plt.close(figure)


def test_accuracy_curves_refuse_a_run_without_rounds():
    with pytest.raises(ValueError, match="'central'"):
        fbl.plots.plot_accuracy_curves({"central": {**_RUN, "accuracy_per_round": []}})


def test_error_curves_draw_one_line_per_method():
    table = pd.DataFrame(
        {"method": ["a", "b", "c"] * 2, "mu": [0.1] * 3 + [1.0] * 3, "bias": [1, 2, 3, 4, 5, 6]}
    )
    figure = fbl.plots.plot_error_curves(table, "mu", "bias")
    assert len(figure.axes[0].lines) == 3
    plt.close(figure)


def test_partition_explorer_follows_its_sliders_without_queries():
    labels = np.repeat(np.arange(10), 20)
    explorer = fbl.widgets.partition_explorer(labels, [str(c) for c in range(10)])
    assert len(explorer.last_parts) == 10
    explorer.clients.value = 4
    assert len(explorer.last_parts) == 4
    explorer.alpha.value = 100.0
    even = fbl.federated.partition.label_skew(explorer.last_parts, labels)
    explorer.alpha.value = 0.01
    skewed = fbl.federated.partition.label_skew(explorer.last_parts, labels)
    assert skewed > even
    np.testing.assert_array_equal(np.sort(np.concatenate(explorer.last_parts)), np.arange(200))


def _sweep_frame() -> pd.DataFrame:
    """Stored runs of two tasks, methods with and without per-round scores, two alphas."""
    rows, number = [], 0
    for task, dataset, variant in (("vision", "mnist", "grid"), ("text", "bbc_news", "bdpl")):
        for method, partition, alpha in (
            ("fedbbpt", "iid", 0.5),
            ("fedbbpt", "dirichlet", 0.1),
            ("fedbbpt", "dirichlet", 1.0),
            ("centralized", "iid", 0.5),
        ):
            number += 1
            rows.append(
                {
                    "run_id": str(number),
                    "task": task,
                    "dataset": dataset,
                    "method": method,
                    "generator" if task == "vision" else "prompt": variant,
                    "partition": partition,
                    "alpha": alpha,
                    "clients": 2,
                    "rounds": 2,
                    "seed": 0,
                    "accuracy": 0.5 + number / 100,
                    "zero_shot_accuracy": 0.4,
                    "api_calls": 20,
                    "accuracy_per_round": [0.4, 0.45, 0.5] if method == "fedbbpt" else [],
                    "client_accuracy": [0.4, 0.6],
                    "test_every": 1,
                    "seconds": 1.0,
                }
            )
    path = Path(tempfile.mkdtemp()) / "runs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return fbl.sweep.load_results(path)


def test_sweep_explorer_offers_only_stored_choices_and_follows_them():
    frame = _sweep_frame()
    explorer = fbl.widgets.sweep_explorer(frame)
    controls = explorer.controls
    assert controls["task"].options == ("text", "vision")
    # it opens on a federated vision run, whose curves have rounds to show
    assert (controls["task"].value, controls["method"].value) == ("vision", "fedbbpt")
    assert len(explorer.last_runs.iloc[0]["accuracy_per_round"]) > 1
    controls["task"].value = "text"
    assert controls["dataset"].options == ("bbc_news",)
    controls["task"].value = "vision"
    controls["method"].value = "centralized"
    assert controls["dataset"].value == "mnist"
    assert controls["alpha"].disabled and len(explorer.last_runs) == 1
    controls["method"].value = "fedbbpt"
    controls["partition"].value = "dirichlet"
    assert controls["alpha"].options == (0.1, 1.0) and not controls["alpha"].disabled
    controls["alpha"].value = 1.0
    (run,) = explorer.last_runs.itertuples()
    assert (run.task, run.partition, run.alpha) == ("vision", "dirichlet", 1.0)
    assert explorer.selection() == {
        "task": "vision",
        "dataset": "mnist",
        "method": "fedbbpt",
        "partition": "dirichlet",
        "alpha": 1.0,
    }


def test_sweep_explorer_opens_on_the_choices_given():
    explorer = fbl.widgets.sweep_explorer(_sweep_frame(), task="text", method="centralized")
    assert explorer.selection()["task"] == "text"
    assert explorer.selection()["method"] == "centralized"
    with pytest.raises(ValueError, match="initial choices"):
        fbl.widgets.sweep_explorer(_sweep_frame(), colour="red")


def test_the_sweep_plot_draws_curves_points_and_client_spread():
    frame = _sweep_frame()
    runs = fbl.sweep.select_runs(frame, task="vision", partition="iid")
    figure = fbl.plots.plot_sweep_runs(runs, "vision iid")
    by_round, by_calls, spread = figure.axes
    curve, point = by_round.lines[:2]  # fedbbpt's rounds; centralized at its whole budget
    assert list(curve.get_ydata()) == [0.4, 0.45, 0.5] and list(point.get_xdata()) == [2]
    assert list(by_calls.lines[0].get_xdata()) == [0, 10, 20]
    assert by_round.get_xlim()[0] == 0 and by_calls.get_xlim()[0] == 0
    assert len(spread.collections) == 2 * 2  # dots and a mean bar per run
    with pytest.raises(ValueError, match="matched none"):
        fbl.plots.plot_sweep_runs(runs.iloc[:0])
    with pytest.raises(ValueError, match="no runs"):
        fbl.widgets.sweep_explorer(runs.iloc[:0])


def test_the_gains_figure_has_a_bar_per_method_and_setting_in_the_tables_order():
    frame = _sweep_frame()
    figure = fbl.plots.plot_gains(frame[frame["task"] == "vision"], "vision")
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels == [
        "centralized iid",
        "fedbbpt iid",
        "fedbbpt dirichlet(0.1)",
        "fedbbpt dirichlet(1)",
    ]
    # gains in points over the 0.4 zero-shot: runs 1-3 are fedbbpt, run 4 centralised
    widths = [round(bar.get_width(), 6) for bar in figure.axes[0].patches]
    assert widths == [14.0, 11.0, 12.0, 13.0]
    with pytest.raises(ValueError, match="zero-shot runs only"):
        fbl.plots.plot_gains(frame[frame["method"] == "zero_shot"])
