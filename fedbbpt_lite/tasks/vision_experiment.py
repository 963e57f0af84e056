"""Vision experiments: BlackVIP's visual prompts; an SPSA-GC step is one call of 2 x SP_AVG batches.

The API is MiniCLIP (the kit's offline stand-in) or CLIP, where prompts live in CLIP's normalised
pixel space and the Coordinator starts as BlackVIP's (openai/clip-vit-base-patch16: its setting),
so that a data set's `tuning` (BlackVIP's c, gamma, beta and eps) means what it does in BlackVIP.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch

from .. import zo
from ..blackbox.base import BlackBox
from ..blackbox.clip import CLIPBlackBox
from ..blackbox.miniclip import MiniCLIPBlackBox
from ..datasets.base import VisionDataset, unit_images
from ..datasets.few_shot import per_class_indices
from ..datasets.vision_sets import load_vision
from ..federated import ClientContext
from ..prompts import Coordinator, GridPrompt, PaddingPrompt
from ..validation import check_choice
from .engine import METHODS as SHARED_METHODS
from .engine import Experiment, Family, setting
from .vision import predict
from .vision_client import PromptClient
from .whitebox import tune_whitebox

METHODS = (*SHARED_METHODS, "whitebox")
GENERATORS = ("grid", "padding", "coordinator")
# SPSA-GC step size a per generator (a small additive prompt takes larger steps).
STEP_SIZES = {"grid": 0.1, "padding": 0.1, "coordinator": 0.003}
WHITEBOX_LR = {"grid": 0.05, "padding": 0.05, "coordinator": 0.01}
MINICLIP = "miniclip"
ZERO_SHOT = "zero_shot"  # the control a tuned prompt must beat on validation
TEST_CHUNK = 1000  # test images scored per evaluator call (the Coordinator normalises per call)


@dataclass(frozen=True)
class VisionExperiment(Experiment):
    """A vision run's settings."""

    dataset: str = setting("mnist_inverted", "a vision data set by name")
    blackbox: str = setting(MINICLIP, "miniclip, or a CLIP model's Hugging Face name or folder")
    method: str = setting("fedbbpt", "zero_shot, fedbbpt, centralized, local_only or whitebox")
    clients: int = setting(10, "clients of the federation")
    rounds: int = setting(10, "federated rounds")
    batch_size: int = setting(32, "images per SPSA-GC evaluation")
    generator: str = setting("grid", "the prompt generator: grid, padding or coordinator")
    local_steps: int = setting(5, "SPSA-GC steps per client per round")

    task = "vision"
    variant = "generator"
    methods = METHODS
    counts = (*Experiment.counts, "local_steps")

    def __post_init__(self):
        super().__post_init__()
        check_choice("generator", self.generator, GENERATORS)
        if self.blackbox in ("minilm", "smollm2"):
            raise ValueError(
                f"blackbox {self.blackbox!r} is a text API; vision takes {MINICLIP!r} or a CLIP "
                "model's name or folder"
            )
        if self.method == "whitebox" and self.blackbox != MINICLIP:
            raise ValueError(f"method 'whitebox' needs the weights: blackbox={MINICLIP!r} only")

    @property
    def round_steps(self) -> int:
        return self.local_steps

    @property
    def default_step(self) -> float:
        """SPSA-GC's a for the generator, or Adam's learning rate for whitebox."""
        table = WHITEBOX_LR if self.method == "whitebox" else STEP_SIZES
        return table[self.generator]

    def family(self, data=None, api=None, evaluator=None) -> VisionFamily:
        return VisionFamily(self, data, api, evaluator)


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


class VisionFamily(Family):
    """A vision experiment's pieces, the same wherever its clients run (tasks.engine in process,
    fedbbpt_lite.flower as Flower apps). Its one control is zero-shot: no prompt."""

    controls = (ZERO_SHOT,)
    zero_shot = ZERO_SHOT

    def __init__(
        self,
        experiment: VisionExperiment,
        data: VisionDataset | None = None,
        api: BlackBox | None = None,
        evaluator: BlackBox | None = None,
    ):
        data = data if data is not None else load_vision(experiment.dataset)
        made = functools.partial(vision_api, experiment.blackbox, precision=experiment.precision)
        api = api if api is not None else made()
        evaluator = evaluator if evaluator is not None else made()
        size = getattr(evaluator, "image_size", 28)
        if tuple(data.x_train.shape[-2:]) != (size, size):
            raise ValueError(
                f"data set {data.name!r} holds {data.x_train.shape[-1]}-pixel images "
                f"but blackbox {experiment.blackbox!r} takes {size}-pixel ones"
            )
        pool_labels = data.y_train.numpy()
        super().__init__(experiment, data, api, evaluator, pool_labels, len(data.class_names))
        # a GPU black box's images live on its device: prompts are drawn there, never copied back
        self.device = getattr(evaluator, "device", torch.device("cpu"))
        self.x = self.examples(self.index)
        self.test_inputs, self.test_labels = data.x_test, data.y_test.numpy()
        channels, size = data.x_train.shape[1], data.x_train.shape[-1]
        pixel_std = getattr(evaluator, "pixel_std", None)
        self.generator = make_generator(
            experiment.generator,
            channels,
            experiment.seed,
            size,
            data.tuning.get("eps", 1.0),
            pixel_std,
        )

    def examples(self, pool_index: np.ndarray) -> torch.Tensor:
        return pool_images(self.data, pool_index).to(self.device)

    def _predict(self, blackbox, images, prompt, w) -> np.ndarray:
        # the test set arrives as stored pixels, in chunks; validation images as [0, 1] pixels
        if images is not self.test_inputs:
            return predict(blackbox, images, self.data.prompts, prompt, w)
        return np.concatenate(
            [
                predict(blackbox, unit_images(chunk.to(self.device)), self.data.prompts, prompt, w)
                for chunk in images.split(TEST_CHUNK)
            ]
        )

    def predict(self, blackbox, inputs, parameters, step: float) -> np.ndarray:
        return self._predict(blackbox, inputs, self.generator, parameters[0])

    def predict_control(self, blackbox, inputs, name: str) -> np.ndarray:
        return self._predict(blackbox, inputs, None, None)

    def optimiser(self, step_size: float) -> zo.SPSAGCConfig:
        """SPSA-GC with a = step_size and the data set's own c, gamma and beta."""
        tuning = {k: v for k, v in self.data.tuning.items() if k in ("c", "gamma", "beta")}
        return zo.SPSAGCConfig(a=step_size, **tuning)

    def client(
        self, context: ClientContext, idx: np.ndarray, steps: int, step: float
    ) -> PromptClient:
        return PromptClient(
            context,
            self.api,
            self.generator,
            self.x[torch.from_numpy(idx)],
            self.labels[idx],
            self.data.prompts,
            self.optimiser(step),
            steps,
            self.experiment.batch_size,
        )

    def strategy(self, step: float, evaluate, privacy: dict | None = None):
        return super().strategy(step, evaluate, privacy)[0], [self.generator.init_params()]

    def train_own(self, step: float) -> list[np.ndarray]:
        """White-box Adam through MiniCLIP's weights, the whole budget's steps."""
        w = tune_whitebox(
            self.generator,
            self.x,
            self.labels,
            self.data.prompts,
            copy.deepcopy(self.rng),
            steps=self.experiment.steps,
            batch_size=self.experiment.batch_size,
            lr=step,
        )
        return [w]
