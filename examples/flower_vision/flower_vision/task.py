"""The experiment a run_config describes, built once per process."""

import functools
import json

from fedbbpt_lite.tasks.vision_experiment import VisionExperiment, VisionFederation

FIELDS = ("dataset", "generator", "clients", "rounds", "local-steps", "batch-size", "shots")
FIELDS += ("partition", "alpha", "seed")


def experiment(run_config: dict) -> VisionExperiment:
    """The VisionExperiment (method fedbbpt) of the app's run config."""
    settings = {key.replace("-", "_"): run_config[key] for key in FIELDS if key in run_config}
    return VisionExperiment(method="fedbbpt", **settings)


def federation(run_config: dict) -> VisionFederation:
    """The federation's data split, generator and clients: the same in every process."""
    return _federation(json.dumps(run_config, sort_keys=True))


@functools.cache
def _federation(config_json: str) -> VisionFederation:
    return VisionFederation(experiment(json.loads(config_json)))
