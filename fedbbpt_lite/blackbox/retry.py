"""Retrying a black box's transient failures: how many tries, and how long to wait between them.

A real API answers some requests with a time-out or a rate limit that the same request survives
a moment later. RetryPolicy retries those (TransientAPIError, APITimeoutError) with exponential
backoff; anything else, a spent budget included, is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import check_count, check_real


@dataclass(frozen=True)
class RetryPolicy:
    """attempts: tries per request, the first included; the k-th retry waits
    min(backoff_s * factor**(k-1), max_backoff_s) seconds."""

    attempts: int = 4
    backoff_s: float = 0.05
    factor: float = 2.0
    max_backoff_s: float = 2.0

    def __post_init__(self):
        check_count("attempts", self.attempts)
        check_real("backoff_s", self.backoff_s)
        check_real("max_backoff_s", self.max_backoff_s)
        if check_real("factor", self.factor) < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor!r}")

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (from 1)."""
        return min(
            self.backoff_s * self.factor ** (check_count("retry", retry) - 1), self.max_backoff_s
        )
