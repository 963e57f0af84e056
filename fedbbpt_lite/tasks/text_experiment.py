"""Text experiments: BDPL's word prompts, BBT's soft prompts (the manual prompt's tokens + A z, by
CMA-ES, federated by FedBPT's server, or by SPSA-GC) and a linear probe, run by tasks.engine.

The budget is rounds x clients-per-round x local_calls API calls of batch_size texts (the probe
needs one call per client). BDPL's candidate words are chosen without reading any client text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import zo
from ..blackbox.base import BlackBox
from ..blackbox.embedding import EmbeddingBlackBox
from ..blackbox.language_model import (
    LanguageModelBlackBox,
    language_model_kind,
    verbaliser_template,
)
from ..blackbox.text_encoder import shared_text_encoder
from ..datasets.text_sets import TextDataset, load_text
from ..evolution import CMAESConfig
from ..federated import ClientContext
from ..federated.fedbpt import FedBPT
from ..policy_gradient import BDPLConfig, best_prompt
from ..prompts.discrete import candidate_vocabulary, prompt_text, random_words
from ..prompts.soft import SoftPrompt
from ..validation import check_choice, check_count
from .engine import Experiment, Family, setting
from .text import label_embeddings, prompted_logits, soft_class_logits
from .text_clients import DiscretePromptClient, ProbeClient, SoftPromptClient, probe_logits

PROMPTS = ("bdpl", "soft_cma", "soft_spsa", "probe")
CONTROLS = ("empty", "manual", "random")
EMBEDDING = "minilm"
CANDIDATE_SETS = ("topical", "random")
# BDPL's AdamW lr, SPSA-GC's a, BBT's alpha (the soft prompt's scale under CMA-ES), the
# probe's gradient-descent lr.
STEP_SIZES = {"bdpl": 0.03, "soft_spsa": 1.0, "soft_cma": 1.0, "probe": 30.0}
BBT_SIGMA = 1.0  # CMA-ES's initial sigma in BBT and FedBPT
SP_AVG = zo.SPSAGCConfig().sp_avg  # the soft prompt's SPSA-GC draws per step


@dataclass(frozen=True)
class TextExperiment(Experiment):
    """A text run's settings."""

    dataset: str = setting("bbc_news", "a text data set by name")
    blackbox: str = setting(
        EMBEDDING, "minilm (embedding API), smollm2, or a language model's name or folder"
    )
    prompt: str = setting("bdpl", "the prompt method: bdpl, soft_cma, soft_spsa or probe")
    local_calls: int = setting(20, "API calls per client per round")
    prompt_length: int = setting(5, "words (BDPL) per prompt")
    candidates: int = setting(100, "BDPL's candidate words")
    candidate_set: str = setting("random", "BDPL's candidates: random or topical words")
    samples: int = setting(10, "BDPL's sampled prompts per step")
    popsize: int = setting(10, "CMA-ES's population")
    intrinsic_dim: int = setting(50, "the soft prompt's intrinsic dimension")

    task = "text"
    variant = "prompt"
    counts = (*Experiment.counts, "local_calls", "prompt_length")

    def __post_init__(self):
        super().__post_init__()
        check_choice("prompt", self.prompt, PROMPTS)
        check_choice("candidate_set", self.candidate_set, CANDIDATE_SETS)
        if self.blackbox == "miniclip":
            raise ValueError(
                f"blackbox {self.blackbox!r} is an image API; text takes 'minilm', 'smollm2' or "
                "a language model's name or folder"
            )
        if self.blackbox != EMBEDDING and self.prompt == "probe":
            raise ValueError(
                f"prompt 'probe' needs the embedding API (blackbox={EMBEDDING!r}); verbaliser "
                "black boxes take word prompts (bdpl) and soft prompts (soft_cma, soft_spsa)"
            )
        if self.clip_norm is not None and self.prompt == "soft_cma":
            raise ValueError("clip_norm (privacy) applies to FedAvg, not soft_cma's FedBPT server")
        for name in ("candidates", "samples", "popsize", "intrinsic_dim"):
            check_count(name, getattr(self, name), minimum=2)
        per_step = self.calls_per_step
        if self.local_calls % per_step:
            raise ValueError(
                f"local_calls ({self.local_calls}) must be a multiple of the {per_step} calls "
                f"one {self.prompt} step takes"
            )

    @property
    def calls_per_step(self) -> int:
        """API calls of one optimiser step."""
        steps = {"bdpl": self.samples, "soft_cma": self.popsize, "soft_spsa": 2 * SP_AVG}
        return steps.get(self.prompt, 1)

    @property
    def round_steps(self) -> int:
        return self.local_calls // self.calls_per_step

    @property
    def default_step(self) -> float:
        return STEP_SIZES[self.prompt]

    @property
    def calls(self) -> int:
        """API calls of the whole budget (prompt methods; the probe spends far fewer)."""
        return self.steps * self.calls_per_step

    def family(self, data=None, api=None, evaluator=None) -> TextFamily:
        return TextFamily(self, data, api, evaluator)


def candidate_words(
    data: TextDataset, size: int, kind: str = "topical", seed: int = 0
) -> list[str]:
    """BDPL's candidates for a data set, from the public vocabulary and class names only:
    the nearest whole words to the class names, or `size` whole words drawn from `seed`."""
    check_choice("candidate_set", kind, CANDIDATE_SETS)
    encoder = shared_text_encoder()
    if kind == "random":
        return random_words(encoder.vocabulary, size, np.random.default_rng([seed, 1]))
    class_tokens = [encoder.tokens(name) for name in data.class_names]
    return candidate_vocabulary(
        encoder.vocabulary, encoder.token_embeddings.numpy(), class_tokens, size
    )


def soft_prompt_for(
    data: TextDataset,
    intrinsic_dim: int,
    seed: int,
    alpha: float = 1.0,
    sigma: float = 1.0,
    api: BlackBox | None = None,
) -> SoftPrompt:
    """BBT's soft prompt started at the manual prompt's token embeddings (MiniLM's, or a
    verbaliser api's own), its projection's std alpha x the embeddings' std / (sqrt(d) x
    sigma), sigma being CMA-ES's initial one."""
    if not data.manual_prompt.strip():
        raise ValueError(f"data set {data.name!r} has no manual_prompt to start a soft prompt")
    if isinstance(api, LanguageModelBlackBox):
        start, std = api.word_embeddings(data.manual_prompt), api.embedding_std()
    else:
        encoder = shared_text_encoder()
        start = encoder.token_embeddings[encoder.tokens(data.manual_prompt)].numpy()
        std = float(encoder.token_embeddings.std())
    return SoftPrompt(start, intrinsic_dim, scale=alpha * std, seed=seed, sigma=sigma)


def text_api(name: str, data: TextDataset, **api_options) -> BlackBox:
    """The black box called `name`, set up for a data set's classes (a verbaliser scores the
    class names as label words after the data set's template)."""
    if name == EMBEDDING:
        return EmbeddingBlackBox(**api_options)
    kind = language_model_kind(name)[2]
    template = verbaliser_template(data.template, kind)
    return LanguageModelBlackBox(list(data.class_names), template, name, **api_options)


def control_prompts(data: TextDataset, length: int, seed: int) -> dict[str, str]:
    """The three controls every result is reported beside."""
    random = random_words(shared_text_encoder().vocabulary, length, np.random.default_rng(seed))
    return {"empty": "", "manual": data.manual_prompt, "random": " ".join(random)}


class TextFamily(Family):
    """A text experiment's pieces; zero-shot is the manual prompt. `evaluator` scores the test set
    unbilled (a caching one can be shared by runs on the same data, as a sweep does)."""

    controls = CONTROLS
    zero_shot = "manual"

    def __init__(
        self,
        experiment: TextExperiment,
        data: TextDataset | None = None,
        api: BlackBox | None = None,
        evaluator: BlackBox | None = None,
    ):
        data = data if data is not None else load_text(experiment.dataset)
        if experiment.blackbox == EMBEDDING and isinstance(data.train_texts[0], tuple):
            raise ValueError(
                f"data set {data.name!r} holds sentence pairs, which the embedding API cannot "
                "take: choose a verbaliser blackbox (e.g. 'FacebookAI/roberta-large')"
            )
        precision = experiment.precision
        made = functools.partial(text_api, experiment.blackbox, data, precision=precision)
        api = api if api is not None else made()
        if evaluator is None:  # caching: the final score repeats the last round's
            evaluator = made(cache=True)
        super().__init__(experiment, data, api, evaluator, data.y_train, len(data.class_names))
        self.test_inputs, self.test_labels = list(data.test_texts), data.y_test
        self.kind = experiment.prompt
        self.control_words = control_prompts(data, experiment.prompt_length, experiment.seed)
        self.words = []
        if self.kind == "bdpl":
            self.words = candidate_words(
                data, experiment.candidates, experiment.candidate_set, experiment.seed
            )
        self._soft_prompts = {}
        # a soft prompt goes in front of inputs only: the class descriptions' embeddings are
        # asked once of each embedding API (None: a verbaliser scores its label words itself)
        self._class_embeddings = {
            id(blackbox): label_embeddings(blackbox, data.prompts)
            for blackbox in (evaluator, api)
            if isinstance(blackbox, EmbeddingBlackBox)
            and self.kind.startswith("soft")
            and experiment.method != "zero_shot"
        }

    def examples(self, pool_index: np.ndarray) -> list:
        return [self.data.train_texts[i] for i in pool_index]

    def soft_prompt(self, step: float) -> SoftPrompt:
        """The soft prompt at a step size: CMA-ES's is BBT's alpha, the projection's scale, at
        BBT's sigma of 1 (CMA-ES is scale-invariant, so a larger sigma would search alike)."""
        if step not in self._soft_prompts:
            alpha = step if self.kind == "soft_cma" else 1.0
            self._soft_prompts[step] = soft_prompt_for(
                self.data, self.experiment.intrinsic_dim, self.experiment.seed, alpha,
                BBT_SIGMA, self.api,
            )  # fmt: skip
        return self._soft_prompts[step]

    def predict(self, blackbox, inputs, parameters, step: float) -> np.ndarray:
        if self.kind == "bdpl":
            return self.predict_words(blackbox, inputs, self.learned_words(parameters))
        if self.kind == "probe":
            return probe_logits(parameters, blackbox.query(list(inputs))).argmax(1)
        prompt = self.soft_prompt(step).embeddings(parameters[0])
        classes = self._class_embeddings.get(id(blackbox))
        return soft_class_logits(blackbox, inputs, classes, prompt).argmax(1)

    def predict_words(self, blackbox, inputs, prompt: str) -> np.ndarray:
        return prompted_logits(blackbox, inputs, self.data.prompts, prompt).argmax(1)

    def predict_control(self, blackbox, inputs, name: str) -> np.ndarray:
        return self.predict_words(blackbox, inputs, self.control_words[name])

    def learned_words(self, parameters) -> str:
        return prompt_text(self.words, best_prompt(parameters[0])) if self.kind == "bdpl" else ""

    def client(self, context: ClientContext, idx: np.ndarray, steps: int, step: float):
        experiment = self.experiment
        if self.kind == "bdpl":
            config = BDPLConfig(lr=step, samples=experiment.samples)
            options = {
                "candidates": self.words,
                "positions": experiment.prompt_length,
                "config": config,
            }
            client_class = DiscretePromptClient
        elif self.kind == "probe":
            options, client_class = {"lr": step}, ProbeClient
        else:
            optimiser = (
                CMAESConfig(popsize=experiment.popsize, sigma=BBT_SIGMA)
                if self.kind == "soft_cma"
                else zo.SPSAGCConfig(a=step)
            )
            options = {"prompt": self.soft_prompt(step), "optimiser": optimiser}
            client_class = SoftPromptClient
        return client_class(
            context, self.api, self.examples(self.index[idx]), self.labels[idx],
            self.data.prompts, steps * experiment.calls_per_step, experiment.batch_size,
            **options,
        )  # fmt: skip

    def strategy(self, step: float, evaluate, privacy: dict | None = None):
        """FedAvg (DPFedAvg with privacy), or FedBPT's global CMA-ES for soft_cma."""
        if self.kind != "soft_cma":
            return super().strategy(step, evaluate, privacy)
        experiment = self.experiment
        strategy = FedBPT(
            num_clients=experiment.clients,
            dimension=experiment.intrinsic_dim,
            sigma=BBT_SIGMA,
            local_popsize=experiment.popsize,
            seed=experiment.seed + 1,  # cma reads seed 0 as "from the clock"
            fraction_fit=experiment.fraction_fit,
            evaluate_fn=evaluate,
        )
        return strategy, strategy.parameters()

    def record(self, models: list) -> dict:
        return {
            "control_prompts": self.control_words,
            "learned_prompts": [self.learned_words(p) if p is not None else "" for p in models],
        }
