"""Instruction experiments: InstructZero's search for the instruction an executor LLM answers best
under, federated (FedAvg of z, or one GP the server fits on every client's evaluations), run by
tasks.engine beside centralised and local-only search and four control instructions.

The demos the generator reads are public to the federation (drawn outside every client's data,
fixed for a run as InstructZero fixes its demos); the examples that score instructions stay
with their clients. The budget is rounds x clients-per-round x local_evaluations evaluations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..bayesian import sobol_points
from ..blackbox.executor import ExecutorBlackBox
from ..blackbox.language_model import SMOLLM2
from ..blackbox.text_encoder import shared_text_encoder
from ..datasets.base import InstructionDataset
from ..datasets.instruction_sets import instruction_task_info, load_instructions
from ..federated import ClientContext
from ..federated.pooled_search import PooledSearch
from ..prompts.discrete import random_words
from ..prompts.instruction import InstructionGenerator
from ..validation import check_choice, check_count
from .engine import Experiment, Family, setting
from .instruction import METRICS, SCORINGS, instruction_scores
from .instruction_clients import SEARCHES, InstructionClient

CONTROLS = ("empty", "manual", "ape", "random")
SPSA_STEP = 0.1  # SPSA-GC's a on z, whose coordinates span [-1, 1]


@dataclass(frozen=True)
class InstructionExperiment(Experiment):
    """An instruction run's settings."""

    dataset: str = setting("antonyms", "an instruction-induction task by name")
    blackbox: str = setting(SMOLLM2, "the executor: smollm2, or a causal LM's name or folder")
    search: str = setting(
        "bo",
        "instruction search: bo (InstructZero's BO on each client, FedAvg of z), pooled_bo "
        "(the server's GP over every client's evaluations) or spsa (SPSA-GC on z)",
    )
    generator_model: str = setting(
        SMOLLM2, "the instruction generator: smollm2, or a causal LM's name or folder"
    )
    scoring: str = setting(
        "choice", "generate (exact match of the answer) or choice (likeliest candidate output)"
    )
    local_evaluations: int = setting(4, "instructions each client scores per round")
    initial_points: int = setting(4, "Sobol points before BO proposes (InstructZero: 25)")
    demos: int = setting(10, "exemplars the generator reads (InstructZero: 10)")
    intrinsic_dim: int = setting(10, "the dimension of z (InstructZero: 10)")
    soft_tokens: int = setting(5, "soft tokens A z becomes (InstructZero: 5)")
    max_new_tokens: int = setting(24, "tokens an instruction may have (InstructZero: 128)")
    clients: int = setting(3, "clients of the federation")
    rounds: int = setting(3, "federated rounds")
    batch_size: int = setting(10, "examples that score an instruction (InstructZero: 20)")
    shots: int = setting(30, "examples drawn for the clients in all")

    task = "instruction"
    variant = "search"
    counts = (*Experiment.counts, "local_evaluations", "demos", "max_new_tokens", "soft_tokens")

    def __post_init__(self):
        super().__post_init__()
        check_choice("search", self.search, SEARCHES)
        if self.method == "zero_shot" or (self.search == "pooled_bo" and self.method != "fedbbpt"):
            # pooled BO is a federation's; alone it is BO, and zero-shot searches nothing
            object.__setattr__(self, "search", "bo")
        check_choice("scoring", self.scoring, SCORINGS)
        check_count("initial_points", self.initial_points, minimum=2)
        check_count("intrinsic_dim", self.intrinsic_dim, minimum=2)
        if self.partition != "iid":
            raise ValueError("an instruction task has no classes to skew: partition must be iid")
        if self.search != "spsa" and self.step_size is not None:
            raise ValueError(f"search {self.search!r} has no step size (spsa has)")
        if self.search == "spsa" and self.local_evaluations % 2:
            raise ValueError("spsa spends 2 evaluations a step: local_evaluations must be even")
        if self.search == "pooled_bo" and (self.fraction_fit < 1 or self.clip_norm is not None):
            raise ValueError("pooled_bo needs every client every round and no clip_norm")

    @property
    def round_steps(self) -> int:
        return self.local_evaluations

    @property
    def default_step(self) -> float | None:
        return SPSA_STEP if self.search == "spsa" else None

    def family(self, data=None, api=None, evaluator=None) -> InstructionFamily:
        return InstructionFamily(self, data, api, evaluator)


@functools.cache
def _generator(model: str, intrinsic_dim: int, soft_tokens: int, tokens: int, seed: int):
    return InstructionGenerator(model, intrinsic_dim, soft_tokens, tokens, seed)


class InstructionFamily(Family):
    """An instruction run's pieces. An example is an (input, output) pair; a prediction is 0 where
    the executor answers it right (every example's one "class"), so accuracy is the share right."""

    controls = CONTROLS

    def __init__(
        self,
        experiment: InstructionExperiment,
        data: InstructionDataset | None = None,
        api: ExecutorBlackBox | None = None,
        evaluator: ExecutorBlackBox | None = None,
    ):
        data = data if data is not None else load_instructions(experiment.dataset)
        precision = experiment.precision
        made = functools.partial(ExecutorBlackBox, experiment.blackbox, precision=precision)
        api = api if api is not None else made(cache=True)
        evaluator = evaluator if evaluator is not None else made()
        labels = np.zeros(len(data.train_inputs), dtype=np.int64)
        super().__init__(experiment, data, api, evaluator, labels, 1)
        self.zero_shot = "manual" if data.instruction else "empty"
        self.metric = _metric(data.name)
        self.pairs = list(zip(data.train_inputs, data.train_outputs, strict=True))
        self.test_inputs = list(zip(data.test_inputs, data.test_outputs, strict=True))
        self.test_labels = np.zeros(len(self.test_inputs), dtype=np.int64)
        self.generator = _generator(
            experiment.generator_model,
            experiment.intrinsic_dim,
            experiment.soft_tokens,
            experiment.max_new_tokens,
            experiment.seed,
        )
        taken = np.concatenate([self.index, *self.held])
        spare = np.setdiff1d(np.arange(len(self.pairs)), taken)
        if len(spare) < experiment.demos:
            raise ValueError(
                f"task {data.name!r} has {len(spare)} pool pairs left for demos={experiment.demos}"
                f" after shots={experiment.shots} and their validation pairs"
            )
        rng = np.random.default_rng([experiment.seed, 3])  # its own stream, as validation's
        chosen = np.sort(rng.choice(spare, experiment.demos, replace=False))
        self.demos = ([self.pairs[i][0] for i in chosen], [self.pairs[i][1] for i in chosen])
        words = random_words(
            shared_text_encoder().vocabulary, 6, np.random.default_rng(experiment.seed)
        )
        self.control_instructions = {
            "empty": "",
            "manual": data.instruction,
            "ape": self.generator.instruction(None, *self.demos),
            "random": " ".join(words),
        }

    def examples(self, pool_index: np.ndarray) -> list[tuple[str, str]]:
        return [self.pairs[i] for i in pool_index]

    def instruction(self, parameters) -> str:
        """The instruction a z writes from the demos."""
        return self.generator.instruction(parameters[0], *self.demos)

    def _predict(self, blackbox, pairs, instruction: str) -> np.ndarray:
        inputs, outputs = zip(*pairs, strict=True)
        scores = instruction_scores(
            blackbox, instruction, inputs, outputs, self.experiment.scoring, self.metric
        )
        return np.where(scores == 1, 0, 1)

    def predict(self, blackbox, inputs, parameters, step) -> np.ndarray:
        return self._predict(blackbox, inputs, self.instruction(parameters))

    def predict_control(self, blackbox, inputs, name: str) -> np.ndarray:
        return self._predict(blackbox, inputs, self.control_instructions[name])

    def client(self, context: ClientContext, idx: np.ndarray, steps: int, step):
        experiment = self.experiment
        pairs = self.examples(self.index[idx])
        return InstructionClient(
            context,
            self.api,
            self.generator,
            self.demos,
            [x for x, _ in pairs],
            [y for _, y in pairs],
            evaluations=steps,
            batch_size=experiment.batch_size,
            search=experiment.search,
            initial_points=experiment.initial_points,
            scoring=experiment.scoring,
            metric=self.metric,
            step_size=step,
            seed=experiment.seed,
        )

    def strategy(self, step, evaluate, privacy: dict | None = None):
        experiment = self.experiment
        start = [sobol_points(1, experiment.intrinsic_dim, experiment.seed)[0]]
        if experiment.search != "pooled_bo":
            return super().strategy(step, evaluate, privacy)[0], start
        search = PooledSearch(
            num_clients=experiment.clients,
            dimension=experiment.intrinsic_dim,
            proposals=experiment.local_evaluations,
            initial_points=experiment.initial_points,
            seed=experiment.seed,
            evaluate_fn=evaluate,
        )
        return search, search.parameters()

    def record(self, models: list) -> dict:
        return {
            "control_instructions": self.control_instructions,
            "learned_instructions": [self.instruction(p) if p is not None else "" for p in models],
        }


def _metric(task: str) -> str:
    """A committed task's metric (InstructZero's: contains for synonyms, else exact match)."""
    try:
        return check_choice("metric", instruction_task_info(task).get("metric", "em"), METRICS)
    except ValueError:  # a user's own task
        return "em"
