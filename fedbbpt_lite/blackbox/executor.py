"""The instruction executor API: an LLM that answers inputs under an instruction, InstructZero's
black box. Only its answers (or candidate outputs' log-likelihoods) come back, billed per input.

Queries read "Instruction: ...\n\nInput: ...\n\nOUTPUT:", InstructZero's evaluation template (no
instruction line when the instruction is empty). The offline default is SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import torch

from .base import BlackBox
from .language_model import SMOLLM2, load_language_model

TEMPLATE = "Instruction: {instruction}\n\nInput: {input}\n\nOUTPUT:"


def execution_prompt(instruction: str, text: str) -> str:
    """What the executor reads for one input under an instruction."""
    query = TEMPLATE.format(instruction=instruction, input=text)
    return query if instruction else query.split("\n\n", 1)[1]


class ExecutorBlackBox(BlackBox):
    """`query(inputs, instruction)` -> the answer to each input (greedy, up to max_new_tokens,
    its first line); `query(inputs, instruction, candidates)` -> (N, C) mean log-likelihood per
    token of each input's candidate outputs (candidates: C strings, or N lists of C)."""

    outputs = ("logits", "label")
    cacheable = True

    def __init__(
        self,
        model: str = SMOLLM2,
        max_new_tokens: int = 16,
        batch_size: int = 16,
        device: str | None = None,
        **api_options,
    ):
        super().__init__(**api_options)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tokenizer, self._model, kind = load_language_model(model, str(self.device))
        if kind != "causal":
            raise ValueError(f"model {model!r} is a masked LM; an executor must generate text")
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self.model_name, self.max_new_tokens, self.batch_size = model, max_new_tokens, batch_size

    def _prepare(self, inputs, instruction: str = "", candidates=None) -> tuple[list, tuple]:
        if isinstance(inputs, str) or not isinstance(inputs, list | tuple) or not inputs:
            raise TypeError("inputs must be a non-empty list of strings (wrap one in a list)")
        if not all(isinstance(text, str) and text.strip() for text in inputs):
            raise ValueError("inputs must be non-blank strings")
        if not isinstance(instruction, str):
            raise TypeError(f"instruction must be a string, got {type(instruction).__name__}")
        instruction = " ".join(instruction.split())
        if candidates is None:
            return list(inputs), (instruction, None)
        if candidates and all(isinstance(c, str) for c in candidates):
            candidates = [list(candidates)] * len(inputs)
        rows = [tuple(row) for row in candidates] if isinstance(candidates, list | tuple) else []
        if len(rows) != len(inputs) or len({len(row) for row in rows}) != 1 or len(rows[0]) < 2:
            raise ValueError("candidates must be C >= 2 strings, or one list of C per input")
        if not all(isinstance(c, str) and c.strip() for row in rows for c in row):
            raise ValueError("candidates must be non-blank strings")
        return list(zip(inputs, rows, strict=True)), (instruction, True)

    def _count(self, inputs: list) -> int:
        return len(inputs)

    def _keys(self, inputs: list, args: tuple) -> list:
        return [(args[0], item) for item in inputs]

    def _take(self, inputs: list, index: list[int]) -> list:
        return [inputs[i] for i in index]

    def _forward(self, inputs: list, instruction: str, choose):
        chunks = [inputs[i : i + self.batch_size] for i in range(0, len(inputs), self.batch_size)]
        if choose:
            return torch.cat([self._likelihoods(chunk, instruction) for chunk in chunks])
        return [answer for chunk in chunks for answer in self._generate(chunk, instruction)]

    def _generate(self, texts: list[str], instruction: str) -> list[str]:
        self._tokenizer.padding_side = "left"  # generation continues every row at the end
        prompts = [execution_prompt(instruction, text) for text in texts]
        batch = self._tokenizer(prompts, padding=True, return_tensors="pt").to(self.device)
        out = self._model.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            pad_token_id=self._tokenizer.pad_token_id,
        )
        answers = self._tokenizer.batch_decode(
            out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return [answer.strip().split("\n")[0].strip() for answer in answers]

    def _likelihoods(self, items: list[tuple[str, tuple]], instruction: str) -> torch.Tensor:
        """Mean log-probability per token of each candidate's tokens (" " + candidate, tokenised
        on their own) after its input's prompt. Each prompt is read once and its cache shared by
        its candidates."""
        count = len(items[0][1])
        self._tokenizer.padding_side = "left"
        prompts = [execution_prompt(instruction, text) for text, _ in items]
        head = self._tokenizer(prompts, padding=True, return_tensors="pt").to(self.device)
        self._tokenizer.padding_side = "right"
        tails = [" " + c.strip() for _, candidates in items for c in candidates]
        tail = self._tokenizer(tails, padding=True, add_special_tokens=False, return_tensors="pt")
        tail = tail.to(self.device)
        positions = (head["attention_mask"].cumsum(1) - 1).clamp(min=0)  # as if unpadded
        read = self._model(
            input_ids=head["input_ids"],
            attention_mask=head["attention_mask"],
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        cache = read.cache
        cache.batch_repeat_interleave(count)
        steps = torch.arange(1, tail["input_ids"].shape[1] + 1, device=self.device)[None]
        rest = self._model(
            input_ids=tail["input_ids"],
            attention_mask=torch.cat(
                [head["attention_mask"].repeat_interleave(count, 0), tail["attention_mask"]], 1
            ),
            position_ids=positions[:, -1:].repeat_interleave(count, 0) + steps,
            cache=cache,
        )
        # a tail's first token is predicted by its prompt's last position, the others by the tail
        logits = torch.cat([read.logits.repeat_interleave(count, 0), rest.logits[:, :-1]], 1)
        logp = logits.float().log_softmax(-1).gather(-1, tail["input_ids"][..., None])[..., 0]
        mask = tail["attention_mask"]
        means = (logp * mask).sum(1) / mask.sum(1).clamp(min=1)
        return means.view(len(items), count).cpu()
