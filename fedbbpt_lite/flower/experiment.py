"""Any of the kit's experiments as Flower apps: the run config names the task ("vision", "text"
or "instruction") and any of its experiment's settings (dashes for underscores, e.g.
local-steps), and every process builds the same task family from it (tasks.engine), once."""

from __future__ import annotations

import functools
import json
from dataclasses import fields

from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

from ..federated.client import ClientContext
from ..tasks import EXPERIMENTS
from ..tasks.engine import Experiment, Family
from .apps import ServerSetup, client_app, server_app

APP_KEYS = ("task", "result-file")  # run-config keys of the apps, not of an experiment


def experiment_of(run_config: dict) -> Experiment:
    """The Fed-BBPT experiment a run config describes. Keys of the other task's experiment are
    left out (one config may hold both); a key no experiment has is an error."""
    task = run_config.get("task", "vision")
    if task not in EXPERIMENTS:
        raise ValueError(f"run config task must be one of {', '.join(EXPERIMENTS)}, got {task!r}")
    known = {f.name for cls in EXPERIMENTS.values() for f in fields(cls)}
    mine = {f.name for f in fields(EXPERIMENTS[task])}
    settings = {}
    for key, value in run_config.items():
        name = key.replace("-", "_")
        if key not in APP_KEYS and name not in known:
            raise ValueError(f"run config key {key!r} is no experiment setting")
        if name in mine:
            settings[name] = value
    return EXPERIMENTS[task](**{"method": "fedbbpt", **settings})


def family_of(run_config: dict) -> Family:
    """The task family of a run config: its data split, clients and server."""
    return _family(json.dumps(run_config, sort_keys=True))


@functools.cache
def _family(config_json: str) -> Family:
    return experiment_of(json.loads(config_json)).family()


def experiment_client_app() -> ClientApp:
    """Each SuperNode is the Fed-BBPT client of its partition-id."""
    return client_app(lambda run_config: family_of(run_config).client_fn)


def setup(run_config: dict) -> ServerSetup:
    """The server of a run config: its strategy, rounds, clients and initial parameters."""
    family = family_of(run_config)
    experiment = family.experiment
    strategy, initial = family.server()
    if initial is None:
        initial = family.client_fn(ClientContext(0)).get_parameters({})
    return ServerSetup(strategy, experiment.rounds, experiment.clients, initial, experiment.seed)


def experiment_server_app(on_history=None) -> ServerApp:
    """The Fed-BBPT server; on_history(history, context) gets the History at the end."""
    return server_app(setup, on_history=on_history)
