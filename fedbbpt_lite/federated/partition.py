"""Split a labelled data set among clients: IID, Dirichlet label skew, or pathological shards.

Each partitioner returns one sorted index array per client, reproducible from its rng. Dirichlet
alpha = 0.5 and 0.1 are the usual non-IID settings; smaller alpha means more skew.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_choice, check_count, check_real, check_rng

SCHEMES = ("iid", "dirichlet", "shards")


def _check_labels(labels, num_clients: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape}")
    if len(labels) < num_clients:
        raise ValueError(f"num_clients ({num_clients}) exceeds the {len(labels)} examples")
    return labels


def iid(labels, num_clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle, then deal the examples out in near-equal parts."""
    num_clients = check_count("num_clients", num_clients)
    labels = _check_labels(labels, num_clients)
    order = check_rng(rng).permutation(len(labels))
    return [np.sort(part) for part in np.array_split(order, num_clients)]


def dirichlet(
    labels, num_clients: int, alpha: float, rng: np.random.Generator, min_size: int = 1
) -> list[np.ndarray]:
    """Label skew: each class split across clients in proportions ~ Dir(alpha), redrawn until
    every client holds at least min_size examples."""
    num_clients = check_count("num_clients", num_clients)
    alpha = check_real("alpha", alpha, positive=True)
    min_size = check_count("min_size", min_size, minimum=0)
    labels = _check_labels(labels, num_clients)
    check_rng(rng)
    if min_size * num_clients > len(labels):
        raise ValueError(f"min_size {min_size} x {num_clients} clients exceeds the data")
    for _ in range(100):
        parts: list[list[int]] = [[] for _ in range(num_clients)]
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            cuts = np.cumsum(rng.dirichlet(np.full(num_clients, alpha)))[:-1] * len(members)
            for client, chunk in enumerate(np.split(members, cuts.astype(int))):
                parts[client].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.sort(np.array(p, dtype=np.int64)) for p in parts]
    raise ValueError(
        f"could not give every client {min_size} examples with alpha={alpha}; "
        "raise alpha, lower min_size or use fewer clients"
    )


def shards(
    labels, num_clients: int, shards_per_client: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Pathological non-IID (McMahan et al.): sort by label, cut into equal shards, and give
    each client shards_per_client of them at random, so each sees only a few classes."""
    num_clients = check_count("num_clients", num_clients)
    shards_per_client = check_count("shards_per_client", shards_per_client)
    labels = _check_labels(labels, num_clients)
    if num_clients * shards_per_client > len(labels):
        raise ValueError(
            f"num_clients x shards_per_client ({num_clients} x {shards_per_client}) exceeds "
            f"the {len(labels)} examples"
        )
    order = np.argsort(labels, kind="stable")
    pieces = np.array_split(order, num_clients * shards_per_client)
    dealt = check_rng(rng).permutation(len(pieces)).reshape(num_clients, shards_per_client)
    return [np.sort(np.concatenate([pieces[i] for i in row])) for row in dealt]


def partition(
    labels,
    num_clients: int,
    scheme: str,
    rng: np.random.Generator,
    *,
    alpha: float = 0.5,
    shards_per_client: int = 2,
) -> list[np.ndarray]:
    """Dispatch by name ("iid", "dirichlet", "shards"), for command lines and sweeps."""
    check_choice("scheme", scheme, SCHEMES)
    if scheme == "iid":
        return iid(labels, num_clients, rng)
    if scheme == "dirichlet":
        return dirichlet(labels, num_clients, alpha, rng)
    return shards(labels, num_clients, shards_per_client, rng)


def label_skew(parts: list[np.ndarray], labels) -> float:
    """Mean total-variation distance between each client's label distribution and the whole
    data set's: 0 for identical mixes, towards 1 when clients hold disjoint classes."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    overall = np.array([(labels == c).mean() for c in classes])
    if not any(len(part) for part in parts):
        raise ValueError("parts must hold at least one non-empty client")
    distances = []
    for part in parts:
        if len(part) == 0:
            continue
        local = np.array([(labels[part] == c).mean() for c in classes])
        distances.append(0.5 * np.abs(local - overall).sum())
    return float(np.mean(distances))
