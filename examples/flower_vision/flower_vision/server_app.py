"""The ServerApp: FedAvg over the clients, the global prompt scored on the test set each round."""

import json
from pathlib import Path

from fedbbpt_lite.flower import ServerSetup, server_app

from .task import federation


def setup(run_config: dict) -> ServerSetup:
    fed = federation(run_config)
    return ServerSetup(
        strategy=fed.strategy(),
        num_rounds=fed.experiment.rounds,
        num_clients=fed.experiment.clients,
        initial_parameters=[fed.generator.init_params()],
        seed=fed.experiment.seed,
    )


def report(history, context) -> None:
    accuracy = [round(a, 4) for a in history.to_dataframe("evaluations")["accuracy"]]
    result = {
        "accuracy_per_round": accuracy,
        "zero_shot_accuracy": accuracy[0],
        "accuracy": accuracy[-1],
        "failures": len(history.failures),
        "rounds": history.last_round,
    }
    print(f"fed-bbpt on flower: accuracy by round {accuracy}", flush=True)
    if context.run_config.get("result-file"):
        Path(context.run_config["result-file"]).write_text(json.dumps(result))


app = server_app(setup, on_history=report)
