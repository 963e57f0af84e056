"""The bad-input catalogue: invalid inputs across the public API and the command line, each
answered by an error that names the argument and what was expected, with nothing already
written lost or overwritten."""

import json
import re

import numpy as np
import pytest
import torch

from fedbbpt_lite.blackbox import Budget, MiniCLIPBlackBox, ToyBlackBox, ToyFunction
from fedbbpt_lite.blackbox.meter import BudgetExceededError
from fedbbpt_lite.blackbox.retry import RetryPolicy
from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets.glue import load_glue
from fedbbpt_lite.datasets.vision_sets import load_vision
from fedbbpt_lite.federated import FedAvg, partition, run_simulation
from fedbbpt_lite.federated.faults import with_dropouts
from fedbbpt_lite.federated.privacy import DPFedAvg
from fedbbpt_lite.prompts import GridPrompt
from fedbbpt_lite.results_store import ResultStore
from fedbbpt_lite.sweep import SweepSpec, load_spec, run_sweep
from fedbbpt_lite.tasks.text_experiment import TextExperiment
from fedbbpt_lite.tasks.toy_federation import QuadraticFederation
from fedbbpt_lite.tasks.vision import accuracy
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment
from fedbbpt_lite.zo import SPSAGCConfig

LABELS = np.repeat(np.arange(4), 5)
QUAD = ToyFunction("quadratic", 3)


def _clip():
    return MiniCLIPBlackBox()


PROMPTS = [f"a photo of the digit {d}" for d in range(10)]

# (what is wrong, the call, the error type, what the message must say)
CATALOGUE = [
    (
        "images of the wrong shape",
        lambda: _clip().query(torch.rand(2, 3, 32, 32), PROMPTS),
        ValueError,
        r"images must have shape \(\.\.\., C, 28, 28\)",
    ),
    (
        "integer images",
        lambda: _clip().query(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), PROMPTS),
        TypeError,
        r"images must be floats in \[0, 1\]",
    ),
    (
        "NaN images",
        lambda: _clip().query(torch.full((1, 1, 28, 28), float("nan")), PROMPTS),
        ValueError,
        "images must be finite",
    ),
    (
        "pixels outside [0, 1]",
        lambda: _clip().query(torch.full((1, 1, 28, 28), 255.0), PROMPTS),
        ValueError,
        r"images must be in \[0, 1\]",
    ),
    (
        "a prompt list that is a string",
        lambda: _clip().query(torch.rand(1, 1, 28, 28), "a photo"),
        TypeError,
        "prompts must be a non-empty list of strings",
    ),
    (
        "labels out of range",
        lambda: accuracy(_clip(), torch.rand(2, 1, 28, 28), [0, 10], PROMPTS),
        ValueError,
        r"labels must lie in 0\.\.9",
    ),
    (
        "labels of the wrong length",
        lambda: accuracy(_clip(), torch.rand(2, 1, 28, 28), [0, 1, 2], PROMPTS),
        ValueError,
        r"labels must be 2 integers",
    ),
    (
        "parameters of the wrong shape",
        lambda: GridPrompt().apply(np.zeros(5), torch.rand(1, 1, 28, 28)),
        ValueError,
        r"W must have shape \(m, 49\)",
    ),
    (
        "Dirichlet alpha of zero",
        lambda: partition.dirichlet(LABELS, 4, 0.0, np.random.default_rng(0)),
        ValueError,
        "alpha",
    ),
    (
        "zero clients",
        lambda: VisionExperiment(clients=0),
        ValueError,
        "clients must be a positive integer",
    ),
    (
        "a negative step size",
        lambda: VisionExperiment(step_size=-0.1),
        ValueError,
        "step_size",
    ),
    (
        "a negative SPSA-GC learning rate",
        lambda: SPSAGCConfig(a=-0.01),
        ValueError,
        "a must be a finite positive number",
    ),
    (
        "a fraction of clients above one",
        lambda: FedAvg(fraction_fit=1.5),
        ValueError,
        r"fraction_fit must be in \(0, 1\]",
    ),
    (
        "more clients than examples (empty partitions)",
        lambda: partition.iid(LABELS, 50, np.random.default_rng(0)),
        ValueError,
        "num_clients",
    ),
    (
        "an unknown data set",
        lambda: load_vision("cifar10"),
        ValueError,
        "name must be one of",
    ),
    (
        "an unknown GLUE task",
        lambda: load_glue("glue/stsb"),
        ValueError,
        "name must be one of",
    ),
    (
        "a text API given to a vision run",
        lambda: VisionExperiment(blackbox="minilm"),
        ValueError,
        "blackbox 'minilm' is a text API",
    ),
    (
        "a blank model name",
        lambda: TextExperiment(blackbox=" "),
        ValueError,
        "blackbox must be",
    ),
    (
        "a budget smaller than one query",
        lambda: ToyBlackBox(QUAD, budget=Budget(max_examples=2)).query(np.ones((3, 3))),
        BudgetExceededError,
        r"examples to 3 \(limit 2\)",
    ),
    (
        "a per-round budget that is not whole BDPL steps",
        lambda: TextExperiment(local_calls=5, samples=10),
        ValueError,
        r"local_calls \(5\) must be a multiple of the 10 calls one bdpl step takes",
    ),
    (
        "retries of zero attempts",
        lambda: RetryPolicy(attempts=0),
        ValueError,
        "attempts must be a positive integer",
    ),
    (
        "a zero clipping norm",
        lambda: DPFedAvg(clip_norm=0.0, noise_multiplier=1.0),
        ValueError,
        "clip_norm",
    ),
    (
        "a dropout rate of one or more",
        lambda: with_dropouts(QuadraticFederation().client_fn(1), rate=1.0),
        ValueError,
        "rate must be a finite non-negative number below 1",
    ),
    (
        "a simulation of zero clients",
        lambda: run_simulation(QuadraticFederation().client_fn(1), 0, FedAvg(), 1),
        ValueError,
        "num_clients must be a positive integer",
    ),
    (
        "a sweep spec without data sets",
        lambda: SweepSpec(datasets=()),
        ValueError,
        "datasets must be a non-empty list",
    ),
    (
        "a sweep spec naming an unknown method",
        lambda: SweepSpec(datasets=("mnist",), methods=("magic",)),
        ValueError,
        "methods must be one of",
    ),
    (
        "an unknown preset or missing spec file",
        lambda: load_spec("no_such_spec.yaml"),
        ValueError,
        r"spec must be one of the kit's \(demo, .*quick.*\) or a spec file",
    ),
    (
        "a noise multiplier without a clip norm",
        lambda: VisionExperiment(noise_multiplier=1.0),
        ValueError,
        "noise_multiplier needs a clip_norm",
    ),
]


@pytest.mark.parametrize("what, call, error, message", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_gets_an_error_naming_the_argument(what, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_catalogue_covers_at_least_25_inputs_plus_the_cli_and_stored_files():
    assert len(CATALOGUE) + len(CLI_CATALOGUE) + 3 >= 25  # 3: store, checkpoint, sweep out


CLI_CATALOGUE = [
    (["run", "--clients", "0"], "clients must be a positive integer"),
    (["run", "--alpha", "-1", "--partition", "dirichlet"], "alpha"),
    (["run", "--step-size", "-1"], "step_size"),
    (["run", "--method", "centralized", "--checkpoint", "x.safetensors"], "--checkpoint applies"),
    (["run", "--task", "text", "--dataset", "mnist"], "is a vision data set"),
    (["sweep", "--spec", "missing.yaml", "--out", "o"], "spec must be one of the kit's"),
    (["run", "--dataset", "cifar10"], "invalid choice: 'cifar10'"),
]


@pytest.mark.parametrize(
    "argv, message", CLI_CATALOGUE, ids=[" ".join(c[0]) for c in CLI_CATALOGUE]
)
def test_bad_command_lines_exit_2_naming_the_flag(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "x.safetensors").exists()


def test_a_corrupted_results_store_is_refused_and_left_as_it_was(tmp_path):
    store = tmp_path / "runs.jsonl"
    store.write_text(json.dumps({"run_id": "a"}) + "\nnot json\n" + json.dumps({"run_id": "b"}))
    before = store.read_bytes()
    with pytest.raises(ValueError, match=r"line 2 is not a JSON object.*left as it is"):
        ResultStore(store, ("run_id",))
    spec = SweepSpec(datasets=("mnist",), methods=("zero_shot",))
    with pytest.raises(ValueError, match="line 2 is not a JSON object"):
        run_sweep(spec, tmp_path, progress=False)
    assert store.read_bytes() == before


def test_a_corrupted_checkpoint_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "run.safetensors"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a readable fedbbpt-lite checkpoint"):
        run_simulation(
            QuadraticFederation(num_clients=2).client_fn(1), 2, FedAvg(), 1, checkpoint=path
        )
    assert path.read_bytes() == b"\x00" * 64


def test_a_sweep_out_that_is_a_file_is_refused_and_left_as_it_was(tmp_path):
    taken = tmp_path / "results"
    taken.write_text("my notes")
    with pytest.raises(ValueError, match="out must be a folder"):
        run_sweep(SweepSpec(datasets=("mnist",), methods=("zero_shot",)), taken, progress=False)
    assert taken.read_text() == "my notes"
