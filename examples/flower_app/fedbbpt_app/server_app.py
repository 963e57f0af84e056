"""The ServerApp: FedAvg over the clients, the global prompt scored on the test set each round."""

import json
from pathlib import Path

from fedbbpt_lite.flower import experiment_server_app


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


app = experiment_server_app(on_history=report)
