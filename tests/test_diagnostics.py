"""zo_diagnostics against closed-form answers on the toy quadratic and quartic.

For the quadratic a central difference is exact, so CGE has no error at all and Gaussian RGE's
mean squared error is (d + 1) |grad|^2 / q. For the quartic f = sum w^4 / 4, Gaussian smoothing
with radius mu shifts the gradient by exactly 3 mu^2 w.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fedbbpt_lite as fbl
from fedbbpt_lite.zo_diagnostics import error_sweep, estimator_error

D = 10


@pytest.fixture
def quadratic():
    function = fbl.blackbox.ToyFunction("quadratic", D)
    w = np.linspace(-1, 1, D)
    return function.value, w, function.gradient(w)


def test_cge_has_no_bias_and_no_variance(quadratic):
    loss_batch, w, true = quadratic
    row = estimator_error("cge", loss_batch, w, true, np.random.default_rng(0), trials=5, mu=1e-3)
    assert row["bias"] < 1e-8 * np.linalg.norm(true)
    assert row["variance"] < 1e-20
    assert row["relative_mse"] < 1e-16
    assert row["method"] == "cge" and row["mu"] == 1e-3


def test_rge_error_falls_as_one_over_q(quadratic):
    loss_batch, w, true = quadratic
    rng = np.random.default_rng(0)
    mse = {
        q: estimator_error("rge_gaussian", loss_batch, w, true, rng, trials=400, q=q, mu=1e-3)[
            "relative_mse"
        ]
        for q in (1, 16)
    }
    assert 8 < mse[1] / mse[16] < 32
    assert mse[1] == pytest.approx(D + 1, rel=0.35)  # theory: (d + 1) / q


def test_report_is_consistent(quadratic):
    loss_batch, w, true = quadratic
    row = estimator_error(
        "spsa_rademacher", loss_batch, w, true, np.random.default_rng(1), trials=50, q=2, mu=0.01
    )
    # mean squared error = |mean - true|^2 + variance over the same trials, and the reported
    # bias is |mean - true|^2 with the noise of the mean (variance / (trials - 1)) taken out
    mse = row["relative_mse"] * float(true @ true)
    assert row["bias_noise"] ** 2 == pytest.approx(row["variance"] / 49, rel=1e-9)
    squared_mean_error = mse - row["variance"]
    expected_bias = max(squared_mean_error - row["bias_noise"] ** 2, 0.0) ** 0.5
    assert row["bias"] == pytest.approx(expected_bias, rel=1e-9, abs=1e-12)
    assert row["q"] == 2


def test_an_unbiased_estimator_reports_bias_within_its_noise(quadratic):
    loss_batch, w, true = quadratic
    row = estimator_error(
        "rge_gaussian", loss_batch, w, true, np.random.default_rng(2), trials=400, mu=1e-3
    )
    assert row["bias"] <= 3 * row["bias_noise"]


@pytest.mark.parametrize(
    "method, kwargs",
    [
        ("rge_gaussian", {"q": 3}),
        ("rge_sphere", {"q": 5}),
        ("rge_gaussian", {"q": 4, "scheme": "forward"}),
        ("rge_sphere", {"scheme": "forward"}),
        ("cge", {}),
        ("spsa_rademacher", {"q": 2}),
        ("spsa_segmented", {}),
    ],
)
def test_points_per_estimate_is_the_query_cost(quadratic, method, kwargs):
    loss_batch, w, true = quadratic
    sizes = []

    def counting(W):
        sizes.append(len(W))
        return loss_batch(W)

    row = estimator_error(method, counting, w, true, np.random.default_rng(0), trials=3, **kwargs)
    expected = fbl.zo.num_points(method, D, kwargs.get("q", 1), kwargs.get("scheme", "central"))
    assert row["points_per_estimate"] == expected
    assert sizes == [expected] * 3  # one batched call per trial, of exactly that many points


@pytest.mark.parametrize("trials", [1, 0, -5, 2.5, True, "10", None])
def test_bad_trials_raise(quadratic, trials):
    loss_batch, w, true = quadratic
    with pytest.raises((TypeError, ValueError), match="trials"):
        estimator_error("cge", loss_batch, w, true, np.random.default_rng(0), trials=trials)


def test_sweep_returns_one_row_per_method_and_value(quadratic):
    loss_batch, w, true = quadratic
    built = []

    def make_problem(value):
        built.append(value)
        return loss_batch, w, true

    methods, values = ["rge_gaussian", "spsa_rademacher"], [1, 4, 16]
    table = error_sweep(
        methods, make_problem, "q", values, np.random.default_rng(0), trials=5, mu=1e-3
    )
    assert len(table) == len(methods) * len(values)
    assert list(zip(table["method"], table["q"], strict=True)) == list(
        itertools.product(methods, values)
    )
    assert list(table["points_per_estimate"]) == [2 * q for q in values] * 2
    assert set(table["mu"]) == {1e-3}
    assert built == values * len(methods)
    assert {"bias", "variance", "relative_mse"} <= set(table.columns)


def test_sweep_over_d_builds_each_dimension_and_keeps_d_from_the_estimator():
    built = []

    def quadratic_of_dimension(d):
        built.append(d)
        function = fbl.blackbox.ToyFunction("quadratic", d)
        point = np.linspace(-1, 1, d)
        # the toy black box refuses points whose dimension is not d
        return fbl.blackbox.ToyBlackBox(function).query, point, function.gradient(point)

    dims = [2, 5, 12]
    rng = np.random.default_rng(0)
    methods = ["rge_gaussian", "spsa_rademacher"]
    table = error_sweep(methods, quadratic_of_dimension, "d", dims, rng, trials=3, q=2, mu=1e-3)
    assert built == dims * 2
    assert list(zip(table["method"], table["d"], strict=True)) == list(
        itertools.product(methods, dims)
    )
    assert list(table["points_per_estimate"]) == [4] * 6
    assert list(table["q"]) == [2] * 6

    cge = error_sweep(["cge"], quadratic_of_dimension, "d", dims, rng, trials=2, mu=1e-3)
    assert list(cge["points_per_estimate"]) == [2 * d for d in dims]  # cost follows d
    assert (cge["bias"] < 1e-6).all()


def test_sweep_over_mu_records_the_radius():
    quartic = fbl.blackbox.ToyFunction("quartic", 3)
    w = np.array([1.0, -0.5, 0.8])

    def problem(_value):
        return quartic.value, w, quartic.gradient(w)

    radii = [0.01, 0.5]
    table = error_sweep(["cge"], problem, "mu", radii, np.random.default_rng(0), trials=2)
    assert list(table["mu"]) == radii
    # CGE on the quartic: central differences are biased by mu^2 w_i per coordinate
    for mu, bias in zip(table["mu"], table["bias"], strict=True):
        assert bias == pytest.approx(mu**2 * np.linalg.norm(w), rel=1e-6)


def test_rge_bias_on_the_quartic_matches_smoothing_theory():
    quartic = fbl.blackbox.ToyFunction("quartic", 5)
    w = np.array([1.0, -0.5, 0.8, 0.3, -1.0])
    mu = 1.0
    row = estimator_error(
        "rge_gaussian",
        quartic.value,
        w,
        quartic.gradient(w),
        np.random.default_rng(0),
        trials=1000,
        q=50,
        mu=mu,
    )
    theory = 3 * mu**2 * np.linalg.norm(w)
    assert row["bias"] == pytest.approx(theory, rel=0.15)
