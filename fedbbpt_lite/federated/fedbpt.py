"""FedBPT's server (Sun et al. 2023; NVIDIA/NVFlare research/fed-bpt): a global CMA-ES.

Each sampled client runs its own CMA-ES from the server's mean, sigma and covariance C, and sends
back its final mean, that mean's local loss and the sum of its squared sigmas. The server's ES
takes the means as its population (all of them parents, ranked by loss).
"""

from __future__ import annotations

import pickle

import numpy as np

from ..evolution import fedbpt_server_step, start_strategy
from ..validation import check_count, check_real
from .strategy import FedAvg, aggregate_metrics

# What a FedBPT client reports beside its mean (metrics are scalars only).
MEAN_LOSS, SIGMA_SQUARE_SUM = "mean_loss", "sigma_square_sum"


def local_mu(popsize: int) -> int:
    """The parents of a client's CMA-ES (cma's default recombination for this popsize)."""
    import cma

    return int(cma.recombination_weights.RecombinationWeights(popsize).mu)


class FedBPT(FedAvg):
    """FedAvg's client sampling around FedBPT's global CMA-ES; a round needs every sampled
    client's reply (the global population is one mean per client), else it is skipped."""

    def __init__(
        self,
        *,
        num_clients: int,
        dimension: int,
        sigma: float,
        local_popsize: int,
        seed: int,
        fraction_fit: float = 1.0,
        evaluate_fn=None,
    ):
        super().__init__(fraction_fit=fraction_fit, evaluate_fn=evaluate_fn)
        clients = self.num_fit_clients(check_count("num_clients", num_clients))
        self.min_fit_clients = clients
        self.local_mu = local_mu(check_count("local_popsize", local_popsize, minimum=2))
        self.local_sigma = check_real("sigma", sigma, positive=True)
        self.es = start_strategy(
            np.zeros(check_count("dimension", dimension, minimum=2)),
            sigma,
            popsize=max(clients, 2),  # cma needs two; one client is a population of one
            seed=check_count("seed", seed),
            mu=clients,
        )

    def configure_fit(self, server_round, client_ids, rng):
        return [
            (cid, {**config, "score_mean": True})
            for cid, config in super().configure_fit(server_round, client_ids, rng)
        ]

    def parameters(self) -> list[np.ndarray]:
        """What the clients start from: [mean, [sigma], C]."""
        return [
            np.array(self.es.mean, dtype=np.float64),  # copies: cma updates its own in place
            np.array([self.local_sigma]),
            np.array(self.es.sm.C, dtype=np.float64),
        ]

    def aggregate_fit(self, server_round, parameters, results):
        means = [r.parameters[0] for r in results]
        losses = [r.metrics[MEAN_LOSS] for r in results]
        sums = [r.metrics[SIGMA_SQUARE_SUM] for r in results]
        if self.min_fit_clients == 1:  # a lone client: the global ES asks for two
            means, losses, sums = means * 2, losses * 2, sums * 2
        self.local_sigma = fedbpt_server_step(
            self.es, means, losses, sums, self.local_mu, self.local_sigma
        )
        return self.parameters(), aggregate_metrics(results)

    def state(self) -> dict[str, np.ndarray]:
        # cma saves a running strategy by pickling it; only load checkpoints you wrote
        blob = pickle.dumps((self.es, self.local_sigma))
        return {"fedbpt": np.frombuffer(blob, dtype=np.uint8)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.es, self.local_sigma = pickle.loads(state["fedbpt"].tobytes())
