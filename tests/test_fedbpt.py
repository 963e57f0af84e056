"""CMA-ES as BBT and FedBPT run it: one strategy across generations, and FedBPT's server step
replayed against NVIDIA/NVFlare research/fed-bpt (src/global_es.py, src/fedbpt_train.py)."""

import cma
import numpy as np
import pytest

from fedbbpt_lite.blackbox import EmbeddingBlackBox
from fedbbpt_lite.evolution import (
    CMAESConfig,
    cma_search,
    fedbpt_server_step,
    initial_covariance,
    run_generations,
    start_strategy,
)
from fedbbpt_lite.federated import ClientContext, run_simulation
from fedbbpt_lite.federated.fedbpt import MEAN_LOSS, SIGMA_SQUARE_SUM, FedBPT, local_mu
from fedbbpt_lite.federated.strategy import FitResult
from fedbbpt_lite.prompts.soft import SoftPrompt
from fedbbpt_lite.tasks.text_clients import SoftPromptClient

D, POPSIZE = 8, 6


def noisy_quadratic(seed):
    noise = np.random.default_rng(seed)

    def loss(points):
        points = np.asarray(points)
        return (points**2).sum(axis=1) + 0.1 * noise.standard_normal(len(points))

    return loss


def test_a_local_fit_follows_one_continuous_cma_es():
    start = np.full(D, 2.0)
    mean, sigma, info = cma_search(noisy_quadratic(5), start, 0.7, 12, CMAESConfig(POPSIZE), 9)

    reference = cma.CMAEvolutionStrategy(start, 0.7, {"popsize": POPSIZE, "seed": 9, "verbose": -9})
    loss = noisy_quadratic(5)
    for _ in range(12):
        candidates = reference.ask()
        reference.tell(candidates, loss(candidates).tolist())
    np.testing.assert_array_equal(mean, reference.mean)
    assert sigma == reference.sigma
    assert len(info["sigmas"]) == 12 and info["sigmas"][0] == 0.7
    assert (mean**2).sum() < (start**2).sum()


def test_on_pure_noise_sigma_does_not_collapse_and_restarting_each_generation_would():
    dimension, popsize, generations = 50, 10, 50
    noise = np.random.default_rng(0)

    def loss(points):
        return noise.standard_normal(len(points))

    _, sigma, _ = cma_search(loss, np.zeros(dimension), 1.0, generations, CMAESConfig(popsize), 1)
    restarted_mean, restarted_sigma = np.zeros(dimension), 1.0
    for generation in range(generations):  # a new strategy per generation: fresh paths each time
        restarted_mean, restarted_sigma, _ = cma_search(
            loss, restarted_mean, restarted_sigma, 1, CMAESConfig(popsize), generation + 1
        )
    assert sigma > 0.5
    assert restarted_sigma < 0.2


def test_a_client_strategy_is_the_servers_light_copy():
    server = cma.CMAEvolutionStrategy(
        np.zeros(D), 1.0, {"popsize": 3, "CMA_mu": 3, "seed": 4, "verbose": -9}
    )
    rng = np.random.default_rng(0)
    for _ in range(3):  # give the server a mean and C that are not the identity
        server.ask()
        server.tell(list(rng.normal(size=(3, D))), [1.0, 2.0, 3.0])
    # cma draws from numpy's global generator, seeded when a strategy is made: ask at once
    reference = server._copy_light(inopts={"seed": 11, "popsize": POPSIZE, "CMA_mu": None})
    expected = reference.ask()
    ours = start_strategy(server.mean, server.sigma, POPSIZE, 11, covariance=server.sm.C)
    np.testing.assert_allclose(ours.ask(), expected, rtol=0, atol=1e-12)


def replay_global_es(global_es, solutions, fitnesses, local_sigmas, local_sigma_current):
    """global_es.py's round, line for line (it mutates global_es)."""
    m = global_es.popsize
    client_sigma_list = [np.sum(np.array(s) ** 2) for s in local_sigmas]
    mu = cma.recombination_weights.RecombinationWeights(POPSIZE).mu
    global_sigma = np.sqrt(np.sum(np.array(client_sigma_list)) / m / mu)
    global_es.sigma = global_sigma
    global_sigma_old = global_es.sigma
    global_es.ask()
    global_es.tell(solutions, fitnesses)
    global_sigma_new = global_es.sigma
    global_es.sigma = global_sigma_new / global_sigma_old * local_sigma_current
    local_sigma_current = global_es.sigma
    if global_es.sigma < 0.5:
        global_es.sigma = 0.5
    if global_es.sigma > local_sigma_current:
        global_es.sigma = local_sigma_current
    return global_es.sigma


def test_the_server_step_is_fedbpts_global_es_round():
    rng = np.random.default_rng(3)
    m = 4
    solutions = list(rng.normal(size=(m, D)))
    fitnesses = [0.3, 0.1, 0.4, 0.2]
    local_sigmas = [list(rng.uniform(0.2, 1.0, size=5)) for _ in range(m)]
    options = {"popsize": m, "CMA_mu": m, "seed": 7, "verbose": -9}
    reference = cma.CMAEvolutionStrategy(np.zeros(D), 1.0, options)
    expected_sigma = replay_global_es(reference, solutions, fitnesses, local_sigmas, 0.8)

    ours = start_strategy(np.zeros(D), 1.0, popsize=m, seed=7, mu=m)
    sums = [float(np.sum(np.square(s))) for s in local_sigmas]
    sigma = fedbpt_server_step(ours, solutions, fitnesses, sums, local_mu(POPSIZE), 0.8)
    assert sigma == pytest.approx(expected_sigma, rel=1e-12)
    np.testing.assert_allclose(ours.mean, reference.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.sm.C, reference.sm.C, rtol=0, atol=1e-12)
    assert not np.allclose(ours.mean, 0) and not np.allclose(ours.sm.C, initial_covariance(D))


def test_the_fedbpt_strategy_aggregates_as_the_server_step_and_checks_its_population():
    strategy = FedBPT(num_clients=3, dimension=D, sigma=1.0, local_popsize=POPSIZE, seed=2)
    assert strategy.min_fit_clients == 3
    mean, sigma, covariance = strategy.parameters()
    assert sigma.tolist() == [1.0] and np.array_equal(covariance, initial_covariance(D))
    rng = np.random.default_rng(1)
    results = [
        FitResult(k, [rng.normal(size=D), np.array([0.9]), covariance], 10 + k,
                  {MEAN_LOSS: float(k), SIGMA_SQUARE_SUM: 4.0, "train_loss": 1.0})
        for k in range(3)
    ]  # fmt: skip
    parameters, metrics = strategy.aggregate_fit(1, [mean, sigma, covariance], results)
    assert metrics["train_loss"] == 1.0
    assert parameters[1][0] == strategy.local_sigma != 1.0
    assert not np.allclose(parameters[2], covariance)
    with pytest.raises(ValueError, match="one mean and loss per client"):
        strategy.aggregate_fit(2, parameters, results[:2])
    # one client a round (FedOne's choice): the global ES recombines its mean with itself
    lone = FedBPT(num_clients=3, dimension=D, sigma=1.0, local_popsize=POPSIZE, seed=2,
                  fraction_fit=0.1)  # fmt: skip
    (mean, _, _), _ = lone.aggregate_fit(1, lone.parameters(), results[:1])
    np.testing.assert_allclose(mean, results[0].parameters[0], atol=1e-12)


def test_a_checkpointed_fedbpt_run_resumes_to_the_same_result(tmp_path):
    api = EmbeddingBlackBox()
    texts = [
        "the match ended in a draw",
        "shares fell sharply today",
        "the striker scored twice",
        "the bank raised interest rates",
    ]
    labels = np.array([0, 1, 0, 1])
    soft = SoftPrompt(np.ones((1, 384), dtype=np.float32), intrinsic_dim=D, seed=0)

    def client_fn(context: ClientContext):
        part = slice(2 * context.client_id, 2 * context.client_id + 2)
        return SoftPromptClient(
            context, api, texts[part], labels[part], ["sport", "business"], local_calls=POPSIZE,
            prompt=soft, optimiser=CMAESConfig(popsize=POPSIZE),
        )  # fmt: skip

    def run(rounds, checkpoint=None):
        strategy = FedBPT(num_clients=2, dimension=D, sigma=1.0, local_popsize=POPSIZE, seed=3)
        history = run_simulation(
            client_fn, 2, strategy, rounds, seed=0,
            initial_parameters=strategy.parameters(), checkpoint=checkpoint,
        )  # fmt: skip
        return history

    whole = run(3)
    run(2, tmp_path / "run.safetensors")
    resumed = run(3, tmp_path / "run.safetensors")
    for ours, theirs in zip(resumed.parameters, whole.parameters, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    fits = whole.to_dataframe()
    assert {MEAN_LOSS, SIGMA_SQUARE_SUM} <= set(fits.columns)


def test_a_soft_prompt_client_runs_one_strategy_across_its_generations():
    api = EmbeddingBlackBox()
    texts = ["the match ended in a draw", "shares fell sharply today"]
    soft = SoftPrompt(np.ones((1, 384), dtype=np.float32), intrinsic_dim=D, seed=0)
    tuner = SoftPromptClient(
        ClientContext(0), api, texts, np.array([0, 1]), ["sport", "business"],
        local_calls=3 * POPSIZE,
        prompt=soft, optimiser=CMAESConfig(popsize=POPSIZE, sigma=0.5),
    )  # fmt: skip
    (mean, sigma, covariance), _, metrics = tuner.fit(tuner.get_parameters({}), {"seed": 5})

    seed = int(np.random.default_rng(5).integers(1, 2**31))
    loss = tuner._loss_batch(texts, np.array([0, 1]))  # two texts: every batch is all of them
    expected, expected_sigma, info = cma_search(
        loss, np.zeros(D), 0.5, 3, CMAESConfig(POPSIZE), seed
    )
    np.testing.assert_array_equal(mean, expected)
    assert sigma[0] == expected_sigma
    assert metrics[SIGMA_SQUARE_SUM] == pytest.approx(np.sum(np.square(info["sigmas"])))
    assert MEAN_LOSS not in metrics  # only a FedBPT server asks for it
    assert metrics["api_calls"] == 3 * POPSIZE + 1  # + the class names' embeddings, once
    np.testing.assert_array_equal(covariance, initial_covariance(D))


def test_run_generations_checks_what_the_loss_returns():
    strategy = start_strategy(np.zeros(3), 1.0, 4, 1)
    with pytest.raises(ValueError, match="4 losses"):
        run_generations(strategy, lambda points: [1.0], 1)
    with pytest.raises(ValueError, match="covariance"):
        start_strategy(np.zeros(3), 1.0, 4, 1, covariance=np.eye(2))
