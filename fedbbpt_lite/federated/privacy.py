"""Client-level differential privacy on the server (DP-FedAvg with fixed clipping, McMahan et
al., 2018): updates are clipped to L2 norm clip_norm and averaged with equal weights, so one of
the round's m clients moves the average by at most clip_norm / m, and Gaussian noise of
noise_multiplier times that is added to every coordinate. A privacy accountant turns the noise
multiplier, rounds and sampling rate into (epsilon, delta).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_count, check_real
from .strategy import FedAvg


def epsilon(noise_multiplier: float, sample_rate: float, rounds: int, delta: float = 1e-5) -> float:
    """The epsilon that `rounds` rounds of DPFedAvg, sampling each client with probability
    sample_rate (1.0: every round), give each client, by opacus's RDP accountant."""
    check_real("noise_multiplier", noise_multiplier, positive=True)
    check_real("sample_rate", sample_rate, positive=True)
    if sample_rate > 1:
        raise ValueError(f"sample_rate must be at most 1, got {sample_rate}")
    check_count("rounds", rounds, minimum=1)
    check_real("delta", delta, positive=True, below=1.0)
    from opacus.accountants import RDPAccountant  # here, not at the top: it loads slowly

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, rounds)]
    return float(accountant.get_epsilon(delta))


class DPFedAvg(FedAvg):
    """FedAvg with clipped updates and Gaussian noise added at the server."""

    def __init__(
        self, *, clip_norm: float, noise_multiplier: float, noise_seed: int = 0, **fedavg_options
    ):
        super().__init__(**fedavg_options)
        self.clip_norm = check_real("clip_norm", clip_norm, positive=True)
        self.noise_multiplier = check_real("noise_multiplier", noise_multiplier)
        self.noise_seed = check_count("noise_seed", noise_seed, minimum=0)

    def aggregate_fit(self, server_round, parameters, results):
        if not results:
            return parameters, {}
        flat_global = np.concatenate([p.ravel() for p in parameters]).astype(np.float64)
        clipped, norms = [], []
        for result in results:
            update = np.concatenate([p.ravel() for p in result.parameters]) - flat_global
            norm = float(np.linalg.norm(update))
            norms.append(norm)
            clipped.append(update * min(1.0, self.clip_norm / norm) if norm > 0 else update)
        sigma = self.noise_multiplier * self.clip_norm / len(results)
        rng = np.random.default_rng([self.noise_seed, server_round])
        noisy = np.mean(clipped, axis=0) + rng.normal(0.0, sigma, flat_global.shape)
        flat_new = flat_global + self.server_learning_rate * noisy
        pieces = np.split(flat_new, np.cumsum([p.size for p in parameters])[:-1])
        new = [
            piece.reshape(p.shape).astype(p.dtype)
            for piece, p in zip(pieces, parameters, strict=True)
        ]
        metrics = {
            "clipped_fraction": float(np.mean([n > self.clip_norm for n in norms])),
            "median_update_norm": float(np.median(norms)),
            "noise_std": sigma,
        }
        return new, metrics
