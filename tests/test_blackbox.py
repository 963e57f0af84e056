"""Tests for the API boundary: Meter/Budget billing, BlackBox.query and the toy objectives.

The black box must reveal outputs only (NumPy, no autograd link, no weights), bill every
successful call exactly once, refuse over-budget queries before billing them and inject
reproducible transient faults.
"""

import numpy as np
import pytest
import torch
from torch import nn

from fedbbpt_lite.blackbox import (
    TOY_FUNCTIONS,
    BlackBox,
    Budget,
    BudgetExceededError,
    Meter,
    MiniCLIPBlackBox,
    ToyBlackBox,
    ToyFunction,
    TransientAPIError,
)

DIM = 4
HIDDEN_NAMES = ("parameters", "named_parameters", "state_dict", "weights", "buffers", "gradient")


class Echo(BlackBox):
    """Minimal classifier black box: the scores are the inputs themselves, shape (..., K)."""

    def _prepare(self, inputs, *args) -> tuple[torch.Tensor, tuple]:
        return torch.as_tensor(inputs, dtype=torch.float64).detach(), args

    def _count(self, inputs: torch.Tensor) -> int:
        return int(inputs[..., 0].numel())

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.clone()


@pytest.fixture
def quad() -> ToyFunction:
    return ToyFunction("quadratic", DIM)


@pytest.fixture
def rows() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((5, DIM))


@pytest.fixture(scope="module")
def clip() -> MiniCLIPBlackBox:
    return MiniCLIPBlackBox()


def counters(meter: Meter) -> tuple:
    return meter.calls, meter.examples, meter.failed_calls, meter.cost


# ----------------------------------------------------------------------------- Meter / Budget


def test_meter_counts_calls_examples_and_cost():
    meter = Meter(cost_per_call=0.5, cost_per_example=0.01)
    assert counters(meter) == (0, 0, 0, 0.0)
    meter.record(32)
    meter.record(8)
    meter.record(0)
    assert meter.calls == 3
    assert meter.examples == 40
    assert meter.cost == pytest.approx(3 * 0.5 + 40 * 0.01)
    assert meter.snapshot() == {
        "calls": 3,
        "examples": 40,
        "failed_calls": 0,
        "timeouts": 0,
        "retries": 0,
        "cost": 1.9,
        "saved_calls": 0,
        "saved_examples": 0,
    }


def test_blackbox_bills_calls_and_examples(quad, rows):
    bb = ToyBlackBox(quad, cost_per_call=2.0, cost_per_example=0.25)
    bb.query(rows)
    bb.query(rows[:2])
    assert (bb.meter.calls, bb.meter.examples) == (2, 7)
    assert bb.meter.cost == pytest.approx(2 * 2.0 + 7 * 0.25)


def test_budget_on_calls_refuses_before_billing(quad, rows):
    bb = ToyBlackBox(quad, budget=Budget(max_calls=2), cost_per_call=1.0)
    bb.query(rows)
    bb.query(rows)
    before = counters(bb.meter)
    with pytest.raises(BudgetExceededError, match="calls"):
        bb.query(rows)
    assert counters(bb.meter) == before == (2, 10, 0, 2.0)


def test_budget_on_examples_allows_exact_cap_and_refuses_beyond(quad, rows):
    bb = ToyBlackBox(quad, budget=Budget(max_examples=5))
    bb.query(rows[:3])
    with pytest.raises(BudgetExceededError, match="examples"):
        bb.query(rows[:3])  # would reach 6 > 5
    assert counters(bb.meter) == (1, 3, 0, 0.0)
    bb.query(rows[:2])  # exactly 5 is allowed
    assert (bb.meter.calls, bb.meter.examples) == (2, 5)
    with pytest.raises(BudgetExceededError):
        bb.query(rows[:1])
    assert (bb.meter.calls, bb.meter.examples) == (2, 5)


def test_budget_on_cost_refuses_before_billing(quad, rows):
    bb = ToyBlackBox(quad, budget=Budget(max_cost=5.0), cost_per_call=1.0, cost_per_example=0.5)
    bb.query(rows[:2])  # cost 2
    bb.query(rows[:4])  # cost 2 + 1 + 2 = 5, exactly the cap
    assert bb.meter.cost == pytest.approx(5.0)
    with pytest.raises(BudgetExceededError, match="cost"):
        bb.query(rows[:1])
    assert counters(bb.meter) == (2, 6, 0, 5.0)


def test_meter_check_directly():
    meter = Meter(budget=Budget(max_calls=1, max_examples=10))
    meter.check(10)
    with pytest.raises(BudgetExceededError, match="examples"):
        meter.check(11)
    meter.record(10)
    with pytest.raises(BudgetExceededError, match="calls"):
        meter.check(0)
    assert (meter.calls, meter.examples) == (1, 10)


@pytest.mark.parametrize("field", ["max_calls", "max_examples", "max_cost"])
@pytest.mark.parametrize("bad", [-1, -0.5, True])
def test_budget_rejects_bad_caps_naming_the_field(field, bad):
    with pytest.raises((TypeError, ValueError), match=field):
        Budget(**{field: bad})


def test_budget_accepts_zero_and_none():
    assert Budget(max_calls=0, max_examples=0, max_cost=0.0).max_calls == 0
    assert Budget() == Budget(None, None, None)


def test_reset_zeroes_counters_and_keeps_budget(quad, rows):
    bb = ToyBlackBox(quad, budget=Budget(max_calls=1), cost_per_call=1.0, fault_rate=0.0)
    bb.query(rows)
    bb.meter.failed_calls = 3
    bb.meter.reset()
    assert counters(bb.meter) == (0, 0, 0, 0.0)
    assert bb.meter.budget == Budget(max_calls=1)
    bb.query(rows)  # allowed again after the reset
    with pytest.raises(BudgetExceededError):
        bb.query(rows)  # but the budget still applies


# ------------------------------------------------------------------------------- BlackBox.query


def test_query_returns_numpy_values(quad, rows):
    bb = ToyBlackBox(quad)
    out = bb.query(rows)
    assert isinstance(out, np.ndarray)
    assert not isinstance(out, torch.Tensor)
    assert out.shape == (5,)
    np.testing.assert_allclose(out, 0.5 * (rows**2 * quad.curvatures).sum(-1))
    np.testing.assert_allclose(out, quad.value(rows))


def test_batch_is_one_call_of_m_examples(quad, rows):
    bb = ToyBlackBox(quad)
    bb.query(rows)
    assert (bb.meter.calls, bb.meter.examples) == (1, 5)
    single = bb.query(rows[0])  # a 1-D vector is one row
    assert single.shape == (1,)
    assert (bb.meter.calls, bb.meter.examples) == (2, 6)


def test_wrong_input_shape_raises_and_is_not_billed(quad):
    bb = ToyBlackBox(quad)
    with pytest.raises(ValueError, match="inputs"):
        bb.query(np.zeros((3, DIM + 1)))
    assert counters(bb.meter) == (0, 0, 0, 0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_gradient_crosses_the_boundary(quad, dtype):
    w = torch.randn(3, DIM, dtype=dtype, requires_grad=True)
    bb = ToyBlackBox(quad)
    out = bb.query(w)
    assert isinstance(out, np.ndarray)
    back = torch.as_tensor(out)
    assert not back.requires_grad and back.grad_fn is None
    with pytest.raises(RuntimeError):
        back.sum().backward()
    assert w.grad is None
    # The values still match the function at the (detached) input.
    np.testing.assert_allclose(out, quad.value(w.detach().double().numpy()), rtol=1e-6)


def test_output_is_a_copy(quad, rows):
    bb = ToyBlackBox(quad)
    out = bb.query(rows)
    out[:] = -1.0
    np.testing.assert_allclose(bb.query(rows), quad.value(rows))


def test_miniclip_no_gradient_crosses_the_boundary(clip):
    images = torch.rand(2, 1, 28, 28, requires_grad=True)
    out = clip.query(images, ["a photo of the digit zero", "a photo of the digit one"])
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    assert images.grad is None
    assert not torch.as_tensor(out).requires_grad


def public_attributes(obj) -> dict:
    return {name: getattr(obj, name) for name in dir(obj) if not name.startswith("_")}


def test_toy_blackbox_hides_weights_and_gradient(quad):
    bb = ToyBlackBox(quad)
    assert not isinstance(bb, nn.Module)
    for name in HIDDEN_NAMES:
        assert not hasattr(bb, name), name
    for name, value in public_attributes(bb).items():
        assert not isinstance(value, nn.Module | torch.Tensor | ToyFunction), name
        assert not hasattr(value, "gradient"), name


def test_miniclip_blackbox_hides_weights(clip):
    assert not isinstance(clip, nn.Module)
    for name in HIDDEN_NAMES:
        assert not hasattr(clip, name), name
    attrs = public_attributes(clip)
    assert "query" in attrs and "meter" in attrs
    for name, value in attrs.items():
        assert not isinstance(value, nn.Module | torch.Tensor), name


# -------------------------------------------------------------------------------- output modes


def test_echo_output_modes():
    scores = np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]])
    np.testing.assert_array_equal(Echo(output="logits").query(scores), scores)
    probs = Echo(output="probs").query(scores)
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    np.testing.assert_allclose(probs, torch.softmax(torch.tensor(scores), -1).numpy())
    labels = Echo(output="label").query(scores)
    np.testing.assert_array_equal(labels, [1, 2])
    assert np.issubdtype(labels.dtype, np.integer)


# ----------------------------------------------------------------------------- fault injection


def fault_pattern(seed: int, n: int = 40, cost_per_call: float = 1.0):
    f = ToyFunction("quadratic", DIM)
    bb = ToyBlackBox(f, fault_rate=0.5, fault_seed=seed, cost_per_call=cost_per_call)
    w = np.ones((3, DIM))
    pattern = []
    for _ in range(n):
        try:
            out = bb.query(w)
        except TransientAPIError:
            pattern.append(False)
        else:
            np.testing.assert_allclose(out, f.value(w))
            pattern.append(True)
    return pattern, bb.meter


def test_faults_are_counted_and_not_billed():
    pattern, meter = fault_pattern(seed=7)
    ok = sum(pattern)
    assert 0 < ok < len(pattern)  # some calls fail, some succeed
    assert meter.failed_calls == len(pattern) - ok
    assert meter.calls == ok
    assert meter.examples == 3 * ok
    assert meter.cost == pytest.approx(ok * 1.0)


def test_same_fault_seed_same_failure_pattern():
    first, _ = fault_pattern(seed=11)
    second, _ = fault_pattern(seed=11)
    other, _ = fault_pattern(seed=12)
    assert first == second
    assert first != other


def test_no_faults_by_default(quad, rows):
    bb = ToyBlackBox(quad)
    for _ in range(50):
        bb.query(rows)
    assert bb.meter.failed_calls == 0 and bb.meter.calls == 50


def test_latency_still_returns_correct_values(quad, rows):
    bb = ToyBlackBox(quad, latency_s=0.001)
    np.testing.assert_allclose(bb.query(rows), quad.value(rows))
    assert bb.meter.calls == 1


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"output": "softmax"}, "output"),
        ({"output": "value"}, "output"),
        ({"fault_rate": -0.1}, "fault_rate"),
        ({"fault_rate": 1.0}, "fault_rate"),
        ({"fault_rate": 1.5}, "fault_rate"),
        ({"fault_rate": float("nan")}, "fault_rate"),
        ({"latency_s": -0.001}, "latency_s"),
        ({"latency_s": float("nan")}, "latency_s"),
    ],
)
def test_invalid_api_options_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Echo(**kwargs)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"fault_rate": 1.0}, "fault_rate"), ({"latency_s": -1.0}, "latency_s")],
)
def test_toy_blackbox_validates_api_options(quad, kwargs, name):
    with pytest.raises(ValueError, match=name):
        ToyBlackBox(quad, **kwargs)


# ------------------------------------------------------------------------------- ToyFunction


@pytest.mark.parametrize("name", sorted(TOY_FUNCTIONS))
def test_toy_gradient_matches_central_differences(name):
    f = ToyFunction(name, 5)
    rng = np.random.default_rng(3)
    h = 1e-5
    for _ in range(3):
        w = rng.uniform(-1.2, 1.2, 5)
        eye = np.eye(5)
        fd = (f.value(w + h * eye) - f.value(w - h * eye)) / (2 * h)
        grad = f.gradient(w)
        assert grad.shape == (5,)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", sorted(TOY_FUNCTIONS))
def test_toy_value_is_rowwise(name):
    f = ToyFunction(name, 3)
    W = np.random.default_rng(4).standard_normal((6, 3))
    batched = f.value(W)
    assert batched.shape == (6,)
    np.testing.assert_allclose(batched, [f.value(row)[0] for row in W])


def test_toy_known_values():
    assert ToyFunction("quadratic", 3).value(np.zeros(3))[0] == 0.0
    assert ToyFunction("rosenbrock", 4).value(np.ones(4))[0] == 0.0
    assert ToyFunction("rastrigin", 4).value(np.zeros(4))[0] == 0.0
    assert ToyFunction("quartic", 2).value(np.array([2.0, 0.0]))[0] == pytest.approx(4.0)
    np.testing.assert_allclose(ToyFunction("quadratic", 3).curvatures, [1.0, 10**0.5, 10.0])


@pytest.mark.parametrize("bad", ["sphere", "", "Quadratic"])
def test_toy_function_rejects_bad_name(bad):
    with pytest.raises(ValueError, match="name"):
        ToyFunction(bad, 4)


@pytest.mark.parametrize("bad", [1, 0, -3, 2.0, True, "4"])
def test_toy_function_rejects_bad_dim(bad):
    with pytest.raises((TypeError, ValueError), match="dim"):
        ToyFunction("quadratic", bad)
