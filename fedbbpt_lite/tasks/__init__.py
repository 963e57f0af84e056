"""Tasks wire a prompt generator, a black box and a loss together, and run experiments:
engine.run_experiment runs any task family (vision_experiment, text_experiment) the same way."""

from . import selection, step_size, text_clients, whitebox
from .engine import Experiment, Family, run_experiment
from .instruction import candidate_outputs, instruction_scores, normalise
from .instruction_experiment import InstructionExperiment, InstructionFamily
from .text import text_accuracy
from .text_experiment import (
    CONTROLS,
    PROMPTS,
    TextExperiment,
    TextFamily,
    candidate_words,
    control_prompts,
    soft_prompt_for,
)
from .toy_federation import QuadraticFederation
from .vision import accuracy as image_accuracy
from .vision import prompt_loss_fn
from .vision_client import PromptClient
from .vision_experiment import VisionExperiment, VisionFamily, few_shot_pool
from .whitebox import true_gradient

EXPERIMENTS = {
    experiment.task: experiment
    for experiment in (VisionExperiment, TextExperiment, InstructionExperiment)
}
# how every table and figure orders the methods: the controls, then the tuners
METHOD_ORDER = ("zero_shot", "centralized", "fedbbpt", "local_only", "whitebox")

__all__ = [
    "CONTROLS",
    "EXPERIMENTS",
    "METHOD_ORDER",
    "PROMPTS",
    "Experiment",
    "Family",
    "InstructionExperiment",
    "InstructionFamily",
    "PromptClient",
    "QuadraticFederation",
    "TextExperiment",
    "TextFamily",
    "VisionExperiment",
    "VisionFamily",
    "candidate_outputs",
    "candidate_words",
    "control_prompts",
    "few_shot_pool",
    "image_accuracy",
    "instruction_scores",
    "normalise",
    "prompt_loss_fn",
    "run_experiment",
    "selection",
    "soft_prompt_for",
    "step_size",
    "text_accuracy",
    "text_clients",
    "true_gradient",
    "whitebox",
]
