"""A deterministic, in-process federation: the same seed gives the same History.

Mirrors Flower's run_simulation: client_fn(context) builds a client, the strategy samples
clients and aggregates their fits, and only parameters, counts and scalar metrics travel.
Each client's fit gets its own seed, derived from (seed, round, client), in config["seed"].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..validation import check_count
from .client import Client, Context, NDArrays
from .history import History
from .strategy import FitResult, Strategy

RESERVED = ("round", "client", "num_examples")


def _payload_bytes(parameters: NDArrays) -> int:
    return int(sum(p.nbytes for p in parameters))


def _checked_fit(client_id: int, reply, reference: NDArrays) -> FitResult:
    """Refuse anything but (parameters like the global ones, a count, scalar metrics)."""
    if not (isinstance(reply, tuple) and len(reply) == 3):
        raise TypeError(f"client {client_id}: fit must return (parameters, num_examples, metrics)")
    parameters, num_examples, metrics = reply
    if not isinstance(parameters, list | tuple):
        raise TypeError(f"client {client_id}: fit must return its parameters as a list of arrays")
    parameters = [np.asarray(p) for p in parameters]
    if [p.shape for p in parameters] != [p.shape for p in reference]:
        raise ValueError(f"client {client_id}: fit returned parameters of other shapes")
    if not all(np.issubdtype(p.dtype, np.number) for p in parameters):
        raise TypeError(f"client {client_id}: parameters must be numeric arrays")
    if isinstance(num_examples, bool) or not isinstance(num_examples, int | np.integer):
        raise TypeError(f"client {client_id}: num_examples must be an int")
    if num_examples <= 0:
        raise ValueError(f"client {client_id}: num_examples must be positive, got {num_examples}")
    if not isinstance(metrics, dict) or not all(
        isinstance(v, bool | int | float | str | np.number) for v in metrics.values()
    ):
        raise TypeError(f"client {client_id}: metrics must be a dict of scalars (never data)")
    reserved = sorted(k for k in metrics if k in RESERVED or str(k).startswith("bytes_"))
    if reserved:
        raise ValueError(f"client {client_id}: metric names {reserved} are the server's to record")
    scalars = {k: v.item() if isinstance(v, np.number) else v for k, v in metrics.items()}
    return FitResult(client_id, parameters, int(num_examples), scalars)


def run_simulation(
    client_fn: Callable[[Context], Client],
    num_clients: int,
    strategy: Strategy,
    num_rounds: int,
    seed: int = 0,
    initial_parameters: NDArrays | None = None,
) -> History:
    """Run num_rounds of federated training; return the History (final parameters included).

    initial_parameters default to client 0's get_parameters({}).
    """
    num_clients = check_count("num_clients", num_clients)
    num_rounds = check_count("num_rounds", num_rounds, minimum=0)
    seed = check_count("seed", seed, minimum=0)
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy must be a Strategy, got {type(strategy).__name__}")
    contexts = [Context(client_id) for client_id in range(num_clients)]
    if initial_parameters is None:
        initial_parameters = client_fn(contexts[0]).get_parameters({})
    parameters = [np.array(p, copy=True) for p in initial_parameters]
    rng = np.random.default_rng(seed)
    history = History()
    evaluation = strategy.evaluate(0, parameters)
    if evaluation is not None:
        history.record_evaluation(0, evaluation)
    for server_round in range(1, num_rounds + 1):
        results = []
        for client_id, config in strategy.configure_fit(
            server_round, list(range(num_clients)), rng
        ):
            if not 0 <= client_id < num_clients:
                raise ValueError(
                    f"strategy sampled client {client_id}, not in 0..{num_clients - 1}"
                )
            client_seed = int(
                np.random.SeedSequence([seed, server_round, client_id]).generate_state(1)[0]
            )
            sent = [p.copy() for p in parameters]
            reply = client_fn(contexts[client_id]).fit(sent, {**config, "seed": client_seed})
            result = _checked_fit(client_id, reply, parameters)
            results.append(result)
            history.record_fit(
                server_round,
                client_id,
                {
                    "num_examples": result.num_examples,
                    "bytes_down": _payload_bytes(parameters),
                    "bytes_up": _payload_bytes(result.parameters),
                    **result.metrics,
                },
            )
        parameters, _ = strategy.aggregate_fit(server_round, parameters, results)
        evaluation = strategy.evaluate(server_round, parameters)
        if evaluation is not None:
            history.record_evaluation(server_round, evaluation)
    history.parameters = parameters
    return history
