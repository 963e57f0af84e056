"""One runner for every task family: zero-shot, Fed-BBPT, centralised and local-only at one API
budget of experiment.steps optimiser steps, the step-size search, and the choice on validation.

An Experiment is the one source of a run's settings: the command line's flags and Flower's run
config are read from its fields.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

import numpy as np

from ..blackbox.precision import check_precision
from ..datasets.few_shot import per_class_indices
from ..federated import ClientContext, DPFedAvg, FedAvg, partition, run_simulation
from ..validation import check_choice, check_count, check_real
from . import selection
from .vision import client_accuracy

METHODS = ("zero_shot", "fedbbpt", "centralized", "local_only")
SPENT = ("calls", "examples", "saved_calls", "saved_examples")  # the API meter's counts


def setting(default, doc: str):
    """A dataclass field with its one-line doc (the command line's help)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Experiment:
    """The settings every task shares; a task's experiment adds its own, round_steps, default_step
    (the centre of the step-size search) and family(). The same settings give the same numbers."""

    dataset: str = setting("", "a data set by name")
    blackbox: str = setting(
        "",
        "the API: vision miniclip (default) or a CLIP model's name or folder, e.g. "
        "openai/clip-vit-base-patch16; text minilm (embedding API, default), smollm2, or a "
        "masked or causal LM's name or folder, e.g. FacebookAI/roberta-large",
    )
    precision: str = setting(
        "fp32", "the API's arithmetic: fp32, tf32 (NVIDIA GPUs; fp32 elsewhere) or bf16"
    )
    method: str = setting(
        "fedbbpt", "zero_shot, fedbbpt, centralized or local_only (vision: also whitebox)"
    )
    clients: int = setting(5, "clients of the federation")
    rounds: int = setting(5, "federated rounds")
    batch_size: int = setting(16, "examples per API call (vision: per SPSA-GC evaluation)")
    shots: int = setting(16, "training examples per class")
    partition: str = setting("iid", "how the clients' examples are split: iid or dirichlet")
    alpha: float = setting(0.5, "Dirichlet alpha (smaller: more skewed clients)")
    fraction_fit: float = setting(1.0, "share of clients that train each round")
    step_size: float | None = setting(
        None,
        "SPSA-GC a, Adam lr (vision whitebox), BDPL lr, BBT alpha (soft_cma) or probe lr "
        "(default: searched on validation)",
    )
    server_learning_rate: float = setting(1.0, "the server's step along the clients' mean update")
    clip_norm: float | None = setting(
        None, "client-level DP (fedbbpt): clip each client's update to this L2 norm (DPFedAvg)"
    )
    noise_multiplier: float = setting(
        0.0, "client-level DP: Gaussian noise of std noise_multiplier x clip_norm on the sum"
    )
    seed: int = setting(0, "seed of every random draw")

    task = ""  # "vision", "text" or "instruction": set by each task's experiment
    variant = ""  # the setting naming a run's prompt method (generator, prompt or search)
    methods = METHODS
    counts = ("clients", "rounds", "batch_size", "shots")

    def __post_init__(self):
        check_choice("method", self.method, self.methods)
        check_precision(self.precision)
        check_choice("partition", self.partition, partition.SCHEMES)
        for name in self.counts:
            check_count(name, getattr(self, name))
        check_real("alpha", self.alpha, positive=True)
        check_real("fraction_fit", self.fraction_fit, positive=True)
        if self.fraction_fit > 1:
            raise ValueError(f"fraction_fit must be in (0, 1], got {self.fraction_fit}")
        if self.step_size is not None:
            check_real("step_size", self.step_size, positive=True)
        check_real("server_learning_rate", self.server_learning_rate, positive=True)
        check_real("noise_multiplier", self.noise_multiplier)
        if self.clip_norm is not None:
            check_real("clip_norm", self.clip_norm, positive=True)
            if self.method != "fedbbpt":
                raise ValueError("clip_norm (privacy) applies to method 'fedbbpt' only")
        elif self.noise_multiplier:
            raise ValueError("noise_multiplier needs a clip_norm: the noise scales with it")
        check_count("seed", self.seed, minimum=0)
        if not isinstance(self.blackbox, str) or not self.blackbox.strip():
            raise ValueError(f"blackbox must be a {self.task} API's name, got {self.blackbox!r}")

    @property
    def privacy(self) -> dict | None:
        """DPFedAvg's settings, or None without privacy."""
        if self.clip_norm is None:
            return None
        return {"clip_norm": self.clip_norm, "noise_multiplier": self.noise_multiplier}

    @property
    def clients_per_round(self) -> int:
        return FedAvg(fraction_fit=self.fraction_fit).num_fit_clients(self.clients)

    @property
    def steps(self) -> int:
        """Optimiser steps of the whole budget."""
        return self.rounds * self.clients_per_round * self.round_steps


class Family:
    """What a task supplies to the runner, built once per run (the same few-shot draw in every
    process). A subclass sets test_inputs, test_labels, controls and zero_shot, and implements
    examples, predict, predict_control, client and, for a method beyond METHODS, train_own."""

    controls: tuple[str, ...] = ()
    zero_shot = ""

    def __init__(self, experiment: Experiment, data, api, evaluator, pool_labels, num_classes):
        self.experiment, self.data, self.api, self.evaluator = experiment, data, api, evaluator
        # the run's spending counts from here: a family may ask the API once when set up
        self.meter_start = {k: getattr(api.meter, k) for k in SPENT}
        self.num_classes = num_classes
        self.rng = np.random.default_rng(experiment.seed)
        self.pool_labels = np.asarray(pool_labels)
        self.index = per_class_indices(self.pool_labels, num_classes, experiment.shots, self.rng)
        self.labels = self.pool_labels[self.index]
        self.parts = partition.partition(
            self.labels, experiment.clients, experiment.partition, self.rng, alpha=experiment.alpha
        )

    @functools.cached_property
    def held(self) -> list[np.ndarray]:
        """Each client's validation examples (pool indices), drawn when first asked for."""
        return selection.validation_shares(
            self.pool_labels, self.index, self.parts, self.experiment.seed
        )

    def strategy(self, step: float, evaluate, privacy: dict | None = None):
        """The strategy (DPFedAvg with privacy) and its initial parameters (None: client 0's)."""
        options = {
            "fraction_fit": self.experiment.fraction_fit,
            "server_learning_rate": self.experiment.server_learning_rate,
            "evaluate_fn": evaluate,
        }
        if privacy is None:
            return FedAvg(**options), None
        return DPFedAvg(**privacy, noise_seed=self.experiment.seed, **options), None

    def record(self, models: list) -> dict:
        """What a result adds for this family (e.g. the learned prompt's words)."""
        return {}

    def client_fn(self, context: ClientContext, step: float | None = None):
        """The Fed-BBPT client of context.client_id."""
        step = step or self.experiment.step_size or self.experiment.default_step
        return self.client(
            context, self.parts[context.client_id], self.experiment.round_steps, step
        )

    def server(self, step: float | None = None):
        """The Fed-BBPT strategy, scoring the global prompt on the test set each round, and its
        initial parameters."""
        step = step or self.experiment.step_size or self.experiment.default_step

        def evaluate(_round: int, parameters) -> dict:
            predicted = self.predict(self.evaluator, self.test_inputs, parameters, step)
            return {"accuracy": self.test_accuracy(predicted)}

        return self.strategy(step, evaluate, self.experiment.privacy)

    def test_accuracy(self, predicted: np.ndarray) -> float:
        return float((np.asarray(predicted) == self.test_labels).mean())

    def per_client(self, predicted: list[np.ndarray]) -> list[float]:
        """Each client's accuracy on test data re-weighted to its own label mix."""
        return [
            round(client_accuracy(p, self.test_labels, self.labels[idx], self.num_classes), 4)
            for p, idx in zip(predicted, self.parts, strict=True)
        ]


def run_experiment(
    experiment: Experiment,
    data=None,
    api=None,
    evaluator=None,
    checkpoint=None,
) -> dict:
    """Run one experiment; return its settings, test accuracies (of the prompt returned, learned or
    a control that beat it on validation, and of the learned one) and what `api` spent.
    `evaluator` scores the test set unbilled; DP's accounting leaves out the validation choices."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an Experiment, got {type(experiment).__name__}")
    family = experiment.family(data, api, evaluator)
    meter, before = family.api.meter, family.meter_start
    control_test = {
        name: family.predict_control(family.evaluator, family.test_inputs, name)
        for name in family.controls
    }

    def accuracy(predicted) -> float:
        return round(family.test_accuracy(predicted), 4)

    result = {
        "task": experiment.task,
        **asdict(experiment),
        "zero_shot_accuracy": accuracy(control_test[family.zero_shot]),
        "controls": {name: accuracy(p) for name, p in control_test.items()},
    }
    zero_shot = control_test[family.zero_shot]
    validation_calls = 0
    if experiment.method == "zero_shot":  # nothing to train, validate or choose
        step, step_scores, chosen, scores = experiment.step_size, {}, [], []
        trained = _Run.trained([], [])
        learned = returned = [zero_shot]
    else:
        run = _Run(family, checkpoint)
        steps = selection.step_candidates(experiment.default_step, experiment.step_size)
        step, trained, step_scores = selection.search_steps(steps, run.train, run.validate)
        chosen, scores = selection.pick(
            trained["validation"], {name: run.control_scores(name) for name in family.controls}
        )
        learned = [
            zero_shot
            if p is None
            else family.predict(family.evaluator, family.test_inputs, p, step)
            for p in trained["models"]
        ]
        returned = [
            p if name == selection.LEARNED else control_test[name]
            for p, name in zip(learned, chosen, strict=True)
        ]
        validation_calls = run.validation_calls
    # One model for every client, except local-only where each client keeps its own.
    owned = returned if experiment.method == "local_only" else returned * len(family.parts)
    return {
        **result,
        "step_size": step,
        "step_size_scores": step_scores if len(step_scores) > 1 else {},
        "accuracy": round(float(np.mean([family.test_accuracy(p) for p in returned])), 4),
        "learned_accuracy": round(float(np.mean([family.test_accuracy(p) for p in learned])), 4),
        "selected": chosen,
        "validation_accuracy": scores,
        "api_calls": meter.calls - before["calls"],
        "validation_calls": validation_calls,
        "examples_sent": meter.examples - before["examples"],
        "saved_calls": meter.saved_calls - before["saved_calls"],
        "saved_examples": meter.saved_examples - before["saved_examples"],
        "train_loss": trained["train_loss"],
        "accuracy_per_round": trained["accuracy_per_round"],
        "client_accuracy": family.per_client(owned),
        **family.record(trained["models"]),
        **({"privacy": trained["privacy"]} if experiment.privacy is not None else {}),
    }


class _Run:
    """Training and validation of one experiment's models at any step size."""

    def __init__(self, family: Family, checkpoint):
        self.family, self.checkpoint = family, checkpoint
        self.experiment = family.experiment
        self.groups = selection.holder_groups(self.experiment.method, family.held, family.parts)
        self.validation_calls = 0
        self._control_scores: dict[tuple[str, int], float] = {}

    @functools.cached_property
    def holders(self) -> list[list[tuple]]:
        """Per model, its validators' (examples, labels, weight)."""
        family = self.family
        return [
            [(family.examples(v), family.pool_labels[v], weight) for v, weight in group]
            for group in self.groups
        ]

    def train(self, step: float) -> dict:
        """The learned parameters per model (None: a tuner given no steps keeps zero-shot), every
        step size from the same random state."""
        experiment, family = self.experiment, self.family
        if experiment.method == "fedbbpt":
            return self._federated(step)
        if experiment.method not in METHODS:
            return self.trained([family.train_own(step)], [])
        groups = (
            [np.arange(len(family.labels))] if experiment.method == "centralized" else family.parts
        )
        share, extra = divmod(experiment.steps, len(groups))
        models, losses = [], []
        for number, idx in enumerate(groups):
            steps = share + (number < extra)
            if steps == 0:
                models.append(None)
                continue
            tuner = family.client(ClientContext(number), idx, steps, step)
            seed = int(np.random.default_rng([experiment.seed, number]).integers(2**31))
            parameters, _, metrics = tuner.fit(tuner.get_parameters({}), {"seed": seed})
            models.append(parameters)
            losses.append(round(metrics["train_loss"], 4))
        return self.trained(models, losses)

    @staticmethod
    def trained(models, losses, per_round=()) -> dict:
        return {"models": models, "train_loss": losses, "accuracy_per_round": list(per_round)}

    def _federated(self, step: float) -> dict:
        experiment, family = self.experiment, self.family
        strategy, initial = family.server(step)
        history = run_simulation(
            lambda context: family.client_fn(context, step),
            experiment.clients,
            strategy,
            experiment.rounds,
            seed=experiment.seed,
            initial_parameters=initial,
            checkpoint=selection.step_checkpoint(self.checkpoint, step, experiment.step_size),
            run_settings={
                **{k: v for k, v in asdict(experiment).items() if k != "rounds"},
                "step_size": step,
            },
        )
        rounds = history.to_dataframe()
        trained = self.trained(
            [history.parameters],
            rounds["train_loss"].iloc[1:].round(4).tolist(),  # round 0 only evaluates
            rounds["accuracy"].round(4).tolist(),
        )
        if experiment.privacy is not None:  # the settings, and per round what clipping did
            trained["privacy"] = {
                **experiment.privacy,
                **{
                    k: [round(row[k], 4) for row in history.aggregates]
                    for k in ("clipped_fraction", "median_update_norm")
                },
            }
        return trained

    def _validated(self, predict, number: int) -> float:
        """A candidate's billed validation accuracy over model `number`'s holders."""
        meter = self.family.api.meter
        before = meter.calls
        score = selection.validation_accuracy(predict, self.holders[number])
        self.validation_calls += meter.calls - before
        return score

    def control_score(self, name: str, number: int) -> float:
        """A control's validation score for model `number`, asked once. Validation comes after
        training, so that a budget or a faulty API meets training as it would without."""
        if (name, number) not in self._control_scores:
            family = self.family
            self._control_scores[name, number] = self._validated(
                lambda x, y: family.predict_control(family.api, x, name), number
            )
        return self._control_scores[name, number]

    def control_scores(self, name: str) -> list[float]:
        return [self.control_score(name, number) for number in range(len(self.groups))]

    def validate(self, models, step: float) -> list[float]:
        family = self.family
        return [
            self.control_score(family.zero_shot, number)
            if p is None
            else self._validated(lambda x, y, p=p: family.predict(family.api, x, p, step), number)
            for number, p in enumerate(models)
        ]
