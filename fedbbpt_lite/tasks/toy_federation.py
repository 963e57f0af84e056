"""A federation of toy objectives with known optima, to see FedAvg and client drift exactly.

Client k holds f_k(w) = 0.5 * sum_i a_ki (w_i - c_ki)^2 and steps along deterministic CGE
estimates, so runs differ by the federation, not estimator noise. FedAvg drifts from the optimum
sum_k n_k a_k c_k / sum_k n_k a_k when local steps grow and the clients' curvatures a_k differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import zo
from ..federated.client import Client, ClientContext
from ..validation import check_count, check_real


@dataclass(frozen=True)
class QuadraticFederation:
    """Quadratics with random targets, curvatures and sizes; heterogeneity scales how far apart
    the clients' targets and curvatures are (0 = identical)."""

    num_clients: int = 10
    dim: int = 5
    heterogeneity: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_count("num_clients", self.num_clients)
        check_count("dim", self.dim)
        check_real("heterogeneity", self.heterogeneity)
        check_count("seed", self.seed, minimum=0)

    def _draw(self):
        rng = np.random.default_rng(self.seed)
        targets = 1.0 + self.heterogeneity * rng.normal(size=(self.num_clients, self.dim))
        curvatures = np.exp(self.heterogeneity * rng.normal(size=(self.num_clients, self.dim)))
        sizes = rng.integers(20, 200, self.num_clients)
        return targets, curvatures, sizes

    @property
    def sizes(self) -> np.ndarray:
        """Examples held by each client (its FedAvg weight)."""
        return self._draw()[2]

    def loss(self, w: np.ndarray) -> float:
        """The federated objective sum_k (n_k / n) f_k(w)."""
        targets, curvatures, sizes = self._draw()
        per_client = 0.5 * (curvatures * (np.asarray(w) - targets) ** 2).sum(1)
        return float(np.average(per_client, weights=sizes))

    def optimum(self) -> np.ndarray:
        """Where the federated objective is smallest."""
        targets, curvatures, sizes = self._draw()
        weights = sizes[:, None] * curvatures
        return (weights * targets).sum(0) / weights.sum(0)

    def drift_fixed_point(self, local_steps: int, step_size: float = 0.1) -> np.ndarray:
        """Where full-participation FedAvg with H = local_steps exact gradient steps settles:
        client k goes to c_k + r_k (w - c_k), r_k = (1 - step a_k)^H, so the fixed point weights
        the targets by n_k (1 - r_k), the optimum's n_k a_k only when H = 1."""
        targets, curvatures, sizes = self._draw()
        local_steps = check_count("local_steps", local_steps)
        step_size = check_real("step_size", step_size, positive=True)
        pull = sizes[:, None] * (1 - (1 - step_size * curvatures) ** local_steps)
        return (pull * targets).sum(0) / pull.sum(0)

    def client_fn(self, local_steps: int, step_size: float = 0.1):
        """client_fn for run_simulation: each fit takes local_steps CGE descent steps on f_k."""
        targets, curvatures, sizes = self._draw()
        local_steps = check_count("local_steps", local_steps)
        step_size = check_real("step_size", step_size, positive=True)
        dim = self.dim

        class QuadraticClient(Client):
            def __init__(self, context: ClientContext):
                self.context = context

            def get_parameters(self, config_: dict):
                return [np.zeros(dim)]

            def fit(self, parameters, config_):
                k = self.context.client_id

                def loss_batch(W):
                    return 0.5 * (curvatures[k] * (W - targets[k]) ** 2).sum(1)

                w = np.asarray(parameters[0], dtype=np.float64)
                for _ in range(local_steps):
                    w = w - step_size * zo.cge(loss_batch, w)
                return [w], int(sizes[k]), {"api_calls": local_steps}

        return QuadraticClient
