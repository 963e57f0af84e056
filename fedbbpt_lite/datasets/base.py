"""What a data set is, for each task: a few-shot pool and a test set (with class names and the
template that describes a class, or an instruction task's hand-written instruction). Loaders
(vision_sets, text_sets, instruction_sets, blackvip, glue) build these."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class VisionDataset:
    """A few-shot pool and a test set of images (N, C, H, W): floats in [0, 1], shape
    (N, C, 28, 28) for the committed suite, or uint8 pixels for the paper-scale sets (see
    unit_images). tuning: the data set's own optimiser and prompt defaults, if it has any."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    template: str
    tuning: dict = field(default_factory=dict)

    @property
    def prompts(self) -> list[str]:
        """The manual zero-shot prompt of each class, e.g. 'a photo of the digit zero'."""
        return [self.template.format(name) for name in self.class_names]


@dataclass(frozen=True)
class TextDataset:
    """A pool and a test set of texts with integer labels naming class_names; template
    describes a class, manual_prompt is a hand-written prefix for every input."""

    name: str
    train_texts: tuple[str, ...]
    y_train: np.ndarray
    test_texts: tuple[str, ...]
    y_test: np.ndarray
    class_names: tuple[str, ...]
    template: str
    manual_prompt: str = ""

    @property
    def prompts(self) -> list[str]:
        """The manual description of each class, e.g. 'This news article is about sport.'"""
        return [self.template.format(name) for name in self.class_names]


@dataclass(frozen=True)
class InstructionDataset:
    """Input -> output pairs of one instruction-induction task: a pool (exemplars and validation
    are drawn from it) and a test set; instruction is the hand-written one ("" if none)."""

    name: str
    train_inputs: tuple[str, ...]
    train_outputs: tuple[str, ...]
    test_inputs: tuple[str, ...]
    test_outputs: tuple[str, ...]
    instruction: str = ""


def unit_images(images: torch.Tensor) -> torch.Tensor:
    """Images as floats in [0, 1] (uint8 pixels are divided by 255, floats pass through)."""
    return images.float() / 255 if images.dtype == torch.uint8 else images
