"""The API boundary: a black box answers queries with outputs only, and every query is billed.

`query` returns a detached NumPy copy, so no gradient and no weight ever crosses the boundary.
With `cache=True` an example asked before is answered from the cache and not billed again.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

import numpy as np
import torch

from ..validation import check_real
from .meter import Budget, Meter
from .precision import check_precision, compute_precision
from .retry import RetryPolicy


class TransientAPIError(RuntimeError):
    """A simulated temporary failure (time-out, rate limit): the same query may succeed later."""


class APITimeoutError(TransientAPIError):
    """A request that got no answer within the client's timeout_s."""


class BlackBox(ABC):
    """Base class of every black box: outputs in, bills out, nothing else exposed. "label"
    reveals only the top-1 index, as strict APIs do; latency_s and timeout_s are simulated
    seconds, fault_rate and timeout_rate probabilities per call; precision is the forward
    pass's arithmetic (fp32, tf32 or bf16: blackbox.precision)."""

    outputs: tuple[str, ...] = ("logits", "probs", "label")
    cacheable = False  # subclasses that implement _keys and _take set this

    def __init__(
        self,
        *,
        output: str = "logits",
        budget: Budget | None = None,
        cost_per_call: float = 0.0,
        cost_per_example: float = 0.0,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_s: float = 1.0,
        fault_seed: int = 0,
        retry: RetryPolicy | None = None,
        cache: bool = False,
        precision: str = "fp32",
    ):
        if output not in self.outputs:
            raise ValueError(f"output must be one of {self.outputs}, got {output!r}")
        if cache and not self.cacheable:
            raise ValueError(f"cache: {type(self).__name__} does not support a query cache")
        self._cache: dict | None = {} if cache else None
        self.output = output
        self.meter = Meter(cost_per_call, cost_per_example, budget)
        self.latency_s = check_real("latency_s", latency_s)
        self.fault_rate = check_real("fault_rate", fault_rate, below=1.0)
        self.timeout_rate = check_real("timeout_rate", timeout_rate, below=1.0)
        if self.fault_rate + self.timeout_rate >= 1:
            raise ValueError(
                f"fault_rate + timeout_rate must be below 1, got {fault_rate} + {timeout_rate}"
            )
        self.timeout_s = check_real("timeout_s", timeout_s)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
        self.retry = retry
        self._fault_rng = np.random.default_rng(fault_seed)
        self.precision = check_precision(precision)

    @abstractmethod
    def _forward(self, inputs: torch.Tensor, *args) -> torch.Tensor | list[str]:
        """Scores for a (..., *input_shape) batch: shape (..., num_outputs); or one text each."""

    @abstractmethod
    def _prepare(self, inputs, *args) -> tuple[torch.Tensor, tuple]:
        """Validate a user's query before anything is billed; return what `_forward` expects."""

    @abstractmethod
    def _count(self, inputs: torch.Tensor) -> int:
        """How many examples one query of `inputs` scores (what the meter bills)."""

    def _keys(self, inputs, args: tuple) -> list:
        """One hashable key per example of a prepared query (cacheable black boxes only)."""
        raise NotImplementedError

    def _take(self, inputs, index: list[int]):
        """The prepared query reduced to the examples at `index` (cacheable black boxes only)."""
        raise NotImplementedError

    def query(self, inputs, *args) -> np.ndarray:
        """Ask the API: returns outputs as a NumPy array (a copy, never a tensor)."""
        inputs, args = self._prepare(inputs, *args)
        if self._cache is None:
            scores = self._call(inputs, args, self._count(inputs))
        else:
            scores = self._cached_call(inputs, args)
        if isinstance(scores, list):  # texts, e.g. an executor's answers
            return np.array(scores, dtype=object)
        if self.output == "probs":
            scores = scores.softmax(-1)
        elif self.output == "label":
            scores = scores.argmax(-1)
        return scores.detach().cpu().numpy().copy()

    def _call(self, inputs, args: tuple, examples: int) -> torch.Tensor:
        """One billed request, retried under the retry policy when it fails transiently."""
        attempts = self.retry.attempts if self.retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(inputs, args, examples)
            except TransientAPIError:
                if attempt == attempts:
                    raise
                self.meter.retries += 1
                time.sleep(self.retry.wait(attempt))

    def _attempt(self, inputs, args: tuple, examples: int) -> torch.Tensor:
        """One try: budget check, latency, simulated faults, the forward pass, the bill."""
        self.meter.check(examples)
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.fault_rate or self.timeout_rate:
            draw = self._fault_rng.random()
            if draw < self.fault_rate:
                self.meter.failed_calls += 1
                raise TransientAPIError("simulated transient API failure; retry the query")
            if draw < self.fault_rate + self.timeout_rate:
                self.meter.failed_calls += 1
                self.meter.timeouts += 1
                time.sleep(self.timeout_s)
                raise APITimeoutError(f"no answer within timeout_s={self.timeout_s:g} s")
        device = getattr(self, "device", torch.device("cpu"))
        with torch.no_grad(), compute_precision(self.precision, device):
            scores = self._forward(inputs, *args)
        if isinstance(scores, torch.Tensor) and scores.dtype in (torch.bfloat16, torch.float16):
            scores = scores.float()  # NumPy has no bf16: half-precision scores leave as float32
        self.meter.record(examples)
        return scores

    def _cached_call(self, inputs, args: tuple) -> torch.Tensor:
        """Send only the examples never asked before (each once), then answer from the cache."""
        keys = self._keys(inputs, args)
        first = {}
        for position, key in enumerate(keys):
            first.setdefault(key, position)
        new = [key for key in first if key not in self._cache]
        if new:
            rows = self._call(self._take(inputs, [first[k] for k in new]), args, len(new))
            self._cache.update(zip(new, rows, strict=True))
        else:
            self.meter.saved_calls += 1
        self.meter.saved_examples += len(keys) - len(new)
        rows = [self._cache[key] for key in keys]
        return torch.stack(rows) if isinstance(rows[0], torch.Tensor) else rows
