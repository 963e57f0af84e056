"""Tests for BlackVIP's Coordinator and its frozen encoder."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox.miniclip import load_image_tower
from fedbbpt_lite.prompts.coordinator import Coordinator
from fedbbpt_lite.prompts.image_encoder import ENCODER_WEIGHTS, FEATURE_SHAPE, load_encoder


@pytest.fixture(scope="module")
def images():
    return fbl.datasets.load_vision("mnist_inverted").x_train[:16]


@pytest.fixture(scope="module")
def coordinator():
    return Coordinator()


def test_untuned_coordinator_is_exactly_zero_shot(coordinator, images):
    prompted = coordinator.apply(coordinator.init_params(), images)
    assert prompted.shape == (1, 16, 1, 28, 28)
    assert torch.equal(prompted[0], images)


def test_parameter_count_is_about_ten_thousand(coordinator):
    assert 5_000 <= coordinator.num_params <= 15_000
    assert coordinator.init_params().shape == (coordinator.num_params,)


def test_prompts_depend_on_the_input(coordinator, images):
    w = coordinator.init_params() + 0.05 * np.random.default_rng(0).standard_normal(
        coordinator.num_params
    )
    prompts = coordinator.prompts(w, images)[0]
    assert prompts.abs().sum() > 0
    assert not torch.allclose(prompts[0], prompts[1]), "an input-dependent prompt differs per image"


def test_batched_parameter_sets_equal_one_at_a_time(coordinator, images):
    W = coordinator.init_params() + 0.02 * np.random.default_rng(1).standard_normal(
        (4, coordinator.num_params)
    )
    together = coordinator.apply(W, images)
    for i in range(4):
        assert torch.allclose(together[i], coordinator.apply(W[i], images)[0], atol=1e-6)


def test_prompted_images_stay_in_range_and_use_eps(images):
    strong = Coordinator(eps=1.0)
    w = strong.init_params() + np.random.default_rng(2).standard_normal(strong.num_params)
    prompted = strong.apply(w, images)
    assert prompted.min() >= 0 and prompted.max() <= 1
    weak = Coordinator(eps=0.1)
    delta_strong = (strong.apply(w, images) - images).abs().mean()
    delta_weak = (weak.apply(w, images) - images).abs().mean()
    assert delta_weak < delta_strong


def test_colour_images_get_a_colour_prompt():
    coloured = fbl.datasets.load_vision("mnist_biased").x_train[:8]
    generator = Coordinator(channels=3)
    assert generator.apply(generator.init_params(), coloured).shape == (1, 8, 3, 28, 28)


def test_bad_arguments_name_themselves(coordinator, images):
    with pytest.raises(ValueError, match="W"):
        coordinator.apply(np.zeros(5), images)
    with pytest.raises(ValueError, match="images"):
        coordinator.apply(coordinator.init_params(), images[:, :, :14])
    with pytest.raises(ValueError, match="channels"):
        Coordinator(channels=3).apply(Coordinator(channels=3).init_params(), images)
    with pytest.raises((TypeError, ValueError), match="eps"):
        Coordinator(eps=0)


def test_encoder_is_frozen_and_independent_of_the_black_box(images):
    encoder = load_encoder()
    assert all(not p.requires_grad for p in encoder.parameters())
    assert encoder.encode(images).shape == (16, *FEATURE_SHAPE)
    tower_tensors = {p.data_ptr() for p in load_image_tower().parameters()}
    assert tower_tensors.isdisjoint(p.data_ptr() for p in encoder.parameters())
    with safe_open(str(ENCODER_WEIGHTS), framework="pt") as handle:
        provenance = json.loads(handle.metadata()["provenance"])
    assert "no labels" in provenance["train_data"]


def test_encoder_reconstructs_its_training_domain(images):
    encoder = load_encoder()
    clean = fbl.datasets.load_vision("mnist").x_test[:64]
    with torch.no_grad():
        assert torch.nn.functional.mse_loss(encoder(clean), clean) < 0.01
