"""Tests for the Fed-BBPT vision client, end to end through the federated engine."""

import numpy as np
import pytest
import torch

import fedbbpt_lite as fbl
from fedbbpt_lite.federated import ClientContext, FedAvg, partition, run_simulation
from fedbbpt_lite.tasks.vision_client import PromptClient


@pytest.fixture(scope="module")
def task():
    data = fbl.datasets.load_vision("mnist_inverted")
    pool = torch.randperm(1000, generator=torch.Generator().manual_seed(0))[:160]
    return data, data.x_train[pool], data.y_train[pool].numpy()


def _client_fn(clip, task, parts, generator, local_steps=5):
    data, x, y = task
    optimiser = fbl.zo.SPSAGCConfig(a=0.1)

    def client_fn(context):
        idx = parts[context.client_id]
        return PromptClient(
            context,
            clip,
            generator,
            x[torch.from_numpy(idx)],
            y[idx],
            data.prompts,
            optimiser,
            local_steps=local_steps,
            batch_size=32,
        )

    return client_fn


def test_a_short_fed_bbpt_run_beats_zero_shot(clip, task):
    data, _, y = task
    parts = partition.iid(y, 5, np.random.default_rng(0))
    generator = fbl.prompts.GridPrompt()

    def evaluate(server_round, parameters):
        accuracy = fbl.tasks.vision.accuracy(
            clip, data.x_test, data.y_test.numpy(), data.prompts, generator, parameters[0]
        )
        return {"accuracy": accuracy}

    history = run_simulation(
        _client_fn(clip, task, parts, generator), 5, FedAvg(evaluate_fn=evaluate), 6, seed=0
    )
    table = history.to_dataframe()
    assert table["accuracy"].iloc[-1] > table["accuracy"].iloc[0] + 0.1
    assert (table["api_calls"].dropna() == 5 * 5).all(), "5 clients x 5 local steps, one call each"


def _small_client(clip, task, context, local_steps):
    """A grid-prompt client holding the first 20 pool images, batches of 8."""
    data, x, y = task
    optimiser = fbl.zo.SPSAGCConfig(a=0.1)
    return PromptClient(
        context,
        clip,
        fbl.prompts.GridPrompt(),
        x[:20],
        y[:20],
        data.prompts,
        optimiser,
        local_steps=local_steps,
        batch_size=8,
    )


def test_fit_spends_one_call_per_step_and_keeps_its_optimiser_state(clip, task):
    context = ClientContext(0)
    client = _small_client(clip, task, context, local_steps=3)
    w0 = client.get_parameters({})
    calls = clip.meter.calls
    (w1,), n, metrics = client.fit(w0, {"seed": 1})
    assert n == 20 and clip.meter.calls - calls == 3 == metrics["api_calls"]
    assert metrics["examples_sent"] == 3 * 2 * 5 * 8, "3 steps x 2 x SP_AVG x batch 8"
    assert context.state["spsa_gc"].k == 4 and context.state["spsa_gc"].m is not None
    client.fit([w1], {"seed": 2})
    assert context.state["spsa_gc"].k == 7, "the step counter carries over between rounds"
    assert not np.array_equal(w0[0], w1)


def test_same_seed_same_result(clip, task):
    results = []
    for _ in range(2):
        client = _small_client(clip, task, ClientContext(0), local_steps=2)
        results.append(client.fit(client.get_parameters({}), {"seed": 5})[0][0])
    np.testing.assert_array_equal(results[0], results[1])


def test_bad_arguments(clip, task):
    data, x, y = task
    with pytest.raises(ValueError, match="no images"):
        PromptClient(
            ClientContext(3),
            clip,
            fbl.prompts.GridPrompt(),
            x[:0],
            y[:0],
            data.prompts,
            fbl.zo.SPSAGCConfig(),
        )
    with pytest.raises((TypeError, ValueError), match="local_steps"):
        PromptClient(
            ClientContext(0),
            clip,
            fbl.prompts.GridPrompt(),
            x,
            y,
            data.prompts,
            fbl.zo.SPSAGCConfig(),
            local_steps=0,
        )
