"""Faults cost no finished work: retried API errors and time-outs, clients that fail or drop
out, a spent budget, and a run killed mid-round that resumes from its checkpoint to the same
result as a run never interrupted."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fedbbpt_lite.blackbox import Budget, MiniCLIPBlackBox, ToyBlackBox, ToyFunction
from fedbbpt_lite.blackbox.base import APITimeoutError, TransientAPIError
from fedbbpt_lite.blackbox.meter import BudgetExceededError
from fedbbpt_lite.blackbox.retry import RetryPolicy
from fedbbpt_lite.federated import FedAvg, run_simulation
from fedbbpt_lite.federated.checkpoint import load_checkpoint
from fedbbpt_lite.federated.faults import with_dropouts
from fedbbpt_lite.federated.state_codec import decode_state, encode_state
from fedbbpt_lite.policy_gradient import BDPLState
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.toy_federation import QuadraticFederation
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment, VisionFamily
from fedbbpt_lite.zo import SPSAGCState

QUAD = ToyFunction("quadratic", 4)
ROWS = np.ones((3, 4))

# ---- retries -----------------------------------------------------------------------------------


def test_retries_turn_transient_faults_and_timeouts_into_answers():
    flaky = ToyBlackBox(
        QUAD, fault_rate=0.3, timeout_rate=0.2, timeout_s=0.001, retry=RetryPolicy(10, 0.0)
    )
    for _ in range(30):
        np.testing.assert_allclose(flaky.query(ROWS), QUAD.value(ROWS))
    meter = flaky.meter
    assert meter.calls == 30 and meter.examples == 90  # failures are never billed
    assert meter.retries == meter.failed_calls > 0 and 0 < meter.timeouts < meter.failed_calls


def test_retries_give_up_after_their_attempts_and_never_retry_a_spent_budget():
    hopeless = ToyBlackBox(QUAD, fault_rate=0.99, retry=RetryPolicy(3, 0.0))
    with pytest.raises(TransientAPIError):
        hopeless.query(ROWS)
    assert hopeless.meter.failed_calls == 3 and hopeless.meter.retries == 2
    stalled = ToyBlackBox(QUAD, timeout_rate=0.99, timeout_s=0.0)
    with pytest.raises(APITimeoutError, match="timeout_s=0"):
        stalled.query(ROWS)
    spent = ToyBlackBox(QUAD, budget=Budget(max_calls=1), retry=RetryPolicy(5, 0.0))
    spent.query(ROWS)
    with pytest.raises(BudgetExceededError):
        spent.query(ROWS)
    assert spent.meter.retries == 0


def test_fault_and_timeout_rates_must_leave_room_for_an_answer():
    with pytest.raises(ValueError, match="fault_rate \\+ timeout_rate must be below 1"):
        ToyBlackBox(QUAD, fault_rate=0.6, timeout_rate=0.5)


def test_backoff_grows_by_its_factor_up_to_its_cap():
    policy = RetryPolicy(attempts=6, backoff_s=0.1, factor=3.0, max_backoff_s=1.0)
    assert [policy.wait(k) for k in range(1, 5)] == pytest.approx([0.1, 0.3, 0.9, 1.0])


# ---- clients that fail or drop out ---------------------------------------------------------------


def test_dropped_clients_are_recorded_and_the_round_completes_without_them():
    federation = QuadraticFederation(num_clients=8)
    client_fn = with_dropouts(federation.client_fn(local_steps=2), rate=0.3, seed=1)
    history = run_simulation(client_fn, 8, FedAvg(), num_rounds=4)
    failures = history.to_dataframe("failures")
    fits = history.to_dataframe("fits")
    assert len(failures) > 0 and set(failures["error"]) == {"ClientDropout"}
    assert len(fits) + len(failures) == 4 * 8  # every sampled client either answered or failed
    assert history.skipped_rounds == [] and federation.loss(history.parameters[0]) < (
        federation.loss(np.zeros(5))
    )
    again = run_simulation(client_fn, 8, FedAvg(), num_rounds=4)
    assert again.failures == history.failures  # the same clients drop in the same rounds


def test_a_round_with_fewer_replies_than_min_fit_clients_keeps_the_global_parameters():
    federation = QuadraticFederation(num_clients=4)
    client_fn = with_dropouts(federation.client_fn(local_steps=2), rate=0.6, seed=0)
    history = run_simulation(client_fn, 4, FedAvg(min_fit_clients=4), num_rounds=3)
    assert history.skipped_rounds == [1, 2, 3]
    np.testing.assert_array_equal(history.parameters[0], np.zeros(5))


def test_a_bug_in_a_client_is_raised_not_recorded():
    def client_fn(context):
        raise KeyError("a programming error")

    with pytest.raises(KeyError):
        run_simulation(client_fn, 2, FedAvg(), num_rounds=1, initial_parameters=[np.zeros(2)])


# ---- a spent budget ----------------------------------------------------------------------------

SMALL = {"clients": 3, "rounds": 4, "local_steps": 2, "shots": 4, "batch_size": 8, "step_size": 0.1}


def test_a_spent_budget_ends_training_after_the_last_whole_round_and_saves_it(tmp_path):
    experiment = VisionExperiment(**SMALL)
    api = MiniCLIPBlackBox(budget=Budget(max_calls=15))  # 6 calls a round: round 3 runs out
    federation = VisionFamily(experiment, api=api)
    path = tmp_path / "run.safetensors"
    strategy, initial = federation.server()
    history = run_simulation(
        federation.client_fn, 3, strategy, 4, initial_parameters=initial, checkpoint=path
    )
    assert history.stopped["round"] == 3 and "budget" in history.stopped["reason"].lower()
    assert history.last_round == 2 and {row["round"] for row in history.fits} == {1, 2}
    saved = load_checkpoint(path)
    assert saved["round"] == 2 and saved["history"].fits == history.fits
    np.testing.assert_array_equal(saved["parameters"][0], history.parameters[0])
    # training stops at round 3 still, validation coming after it; round 3's first clients spent
    # the calls left, so nothing is validated and what was learned returns
    result = run_experiment(experiment, api=MiniCLIPBlackBox(budget=Budget(max_calls=15)))
    assert len(result["accuracy_per_round"]) == 3  # rounds 0, 1 and 2
    (scores,) = result["validation_accuracy"]
    assert np.isnan(scores["learned"]) and np.isnan(scores["zero_shot"])
    assert result["selected"] == ["learned"] and result["validation_calls"] == 0
    assert result["accuracy"] == result["learned_accuracy"] == result["accuracy_per_round"][-1]


# ---- checkpoints -------------------------------------------------------------------------------

KILLED_RUN = """
import json, os, signal, sys
from fedbbpt_lite.blackbox import MiniCLIPBlackBox
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment

class DiesMidRound(MiniCLIPBlackBox):
    def query(self, *args):
        if self.meter.calls == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().query(*args)

api = DiesMidRound() if int(sys.argv[2]) >= 0 else MiniCLIPBlackBox()
result = run_experiment(VisionExperiment(**json.loads(sys.argv[3])), api=api,
                    checkpoint=sys.argv[1])
print(json.dumps(result))
"""


def test_a_run_killed_mid_round_resumes_to_the_same_result(tmp_path):
    settings = {**SMALL, "generator": "coordinator", "step_size": 0.003, "partition": "dirichlet"}
    path = tmp_path / "run.safetensors"
    env = {**os.environ, "PYTHONHASHSEED": "0"}

    def child(die_at: int):
        command = [sys.executable, "-c", KILLED_RUN, str(path), str(die_at), json.dumps(settings)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    killed = child(die_at=15)  # 6 calls a round: dies in round 3
    assert killed.returncode == -9
    assert load_checkpoint(path)["round"] == 2
    resumed = child(die_at=-1)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    whole = run_experiment(VisionExperiment(**settings))
    assert result["accuracy_per_round"] == whole["accuracy_per_round"]
    assert result["accuracy"] == whole["accuracy"]
    assert result["client_accuracy"] == whole["client_accuracy"]
    # rounds 3 and 4 only (1 and 2 came from the checkpoint), then validating the learned
    # prompt and zero-shot on each client
    assert result["api_calls"] == 12 + 3 + 3


def test_a_checkpoint_of_another_experiment_is_refused(tmp_path):
    path = tmp_path / "run.safetensors"
    run_experiment(VisionExperiment(**SMALL), checkpoint=path)
    with pytest.raises(ValueError, match="belongs to a run with"):
        run_experiment(VisionExperiment(**{**SMALL, "step_size": 0.5}), checkpoint=path)


def test_a_checkpoint_of_another_run_or_a_broken_one_is_refused(tmp_path):
    federation = QuadraticFederation(num_clients=3)
    path = tmp_path / "quad.safetensors"
    run_simulation(federation.client_fn(2), 3, FedAvg(), 2, checkpoint=path)
    with pytest.raises(ValueError, match="belongs to a run with"):
        run_simulation(federation.client_fn(2), 4, FedAvg(), 2, checkpoint=path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="not a readable fedbbpt-lite checkpoint"):
        run_simulation(federation.client_fn(2), 3, FedAvg(), 2, checkpoint=path)


def test_client_states_round_trip_through_arrays_and_json():
    state = {
        "spsa_gc": SPSAGCState(k=7, m=np.arange(3.0)),
        "bdpl": BDPLState(step=2, m=np.ones((2, 3)), v=None),
        "embeddings": np.eye(2, dtype=np.float32),
        "note": "kept",
    }
    arrays, described = encode_state(state)
    json.dumps(described)
    back = decode_state(arrays, json.loads(json.dumps(described)))
    assert back["spsa_gc"].k == 7 and np.array_equal(back["spsa_gc"].m, np.arange(3.0))
    assert back["bdpl"].v is None and back["embeddings"].dtype == np.float32
    with pytest.raises(ValueError, match=r"\['model'\]: builtin_function_or_method cannot be"):
        encode_state({"model": print})
