"""Tests for fedbbpt_lite.federated: FedAvg, sampling, run_simulation, payload checks, History.

The clients here are small and deterministic: client k holds n_k examples and the local loss
0.5 * ||theta - c_k||^2, so gradient descent moves every parameter array toward the client's
own target c_k, and FedAvg of converged clients is the example-weighted mean of the targets.
Parameters are always two arrays of different shapes, a vector w (3,) and a matrix B (2, 2).
"""

import numpy as np
import pandas as pd
import pytest

from fedbbpt_lite.federated import (
    Client,
    ClientContext,
    FedAvg,
    FitResult,
    History,
    Strategy,
    run_simulation,
)

SHAPES = [(3,), (2, 2)]
PARAM_BYTES = 3 * 8 + 4 * 8  # float64


def zeros() -> list[np.ndarray]:
    return [np.zeros(s) for s in SHAPES]


def target(k: int) -> list[np.ndarray]:
    """Client k's optimum: distinct per client and per array."""
    return [
        np.full(s, float(k + 1)) * (i + 1) + np.arange(np.prod(s)).reshape(s)
        for i, s in enumerate(SHAPES)
    ]


def sizes(num_clients: int) -> list[int]:
    return [10 * (k + 1) for k in range(num_clients)]


class QuadraticClient(Client):
    """Gradient descent on 0.5 * ||theta - c_k||^2; counts fits and records configs in state."""

    def __init__(self, context: ClientContext, num_examples: int):
        self.context = context
        self.k = context.client_id
        self.n = num_examples
        self.c = target(self.k)

    def get_parameters(self, config):
        return zeros()

    def loss(self, params) -> float:
        return float(sum(0.5 * np.sum((p - c) ** 2) for p, c in zip(params, self.c, strict=True)))

    def fit(self, parameters, config):
        state = self.context.state
        state["fits"] = state.get("fits", 0) + 1
        state.setdefault("owner", set()).add(self.k)
        state.setdefault("configs", []).append(dict(config))
        steps, lr = config.get("local_steps", 1), config.get("lr", 0.5)
        params = [p.copy() for p in parameters]
        for _ in range(steps):
            params = [p - lr * (p - c) for p, c in zip(params, self.c, strict=True)]
        metrics = {
            "train_loss": self.loss(params),
            "api_calls": 2 * steps,
            "examples_sent": self.n * steps,
            "note": "quadratic",  # a string metric: recorded, never averaged
        }
        return params, self.n, metrics


def make_client_fn(num_clients: int, contexts: dict | None = None):
    n = sizes(num_clients)

    def client_fn(context: ClientContext) -> Client:
        if contexts is not None:
            contexts.setdefault(context.client_id, []).append(context)
        return QuadraticClient(context, n[context.client_id])

    return client_fn


def weighted_target(ids: list[int], num_clients: int) -> list[np.ndarray]:
    n = sizes(num_clients)
    total = sum(n[k] for k in ids)
    return [sum(n[k] * target(k)[i] for k in ids) / total for i in range(len(SHAPES))]


def assert_params_equal(a, b, **kw) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, **kw)


def run(num_clients=5, num_rounds=3, seed=0, **fedavg):
    strategy = FedAvg(**fedavg)
    return run_simulation(make_client_fn(num_clients), num_clients, strategy, num_rounds, seed)


# ----------------------------------------------------------------------------- FedAvg aggregation

# Three clients with two arrays of different shapes; worked out by hand below.
HAND_RESULTS = [
    FitResult(0, [np.array([6.0, 0.0]), np.array([[0.0, 6.0], [6.0, 12.0]])], 1, {}),
    FitResult(1, [np.array([0.0, 3.0]), np.array([[3.0, 0.0], [0.0, 3.0]])], 2, {}),
    FitResult(2, [np.array([2.0, 2.0]), np.array([[2.0, 2.0], [2.0, 2.0]])], 3, {}),
]
# (1 * [6, 0] + 2 * [0, 3] + 3 * [2, 2]) / 6 = [12, 12] / 6
HAND_AVERAGE = [np.array([2.0, 2.0]), np.array([[2.0, 2.0], [2.0, 4.0]])]


def test_fedavg_weighted_average_by_hand():
    old = [np.zeros(2), np.zeros((2, 2))]
    new, metrics = FedAvg().aggregate_fit(1, old, HAND_RESULTS)
    assert_params_equal(new, HAND_AVERAGE, rtol=0, atol=1e-15)
    assert metrics == {}
    assert_params_equal(old, [np.zeros(2), np.zeros((2, 2))], rtol=0, atol=0)  # not mutated


def test_fedavg_server_learning_rate_moves_part_way():
    old = [np.array([4.0, 4.0]), np.zeros((2, 2))]
    new, _ = FedAvg(server_learning_rate=0.5).aggregate_fit(1, old, HAND_RESULTS)
    # old + 0.5 * (average - old)
    assert_params_equal(new, [np.array([3.0, 3.0]), np.array([[1.0, 1.0], [1.0, 2.0]])], atol=0)


def test_fedavg_keeps_the_global_dtype():
    old = [np.zeros(2, dtype=np.float32), np.zeros((2, 2), dtype=np.float32)]
    new, _ = FedAvg().aggregate_fit(1, old, HAND_RESULTS)
    assert [p.dtype for p in new] == [np.float32, np.float32]
    assert_params_equal(new, HAND_AVERAGE, atol=1e-6)


def test_fedavg_metrics_are_example_weighted_means():
    results = [
        FitResult(r.client_id, r.parameters, r.num_examples, m)
        for r, m in zip(
            HAND_RESULTS,
            [
                {"train_loss": 1.0, "api_calls": 2, "extra": 10.0, "tag": "a", "flag": True},
                {"train_loss": 2.0, "api_calls": 2, "tag": "b", "flag": False},
                {"train_loss": 4.0, "api_calls": 2, "extra": 2.0, "tag": "c", "flag": True},
            ],
            strict=True,
        )
    ]
    _, metrics = FedAvg().aggregate_fit(1, [np.zeros(2), np.zeros((2, 2))], results)
    assert set(metrics) == {"train_loss", "api_calls", "extra"}  # no str, no bool
    assert metrics["train_loss"] == pytest.approx((1 * 1.0 + 2 * 2.0 + 3 * 4.0) / 6)
    assert metrics["api_calls"] == pytest.approx(2.0)
    # Only the clients that report a metric count towards its mean.
    assert metrics["extra"] == pytest.approx((1 * 10.0 + 3 * 2.0) / 4)


def test_fedavg_without_results_keeps_the_parameters():
    old = [np.array([1.0, 2.0]), np.eye(2)]
    new, metrics = FedAvg(server_learning_rate=0.5).aggregate_fit(3, old, [])
    assert_params_equal(new, [np.array([1.0, 2.0]), np.eye(2)], atol=0)
    assert metrics == {}


def test_fedavg_evaluate_without_fn_is_none():
    assert FedAvg().evaluate(0, zeros()) is None


# ----------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(
    ("fraction", "min_fit", "available", "expected"),
    [
        (0.1, 1, 10, 1),  # one client per round
        (0.5, 1, 10, 5),
        (0.05, 3, 10, 3),  # min_fit_clients wins over a tiny fraction
        (0.25, 1, 10, 2),  # int() rounds down
        (1.0, 1, 7, 7),
        (1.0, 7, 7, 7),
        (0.3, 2, 100, 30),
    ],
)
def test_num_fit_clients(fraction, min_fit, available, expected):
    strategy = FedAvg(fraction_fit=fraction, min_fit_clients=min_fit)
    assert strategy.num_fit_clients(available) == expected


def test_num_fit_clients_min_fit_above_available():
    with pytest.raises(ValueError, match="min_fit_clients"):
        FedAvg(min_fit_clients=11).num_fit_clients(10)


def test_num_fit_clients_fewer_than_min_available():
    with pytest.raises(ValueError, match="min_available_clients"):
        FedAvg(min_available_clients=5).num_fit_clients(4)
    assert FedAvg(min_available_clients=5).num_fit_clients(5) == 5


@pytest.mark.parametrize(("fraction", "min_fit", "count"), [(0.1, 1, 1), (0.5, 1, 5), (0.05, 3, 3)])
def test_configure_fit_sorted_distinct_with_config(fraction, min_fit, count):
    rounds_seen = []

    def on_fit_config_fn(server_round):
        rounds_seen.append(server_round)
        return {"lr": 0.1, "round": server_round}

    strategy = FedAvg(
        fraction_fit=fraction, min_fit_clients=min_fit, on_fit_config_fn=on_fit_config_fn
    )
    ids = list(range(10))
    chosen = strategy.configure_fit(4, ids, np.random.default_rng(0))
    cids = [cid for cid, _ in chosen]
    assert len(cids) == count
    assert cids == sorted(set(cids))
    assert set(cids) <= set(ids)
    assert all(isinstance(cid, int) for cid in cids)
    assert all(config == {"lr": 0.1, "round": 4} for _, config in chosen)
    assert rounds_seen == [4]
    # Each client gets its own copy of the config.
    chosen[0][1]["lr"] = 99.0
    assert all(config["lr"] == 0.1 for _, config in chosen[1:])


def test_configure_fit_without_config_fn_sends_empty_config():
    chosen = FedAvg().configure_fit(1, [0, 1, 2], np.random.default_rng(0))
    assert chosen == [(0, {}), (1, {}), (2, {})]


def test_one_client_per_round_eventually_picks_everyone():
    strategy = FedAvg(fraction_fit=0.1, min_fit_clients=1)
    rng = np.random.default_rng(0)
    picked = [strategy.configure_fit(r, list(range(10)), rng) for r in range(1, 201)]
    assert all(len(p) == 1 for p in picked)
    counts = np.bincount([p[0][0] for p in picked], minlength=10)
    assert len(counts) == 10 and counts.min() > 0
    assert counts.max() < 60  # uniform-ish: mean 20, a sticky sampler would pile up


# ----------------------------------------------------------------------------- run_simulation


def frames(history: History) -> dict[str, pd.DataFrame]:
    return {kind: history.to_dataframe(kind) for kind in ("fits", "evaluations", "rounds")}


def test_same_seed_gives_identical_history():
    def once():
        strategy = FedAvg(
            fraction_fit=0.3,
            evaluate_fn=lambda r, p: {"loss": float(sum(np.sum(x**2) for x in p))},
            on_fit_config_fn=lambda r: {"local_steps": 2},
        )
        return run_simulation(make_client_fn(10), 10, strategy, 5, seed=3)

    a, b = once(), once()
    fa, fb = frames(a), frames(b)
    for kind in fa:
        pd.testing.assert_frame_equal(fa[kind], fb[kind])
    assert len(fa["fits"]) == 15 and len(fa["evaluations"]) == 6 and len(fa["rounds"]) == 6
    assert_params_equal(a.parameters, b.parameters, rtol=0, atol=0)


def test_different_seed_samples_differently():
    def sampled(seed):
        history = run(num_clients=10, num_rounds=5, seed=seed, fraction_fit=0.3)
        return [(row["round"], row["client"]) for row in history.fits]

    assert sampled(0) == sampled(0)
    assert sampled(0) != sampled(1)


def test_per_client_seed_differs_between_clients_and_rounds():
    contexts: dict[int, list[ClientContext]] = {}
    run_simulation(make_client_fn(4, contexts), 4, FedAvg(), 3, seed=0)
    seeds = [c["seed"] for k in contexts for c in contexts[k][0].state["configs"]]
    assert len(seeds) == 12
    assert all(isinstance(s, int) for s in seeds)
    assert len(set(seeds)) == 12
    # ...and depends on the simulation seed.
    other: dict[int, list[ClientContext]] = {}
    run_simulation(make_client_fn(4, other), 4, FedAvg(), 3, seed=1)
    other_seeds = [c["seed"] for k in other for c in other[k][0].state["configs"]]
    assert not set(seeds) & set(other_seeds)


def test_fit_config_reaches_the_client_with_the_seed():
    contexts: dict[int, list[ClientContext]] = {}
    strategy = FedAvg(on_fit_config_fn=lambda r: {"local_steps": 3, "lr": 0.25, "r": r})
    run_simulation(make_client_fn(2, contexts), 2, strategy, 2, seed=0)
    configs = contexts[1][0].state["configs"]
    assert [{k: v for k, v in c.items() if k != "seed"} for c in configs] == [
        {"local_steps": 3, "lr": 0.25, "r": 1},
        {"local_steps": 3, "lr": 0.25, "r": 2},
    ]
    assert all("seed" in c for c in configs)


def test_context_state_persists_per_client():
    contexts: dict[int, list[ClientContext]] = {}
    history = run_simulation(make_client_fn(6, contexts), 6, FedAvg(fraction_fit=0.5), 8, seed=2)
    times_sampled = pd.DataFrame(history.fits)["client"].value_counts().to_dict()
    for k, seen in contexts.items():
        assert all(ctx is seen[0] for ctx in seen), "one ClientContext per client for the whole run"
        assert seen[0].client_id == k
        state = seen[0].state
        assert state.get("fits", 0) == times_sampled.get(k, 0)
        if state:
            assert state["owner"] == {k}, "a client's state must not be shared"
    assert sum(times_sampled.values()) == 8 * 3
    assert len({id(seen[0].state) for seen in contexts.values()}) == len(contexts)


def test_full_participation_lands_on_weighted_mean_of_targets():
    strategy = FedAvg(on_fit_config_fn=lambda r: {"local_steps": 60, "lr": 0.5})
    history = run_simulation(make_client_fn(4), 4, strategy, 1, seed=0)
    expected = weighted_target([0, 1, 2, 3], 4)
    # 0.5 ** 60 ~ 1e-18: the clients converge to their targets.
    assert_params_equal(history.parameters, expected, rtol=0, atol=1e-9)
    # The unweighted mean is measurably different, so weighting matters here.
    unweighted = [np.mean([target(k)[i] for k in range(4)], axis=0) for i in range(2)]
    assert not np.allclose(unweighted[0], expected[0])


def test_partial_participation_averages_only_the_sampled_clients():
    strategy = FedAvg(fraction_fit=0.4, on_fit_config_fn=lambda r: {"local_steps": 60, "lr": 0.5})
    history = run_simulation(make_client_fn(5), 5, strategy, 1, seed=4)
    ids = [row["client"] for row in history.fits]
    assert len(ids) == 2
    assert_params_equal(history.parameters, weighted_target(ids, 5), rtol=0, atol=1e-9)


def test_evaluate_fn_called_for_round_zero_and_every_round():
    calls = []

    def evaluate_fn(server_round, parameters):
        calls.append((server_round, [p.copy() for p in parameters]))
        return {"norm": float(sum(np.sum(p**2) for p in parameters))}

    initial = [np.full(3, 1.0), np.full((2, 2), -1.0)]
    strategy = FedAvg(evaluate_fn=evaluate_fn, on_fit_config_fn=lambda r: {"lr": 0.5})
    history = run_simulation(make_client_fn(3), 3, strategy, 4, initial_parameters=initial)
    assert [r for r, _ in calls] == [0, 1, 2, 3, 4]
    assert_params_equal(calls[0][1], initial, atol=0)
    assert_params_equal(calls[-1][1], history.parameters, atol=0)
    evaluations = history.to_dataframe("evaluations")
    assert evaluations["round"].tolist() == [0, 1, 2, 3, 4]
    # Every round moves toward the targets, so the central parameters change each round.
    assert all(not np.allclose(a[1][0], b[1][0]) for a, b in zip(calls, calls[1:], strict=False))


def test_initial_parameters_are_honoured_and_not_mutated():
    initial = [np.array([5.0, -5.0, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]])]
    before = [p.copy() for p in initial]
    history = run_simulation(make_client_fn(2), 2, FedAvg(), 0, initial_parameters=initial)
    assert_params_equal(history.parameters, before, atol=0)
    assert all(h is not p for h, p in zip(history.parameters, initial, strict=True))
    assert history.fits == []

    # One round with lr = 0.5, one step: theta = initial + 0.5 * (c_k - initial) per client.
    strategy = FedAvg(on_fit_config_fn=lambda r: {"local_steps": 1, "lr": 0.5})
    history = run_simulation(make_client_fn(2), 2, strategy, 1, initial_parameters=initial)
    expected = [0.5 * b + 0.5 * t for b, t in zip(before, weighted_target([0, 1], 2), strict=True)]
    assert_params_equal(history.parameters, expected, atol=1e-12)
    assert_params_equal(initial, before, atol=0)


def test_default_initial_parameters_come_from_a_client():
    history = run_simulation(make_client_fn(2), 2, FedAvg(), 0)
    assert_params_equal(history.parameters, zeros(), atol=0)


def test_zero_rounds_evaluates_once():
    calls = []
    strategy = FedAvg(evaluate_fn=lambda r, p: calls.append(r) or {"acc": 0.5})
    history = run_simulation(make_client_fn(2), 2, strategy, 0)
    assert calls == [0]
    assert history.evaluations == [{"round": 0, "acc": 0.5}]


# ----------------------------------------------------------------------------- payloads


def test_fit_rows_hold_only_counts_bytes_and_scalar_metrics():
    history = run(num_clients=3, num_rounds=2, seed=0)
    fits = history.to_dataframe("fits")
    assert set(fits.columns) == {
        "round",
        "client",
        "num_examples",
        "bytes_down",
        "bytes_up",
        "train_loss",
        "api_calls",
        "examples_sent",
        "note",
    }
    assert len(fits) == 6
    assert (fits["bytes_down"] == PARAM_BYTES).all()
    assert (fits["bytes_up"] == PARAM_BYTES).all()
    assert fits["num_examples"].tolist() == sizes(3) * 2
    for row in history.fits:
        assert all(isinstance(v, bool | int | float | str) for v in row.values()), row


def test_bytes_follow_the_dtype():
    initial = [np.zeros(3, dtype=np.float32), np.zeros((2, 2), dtype=np.float32)]
    history = run_simulation(make_client_fn(2), 2, FedAvg(), 1, initial_parameters=initial)
    assert {row["bytes_down"] for row in history.fits} == {7 * 4}
    # The quadratic client computes in float64 against float64 targets, so it uploads 8 bytes.
    assert {row["bytes_up"] for row in history.fits} == {7 * 8}
    assert [p.dtype for p in history.parameters] == [np.float32, np.float32]


def test_numpy_scalar_metrics_become_python_scalars():
    class NumpyMetrics(QuadraticClient):
        def fit(self, parameters, config):
            params, n, _ = super().fit(parameters, config)
            return params, np.int64(n), {"train_loss": np.float32(0.25), "api_calls": np.int64(2)}

    history = run_simulation(
        lambda ctx: NumpyMetrics(ctx, 10), 2, FedAvg(), 1, initial_parameters=zeros()
    )
    row = history.fits[0]
    assert type(row["train_loss"]) is float and row["train_loss"] == 0.25
    assert type(row["api_calls"]) is int and type(row["num_examples"]) is int


def bad_reply_client_fn(bad_reply):
    """Client 1 sends `bad_reply(parameters)` instead of a proper fit result."""

    def client_fn(context):
        client = QuadraticClient(context, 10)
        if context.client_id == 1:
            client.fit = lambda parameters, config: bad_reply(parameters)
        return client

    return client_fn


GOOD = {"train_loss": 0.0}


@pytest.mark.parametrize(
    ("bad_reply", "error"),
    [
        (lambda p: (p, 10, {"logits": np.zeros(5)}), TypeError),  # data in metrics
        (lambda p: (p, 10, {"labels": [1, 2]}), TypeError),
        (lambda p: (p, 10, {"nested": {"a": 1}}), TypeError),
        (lambda p: (p, 10, {"zero_d": np.array(1.0)}), TypeError),
        (lambda p: (p, 10, [("train_loss", 0.0)]), TypeError),  # metrics not a dict
        (lambda p: (p[:1], 10, GOOD), ValueError),  # an array missing
        (lambda p: ([*p, np.zeros(1)], 10, GOOD), ValueError),  # an array too many
        (lambda p: ([p[0], p[1].T.ravel()], 10, GOOD), ValueError),  # wrong shape
        (lambda p: ([p[1], p[0]], 10, GOOD), ValueError),  # swapped
        (lambda p: (p, 10.0, GOOD), TypeError),  # non-int count
        (lambda p: (p, "10", GOOD), TypeError),
        (lambda p: (p, True, GOOD), TypeError),
        (lambda p: (p, 0, GOOD), ValueError),
        (lambda p: (p, -3, GOOD), ValueError),
        (lambda p: [p, 10, GOOD], TypeError),  # a list, not a tuple
        (lambda p: (p, 10), TypeError),  # two fields
        (lambda p: (p, 10, GOOD, "extra"), TypeError),
        (lambda p: None, TypeError),
    ],
)
def test_malformed_fit_reply_names_the_client(bad_reply, error):
    with pytest.raises(error, match="client 1"):
        run_simulation(bad_reply_client_fn(bad_reply), 3, FedAvg(), 1, initial_parameters=zeros())


def test_clients_receive_copies_of_the_parameters():
    received = {}

    class Vandal(QuadraticClient):
        def fit(self, parameters, config):
            received[self.k] = [p.copy() for p in parameters]
            result = super().fit(parameters, config)
            for p in parameters:  # scribble over what the server sent
                p[...] = 1e6
            return result

    initial = [np.full(3, 2.0), np.full((2, 2), -2.0)]
    before = [p.copy() for p in initial]
    strategy = FedAvg(server_learning_rate=0.5, on_fit_config_fn=lambda r: {"lr": 1.0})
    history = run_simulation(
        lambda ctx: Vandal(ctx, sizes(3)[ctx.client_id]), 3, strategy, 1, initial_parameters=initial
    )
    # Each client saw the untouched global parameters, even after an earlier client scribbled.
    for k in range(3):
        assert_params_equal(received[k], before, atol=0)
    # lr = 1 lands each client on its target; eta = 0.5 goes halfway from the intact global.
    expected = [
        0.5 * b + 0.5 * t for b, t in zip(before, weighted_target([0, 1, 2], 3), strict=True)
    ]
    assert_params_equal(history.parameters, expected, atol=1e-12)
    assert_params_equal(initial, before, atol=0)


# ----------------------------------------------------------------------------- History


def hand_history() -> History:
    history = History()
    cost = {"bytes_down": 8, "bytes_up": 8}
    history.record_evaluation(0, {"accuracy": 0.1})
    history.record_fit(
        1,
        0,
        {
            "num_examples": 1,
            **cost,
            "train_loss": 1.0,
            "api_calls": 4,
            "examples_sent": 10,
            "note": "x",
        },
    )
    history.record_fit(
        1,
        1,
        {
            "num_examples": 3,
            **cost,
            "train_loss": 3.0,
            "api_calls": 6,
            "examples_sent": 30,
            "note": "y",
        },
    )
    history.record_evaluation(1, {"accuracy": 0.5})
    history.record_fit(
        2,
        1,
        {
            "num_examples": 3,
            **cost,
            "train_loss": 0.5,
            "api_calls": 6,
            "examples_sent": 30,
            "note": "y",
        },
    )
    history.record_evaluation(2, {"accuracy": 0.7})
    return history


def test_rounds_table_by_hand():
    table = hand_history().to_dataframe("rounds")
    assert table["round"].tolist() == [0, 1, 2]
    assert table["accuracy"].tolist() == [0.1, 0.5, 0.7]
    assert "note" not in table.columns and "client" not in table.columns
    fitted = table.set_index("round").loc[[1, 2]]
    assert fitted["api_calls"].tolist() == [10, 6]
    assert fitted["examples_sent"].tolist() == [40, 30]
    assert fitted["bytes_down"].tolist() == [16, 8]
    assert fitted["bytes_up"].tolist() == [16, 8]
    assert fitted["num_examples"].tolist() == [4, 3]
    assert fitted["clients"].tolist() == [2, 1]
    # (1 * 1.0 + 3 * 3.0) / 4, not the plain mean 2.0
    assert fitted["train_loss"].tolist() == pytest.approx([2.5, 0.5])
    assert fitted["cumulative_api_calls"].tolist() == [10, 16]
    assert table.set_index("round").loc[0, ["api_calls", "train_loss"]].isna().all()


def test_rounds_table_without_evaluations():
    history = hand_history()
    history.evaluations = []
    table = history.to_dataframe("rounds")
    assert table["round"].tolist() == [1, 2]
    assert table["cumulative_api_calls"].tolist() == [10, 16]


def test_rounds_table_without_fits_is_the_evaluations():
    history = History()
    history.record_evaluation(0, {"accuracy": 0.2})
    pd.testing.assert_frame_equal(
        history.to_dataframe("rounds"), pd.DataFrame([{"round": 0, "accuracy": 0.2}])
    )


def test_rounds_table_matches_the_fits_of_a_simulation():
    strategy = FedAvg(
        fraction_fit=0.5,
        evaluate_fn=lambda r, p: {"norm": float(np.sum(p[0] ** 2))},
        on_fit_config_fn=lambda r: {"local_steps": r},
    )
    history = run_simulation(make_client_fn(6), 6, strategy, 4, seed=1)
    fits, rounds = history.to_dataframe("fits"), history.to_dataframe("rounds")
    assert rounds["round"].tolist() == [0, 1, 2, 3, 4]
    per_round = rounds.set_index("round").loc[1:]
    for column in ("api_calls", "examples_sent", "bytes_down", "bytes_up", "num_examples"):
        assert per_round[column].tolist() == fits.groupby("round")[column].sum().tolist()
    # local_steps = round: api_calls = 3 clients x 2 x round
    assert per_round["api_calls"].tolist() == [6, 12, 18, 24]
    assert per_round["cumulative_api_calls"].tolist() == [6, 18, 36, 60]
    weighted = fits.groupby("round").apply(
        lambda g: np.average(g["train_loss"], weights=g["num_examples"]), include_groups=False
    )
    np.testing.assert_allclose(per_round["train_loss"], weighted)


@pytest.mark.parametrize("kind", ["round", "client", "", None])
def test_to_dataframe_unknown_kind(kind):
    with pytest.raises(ValueError, match="kind"):
        hand_history().to_dataframe(kind)


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"num_clients": 0}, ValueError, "num_clients"),
        ({"num_clients": 2.0}, TypeError, "num_clients"),
        ({"num_rounds": -1}, ValueError, "num_rounds"),
        ({"num_rounds": 1.5}, TypeError, "num_rounds"),
        ({"strategy": object()}, TypeError, "strategy"),
        ({"strategy": FedAvg}, TypeError, "strategy"),  # the class, not an instance
    ],
)
def test_run_simulation_bad_arguments(kwargs, error, name):
    args = {"num_clients": 2, "strategy": FedAvg(), "num_rounds": 1, **kwargs}
    with pytest.raises(error, match=name):
        run_simulation(make_client_fn(2), **args)


def test_run_simulation_too_few_clients_for_the_strategy():
    with pytest.raises(ValueError, match="min_fit_clients"):
        run_simulation(make_client_fn(2), 2, FedAvg(min_fit_clients=3), 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"fraction_fit": 0}, ValueError, "fraction_fit"),
        ({"fraction_fit": 1.5}, ValueError, "fraction_fit"),
        ({"fraction_fit": -0.1}, ValueError, "fraction_fit"),
        ({"fraction_fit": float("nan")}, ValueError, "fraction_fit"),
        ({"fraction_fit": "half"}, TypeError, "fraction_fit"),
        ({"server_learning_rate": 0}, ValueError, "server_learning_rate"),
        ({"server_learning_rate": -1.0}, ValueError, "server_learning_rate"),
        ({"min_fit_clients": 0}, ValueError, "min_fit_clients"),
        ({"min_available_clients": 0}, ValueError, "min_available_clients"),
        ({"min_fit_clients": 1.0}, TypeError, "min_fit_clients"),
        ({"evaluate_fn": "x"}, TypeError, "evaluate_fn"),
        ({"on_fit_config_fn": {"lr": 0.1}}, TypeError, "on_fit_config_fn"),
    ],
)
def test_fedavg_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        FedAvg(**kwargs)


def test_custom_strategy_plugs_in():
    class FirstClientOnly(Strategy):
        def configure_fit(self, server_round, client_ids, rng):
            return [(client_ids[0], {"lr": 1.0})]

        def aggregate_fit(self, server_round, parameters, results):
            return results[0].parameters, {}

    history = run_simulation(make_client_fn(3), 3, FirstClientOnly(), 2)
    assert [row["client"] for row in history.fits] == [0, 0]
    assert_params_equal(history.parameters, target(0), atol=0)
    assert history.evaluations == []


def test_client_evaluate_is_optional_and_fit_is_required():
    client = QuadraticClient(ClientContext(0), 10)
    with pytest.raises(NotImplementedError, match="QuadraticClient"):
        client.evaluate(zeros(), {})

    class NoFit(Client):
        def get_parameters(self, config):
            return zeros()

    with pytest.raises(TypeError):
        NoFit()


# ----------------------------------------------------------------------------- guarded mistakes


def test_reserved_metric_names_cannot_overwrite_history_columns():
    def liar(parameters):
        return parameters, 10, {"round": 99, "client": 7, "num_examples": 1000, "bytes_up": 0}

    with pytest.raises(ValueError, match="client 1.*server's to record"):
        run_simulation(bad_reply_client_fn(liar), 2, FedAvg(), 1, initial_parameters=zeros())


def test_default_initial_parameters_are_copied_from_the_client():
    class InPlace(Client):
        w = [np.zeros(3), np.zeros((2, 2))]  # shared model state, as in a stateful wrapper

        def get_parameters(self, config):
            return InPlace.w

        def fit(self, parameters, config):
            for p in InPlace.w:
                p += 10.0  # local training on the client's own copy of the model
            return [p + 1.0 for p in parameters], 1, {}

    history = run_simulation(lambda ctx: InPlace(), 1, FedAvg(server_learning_rate=0.5), 1)
    assert_params_equal(history.parameters, [np.full(3, 0.5), np.full((2, 2), 0.5)], atol=0)


@pytest.mark.parametrize("parameters", [None, 5])
def test_non_sequence_parameters_name_the_client(parameters):
    with pytest.raises((TypeError, ValueError), match="client 1"):
        run_simulation(
            bad_reply_client_fn(lambda p: (parameters, 10, GOOD)),
            2,
            FedAvg(),
            1,
            initial_parameters=zeros(),
        )
