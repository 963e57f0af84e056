"""One text experiment, any prompt method, at a stated API budget, beside its three controls.

Every tuned method gets the same budget: rounds x clients-per-round x local_calls API calls,
each one batch of batch_size texts (the linear probe needs only one call per client).
  method  fedbbpt      clients tune locally, the server aggregates (FedAvg; FedBPT for soft_cma)
          centralized  one tuner with all the clients' texts pooled, the whole budget
          local_only   each client tunes alone on its share; mean of their accuracies
  prompt  bdpl         BDPL: `prompt_length` words from `candidates` candidate words drawn at
                       random from the public vocabulary, or the whole words nearest the class
                       names (candidate_set="topical"); neither reads any client text
          soft_cma     BBT's soft prompt (the manual prompt's tokens + A z) by CMA-ES;
                       federated, FedBPT's server runs a global CMA-ES over the clients' means
          soft_spsa    the same soft prompt by the kit's SPSA-GC
          probe        a linear head on the API's embeddings (not prompt tuning)
blackbox is "minilm" (the embedding API, the fast default), "smollm2" (the causal-LM
verbaliser) or any Hugging Face name or folder (a verbaliser, fed soft prompts as input
embeddings); the probe needs the embedding API. The controls, scored in every result: the
empty prompt, the data set's manual prompt, and `prompt_length` random words. Each run also
validates on its clients' held-out texts and returns the learned prompt only if it beats the
controls there (tasks.selection). Test texts are scored by a separate, unbilled evaluator.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

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
from ..datasets.few_shot import per_class_indices
from ..datasets.text import TextDataset, load_text
from ..evolution import CMAESConfig
from ..federated import Context, FedAvg, partition, run_simulation
from ..federated.fedbpt import FedBPT
from ..policy_gradient import BDPLConfig, best_prompt
from ..prompts.discrete import candidate_vocabulary, prompt_text, random_words
from ..prompts.soft import SoftPrompt
from ..validation import check_choice, check_count, check_run_settings
from . import selection
from .text import label_embeddings, prompted_logits, soft_class_logits
from .text_clients import DiscretePromptClient, ProbeClient, SoftPromptClient, probe_logits
from .vision import client_accuracy

METHODS = ("fedbbpt", "centralized", "local_only")
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
class TextExperiment:
    """Everything that defines a run; the same experiment and seed give the same numbers."""

    dataset: str = "bbc_news"
    blackbox: str = "minilm"
    method: str = "fedbbpt"
    prompt: str = "bdpl"
    clients: int = 5
    rounds: int = 5
    local_calls: int = 20
    batch_size: int = 16
    shots: int = 16
    partition: str = "iid"
    alpha: float = 0.5
    fraction_fit: float = 1.0
    prompt_length: int = 5
    candidates: int = 100
    candidate_set: str = "random"
    samples: int = 10
    popsize: int = 10
    intrinsic_dim: int = 50
    step_size: float | None = None
    seed: int = 0

    def __post_init__(self):
        check_choice("method", self.method, METHODS)
        check_choice("prompt", self.prompt, PROMPTS)
        check_choice("partition", self.partition, partition.SCHEMES)
        check_choice("candidate_set", self.candidate_set, CANDIDATE_SETS)
        if not isinstance(self.blackbox, str) or not self.blackbox.strip():
            raise ValueError(
                f"blackbox must be 'minilm', 'smollm2' or a model name, got {self.blackbox!r}"
            )
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
        for name in ("clients", "rounds", "local_calls", "batch_size", "shots", "prompt_length"):
            check_count(name, getattr(self, name))
        for name in ("candidates", "samples", "popsize", "intrinsic_dim"):
            check_count(name, getattr(self, name), minimum=2)
        check_run_settings(self)
        per_step = self.calls_per_step
        if self.local_calls % per_step:
            raise ValueError(
                f"local_calls ({self.local_calls}) must be a multiple of the {per_step} calls "
                f"one {self.prompt} step takes"
            )

    @property
    def calls_per_step(self) -> int:
        """API calls of one optimiser step (BDPL's samples, CMA-ES's population, SPSA-GC's
        2 x SP_AVG; the probe's one call)."""
        steps = {"bdpl": self.samples, "soft_cma": self.popsize, "soft_spsa": 2 * SP_AVG}
        return steps.get(self.prompt, 1)

    @property
    def calls(self) -> int:
        """API calls of the whole budget (prompt methods; the probe spends far fewer)."""
        per_round = FedAvg(fraction_fit=self.fraction_fit).num_fit_clients(self.clients)
        return self.rounds * per_round * self.local_calls


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


def run_text(
    experiment: TextExperiment,
    data: TextDataset | None = None,
    api: BlackBox | None = None,
    evaluator: BlackBox | None = None,
    checkpoint=None,
) -> dict:
    """Run one experiment; return its settings, the test accuracy of the prompt it returns
    (the learned one, or a control that beat it on the clients' validation texts: `selected`,
    `validation_accuracy`, see tasks.selection) and of the learned one (after every round too,
    when federated), each client's accuracy on its own label mix, the controls' accuracies,
    the API calls and examples that training and validation spent (and saved, when `api`
    caches; validation_calls of them validating), and the learned prompt where it has words.
    Without experiment.step_size, each of selection.step_candidates is trained and the best on
    validation kept (step_size_scores).
    `evaluator` scores the test set unbilled (a caching one can be shared by runs on the same
    data, as a sweep does). `checkpoint` (federated runs): a file saved after every round,
    resumed from when it exists (see federated.run_simulation); one per step size tried."""
    data = data if data is not None else load_text(experiment.dataset)
    if experiment.blackbox == EMBEDDING and isinstance(data.train_texts[0], tuple):
        raise ValueError(
            f"data set {data.name!r} holds sentence pairs, which the embedding API cannot "
            "take: choose a verbaliser blackbox (e.g. 'FacebookAI/roberta-large')"
        )
    api = api if api is not None else text_api(experiment.blackbox, data)
    if evaluator is None:  # caching: the final score repeats the last round's
        evaluator = text_api(experiment.blackbox, data, cache=True)
    rng = np.random.default_rng(experiment.seed)
    index = per_class_indices(data.y_train, len(data.class_names), experiment.shots, rng)
    texts, labels = [data.train_texts[i] for i in index], data.y_train[index]
    parts = partition.partition(
        labels, experiment.clients, experiment.partition, rng, alpha=experiment.alpha
    )
    held = selection.validation_shares(data.y_train, index, parts, experiment.seed)
    test_texts, test_labels = list(data.test_texts), data.y_test
    classes = data.prompts
    kind = experiment.prompt
    calls, examples = api.meter.calls, api.meter.examples
    saved_calls, saved_examples = api.meter.saved_calls, api.meter.saved_examples

    words, class_embeddings = [], {}
    if kind == "bdpl":
        words = candidate_words(
            data, experiment.candidates, experiment.candidate_set, experiment.seed
        )
    elif isinstance(api, EmbeddingBlackBox) and kind != "probe":  # asked once of each
        class_embeddings = {id(evaluator): label_embeddings(evaluator, classes)}
        class_embeddings[id(api)] = label_embeddings(api, classes)

    @functools.cache
    def soft_prompt(step: float) -> SoftPrompt:
        """CMA-ES's step size is BBT's alpha, the projection's scale, at BBT's sigma of 1
        (CMA-ES is scale-invariant: a larger sigma with the same alpha would search alike)."""
        alpha = step if kind == "soft_cma" else 1.0
        return soft_prompt_for(
            data, experiment.intrinsic_dim, experiment.seed, alpha, BBT_SIGMA, api
        )

    def logits(blackbox, some_texts, parameters, step: float) -> np.ndarray:
        if kind == "bdpl":
            prompt = prompt_text(words, best_prompt(parameters[0]))
            return prompted_logits(blackbox, some_texts, classes, prompt)
        if kind == "probe":
            return probe_logits(parameters, blackbox.query(list(some_texts)))
        prompt = soft_prompt(step).embeddings(parameters[0])
        classes_seen = class_embeddings.get(id(blackbox))  # None for a verbaliser
        return soft_class_logits(blackbox, some_texts, classes_seen, prompt)

    def learned_words(parameters) -> str:
        return prompt_text(words, best_prompt(parameters[0])) if kind == "bdpl" else ""

    def client(step: float, context: Context, idx: np.ndarray, local_calls: int):
        if kind == "bdpl":
            config = BDPLConfig(lr=step, samples=experiment.samples)
            options = {"candidates": words, "positions": experiment.prompt_length, "config": config}
            client_class = DiscretePromptClient
        elif kind == "probe":
            options, client_class = {"lr": step}, ProbeClient
        else:
            optimiser = (
                CMAESConfig(popsize=experiment.popsize, sigma=BBT_SIGMA)
                if kind == "soft_cma"
                else zo.SPSAGCConfig(a=step)
            )
            options = {"prompt": soft_prompt(step), "optimiser": optimiser}
            client_class = SoftPromptClient
        member_texts = [texts[i] for i in idx]
        return client_class(
            context, api, member_texts, labels[idx], classes, local_calls,
            experiment.batch_size, **options,
        )  # fmt: skip

    def test_predictions(parameters, step: float) -> np.ndarray:
        return logits(evaluator, test_texts, parameters, step).argmax(1)

    def train(step: float) -> dict:
        """The learned parameters of each model (one, or one per client for local_only)."""
        if experiment.method != "fedbbpt":
            groups = [np.arange(len(labels))] if experiment.method == "centralized" else parts
            share = experiment.calls // len(groups)
            models, train_loss = [], []
            for number, idx in enumerate(groups):
                tuner = client(step, Context(number), idx, share)
                seed = int(np.random.default_rng([experiment.seed, number]).integers(2**31))
                parameters, _, metrics = tuner.fit(tuner.get_parameters({}), {"seed": seed})
                models.append(parameters)
                train_loss.append(round(metrics["train_loss"], 4))
            return {"models": models, "train_loss": train_loss, "accuracy_per_round": []}

        def evaluate(_round: int, parameters) -> dict:
            predicted = test_predictions(parameters, step)
            return {"accuracy": float((predicted == test_labels).mean())}

        initial = None
        if kind == "soft_cma":
            strategy = FedBPT(
                num_clients=experiment.clients,
                dimension=experiment.intrinsic_dim,
                sigma=BBT_SIGMA,
                local_popsize=experiment.popsize,
                seed=experiment.seed + 1,  # cma reads seed 0 as "from the clock"
                fraction_fit=experiment.fraction_fit,
                evaluate_fn=evaluate,
            )
            initial = strategy.parameters()
        else:
            strategy = FedAvg(fraction_fit=experiment.fraction_fit, evaluate_fn=evaluate)
        history = run_simulation(
            lambda context: client(step, context, parts[context.client_id], experiment.local_calls),
            experiment.clients,
            strategy,
            experiment.rounds,
            seed=experiment.seed,
            initial_parameters=initial,
            checkpoint=selection.step_checkpoint(checkpoint, step, experiment.step_size),
            run_settings={
                **{k: v for k, v in asdict(experiment).items() if k != "rounds"},
                "step_size": step,
            },
        )
        rounds = history.to_dataframe()
        return {
            "models": [history.parameters],
            "train_loss": rounds["train_loss"].iloc[1:].round(4).tolist(),  # round 0 evaluates
            "accuracy_per_round": rounds["accuracy"].round(4).tolist(),
        }

    holders = [
        [([data.train_texts[i] for i in v], data.y_train[v], weight) for v, weight in group]
        for group in selection.holder_groups(experiment.method, held, parts)
    ]

    spent = {"validation_calls": 0}

    def validated(predict, group) -> float:
        before = api.meter.calls
        score = selection.validation_accuracy(predict, group)
        spent["validation_calls"] += api.meter.calls - before
        return score

    def validate(models, step: float) -> list[float]:
        return [
            validated(lambda x, y, p=parameters: logits(api, x, p, step).argmax(1), group)
            for parameters, group in zip(models, holders, strict=True)
        ]

    control_words = control_prompts(data, experiment.prompt_length, experiment.seed)
    control_scores = {
        name: [
            validated(lambda x, y, p=prompt: prompted_logits(api, x, classes, p).argmax(1), group)
            for group in holders
        ]
        for name, prompt in control_words.items()
    }
    steps = selection.step_candidates(STEP_SIZES[kind], experiment.step_size)
    step, run, step_scores = selection.search_steps(steps, train, validate)

    control_predictions = {
        name: prompted_logits(evaluator, test_texts, classes, prompt).argmax(1)
        for name, prompt in control_words.items()
    }
    chosen, scores = selection.pick(run["validation"], control_scores)
    learned = [test_predictions(parameters, step) for parameters in run["models"]]
    returned = [
        p if name == selection.LEARNED else control_predictions[name]
        for p, name in zip(learned, chosen, strict=True)
    ]

    def accuracy(predicted: np.ndarray) -> float:
        return float((predicted == test_labels).mean())

    # One model for every client, except local-only where each client keeps its own.
    owned = returned if experiment.method == "local_only" else returned * len(parts)
    return {
        "task": "text",
        **asdict(experiment),
        "step_size": step,
        "step_size_scores": step_scores if experiment.step_size is None else {},
        "accuracy": round(float(np.mean([accuracy(p) for p in returned])), 4),
        "learned_accuracy": round(float(np.mean([accuracy(p) for p in learned])), 4),
        "selected": chosen,
        "validation_accuracy": scores,
        "zero_shot_accuracy": round(accuracy(control_predictions["manual"]), 4),
        "controls": {name: round(accuracy(p), 4) for name, p in control_predictions.items()},
        "control_prompts": control_words,
        "api_calls": api.meter.calls - calls,
        "validation_calls": spent["validation_calls"],
        "examples_sent": api.meter.examples - examples,
        "saved_calls": api.meter.saved_calls - saved_calls,
        "saved_examples": api.meter.saved_examples - saved_examples,
        "train_loss": run["train_loss"],
        "accuracy_per_round": run["accuracy_per_round"],
        "client_accuracy": [
            round(client_accuracy(predicted, test_labels, labels[idx], len(classes)), 4)
            for predicted, idx in zip(owned, parts, strict=True)
        ],
        "learned_prompts": [learned_words(parameters) for parameters in run["models"]],
    }
