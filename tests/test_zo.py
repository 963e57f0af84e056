"""Tests for fedbbpt_lite.zo on quadratics f(w) = 0.5 w^T A w + b^T w, whose gradient is A w + b.

For a quadratic a central difference is exactly the directional derivative u . grad f, so the
estimators' means and variances are known in closed form and the tolerances below follow from them.
"""

import re

import numpy as np
import pytest

from fedbbpt_lite import zo


class Quadratic:
    """Batched quadratic loss that records the shape of every call it receives."""

    def __init__(self, d: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        m = rng.standard_normal((d, d))
        self.A = m @ m.T / d + np.eye(d)  # symmetric, eigenvalues >= 1
        self.b = rng.standard_normal(d)
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, W: np.ndarray) -> np.ndarray:
        self.calls.append(W.shape)
        return 0.5 * np.einsum("ij,jk,ik->i", W, self.A, W) + W @ self.b

    def loss(self, w: np.ndarray) -> float:
        return float(self(w[None, :])[0])

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.A @ w + self.b

    def minimum(self) -> float:
        return float(-0.5 * self.b @ np.linalg.solve(self.A, self.b))


D = 6


@pytest.fixture
def quad() -> Quadratic:
    return Quadratic(D)


@pytest.fixture
def w0() -> np.ndarray:
    return np.random.default_rng(1).standard_normal(D)


# ----------------------------------------------------------------------------- directions


@pytest.mark.parametrize(
    "sampler",
    [
        zo.gaussian_directions,
        zo.sphere_directions,
        zo.rademacher_directions,
        zo.segmented_uniform_directions,
    ],
)
def test_direction_shape_and_dtype(sampler):
    u = sampler(np.random.default_rng(0), 3, 7)
    assert u.shape == (3, 7)
    assert u.dtype == np.float64


def test_gaussian_directions_moments():
    u = zo.gaussian_directions(np.random.default_rng(0), 20_000, 5)
    # n = 100k samples: SE of the mean is 1/sqrt(n) ~ 0.003, SE of the variance sqrt(2/n) ~ 0.0045.
    assert abs(u.mean()) < 0.015
    assert abs(u.var() - 1.0) < 0.025


def test_sphere_directions_unit_norm_and_isotropic():
    u = zo.sphere_directions(np.random.default_rng(0), 20_000, 5)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-12)
    # E[u u^T] = I / d for the uniform sphere.
    np.testing.assert_allclose(u.T @ u / len(u), np.eye(5) / 5, atol=0.01)


def test_rademacher_directions_values():
    u = zo.rademacher_directions(np.random.default_rng(0), 2_000, 5)
    assert set(np.unique(u)) == {-1.0, 1.0}
    assert abs(u.mean()) < 0.03  # 10k signs: SE 0.01


def test_segmented_directions_support_and_signs():
    u = zo.segmented_uniform_directions(np.random.default_rng(0), 2_000, 5)
    assert np.all((np.abs(u) >= 0.5) & (np.abs(u) <= 1.0))
    assert abs(np.mean(u > 0) - 0.5) < 0.015  # 10k signs: SE 0.005
    # Magnitudes ~ U[0.5, 1]: mean 0.75, SE sqrt(1/48/10k) ~ 0.0014.
    assert abs(np.abs(u).mean() - 0.75) < 0.007


# ----------------------------------------------------------------------------- unbiasedness

N_DRAWS = 50_000


def _second_moment(method: str, g: np.ndarray) -> np.ndarray:
    """Per-coordinate E[ghat_i^2] of a single-direction estimate, from the direction's moments."""
    d, g2 = g.size, g @ g
    if method == "rge_gaussian":  # E[u_i^2 (u.g)^2] = g2 + 2 g_i^2
        return g2 + 2 * g**2
    if method == "rge_sphere":  # d^2 E[u_i^2 (u.g)^2] = d/(d+2) (g2 + 2 g_i^2)
        return d / (d + 2) * (g2 + 2 * g**2)
    if method == "spsa_rademacher":  # (u.g / u_i)^2 = g_i^2 + sum_{j != i} g_j^2 in mean
        return np.full(d, g2)
    if method == "spsa_segmented":  # |u| ~ U[0.5, 1]: E[u_j^2] = 7/12, E[u_i^-2] = 2
        return g**2 + 7 / 6 * (g2 - g**2)
    raise AssertionError(method)


@pytest.mark.parametrize(
    "method", ["rge_gaussian", "rge_sphere", "spsa_rademacher", "spsa_segmented"]
)
def test_estimator_is_unbiased_on_quadratic(quad, w0, method):
    g = quad.grad(w0)
    mean = zo.estimate(method, quad, w0, np.random.default_rng(2), q=N_DRAWS)
    se = np.sqrt((_second_moment(method, g) - g**2) / N_DRAWS)
    assert np.all(np.abs(mean - g) < 5 * se), (mean, g, se)
    # The tolerance is tight enough to catch a bias of 5% of the gradient norm.
    assert np.all(5 * se < 0.05 * np.linalg.norm(g))


def test_forward_rge_is_nearly_unbiased(quad, w0):
    # Forward differences add mu/2 * E[u (u^T A u)], which is 0 since u and -u are equally likely.
    g = quad.grad(w0)
    mean = zo.rge(quad, w0, np.random.default_rng(3), q=N_DRAWS, scheme="forward")
    se = np.sqrt((_second_moment("rge_gaussian", g) - g**2) / N_DRAWS)
    assert np.all(np.abs(mean - g) < 5 * se)


def test_cge_is_exact_on_quadratic(quad, w0):
    np.testing.assert_allclose(zo.cge(quad, w0), quad.grad(w0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        zo.estimate("cge", quad, w0, None, mu=1e-2), quad.grad(w0), rtol=1e-6, atol=1e-6
    )


# ----------------------------------------------------------------------------- variance


@pytest.mark.parametrize(
    ("method", "mse_per_draw"),
    [("rge_gaussian", lambda d: d + 1), ("spsa_rademacher", lambda d: d - 1)],
)
def test_variance_falls_as_one_over_q(quad, w0, method, mse_per_draw):
    g = quad.grad(w0)
    rng = np.random.default_rng(4)
    reps = 3_000

    def mse(q: int) -> float:
        errs = [zo.estimate(method, quad, w0, rng, q=q) - g for _ in range(reps)]
        return float(np.mean(np.sum(np.square(errs), axis=1)))

    mse_1, mse_16 = mse(1), mse(16)
    # Theory: E|ghat - g|^2 = mse_per_draw(d) * |g|^2 / q.
    assert mse_1 == pytest.approx(mse_per_draw(D) * (g @ g), rel=0.15)
    assert 10 < mse_1 / mse_16 < 25


# ----------------------------------------------------------------------------- query cost


@pytest.mark.parametrize("method", zo.ESTIMATORS)
@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_one_batched_call_with_num_points_rows(quad, w0, method, scheme):
    if scheme == "forward" and not method.startswith("rge_"):
        with pytest.raises(ValueError, match="scheme"):
            zo.num_points(method, D, 3, scheme)
        return
    kwargs = {"q": 3} if method != "cge" else {}
    if scheme == "forward":
        kwargs["scheme"] = "forward"
    g = zo.estimate(method, quad, w0, np.random.default_rng(0), **kwargs)
    assert g.shape == (D,)
    assert quad.calls == [(zo.num_points(method, D, 3, scheme), D)]


def test_num_points_values():
    assert zo.num_points("rge_gaussian", 10, 4) == 8
    assert zo.num_points("rge_sphere", 10, 4, "forward") == 5
    assert zo.num_points("spsa_segmented", 10, 4) == 8
    assert zo.num_points("cge", 10, 4) == 20


# ----------------------------------------------------------------------------- SPSA-GC


def test_gains_match_hand_computation():
    cfg = zo.SPSAGCConfig()
    # k=1: a / 2^0.4, c / 1^0.1;  k=10: a / 11^0.4, c / 10^0.1  (a = c = 0.01, o = 1).
    assert cfg.gains(1) == pytest.approx((0.007578582832551991, 0.01), rel=1e-12)
    assert cfg.gains(10) == pytest.approx((0.0038321537573562728, 0.007943282347242816), rel=1e-12)


def test_plain_spsa_step_is_w_minus_a_k_g(quad, w0):
    cfg = zo.SPSAGCConfig(correction=False, perturbation="rademacher", sp_avg=3)
    state = zo.SPSAGCState(k=4)
    w1, state1, info = zo.spsa_gc_step(quad, w0, state, cfg, np.random.default_rng(7))
    a_k, c_k = cfg.gains(4)
    g = zo.spsa(quad, w0, np.random.default_rng(7), c=c_k, q=3, perturbation="rademacher")
    np.testing.assert_allclose(w1, w0 - a_k * g, rtol=1e-14)
    assert state1.k == 5 and state1.m is None
    assert info["k"] == 4 and info["a_k"] == a_k and info["c_k"] == c_k
    assert info["estimate_norm"] == pytest.approx(np.linalg.norm(g))
    assert quad.calls[0] == (6, D)  # 2 * sp_avg points, one call


def test_corrected_step_momentum_over_two_steps(quad, w0):
    cfg = zo.SPSAGCConfig(a=0.05)
    beta = cfg.beta
    w1, s1, _ = zo.spsa_gc_step(quad, w0, zo.SPSAGCState(), cfg, np.random.default_rng(10))
    w2, s2, _ = zo.spsa_gc_step(quad, w1, s1, cfg, np.random.default_rng(11))

    (a1, c1), (a2, c2) = cfg.gains(1), cfg.gains(2)
    g1 = zo.spsa(quad, w0, np.random.default_rng(10), c=c1, q=5, perturbation="segmented")
    m1 = g1  # m starts at zeros: beta * 0 + g1
    np.testing.assert_allclose(s1.m, m1, rtol=1e-14)
    np.testing.assert_allclose(w1, w0 - a1 * (g1 + beta * m1), rtol=1e-14)

    g2 = zo.spsa(quad, w1, np.random.default_rng(11), c=c2, q=5, perturbation="segmented")
    m2 = beta * m1 + g2
    np.testing.assert_allclose(s2.m, m2, rtol=1e-13)
    np.testing.assert_allclose(w2, w1 - a2 * (g2 + beta * m2), rtol=1e-13)
    assert (s1.k, s2.k) == (2, 3)


def test_step_does_not_mutate_inputs(quad, w0):
    m0 = np.ones(D)
    state = zo.SPSAGCState(k=3, m=m0)
    w_before, m_before = w0.copy(), m0.copy()
    w1, state1, _ = zo.spsa_gc_step(quad, w0, state, zo.SPSAGCConfig(), np.random.default_rng(0))
    np.testing.assert_array_equal(w0, w_before)
    np.testing.assert_array_equal(state.m, m_before)
    assert state.k == 3 and state.m is m0
    assert state1 is not state and state1.m is not m0 and w1 is not w0


def test_spsa_gc_minimises_quadratic():
    quad = Quadratic(10, seed=5)
    w = np.random.default_rng(6).standard_normal(10) * 3
    cfg, state, rng = zo.SPSAGCConfig(a=0.1), zo.SPSAGCState(), np.random.default_rng(8)
    gap0 = quad.loss(w) - quad.minimum()
    for _ in range(200):
        w, state, _ = zo.spsa_gc_step(quad, w, state, cfg, rng)
    assert state.k == 201
    assert quad.loss(w) - quad.minimum() < 1e-6 * gap0  # observed ~1e-10


# ----------------------------------------------------------------------------- bad inputs


def _wrong_shape(W: np.ndarray) -> np.ndarray:
    return np.zeros((len(W), 1))


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda f, w, r: zo.rge(f, w, r, q=0), ValueError, "q"),
        (lambda f, w, r: zo.spsa(f, w, r, q=1.5), TypeError, "q"),
        (lambda f, w, r: zo.gaussian_directions(r, 2, 0), ValueError, "d"),
        (lambda f, w, r: zo.rge(f, w, r, mu=0.0), ValueError, "mu"),
        (lambda f, w, r: zo.cge(f, w, mu=-1e-3), ValueError, "mu"),
        (lambda f, w, r: zo.spsa(f, w, r, c=0.0), ValueError, "c"),
        (lambda f, w, r: zo.rge(f, w, r, directions="cauchy"), ValueError, "directions"),
        (lambda f, w, r: zo.rge(f, w, r, scheme="backward"), ValueError, "scheme"),
        (lambda f, w, r: zo.spsa(f, w, r, perturbation="cauchy"), ValueError, "perturbation"),
        (lambda f, w, r: zo.estimate("newton", f, w, r), ValueError, "method"),
        (lambda f, w, r: zo.num_points("newton", 3, 1), ValueError, "method"),
        (lambda f, w, r: zo.rge(f, w.reshape(2, 3), r), ValueError, "w"),
        (lambda f, w, r: zo.cge(f, np.array([1.0, np.nan])), ValueError, "w"),
        (lambda f, w, r: zo.rge(f, w, np.random.RandomState(0)), TypeError, "rng"),
        (lambda f, w, r: zo.spsa(f, w, 0), TypeError, "rng"),
        (lambda f, w, r: zo.rge(_wrong_shape, w, r), ValueError, "loss_batch"),
        (lambda f, w, r: zo.cge(lambda W: np.zeros(3), w), ValueError, "loss_batch"),
        (lambda f, w, r: zo.SPSAGCConfig(perturbation="gauss"), ValueError, "perturbation"),
        (lambda f, w, r: zo.SPSAGCConfig(a=0.0), ValueError, "a"),
        (lambda f, w, r: zo.SPSAGCConfig(sp_avg=0), ValueError, "sp_avg"),
        (lambda f, w, r: zo.SPSAGCConfig(beta=1.0), ValueError, "beta"),
        (lambda f, w, r: zo.SPSAGCConfig().gains(0), ValueError, "k"),
        (
            lambda f, w, r: zo.spsa_gc_step(
                f, w, zo.SPSAGCState(m=np.zeros(2)), zo.SPSAGCConfig(), r
            ),
            ValueError,
            "state.m",
        ),
    ],
)
def test_bad_inputs_name_the_argument(quad, call, exc, name):
    with pytest.raises(exc, match=rf"^{re.escape(name)} "):
        call(quad, np.arange(6.0), np.random.default_rng(0))
