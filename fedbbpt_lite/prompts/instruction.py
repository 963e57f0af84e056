"""InstructZero's instruction generator: a low-dimensional z becomes soft tokens (A z, A fixed,
uniform(-1, 1), no bias) in front of exemplars that an open LLM turns into an instruction.

The generator is white-box to its user (it runs locally); only the executor is a black box.
As InstructZero: soft tokens first, then the chat-formatted demos prompt, greedy decoding.
"""

from __future__ import annotations

import numpy as np
import torch

from ..blackbox.language_model import SMOLLM2, load_language_model
from ..validation import check_count

DEMO = "Input: {input}\nOutput: {output}"
# InstructZero's induction prompt: "\n" (its init_prompt), the demos, then the question
INDUCTION = "\n{demos}\n\nThe instruction was to?"


def induction_prompt(inputs, outputs) -> str:
    """The demos prompt of a set of exemplars (InstructZero's, demos joined by a blank line)."""
    if len(inputs) != len(outputs) or not len(inputs):
        raise ValueError("exemplars need as many outputs as inputs, and at least one of each")
    demos = "\n\n".join(
        DEMO.format(input=x, output=y) for x, y in zip(inputs, outputs, strict=True)
    )
    return INDUCTION.format(demos=demos)


class InstructionGenerator:
    """`instruction(z, inputs, outputs)`: the instruction the LLM writes from the exemplars with
    z's soft tokens in front (z None: no soft tokens, APE's induction without optimisation)."""

    def __init__(
        self,
        model: str = SMOLLM2,
        intrinsic_dim: int = 10,
        soft_tokens: int = 5,
        max_new_tokens: int = 32,
        seed: int = 0,
        device: str | None = None,
    ):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._tokenizer, self._model, kind = load_language_model(model, str(self.device))
        if kind != "causal":
            raise ValueError(f"model {model!r} is a masked LM; a generator must generate text")
        self.intrinsic_dim = check_count("intrinsic_dim", intrinsic_dim)
        self.soft_tokens = check_count("soft_tokens", soft_tokens)
        self.max_new_tokens = check_count("max_new_tokens", max_new_tokens)
        width = self._model.get_input_embeddings().embedding_dim
        generator = torch.Generator().manual_seed(seed)
        # nn.Linear(intrinsic_dim, soft_tokens * width, bias=False).weight, uniform(-1, 1)
        self.projection = torch.rand(soft_tokens * width, intrinsic_dim, generator=generator)
        self.projection = 2 * self.projection - 1
        self._written: dict[tuple, str] = {}  # clients and the server ask for the same z

    def soft_prompt(self, z) -> torch.Tensor:
        """A z's soft tokens, (soft_tokens, width)."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32))
        if z.shape != (self.intrinsic_dim,) or not torch.isfinite(z).all():
            raise ValueError(f"z must be {self.intrinsic_dim} finite numbers, got {tuple(z.shape)}")
        return (self.projection @ z).view(self.soft_tokens, -1)

    def _chat_ids(self, text: str) -> torch.Tensor:
        """The demos prompt as the model's chat turn (plain text for a model without a chat
        template), ready for the assistant's answer."""
        if self._tokenizer.chat_template:
            return self._tokenizer.apply_chat_template(
                [{"role": "user", "content": text}],
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            )["input_ids"]
        return self._tokenizer(text, return_tensors="pt")["input_ids"]

    def instruction(self, z, inputs, outputs) -> str:
        """The instruction written for the exemplars (inputs -> outputs), one line of words;
        written once per z and exemplars (greedy decoding gives the same words every time)."""
        key = (None if z is None else np.asarray(z, np.float64).tobytes(), *inputs, "", *outputs)
        if key not in self._written:
            self._written[key] = self._write(z, inputs, outputs)
        return self._written[key]

    @torch.no_grad()
    def _write(self, z, inputs, outputs) -> str:
        ids = self._chat_ids(induction_prompt(inputs, outputs)).to(self.device)
        embeds = self._model.get_input_embeddings()(ids)
        if z is not None:
            soft = self.soft_prompt(z).to(self.device, embeds.dtype)[None]
            embeds = torch.cat([soft, embeds], dim=1)
        pad = self._tokenizer.pad_token_id or self._tokenizer.eos_token_id
        out = self._model.generate(
            inputs_embeds=embeds,
            attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long, device=self.device),
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
        return " ".join(self._tokenizer.decode(out[0], skip_special_tokens=True).split())
