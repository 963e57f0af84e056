"""Federated Bayesian optimisation by pooled evaluations: the server proposes the z to try, every
client scores all of them on its own examples, and the server's GP (InstructZero's kernel, its
score vectors one accuracy per client, in client order) sees every evaluation.

Parameters travel as [best z so far, proposals (k, d)] to the clients, and each client sends back
only its accuracy under each proposal, (k,): no per-example result leaves a client.
"""

from __future__ import annotations

import numpy as np

from ..bayesian import best_index, propose, sobol_points
from ..validation import check_count
from .strategy import FedAvg, aggregate_metrics

HISTORY = ("points", "values", "scores", "proposals")


class PooledSearch(FedAvg):
    """Every client each round (the per-example score vectors must line up across rounds);
    `proposals` z a round: the server's Sobol design until initial_points, then EI's best."""

    def __init__(
        self,
        *,
        num_clients: int,
        dimension: int,
        proposals: int,
        initial_points: int,
        seed: int = 0,
        evaluate_fn=None,
    ):
        super().__init__(evaluate_fn=evaluate_fn)
        self.min_fit_clients = check_count("num_clients", num_clients)
        self.count = check_count("proposals", proposals)
        self.design = sobol_points(check_count("initial_points", initial_points), dimension, seed)
        self.seed = seed
        self.points = np.zeros((0, dimension))
        self.values, self.scores = np.zeros(0), None
        self.proposals = self._next(0)

    def _next(self, server_round: int) -> np.ndarray:
        done = len(self.points)
        if done < len(self.design):
            return self.design[done : done + self.count]
        found = propose(self.points, self.values, self.scores, self.count, self.seed + server_round)
        return np.stack(found)

    def parameters(self) -> list[np.ndarray]:
        """What the clients receive: the best z so far (the design's first before any), and the
        round's proposals."""
        best = self.points[best_index(self.values)] if len(self.values) else self.design[0]
        return [np.array(best), np.array(self.proposals)]

    def aggregate_fit(self, server_round, parameters, results):
        if len(results) < self.min_fit_clients:  # a missing client would misalign the scores
            return parameters, {}
        ordered = sorted(results, key=lambda r: r.client_id)
        found = np.stack([r.parameters[0] for r in ordered], 1)  # (k, clients)
        weights = [r.num_examples for r in ordered]
        self.points = np.concatenate([self.points, self.proposals[: len(found)]])
        self.values = np.concatenate([self.values, np.average(found, axis=1, weights=weights)])
        self.scores = found if self.scores is None else np.concatenate([self.scores, found])
        self.proposals = self._next(server_round)
        return self.parameters(), aggregate_metrics(results)

    def reply_like(self, parameters):
        return [np.zeros(len(parameters[1]))]

    def state(self) -> dict[str, np.ndarray]:
        if self.scores is None:
            return {"proposals": self.proposals}
        return {name: getattr(self, name) for name in HISTORY}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        for name, value in state.items():
            setattr(self, name, np.asarray(value))
