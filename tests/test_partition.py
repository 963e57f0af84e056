"""Tests for fedbbpt_lite.federated.partition: IID, Dirichlet label skew and pathological shards.

Every partitioner must return a partition in the set-theoretic sense (disjoint, complete, each
part sorted) that is reproducible from its rng; the non-IID ones must actually skew the labels.
"""

import math

import numpy as np
import pytest

from fedbbpt_lite.federated import partition as P

# 10 balanced classes x 100 examples, sorted by label (the worst case for shards).
BALANCED = np.repeat(np.arange(10), 100)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_is_partition(parts: list[np.ndarray], n: int, num_clients: int) -> None:
    """Disjoint, complete, integer, and each part strictly increasing."""
    assert len(parts) == num_clients
    for part in parts:
        assert np.issubdtype(part.dtype, np.integer)
        assert np.all(np.diff(part) > 0), "each part must be sorted without repeats"
    merged = np.sort(np.concatenate(parts))
    np.testing.assert_array_equal(merged, np.arange(n))  # complete, and disjoint by length


def same_parts(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def classes_per_client(parts: list[np.ndarray], labels: np.ndarray) -> list[int]:
    return [len(np.unique(labels[part])) for part in parts]


# ----------------------------------------------------------------------------- iid


@pytest.mark.parametrize(("n", "num_clients"), [(103, 10), (100, 10), (7, 7), (50, 3)])
def test_iid_is_a_balanced_partition(n, num_clients):
    labels = np.arange(n) % 4
    parts = P.iid(labels, num_clients, rng(0))
    assert_is_partition(parts, n, num_clients)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == n


def test_iid_shuffles():
    # Without a shuffle the first client would get indices 0..9 exactly.
    parts = P.iid(np.zeros(100, dtype=int), 10, rng(0))
    assert not np.array_equal(parts[0], np.arange(10))


def test_iid_reproducible_per_seed():
    labels = BALANCED
    assert same_parts(P.iid(labels, 10, rng(5)), P.iid(labels, 10, rng(5)))
    assert not same_parts(P.iid(labels, 10, rng(5)), P.iid(labels, 10, rng(6)))


# ----------------------------------------------------------------------------- dirichlet


@pytest.mark.parametrize("alpha", [100.0, 1.0, 0.5, 0.1])
def test_dirichlet_is_a_partition(alpha):
    parts = P.dirichlet(BALANCED, 10, alpha, rng(1))
    assert_is_partition(parts, len(BALANCED), 10)
    assert min(len(p) for p in parts) >= 1  # default min_size


@pytest.mark.parametrize("seed", range(5))
def test_dirichlet_respects_min_size(seed):
    # With alpha = 0.1 and min_size = 0 some of these seeds leave a client (nearly) empty.
    parts = P.dirichlet(BALANCED, 10, 0.1, rng(seed), min_size=20)
    assert_is_partition(parts, len(BALANCED), 10)
    assert min(len(p) for p in parts) >= 20


def test_dirichlet_skew_grows_as_alpha_falls():
    def mean_skew(alpha: float) -> float:
        return np.mean(
            [P.label_skew(P.dirichlet(BALANCED, 10, alpha, rng(s)), BALANCED) for s in range(5)]
        )

    skews = [mean_skew(alpha) for alpha in (100.0, 1.0, 0.5, 0.1)]
    assert skews == sorted(skews), skews
    assert skews[0] < 0.1  # alpha = 100 is nearly IID
    assert skews[-1] > 0.5  # alpha = 0.1 is strongly skewed
    # Gaps between neighbours are ~0.1 or more across seeds; demand a clear margin.
    assert all(b - a > 0.05 for a, b in zip(skews, skews[1:], strict=False)), skews


def test_dirichlet_reproducible_per_seed():
    a = P.dirichlet(BALANCED, 10, 0.5, rng(3))
    assert same_parts(a, P.dirichlet(BALANCED, 10, 0.5, rng(3)))
    assert not same_parts(a, P.dirichlet(BALANCED, 10, 0.5, rng(4)))


def test_dirichlet_impossible_min_size_raises():
    with pytest.raises(ValueError, match="min_size"):
        P.dirichlet(BALANCED, 10, 0.5, rng(0), min_size=101)  # 10 x 101 > 1000


def test_dirichlet_unreachable_min_size_raises():
    # Feasible on paper (10 x 100 = 1000) but alpha = 0.01 never splits that evenly.
    with pytest.raises(ValueError, match="min_size"):
        P.dirichlet(BALANCED, 10, 0.01, rng(0), min_size=100)


@pytest.mark.parametrize("alpha", [0, 0.0, -1, math.nan, math.inf, "a", None])
def test_dirichlet_bad_alpha(alpha):
    with pytest.raises((TypeError, ValueError), match="alpha"):
        P.dirichlet(BALANCED, 10, alpha, rng(0))


# ----------------------------------------------------------------------------- shards


@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_two_per_client_see_at_most_two_classes(shuffle):
    labels = BALANCED.copy()
    if shuffle:  # shards sorts by label itself, so the input order must not matter
        labels = labels[rng(9).permutation(len(labels))]
    parts = P.shards(labels, 10, 2, rng(0))
    assert_is_partition(parts, len(labels), 10)
    assert [len(p) for p in parts] == [100] * 10  # 20 shards of 50, two each
    assert max(classes_per_client(parts, labels)) <= 2
    # Far from IID: the skew is at least that of every client holding two whole classes.
    assert P.label_skew(parts, labels) >= 0.8 - 1e-12


def test_shards_sizes_when_not_divisible():
    labels = np.arange(1003) % 10
    parts = P.shards(labels, 10, 2, rng(0))
    assert_is_partition(parts, 1003, 10)
    shard_min, shard_max = 1003 // 20, -(-1003 // 20)  # shards of 50 or 51
    assert all(2 * shard_min <= len(p) <= 2 * shard_max for p in parts)


@pytest.mark.parametrize("per_client", [1, 3])
def test_shards_per_client_count(per_client):
    labels = np.repeat(np.arange(6), 60)  # 360 examples
    parts = P.shards(labels, 4, per_client, rng(2))
    assert_is_partition(parts, 360, 4)
    shard = 360 // (4 * per_client)
    assert [len(p) for p in parts] == [per_client * shard] * 4
    # Each shard lies within at most two classes, so a client sees at most 2 per shard.
    assert max(classes_per_client(parts, labels)) <= 2 * per_client


def test_shards_reproducible_per_seed():
    a = P.shards(BALANCED, 10, 2, rng(7))
    assert same_parts(a, P.shards(BALANCED, 10, 2, rng(7)))
    assert not same_parts(a, P.shards(BALANCED, 10, 2, rng(8)))


def test_shards_need_enough_examples():
    with pytest.raises(ValueError):
        P.shards(np.arange(10), 6, 2, rng(0))  # 12 shards from 10 examples


# ----------------------------------------------------------------------------- partition()


@pytest.mark.parametrize(
    ("scheme", "direct"),
    [
        ("iid", lambda y, r: P.iid(y, 5, r)),
        ("dirichlet", lambda y, r: P.dirichlet(y, 5, 0.3, r)),
        ("shards", lambda y, r: P.shards(y, 5, 3, r)),
    ],
)
def test_partition_dispatches_by_name(scheme, direct):
    parts = P.partition(BALANCED, 5, scheme, rng(4), alpha=0.3, shards_per_client=3)
    assert_is_partition(parts, len(BALANCED), 5)
    assert same_parts(parts, direct(BALANCED, rng(4)))


@pytest.mark.parametrize("scheme", ["IID", "pathological", "", None])
def test_partition_unknown_scheme(scheme):
    with pytest.raises(ValueError, match="scheme"):
        P.partition(BALANCED, 5, scheme, rng(0))


@pytest.mark.parametrize("scheme", P.SCHEMES)
@pytest.mark.parametrize(
    "labels",
    [
        np.zeros((10, 2), dtype=int),  # 2-D
        np.linspace(0, 1, 20),  # float
        np.array(["a", "b"] * 10),  # strings
        np.array([True, False] * 10),  # bools are not class ids
        np.int64(3),  # 0-D
    ],
    ids=["2d", "float", "str", "bool", "scalar"],
)
def test_partition_rejects_bad_labels(scheme, labels):
    with pytest.raises(ValueError, match="labels"):
        P.partition(labels, 2, scheme, rng(0), shards_per_client=1)


@pytest.mark.parametrize("scheme", P.SCHEMES)
def test_partition_more_clients_than_examples(scheme):
    with pytest.raises(ValueError, match="num_clients"):
        P.partition(np.arange(5), 6, scheme, rng(0), shards_per_client=1)


@pytest.mark.parametrize("scheme", P.SCHEMES)
@pytest.mark.parametrize("num_clients", [0, -2])
def test_partition_bad_num_clients(scheme, num_clients):
    with pytest.raises(ValueError, match="num_clients"):
        P.partition(BALANCED, num_clients, scheme, rng(0))


@pytest.mark.parametrize("scheme", P.SCHEMES)
def test_partition_requires_generator(scheme):
    with pytest.raises(TypeError, match="rng"):
        P.partition(BALANCED, 5, scheme, 0)


# ----------------------------------------------------------------------------- label_skew


def test_label_skew_zero_for_identical_mixes():
    labels = np.tile(np.arange(10), 10)  # example i has class i % 10
    parts = [np.arange(10 * k, 10 * (k + 1)) for k in range(10)]  # one of each class per client
    assert P.label_skew(parts, labels) == pytest.approx(0.0, abs=1e-12)


def test_label_skew_one_class_per_client():
    parts = [np.flatnonzero(BALANCED == c) for c in range(10)]
    # TV(one-hot, uniform over 10) = 0.5 * (0.9 + 9 * 0.1) = 0.9
    assert P.label_skew(parts, BALANCED) == pytest.approx(0.9, abs=1e-12)


def test_label_skew_two_classes_two_clients_is_maximal_half():
    labels = np.array([0, 0, 1, 1])
    assert P.label_skew([np.array([0, 1]), np.array([2, 3])], labels) == pytest.approx(0.5)
    assert P.label_skew([np.array([0, 2]), np.array([1, 3])], labels) == pytest.approx(0.0)


def test_label_skew_skips_empty_parts():
    parts = [np.flatnonzero(BALANCED == c) for c in range(10)] + [np.array([], dtype=int)]
    assert P.label_skew(parts, BALANCED) == pytest.approx(0.9, abs=1e-12)
