"""A deterministic, in-process federation after Flower's run_simulation: the same seed gives the
same History, and only parameters, counts and scalar metrics travel. Faults cost no finished
work: failed clients are recorded and skipped, a spent budget ends the run after its last whole
round, and a checkpoint after every round lets a killed run resume.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..blackbox.base import TransientAPIError
from ..blackbox.meter import BudgetExceededError
from ..validation import check_count
from .checkpoint import load_checkpoint, save_checkpoint
from .client import Client, ClientContext, NDArrays
from .faults import ClientDropout
from .history import History
from .strategy import FitResult, Strategy

RESERVED = ("round", "client", "num_examples")
# What a client may fail with and the round survive: the rest are bugs, and are raised.
CLIENT_FAULTS = (TransientAPIError, ClientDropout, TimeoutError, ConnectionError)


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


def fit_seed(seed: int, server_round: int, client_id: int) -> int:
    """The seed of one client's fit in one round: the same wherever the client runs."""
    return int(np.random.SeedSequence([seed, server_round, client_id]).generate_state(1)[0])


# fit_round(server_round, parameters, [(client id, config)]) -> [(client id, reply or error)]
FitRound = Callable[[int, NDArrays, list[tuple[int, dict]]], list[tuple[int, object]]]


def run_rounds(
    fit_round: FitRound,
    num_clients: int,
    strategy: Strategy,
    num_rounds: int,
    seed: int,
    parameters: NDArrays,
    history: History | None = None,
    rng: np.random.Generator | None = None,
    after_round: Callable[[int, NDArrays, History], None] | None = None,
) -> History:
    """The server's loop, wherever fit_round runs the fits (in process, or as Flower messages).
    A restored history (with its rng) goes on after its last round; after_round runs after whole
    rounds only, so a checkpoint never holds a round the budget cut short."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    if history is None:
        history = History()
        evaluation = strategy.evaluate(0, parameters)
        if evaluation is not None:
            history.record_evaluation(0, evaluation)
        if after_round:
            after_round(0, parameters, history)
    needed = getattr(strategy, "min_fit_clients", 1)
    for server_round in range(history.last_round + 1, num_rounds + 1):
        sampled = strategy.configure_fit(server_round, list(range(num_clients)), rng)
        for client_id, config in sampled:
            if not 0 <= client_id < num_clients:
                raise ValueError(
                    f"strategy sampled client {client_id}, not in 0..{num_clients - 1}"
                )
            config["seed"] = fit_seed(seed, server_round, client_id)
        results = []
        for client_id, reply in fit_round(server_round, parameters, sampled):
            if isinstance(reply, BudgetExceededError):
                history.stopped = {"round": server_round, "reason": str(reply)}
                break
            if isinstance(reply, CLIENT_FAULTS):
                history.record_failure(server_round, client_id, reply)
                continue
            if isinstance(reply, BaseException):
                raise reply
            result = _checked_fit(client_id, reply, strategy.reply_like(parameters))
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
        if history.stopped:  # the unfinished round is dropped; the last whole one stands
            history.fits = [row for row in history.fits if row["round"] != server_round]
            history.failures = [row for row in history.failures if row["round"] != server_round]
            break
        if len(results) < needed:
            history.skipped_rounds.append(server_round)
        else:
            parameters, metrics = strategy.aggregate_fit(server_round, parameters, results)
            history.record_aggregate(server_round, metrics)
        evaluation = strategy.evaluate(server_round, parameters)
        if evaluation is not None:
            history.record_evaluation(server_round, evaluation)
        history.last_round = server_round
        if after_round:
            after_round(server_round, parameters, history)
    history.parameters = parameters
    return history


def run_simulation(
    client_fn: Callable[[ClientContext], Client],
    num_clients: int,
    strategy: Strategy,
    num_rounds: int,
    seed: int = 0,
    initial_parameters: NDArrays | None = None,
    checkpoint=None,
    run_settings: dict | None = None,
) -> History:
    """Run num_rounds of federated training in this process. With `checkpoint` (a file path)
    every round is saved and an existing file resumed, a budget-stopped run included;
    run_settings (JSON-able, e.g. the experiment's) must then match the saved run's."""
    num_clients = check_count("num_clients", num_clients)
    num_rounds = check_count("num_rounds", num_rounds, minimum=0)
    seed = check_count("seed", seed, minimum=0)
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy must be a Strategy, got {type(strategy).__name__}")
    contexts = [ClientContext(client_id) for client_id in range(num_clients)]
    rng, history = np.random.default_rng(seed), None
    settings = {"num_clients": num_clients, "seed": seed, "run": run_settings}
    if checkpoint is not None and Path(checkpoint).exists():
        saved = load_checkpoint(checkpoint)
        if saved["settings"] != settings:
            raise ValueError(
                f"checkpoint {checkpoint} belongs to a run with {saved['settings']}, not "
                f"{settings}; give another path or move it away"
            )
        parameters, history = saved["parameters"], saved["history"]
        strategy.restore(saved["strategy"])
        history.stopped = None  # a run stopped by its budget goes on if it can now pay
        for context, state in zip(contexts, saved["states"], strict=True):
            context.state = state
        rng.bit_generator.state = saved["rng"]
    else:
        if initial_parameters is None:
            initial_parameters = client_fn(contexts[0]).get_parameters({})
        parameters = [np.array(p, copy=True) for p in initial_parameters]

    def fit_round(_round, parameters, sampled):
        replies = []
        for client_id, config in sampled:
            try:
                reply = client_fn(contexts[client_id]).fit([p.copy() for p in parameters], config)
            except (*CLIENT_FAULTS, BudgetExceededError) as error:
                reply = error
            replies.append((client_id, reply))
            if isinstance(reply, BudgetExceededError):
                break
        return replies

    def save(server_round, parameters, history):
        states = [context.state for context in contexts]
        save_checkpoint(
            checkpoint, server_round, parameters, states, rng, history, settings, strategy.state()
        )

    return run_rounds(
        fit_round,
        num_clients,
        strategy,
        num_rounds,
        seed,
        parameters,
        history,
        rng,
        after_round=save if checkpoint is not None else None,
    )
