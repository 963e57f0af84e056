"""Fed-BBPT instruction clients: each searches the generator's z on its private examples, every
evaluation one instruction written locally and one billed executor query of its examples.

BO keeps InstructZero's search on the client (its evaluated z, scores and per-example scores
persist across rounds); SPSA-GC takes zeroth-order steps on z; a pooled client only scores the
z the server proposes and sends back its accuracy under each.
"""

from __future__ import annotations

import numpy as np

from .. import zo
from ..bayesian import best_index, propose, sobol_points
from ..blackbox.executor import ExecutorBlackBox
from ..federated.client import Client, ClientContext
from ..prompts.instruction import InstructionGenerator
from ..validation import check_count
from .instruction import instruction_scores

SEARCHES = ("bo", "pooled_bo", "spsa")
HISTORY = ("points", "values", "scores")  # a BO client's evaluations, in its context's state


class InstructionClient(Client):
    """A client's examples (the first batch_size score every z: InstructZero draws its 20 anew
    each time, fixed they line up for the kernel), the demos the generator reads, `evaluations`
    per fit."""

    def __init__(
        self,
        context: ClientContext,
        api: ExecutorBlackBox,
        generator: InstructionGenerator,
        demos: tuple[list, list],
        inputs,
        outputs,
        evaluations: int,
        batch_size: int,
        search: str = "bo",
        initial_points: int = 4,
        scoring: str = "generate",
        metric: str = "em",
        step_size: float | None = None,
        seed: int = 0,
    ):
        if not len(inputs):
            raise ValueError(f"client {context.client_id} holds no examples")
        self.context, self.api, self.generator, self.demos = context, api, generator, demos
        size = min(check_count("batch_size", batch_size), len(inputs))
        self.inputs, self.outputs = list(inputs)[:size], list(outputs)[:size]
        self.evaluations = check_count("evaluations", evaluations)
        self.search, self.scoring, self.metric = search, scoring, metric
        self.initial_points = check_count("initial_points", initial_points)
        self.step_size, self.seed = step_size, seed

    def get_parameters(self, config: dict) -> list[np.ndarray]:
        return [sobol_points(1, self.generator.intrinsic_dim, self.seed)[0]]

    def score(self, z) -> np.ndarray:
        """Per example, whether the executor answers right under the instruction z writes."""
        instruction = self.generator.instruction(z, *self.demos)
        return instruction_scores(
            self.api, instruction, self.inputs, self.outputs, self.scoring, self.metric
        )

    def fit(self, parameters, config):
        calls = self.api.meter.calls
        z = np.asarray(parameters[0], dtype=np.float64)
        if self.search == "pooled_bo":  # score the server's proposals, in order
            found = np.array([self.score(point).mean() for point in parameters[1]])
            result, loss = [found], 1 - float(found.mean())
        elif self.search == "spsa":
            result, loss = self._spsa(z, config["seed"])
        else:
            result, loss = self._bayesian(z, config["seed"])
        metrics = {"train_loss": loss, "api_calls": self.api.meter.calls - calls}
        return result, len(self.inputs), metrics

    def _bayesian(self, z, seed: int) -> tuple[list[np.ndarray], float]:
        """Score the server's z, then points of the client's Sobol design until it has
        initial_points, then EI proposals; return the best z evaluated so far."""
        state = self.context.state
        points, values, scores = (list(state.get(k, [])) for k in HISTORY)
        design = sobol_points(
            self.initial_points, len(z), seed=self.seed + 1 + self.context.client_id
        )
        new = []
        for number in range(self.evaluations):
            if number == 0:
                point = z
            elif len(points) < self.initial_points:
                point = design[len(points) % len(design)]
            else:
                if not new:
                    new = propose(points, values, scores, self.evaluations - number, seed)
                point = new.pop(0)
            found = self.score(point)
            points.append(np.asarray(point, dtype=np.float64))
            values.append(float(found.mean()))
            scores.append(found)
        state.update(points=np.stack(points), values=np.array(values), scores=np.stack(scores))
        recent = values[-self.evaluations :]
        return [points[best_index(values)]], 1 - float(np.mean(recent))

    def _spsa(self, z, seed: int) -> tuple[list[np.ndarray], float]:
        """SPSA-GC on z with one perturbation pair a step (2 evaluations), loss 1 - accuracy."""
        config = zo.SPSAGCConfig(a=self.step_size, sp_avg=1)
        state = self.context.state.get("spsa", zo.SPSAGCState())
        rng, losses = np.random.default_rng(seed), []

        def loss_batch(points: np.ndarray) -> np.ndarray:
            found = np.array([1 - self.score(point).mean() for point in points])
            losses.extend(found)
            return found

        for _ in range(max(self.evaluations // 2, 1)):
            z, state, _ = zo.spsa_gc_step(loss_batch, z, state, config, rng)
        self.context.state["spsa"] = state
        return [z], float(np.mean(losses))
