"""What a simulation records: client fits, central evaluations, failed or dropped-out clients,
rounds too few clients answered, and why training stopped early (a spent budget), if it did."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .client import NDArrays

# Per-client metrics a fit may report and the per-round table sums (cost) or averages (loss).
SUMMED = ("api_calls", "examples_sent")


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Example-weighted mean over the clients that reported the value (NaN if none did)."""
    present = values.notna()
    if not present.any():
        return float("nan")
    return float(np.average(values[present], weights=weights[present]))


@dataclass
class History:
    """Per round and per client: examples, bytes up and down, and the client's metrics (API calls,
    examples sent, train loss); per round: the central evaluation (e.g. test accuracy)."""

    fits: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    aggregates: list[dict] = field(default_factory=list)
    skipped_rounds: list[int] = field(default_factory=list)
    stopped: dict | None = None
    last_round: int = 0  # the last whole round (0: only the initial evaluation)
    parameters: NDArrays | None = None

    def record_fit(self, server_round: int, client_id: int, row: dict) -> None:
        """Add one client's fit of one round."""
        self.fits.append({"round": server_round, "client": client_id, **row})

    def record_failure(self, server_round: int, client_id: int, error: BaseException) -> None:
        """Note a client whose fit failed or that dropped out of a round."""
        self.failures.append(
            {
                "round": server_round,
                "client": client_id,
                "error": type(error).__name__,
                "message": str(error),
            }
        )

    def record_aggregate(self, server_round: int, metrics: dict) -> None:
        """Add what the strategy reported when it aggregated a round (e.g. clipping)."""
        if metrics:
            self.aggregates.append({"round": server_round, **metrics})

    def record_evaluation(self, server_round: int, metrics: dict) -> None:
        """Add the central evaluation after a round (round 0 = before training)."""
        self.evaluations.append({"round": server_round, **metrics})

    def to_dataframe(self, kind: str = "rounds") -> pd.DataFrame:
        """One record list as a table, or ("rounds") per round: cost columns summed, other client
        metrics weighted by examples, cumulative API calls, and the central evaluation."""
        fits, evaluations = pd.DataFrame(self.fits), pd.DataFrame(self.evaluations)
        if kind == "fits":
            return fits
        if kind == "evaluations":
            return evaluations
        if kind == "aggregates":
            return pd.DataFrame(self.aggregates)
        if kind == "failures":
            return pd.DataFrame(self.failures, columns=["round", "client", "error", "message"])
        if kind != "rounds":
            raise ValueError(
                f"kind must be one of rounds, fits, evaluations, failures, aggregates; got {kind!r}"
            )
        if fits.empty:
            return evaluations
        summed = [c for c in fits.columns if c in SUMMED or c.startswith("bytes_")]
        averaged = [
            c
            for c in fits.columns
            if c not in {"round", "client", "num_examples", *summed}
            and pd.api.types.is_numeric_dtype(fits[c])
        ]
        grouped = fits.groupby("round")
        table = grouped[["num_examples", *summed]].sum()
        table["clients"] = grouped["client"].count()
        for column in averaged:
            table[column] = grouped.apply(
                lambda g, c=column: _weighted_mean(g[c], g["num_examples"]), include_groups=False
            )
        if "api_calls" in table:
            table["cumulative_api_calls"] = table["api_calls"].cumsum()
        table = table.reset_index()
        if evaluations.empty:
            return table
        return evaluations.merge(table, on="round", how="left")
