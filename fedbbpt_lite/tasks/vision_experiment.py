"""One vision experiment, any method, at a stated API budget: the engine behind `fedbbpt-lite run`.

Every black-box method gets the same budget: rounds x clients-per-round x local_steps SPSA-GC
steps, each one call of 2 x SP_AVG prompted copies of a batch_size batch.
  zero_shot    the manual prompt, no tuning (0 calls)
  fedbbpt      Fed-BBPT: clients tune locally with SPSA-GC, the server runs FedAvg
  centralized  one tuner with all the clients' data pooled, the same number of steps
  local_only   each client tunes alone for its share of the steps; mean of their accuracies
  whitebox     Adam through MiniCLIP's weights, the same number of steps (needs the weights)
step_size is SPSA-GC's a for the black-box methods and Adam's learning rate for whitebox.
blackbox is "miniclip" (the kit's stand-in, offline) or a CLIP model's Hugging Face name or
folder (e.g. openai/clip-vit-base-patch16 for BlackVIP's setting; white-box needs MiniCLIP).
A data set's own `tuning` (BlackVIP's per-data-set c, gamma, beta and eps) sets the rest. On a
CLIP black box prompts are added in CLIP's normalised pixel space and the Coordinator starts as
BlackVIP's, so that those values mean what they mean in BlackVIP; on MiniCLIP prompts are added
to [0, 1] pixels and the Coordinator starts at zero-shot.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .. import zo
from ..blackbox.base import BlackBox
from ..blackbox.clip import CLIPBlackBox
from ..blackbox.miniclip import MiniCLIPBlackBox
from ..datasets.few_shot import per_class_indices
from ..datasets.registry import VisionDataset, load_vision, unit_images
from ..federated import Context, FedAvg, partition, run_simulation
from ..federated.privacy import DPFedAvg
from ..prompts import Coordinator, GridPrompt, PaddingPrompt
from ..validation import check_choice, check_count, check_real, check_run_settings
from . import selection
from .vision import client_accuracy, predict
from .vision_client import PromptClient
from .whitebox import tune_whitebox

METHODS = ("zero_shot", "fedbbpt", "centralized", "local_only", "whitebox")
GENERATORS = ("grid", "padding", "coordinator")
# SPSA-GC step size a per generator (a small additive prompt takes larger steps).
STEP_SIZES = {"grid": 0.1, "padding": 0.1, "coordinator": 0.003}
WHITEBOX_LR = {"grid": 0.05, "padding": 0.05, "coordinator": 0.01}
MINICLIP = "miniclip"
ZERO_SHOT = "zero_shot"  # the control a tuned prompt must beat on validation
TEST_CHUNK = 1000  # test images scored per evaluator call (the Coordinator normalises per call)


@dataclass(frozen=True)
class VisionExperiment:
    """Everything that defines a run; the same experiment and seed give the same numbers."""

    dataset: str = "mnist_inverted"
    blackbox: str = MINICLIP
    method: str = "fedbbpt"
    generator: str = "grid"
    clients: int = 10
    rounds: int = 10
    local_steps: int = 5
    batch_size: int = 32
    shots: int = 16
    partition: str = "iid"
    alpha: float = 0.5
    fraction_fit: float = 1.0
    step_size: float | None = None
    server_learning_rate: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_choice("method", self.method, METHODS)
        check_choice("generator", self.generator, GENERATORS)
        check_choice("partition", self.partition, partition.SCHEMES)
        if not isinstance(self.blackbox, str) or not self.blackbox.strip():
            raise ValueError(
                f"blackbox must be {MINICLIP!r} or a CLIP model name, got {self.blackbox!r}"
            )
        if self.blackbox in ("minilm", "smollm2"):
            raise ValueError(
                f"blackbox {self.blackbox!r} is a text API; vision takes {MINICLIP!r} or a CLIP "
                "model's name or folder"
            )
        if self.method == "whitebox" and self.blackbox != MINICLIP:
            raise ValueError(f"method 'whitebox' needs the weights: blackbox={MINICLIP!r} only")
        for name in ("clients", "rounds", "local_steps", "batch_size", "shots"):
            check_count(name, getattr(self, name))
        check_run_settings(self)
        check_real("server_learning_rate", self.server_learning_rate, positive=True)

    @property
    def steps(self) -> int:
        """SPSA-GC steps of the whole budget (each is one API call)."""
        per_round = FedAvg(fraction_fit=self.fraction_fit).num_fit_clients(self.clients)
        return self.rounds * per_round * self.local_steps


def few_shot_index(data: VisionDataset, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Pool indices of `shots` training images per class."""
    return per_class_indices(data.y_train.numpy(), len(data.class_names), shots, rng)


def few_shot_pool(data: VisionDataset, shots: int, rng: np.random.Generator):
    """`shots` training images per class drawn from the data set's pool: (images, labels)."""
    index = few_shot_index(data, shots, rng)
    return pool_images(data, index), data.y_train.numpy()[index]


def pool_images(data: VisionDataset, index: np.ndarray) -> torch.Tensor:
    """The pool's images at index, as [0, 1] pixels."""
    return unit_images(data.x_train[torch.from_numpy(np.asarray(index, dtype=np.int64))])


def default_step_size(experiment: VisionExperiment) -> float:
    """The method's default step size for the experiment's generator: SPSA-GC's a, or Adam's
    learning rate for whitebox."""
    table = WHITEBOX_LR if experiment.method == "whitebox" else STEP_SIZES
    return table[experiment.generator]


def make_generator(
    name: str,
    channels: int,
    seed: int,
    image_size: int = 28,
    eps: float = 1.0,
    pixel_std=None,
):
    """A fresh prompt generator by name. pixel_std None: prompts in [0, 1] pixels, every
    generator at zero-shot (MiniCLIP); a CLIP black box's pixel_std: prompts in its normalised
    space, the Coordinator initialised as BlackVIP's."""
    check_choice("generator", name, GENERATORS)
    common = {"image_size": image_size, "channels": channels, "eps": eps, "pixel_std": pixel_std}
    if name == "grid":
        return GridPrompt(**common)
    if name == "padding":
        return PaddingPrompt(**common)
    init = "zero" if pixel_std is None else "blackvip"
    return Coordinator(**common, seed=seed, init=init)


def vision_api(name: str, **api_options) -> BlackBox:
    """The black box called `name`: MiniCLIP, or a CLIP model by Hugging Face name or folder."""
    if name == MINICLIP:
        return MiniCLIPBlackBox(**api_options)
    return CLIPBlackBox(name, **api_options)


class VisionFederation:
    """An experiment's pieces, the same wherever its clients run: the few-shot pool and its
    split, the clients' validation images (scored through the billed API), the prompt
    generator, the clients, the strategy and the unbilled test scoring.
    run_vision runs them in process; fedbbpt_lite.flower runs them as Flower apps."""

    def __init__(
        self,
        experiment: VisionExperiment,
        data: VisionDataset | None = None,
        blackbox: BlackBox | None = None,
    ):
        self.experiment = experiment
        self.data = data if data is not None else load_vision(experiment.dataset)
        self.blackbox = blackbox if blackbox is not None else vision_api(experiment.blackbox)
        self.evaluator = vision_api(experiment.blackbox)
        size = getattr(self.evaluator, "image_size", 28)
        if tuple(self.data.x_train.shape[-2:]) != (size, size):
            raise ValueError(
                f"data set {self.data.name!r} holds {self.data.x_train.shape[-1]}-pixel images "
                f"but blackbox {experiment.blackbox!r} takes {size}-pixel ones"
            )
        self.rng = np.random.default_rng(experiment.seed)
        self.y_pool = self.data.y_train.numpy()
        self.index = few_shot_index(self.data, experiment.shots, self.rng)
        self.x, self.y = pool_images(self.data, self.index), self.y_pool[self.index]
        self.parts = partition.partition(
            self.y, experiment.clients, experiment.partition, self.rng, alpha=experiment.alpha
        )
        channels, size = self.data.x_train.shape[1], self.data.x_train.shape[-1]
        eps = self.data.tuning.get("eps", 1.0)
        pixel_std = getattr(self.evaluator, "pixel_std", None)
        self.generator = make_generator(
            experiment.generator, channels, experiment.seed, size, eps, pixel_std
        )
        self.test_labels = self.data.y_test.numpy()
        self.validation_calls = 0  # billed calls that validation_accuracy spent

    @functools.cached_property
    def held(self) -> list[np.ndarray]:
        """Each client's validation images (pool indices), beside its training share; drawn
        when first asked for, from their own stream (tasks.selection.validation_shares)."""
        return selection.validation_shares(
            self.y_pool, self.index, self.parts, self.experiment.seed
        )

    def optimiser(self, step_size: float | None = None) -> zo.SPSAGCConfig:
        """SPSA-GC with a = step_size (default: the experiment's, else the generator's) and
        the data set's own c, gamma and beta."""
        a = step_size or self.experiment.step_size or STEP_SIZES[self.experiment.generator]
        tuning = {k: v for k, v in self.data.tuning.items() if k in ("c", "gamma", "beta")}
        return zo.SPSAGCConfig(a=a, **tuning)

    def test_predictions(self, w=None) -> np.ndarray:
        """Test-set predictions with the generator at w (None: no prompt, zero-shot), unbilled."""
        prompt = None if w is None else self.generator
        return np.concatenate(
            [
                predict(self.evaluator, unit_images(chunk), self.data.prompts, prompt, w)
                for chunk in self.data.x_test.split(TEST_CHUNK)
            ]
        )

    def validation_accuracy(self, group, w=None) -> float:
        """Billed accuracy of the generator at w (None: zero-shot) over a group of
        [(pool indices, weight), ...], each client scoring its own images."""
        prompt = None if w is None else self.generator
        holders = [(pool_images(self.data, v), self.y_pool[v], weight) for v, weight in group]
        before = self.blackbox.meter.calls
        score = selection.validation_accuracy(
            lambda x, y: predict(self.blackbox, x, self.data.prompts, prompt, w), holders
        )
        self.validation_calls += self.blackbox.meter.calls - before
        return score

    def test_accuracy(self, predicted: np.ndarray) -> float:
        return float((predicted == self.test_labels).mean())

    def per_client(self, predicted: list[np.ndarray], owners) -> list[float]:
        """Each client's accuracy on test data re-weighted to its own label mix."""
        return [
            round(client_accuracy(p, self.test_labels, self.y[idx], len(self.data.prompts)), 4)
            for p, idx in zip(predicted, owners, strict=True)
        ]

    def client(
        self, context: Context, idx: np.ndarray, steps: int, step_size: float | None = None
    ) -> PromptClient:
        """A tuner of the pool's examples at idx, taking `steps` SPSA-GC steps of a =
        step_size (see optimiser) per fit."""
        return PromptClient(
            context,
            self.blackbox,
            self.generator,
            self.x[torch.from_numpy(idx)],
            self.y[idx],
            self.data.prompts,
            self.optimiser(step_size),
            steps,
            self.experiment.batch_size,
        )

    def client_fn(self, context: Context) -> PromptClient:
        """The Fed-BBPT client of context.client_id: its own part of the pool."""
        return self.client(context, self.parts[context.client_id], self.experiment.local_steps)

    def strategy(self, privacy: dict | None = None) -> FedAvg:
        """FedAvg (DPFedAvg with privacy) that scores the global prompt on the test set."""

        def evaluate(_round: int, parameters) -> dict:
            return {"accuracy": self.test_accuracy(self.test_predictions(parameters[0]))}

        options = {
            "fraction_fit": self.experiment.fraction_fit,
            "server_learning_rate": self.experiment.server_learning_rate,
            "evaluate_fn": evaluate,
        }
        if privacy is None:
            return FedAvg(**options)
        return DPFedAvg(**privacy, noise_seed=self.experiment.seed, **options)


def run_vision(
    experiment: VisionExperiment,
    data: VisionDataset | None = None,
    blackbox: BlackBox | None = None,
    checkpoint=None,
    privacy: dict | None = None,
) -> dict:
    """Run one experiment; return its settings, the test accuracy of the prompt it returns (the
    learned one, or zero-shot when that did better on the clients' validation images:
    `selected`, `validation_accuracy`, see tasks.selection) and of the learned one (after every
    round too, when federated), zero-shot accuracy, each client's accuracy on its own label mix,
    and the API calls and examples that training and validation spent (in this process;
    validation_calls of them validating).
    Without experiment.step_size, each of selection.step_candidates is trained and the best on
    validation kept (step_size_scores). Test-set scoring goes through a separate, unbilled
    evaluator. `checkpoint` (federated runs): a file saved after every round, resumed from when
    it exists (see federated.run_simulation); one per step size tried. `privacy` (federated
    runs): {"clip_norm": C, "noise_multiplier": z} aggregates with client-level differential
    privacy (DPFedAvg); the choice between learned and zero-shot on validation, and of the step
    size, are outside its accounting."""
    if privacy is not None and experiment.method != "fedbbpt":
        raise ValueError("privacy applies to method 'fedbbpt' (the server's aggregation) only")
    if privacy is not None and (
        not isinstance(privacy, dict) or set(privacy) != {"clip_norm", "noise_multiplier"}
    ):
        raise ValueError("privacy must be a dict with exactly clip_norm and noise_multiplier")
    fed = VisionFederation(experiment, data, blackbox)
    zero_shot_predicted = fed.test_predictions()
    calls, examples = fed.blackbox.meter.calls, fed.blackbox.meter.examples

    def accuracy(predicted: np.ndarray) -> float:
        return round(fed.test_accuracy(predicted), 4)

    result = {
        "task": "vision",
        **asdict(experiment),
        "zero_shot_accuracy": accuracy(zero_shot_predicted),
        "step_size_scores": {},
        "accuracy_per_round": [],
    }
    if experiment.method == "zero_shot":
        return {
            **result,
            "accuracy": result["zero_shot_accuracy"],
            "learned_accuracy": result["zero_shot_accuracy"],
            "selected": [],
            "validation_accuracy": [],
            "api_calls": 0,
            "validation_calls": 0,
            "examples_sent": 0,
            "client_accuracy": fed.per_client([zero_shot_predicted] * len(fed.parts), fed.parts),
        }

    def train(step: float) -> dict:
        """The learned parameters of each model (one, or one per client for local_only),
        every step size from the same random state."""
        rng = copy.deepcopy(fed.rng)
        if experiment.method == "whitebox":
            w = tune_whitebox(
                fed.generator,
                fed.x,
                fed.y,
                fed.data.prompts,
                rng,
                steps=experiment.steps,
                batch_size=experiment.batch_size,
                lr=step,
            )
            return {"models": [w], "accuracy_per_round": []}
        if experiment.method == "fedbbpt":
            history = run_simulation(
                lambda context: fed.client(
                    context, fed.parts[context.client_id], experiment.local_steps, step
                ),
                experiment.clients,
                fed.strategy(privacy),
                experiment.rounds,
                seed=experiment.seed,
                checkpoint=selection.step_checkpoint(checkpoint, step, experiment.step_size),
                run_settings={
                    **{k: v for k, v in asdict(experiment).items() if k != "rounds"},
                    "step_size": step,
                },
            )
            run = {
                "models": [history.parameters[0]],
                "accuracy_per_round": [
                    round(a, 4) for a in history.to_dataframe("evaluations")["accuracy"]
                ],
            }
            if privacy is not None:  # the settings, and per round what clipping did
                rows = history.aggregates
                run["privacy"] = {
                    **privacy,
                    **{
                        k: [round(row[k], 4) for row in rows]
                        for k in ("clipped_fraction", "median_update_norm")
                    },
                }
            return run
        groups = [np.arange(len(fed.y))] if experiment.method == "centralized" else fed.parts
        share, extra = divmod(experiment.steps, len(groups))
        models = []
        for number, idx in enumerate(groups):
            steps = share + (number < extra)  # the whole budget, split as evenly as it goes
            if steps == 0:
                models.append(None)  # a client given no steps keeps zero-shot
                continue
            tuner = fed.client(Context(number), idx, steps, step)
            seed = int(rng.integers(2**31))
            (w,), _, _ = tuner.fit(tuner.get_parameters({}), {"seed": seed})
            models.append(w)
        return {"models": models, "accuracy_per_round": []}

    groups = selection.holder_groups(experiment.method, fed.held, fed.parts)
    zero_shot_scores: dict[int, float] = {}

    def zero_shot_score(number: int) -> float:
        """Zero-shot's validation score for a model's holders, asked once. Validation comes
        after training, so that a budget or a faulty API meets training as it would without."""
        if number not in zero_shot_scores:
            zero_shot_scores[number] = fed.validation_accuracy(groups[number])
        return zero_shot_scores[number]

    def validate(models, step: float) -> list[float]:
        return [
            zero_shot_score(number) if w is None else fed.validation_accuracy(group, w)
            for number, (w, group) in enumerate(zip(models, groups, strict=True))
        ]

    steps = selection.step_candidates(default_step_size(experiment), experiment.step_size)
    step, run, step_scores = selection.search_steps(steps, train, validate)
    control_scores = {ZERO_SHOT: [zero_shot_score(number) for number in range(len(groups))]}
    chosen, scores = selection.pick(run["validation"], control_scores)
    learned = [fed.test_predictions(w) for w in run["models"]]
    returned = [
        p if name == selection.LEARNED else zero_shot_predicted
        for p, name in zip(learned, chosen, strict=True)
    ]
    # One model for every client, except local-only where each client keeps its own.
    owned = returned if experiment.method == "local_only" else returned * len(fed.parts)
    return {
        **result,
        "step_size": step,
        "step_size_scores": step_scores if experiment.step_size is None else {},
        "accuracy": round(float(np.mean([fed.test_accuracy(p) for p in returned])), 4),
        "learned_accuracy": round(float(np.mean([fed.test_accuracy(p) for p in learned])), 4),
        "selected": chosen,
        "validation_accuracy": scores,
        "api_calls": fed.blackbox.meter.calls - calls,
        "validation_calls": fed.validation_calls,
        "examples_sent": fed.blackbox.meter.examples - examples,
        "accuracy_per_round": run["accuracy_per_round"],
        "client_accuracy": fed.per_client(owned, fed.parts),
        **({"privacy": run["privacy"]} if privacy is not None else {}),
    }
