"""A Flower ClientApp and ServerApp around the kit's Client, Strategy and round loop.

The server first asks every SuperNode for its partition id (a QUERY message), so client ids
mean the same as in run_simulation; each round it sends TRAIN messages carrying the global
parameters (an ArrayRecord) and the fit config (a ConfigRecord), and gets back parameters, a
count and scalar metrics. The client keeps its Context.state (optimiser state) in Flower's
per-node context.state; each fit's seed travels in its config, derived from (run seed, round,
client id) by the round loop both runtimes share, so with full participation both give the
same aggregates. A client that raises an error the kit knows as transient, or whose SuperNode is
unreachable, is recorded as a failure; any other error it raises is raised at the server, as
run_simulation raises it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MessageType,
    MetricRecord,
    RecordDict,
)
from flwr.clientapp import ClientApp
from flwr.common.constant import ErrorCode
from flwr.serverapp import Grid, ServerApp

from ..blackbox.base import APITimeoutError
from ..blackbox.meter import BudgetExceededError
from ..federated.client import Client, ClientContext
from ..federated.faults import ClientDropout
from ..federated.history import History
from ..federated.simulation import CLIENT_FAULTS, run_rounds
from ..federated.state_codec import decode_state, encode_state
from ..federated.strategy import Strategy

STATE_ARRAYS, STATE_META = "kit-state-arrays", "kit-state"
# Errors a client's reply may name that the round survives (or that stop it), by class name.
KNOWN_ERRORS = {cls.__name__: cls for cls in (*CLIENT_FAULTS, APITimeoutError, BudgetExceededError)}


def message_contents(content: RecordDict) -> dict:
    """What a message's content carries: array shapes by name, and the other records' keys."""
    described = {}
    for name, record in content.items():
        if isinstance(record, ArrayRecord):
            described[name] = {k: tuple(a.shape) for k, a in record.items()}
        else:
            described[name] = {"kind": type(record).__name__, "keys": sorted(record.keys())}
    return described


ClientFn = Callable[[ClientContext], Client]


@dataclass
class ServerSetup:
    """What the server needs: the strategy, rounds, clients, initial parameters and run seed."""

    strategy: Strategy
    num_rounds: int
    num_clients: int
    initial_parameters: list[np.ndarray]
    seed: int = 0


def client_app(make_client_fn: Callable[[dict], ClientFn]) -> ClientApp:
    """A ClientApp that answers the server's TRAIN messages with the client that
    make_client_fn(run_config) builds, the client id being the SuperNode's
    node_config["partition-id"]."""
    app = ClientApp()

    @app.query()
    def identify(message: Message, context: Context) -> Message:
        client_id = int(context.node_config["partition-id"])
        content = RecordDict({"client": ConfigRecord({"id": client_id})})
        return Message(content=content, reply_to=message)

    @app.train()
    def train(message: Message, context: Context) -> Message:
        client_id = int(context.node_config["partition-id"])
        kit_context = ClientContext(client_id, state=_load_state(context))
        parameters = message.content["arrays"].to_numpy_ndarrays()
        config = dict(message.content["config"])
        client_fn = make_client_fn(dict(context.run_config))
        new, count, metrics = client_fn(kit_context).fit(parameters, config)
        _save_state(context, kit_context.state)
        return Message(content=fit_reply(new, count, metrics), reply_to=message)

    return app


def fit_reply(parameters, num_examples: int, metrics: dict) -> RecordDict:
    """All a client sends back: its parameters, its example count and its numeric metrics."""
    numbers = {k: _number(v) for k, v in metrics.items() if not isinstance(v, str)}
    return RecordDict(
        {
            "arrays": ArrayRecord([np.asarray(p) for p in parameters]),
            "metrics": MetricRecord({"num-examples": int(num_examples), **numbers}),
        }
    )


def _number(value):
    return int(value) if isinstance(value, bool | np.bool_) else value


def _load_state(context: Context) -> dict:
    if STATE_META not in context.state:
        return {}
    arrays = context.state[STATE_ARRAYS] if STATE_ARRAYS in context.state else {}
    arrays = {k: a.numpy() for k, a in arrays.items()}
    return decode_state(arrays, json.loads(context.state[STATE_META]["json"]))


def _save_state(context: Context, state: dict) -> None:
    arrays, described = encode_state(state)
    context.state[STATE_ARRAYS] = ArrayRecord(array_dict={k: Array(v) for k, v in arrays.items()})
    context.state[STATE_META] = ConfigRecord({"json": json.dumps(described)})


def server_app(
    setup: Callable[[dict], ServerSetup],
    on_history: Callable[[History, Context], None] | None = None,
    timeout: float = 600.0,
) -> ServerApp:
    """A ServerApp that builds setup(run_config), waits for its num_clients SuperNodes and runs
    the kit's round loop over them; on_history(history, context) gets the History at the end.
    timeout: seconds to wait for the SuperNodes, and for each round's replies."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        plan = setup(dict(context.run_config))
        nodes = _discover(grid, plan.num_clients, timeout)

        def fit_round(server_round, parameters, sampled):
            messages = {}
            for client_id, config in sampled:
                content = RecordDict(
                    {
                        "arrays": ArrayRecord([np.asarray(p) for p in parameters]),
                        "config": ConfigRecord(config),
                    }
                )
                messages[client_id] = Message(
                    content=content,
                    dst_node_id=nodes[client_id],
                    message_type=MessageType.TRAIN,
                    group_id=str(server_round),
                )
            replies = grid.send_and_receive(list(messages.values()), timeout=timeout)
            by_id = {m.metadata.message_id: cid for cid, m in messages.items()}
            answered = {by_id[r.metadata.reply_to_message_id]: r for r in replies}
            return [(cid, _reply(answered.get(cid), cid)) for cid, _ in sampled]

        history = run_rounds(
            fit_round,
            plan.num_clients,
            plan.strategy,
            plan.num_rounds,
            plan.seed,
            [np.array(p, copy=True) for p in plan.initial_parameters],
        )
        if on_history is not None:
            on_history(history, context)

    return app


def _discover(grid: Grid, num_clients: int, timeout: float) -> dict[int, int]:
    """{client id: node id} of num_clients SuperNodes, asking each for its partition id and
    asking again those that have not answered, for up to timeout seconds."""
    deadline, nodes, wanted = time.time() + timeout, {}, set(range(num_clients))
    while not wanted <= set(nodes):
        if time.time() > deadline:
            raise TimeoutError(
                f"{len(nodes)} SuperNodes identified in {timeout:g} s, {num_clients} needed "
                "(each needs node_config partition-id 0..num_clients-1)"
            )
        unknown = [n for n in grid.get_node_ids() if n not in nodes.values()]
        queries = [
            Message(
                content=RecordDict(),
                dst_node_id=node_id,
                message_type=MessageType.QUERY,
                group_id="identify",
            )
            for node_id in unknown
        ]
        for reply in grid.send_and_receive(queries, timeout=max(1.0, deadline - time.time())):
            if not reply.has_error():
                nodes[int(reply.content["client"]["id"])] = reply.metadata.src_node_id
        if not wanted <= set(nodes):
            time.sleep(0.5)
    return {client_id: nodes[client_id] for client_id in sorted(wanted)}


def _reply(message: Message | None, client_id: int):
    """A reply as run_rounds takes it: (parameters, count, metrics) or the client's error."""
    if message is None:
        return ClientDropout(f"client {client_id} sent no reply in time")
    if message.has_error():
        reason = message.error.reason
        found = re.findall(r"\b(\w+(?:Error|Dropout))\b", reason)
        kind = next((KNOWN_ERRORS[name] for name in found if name in KNOWN_ERRORS), None)
        if kind is not None:
            return kind(f"client {client_id}: {reason[:200]}")
        if message.error.code == ErrorCode.CLIENT_APP_RAISED_EXCEPTION:
            return RuntimeError(f"client {client_id} raised: {reason[:2000]}")
        return ConnectionError(f"client {client_id} unreachable: {reason[:200]}")
    metrics = dict(message.content["metrics"])
    count = int(metrics.pop("num-examples"))
    return message.content["arrays"].to_numpy_ndarrays(), count, metrics
