"""Fed-BBPT text clients: each tunes a prompt (or a probe) on its private texts through a text API.

Every fit starts from the server's parameters and spends `local_calls` API calls on mini-batches
of the client's texts: BDPL steps take `samples` calls (one per sampled prompt), CMA-ES
generations `popsize`, SPSA-GC steps 2 x sp_avg; the probe (not prompt tuning) makes one, ever.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .. import zo
from ..blackbox.base import BlackBox
from ..blackbox.language_model import LanguageModelBlackBox
from ..evolution import CMAESConfig, initial_covariance, run_generations, start_strategy
from ..federated.client import Client, ClientContext
from ..federated.fedbpt import MEAN_LOSS, SIGMA_SQUARE_SUM
from ..policy_gradient import BDPLConfig, BDPLState, bdpl_step, uniform_theta
from ..prompts.discrete import prompt_text
from ..prompts.soft import SoftPrompt
from ..validation import check_count, check_real
from .text import SCALE, label_embeddings, prompted_logits, soft_class_logits
from .vision import loss_from_outputs


class _TextClient(Client):
    """Shared by the text clients: private texts, the API, the call budget per round."""

    def __init__(
        self,
        context: ClientContext,
        api: BlackBox,
        texts,
        labels,
        class_prompts: list[str],
        local_calls: int,
        batch_size: int = 16,
    ):
        if len(texts) == 0:
            raise ValueError(f"client {context.client_id} holds no texts")
        labels = np.asarray(labels)
        if labels.shape != (len(texts),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be {len(texts)} integers, got shape {labels.shape}")
        self.context, self.api = context, api
        self.texts, self.labels, self.class_prompts = list(texts), labels, list(class_prompts)
        self.local_calls = check_count("local_calls", local_calls)
        self.batch_size = check_count("batch_size", batch_size)

    def _batch(self, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
        size = min(self.batch_size, len(self.labels))
        index = np.sort(rng.choice(len(self.labels), size=size, replace=False))
        return [self.texts[i] for i in index], self.labels[index]

    def _steps(self, calls_per_step: int) -> int:
        if self.local_calls % calls_per_step:
            raise ValueError(
                f"local_calls ({self.local_calls}) must be a multiple of the {calls_per_step} "
                "calls one step takes"
            )
        return self.local_calls // calls_per_step

    @abstractmethod
    def _train(
        self, parameters: list[np.ndarray], rng, config: dict
    ) -> tuple[list[np.ndarray], dict]:
        """Local training from the server's parameters: (new parameters, metrics with the
        mean training loss as train_loss)."""

    def fit(self, parameters, config):
        rng = np.random.default_rng(config["seed"])
        calls, examples = self.api.meter.calls, self.api.meter.examples
        parameters = [np.asarray(p, dtype=np.float64) for p in parameters]
        parameters, metrics = self._train(parameters, rng, config)
        metrics = {
            **metrics,
            "api_calls": self.api.meter.calls - calls,
            "examples_sent": self.api.meter.examples - examples,
        }
        return parameters, len(self.labels), metrics


class DiscretePromptClient(_TextClient):
    """BDPL on the client: theta (positions x candidates), AdamW moments in the ClientContext."""

    def __init__(self, *args, candidates: list[str], positions: int, config: BDPLConfig, **kw):
        super().__init__(*args, **kw)
        self.candidates, self.config = list(candidates), config
        self.positions = check_count("positions", positions)

    def get_parameters(self, config: dict) -> list[np.ndarray]:
        return [uniform_theta(self.positions, len(self.candidates))]

    def _train(self, parameters, rng, config):
        (theta,) = parameters
        state = self.context.state.get("bdpl", BDPLState())
        losses = []
        for _ in range(self._steps(self.config.samples)):
            texts, labels = self._batch(rng)

            def loss_of_prompts(prompts, texts=texts, labels=labels):
                return [
                    loss_from_outputs(
                        prompted_logits(
                            self.api, texts, self.class_prompts, prompt_text(self.candidates, p)
                        ),
                        labels,
                        "logits",
                    )
                    for p in prompts
                ]

            theta, state, info = bdpl_step(theta, loss_of_prompts, state, self.config, rng)
            losses.append(info["loss_mean"])
        self.context.state["bdpl"] = state
        return [theta], {"train_loss": float(np.mean(losses))}


class SoftPromptClient(_TextClient):
    """BBT's soft prompt z by CMA-ES (parameters [z, [sigma], C]) or SPSA-GC ([z]). A CMA-ES
    generation scores a fresh mini-batch, so every method's calls are of batch_size texts; BBT and
    FedBPT score the whole few-shot set, all a client holds in the text table's federated runs."""

    def __init__(self, *args, prompt: SoftPrompt, optimiser: CMAESConfig | zo.SPSAGCConfig, **kw):
        super().__init__(*args, **kw)
        if not isinstance(optimiser, CMAESConfig | zo.SPSAGCConfig):
            raise TypeError("optimiser must be a CMAESConfig or an SPSAGCConfig")
        self.prompt, self.optimiser = prompt, optimiser

    def get_parameters(self, config: dict) -> list[np.ndarray]:
        z = self.prompt.init_params()
        if isinstance(self.optimiser, CMAESConfig):
            return [z, np.array([self.optimiser.sigma]), initial_covariance(len(z))]
        return [z]

    def _classes(self) -> np.ndarray | None:
        """The class descriptions' embeddings, asked once and kept in the ClientContext (None for a
        verbaliser API, which scores its label words itself)."""
        if isinstance(self.api, LanguageModelBlackBox):
            return None
        if "class_embeddings" not in self.context.state:
            self.context.state["class_embeddings"] = label_embeddings(self.api, self.class_prompts)
        return self.context.state["class_embeddings"]

    def _loss_batch(self, texts, labels):
        classes = self._classes()

        def loss_batch(points: np.ndarray) -> np.ndarray:
            return np.array(
                [
                    loss_from_outputs(
                        soft_class_logits(self.api, texts, classes, self.prompt.embeddings(z)),
                        labels,
                        "logits",
                    )
                    for z in points
                ]
            )

        return loss_batch

    def _train(self, parameters, rng, config):
        self._classes()
        if isinstance(self.optimiser, CMAESConfig):
            return self._train_cma(parameters, rng, config)
        z = parameters[0]
        state = self.context.state.get("spsa_gc", zo.SPSAGCState())
        losses = []
        for _ in range(self._steps(2 * self.optimiser.sp_avg)):
            loss_batch = self._loss_batch(*self._batch(rng))
            z, state, info = zo.spsa_gc_step(loss_batch, z, state, self.optimiser, rng)
            losses.append((info["loss_plus_mean"] + info["loss_minus_mean"]) / 2)
        self.context.state["spsa_gc"] = state
        return [z], {"train_loss": float(np.mean(losses))}

    def _train_cma(self, parameters, rng, config):
        """One CMA-ES across the fit's generations from the server's mean, sigma and covariance,
        as a FedBPT client runs; on config["score_mean"], also the final mean's loss."""
        mean, sigma, covariance = parameters
        strategy = start_strategy(
            mean,
            float(sigma[0]),
            self.optimiser.popsize,
            seed=int(rng.integers(1, 2**31)),
            covariance=covariance,
        )

        def generation_loss(points):
            return self._loss_batch(*self._batch(rng))(points)

        info = run_generations(strategy, generation_loss, self._steps(self.optimiser.popsize))
        mean = np.asarray(strategy.mean, dtype=np.float64)
        metrics = {
            "train_loss": float(np.mean(info["losses"])),
            SIGMA_SQUARE_SUM: float(np.sum(np.square(info["sigmas"]))),
        }
        if config.get("score_mean"):
            metrics[MEAN_LOSS] = float(generation_loss(mean[None])[0])
        return [mean, np.array([strategy.sigma]), covariance], metrics


def probe_logits(head: list[np.ndarray], embeddings: np.ndarray) -> np.ndarray:
    """A linear head [W (K, 384), b (K,)] applied to API embeddings: (N, K) logits."""
    weights, bias = head
    return embeddings @ weights.T + bias


class ProbeClient(_TextClient):
    """Softmax regression on the API's embeddings of the client's texts, started at zero-shot
    (W = SCALE x class embeddings, b = 0); one API call per client, then local epochs."""

    def __init__(self, *args, epochs: int = 10, lr: float = 0.1, **kw):
        super().__init__(*args, **kw)
        self.epochs = check_count("epochs", epochs)
        self.lr = check_real("lr", lr, positive=True)

    def get_parameters(self, config: dict) -> list[np.ndarray]:
        classes = label_embeddings(self.api, self.class_prompts)
        return [SCALE * classes.astype(np.float64), np.zeros(len(classes))]

    def _train(self, parameters, rng, config):
        if "embeddings" not in self.context.state:
            self.context.state["embeddings"] = self.api.query(self.texts).astype(np.float64)
        x = self.context.state["embeddings"]
        weights, bias = parameters
        onehot = np.eye(len(bias))[self.labels]
        losses = []
        for _ in range(self.epochs):
            logits = probe_logits([weights, bias], x)
            losses.append(float(loss_from_outputs(logits, self.labels, "logits")))
            shifted = np.exp(logits - logits.max(1, keepdims=True))
            error = shifted / shifted.sum(1, keepdims=True) - onehot  # d loss / d logits x N
            weights = weights - self.lr * error.T @ x / len(x)
            bias = bias - self.lr * error.mean(0)
        return [weights, bias], {"train_loss": float(np.mean(losses))}
