"""What a black-box API bills: calls, examples and a simulated cost, with an optional budget."""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import check_count, check_real


class BudgetExceededError(RuntimeError):
    """Raised before a query that would spend more than the budget allows."""


@dataclass(frozen=True)
class Budget:
    """Caps on what a black box may spend; None means unlimited."""

    max_calls: int | None = None
    max_examples: int | None = None
    max_cost: float | None = None

    def __post_init__(self):
        for name in ("max_calls", "max_examples"):
            if getattr(self, name) is not None:
                check_count(name, getattr(self, name), minimum=0)
        if self.max_cost is not None:
            check_real("max_cost", self.max_cost)


@dataclass
class Meter:
    """Counts calls, examples, failed tries (time-outs among them), retries, simulated cost and
    what a cache saved (saved_calls: whole queries). A batched request is one call however many
    examples it scores: batching saves round trips, never examples."""

    cost_per_call: float = 0.0
    cost_per_example: float = 0.0
    budget: Budget | None = None
    calls: int = 0
    examples: int = 0
    failed_calls: int = 0
    timeouts: int = 0
    retries: int = 0
    saved_calls: int = 0
    saved_examples: int = 0

    def __post_init__(self):
        check_real("cost_per_call", self.cost_per_call)
        check_real("cost_per_example", self.cost_per_example)
        if self.budget is not None and not isinstance(self.budget, Budget):
            raise TypeError(f"budget must be a Budget or None, got {type(self.budget).__name__}")

    @property
    def cost(self) -> float:
        """Simulated bill so far."""
        return self.calls * self.cost_per_call + self.examples * self.cost_per_example

    def check(self, examples: int) -> None:
        """Raise BudgetExceededError if one more call of `examples` inputs would overspend."""
        budget = self.budget or Budget()
        after_calls, after_examples = self.calls + 1, self.examples + examples
        after_cost = self.cost + self.cost_per_call + examples * self.cost_per_example
        checks = (
            ("calls", after_calls, budget.max_calls),
            ("examples", after_examples, budget.max_examples),
            ("cost", after_cost, budget.max_cost),
        )
        for what, after, cap in checks:
            if cap is not None and after > cap:
                raise BudgetExceededError(
                    f"API budget spent: this query would bring {what} to {after:g} "
                    f"(limit {cap:g}); raise the budget or reset the meter"
                )

    def record(self, examples: int) -> None:
        """Bill one successful call of `examples` inputs."""
        self.calls += 1
        self.examples += examples

    def snapshot(self) -> dict:
        """Plain-number copy of the counters, e.g. for a results table."""
        return {
            "calls": self.calls,
            "examples": self.examples,
            "failed_calls": self.failed_calls,
            "timeouts": self.timeouts,
            "retries": self.retries,
            "cost": round(self.cost, 6),
            "saved_calls": self.saved_calls,
            "saved_examples": self.saved_examples,
        }

    def reset(self) -> None:
        """Zero all counters (the budget stays)."""
        self.calls = self.examples = self.failed_calls = self.timeouts = self.retries = 0
        self.saved_calls = self.saved_examples = 0
