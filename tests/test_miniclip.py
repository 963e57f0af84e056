"""Tests for MiniCLIPBlackBox: shapes and billing, output modes, input validation, zero-shot
accuracy on the committed suite and the provenance of the committed weights."""

import json
import struct

import numpy as np
import pytest
import torch
from safetensors import safe_open

from fedbbpt_lite.blackbox import MiniCLIPBlackBox
from fedbbpt_lite.blackbox.miniclip import WEIGHTS, ImageTower, load_image_tower
from fedbbpt_lite.datasets import load_vision
from fedbbpt_lite.tasks.vision import accuracy

K = 10


@pytest.fixture(scope="module")
def clip_probs(clip_shared) -> MiniCLIPBlackBox:
    return MiniCLIPBlackBox(output="probs")


@pytest.fixture(scope="module")
def clip_label(clip_shared) -> MiniCLIPBlackBox:
    return MiniCLIPBlackBox(output="label")


@pytest.fixture(scope="module")
def mnist():
    return load_vision("mnist")


@pytest.fixture
def images(mnist) -> torch.Tensor:
    return mnist.x_test[:12]


def test_loads_as_a_blackbox(clip):
    assert clip.output == "logits"
    assert clip.meter.calls == 0


@pytest.mark.parametrize("channels", [1, 3])
def test_query_shape_and_billing(clip, mnist, images, channels):
    x = images.repeat(1, channels, 1, 1)
    assert x.shape == (12, channels, 28, 28)
    out = clip.query(x, mnist.prompts)
    assert isinstance(out, np.ndarray)
    assert out.shape == (12, K)
    assert np.isfinite(out).all()
    assert (clip.meter.calls, clip.meter.examples) == (1, 12)


def test_leading_dimensions_are_one_call(clip, mnist, images):
    m = 4
    stacked = torch.stack([images.repeat(1, 3, 1, 1) * (1 - 0.1 * i) for i in range(m)])
    assert stacked.shape == (m, 12, 3, 28, 28)
    out = clip.query(stacked, mnist.prompts)
    assert out.shape == (m, 12, K)
    assert (clip.meter.calls, clip.meter.examples) == (1, m * 12)
    # Each slice scores the same as querying it alone.
    np.testing.assert_allclose(out[2], clip.query(stacked[2], mnist.prompts), atol=1e-4)


def test_number_of_prompts_sets_last_axis(clip, images):
    out = clip.query(images, ["a photo of the digit three", "a photo of the digit seven"])
    assert out.shape == (12, 2)


def test_numpy_input_accepted(clip, mnist, images):
    out_np = clip.query(images.numpy(), mnist.prompts)
    np.testing.assert_allclose(out_np, clip.query(images, mnist.prompts), atol=1e-5)


def test_grey_equals_rgb_replication(clip, mnist, images):
    grey = clip.query(images, mnist.prompts)
    rgb = clip.query(images.repeat(1, 3, 1, 1), mnist.prompts)
    np.testing.assert_allclose(grey, rgb, atol=1e-5)


def test_scores_depend_on_the_image(clip, mnist, images):
    out = clip.query(images, mnist.prompts)
    assert not np.allclose(out[0], out[1])
    assert np.ptp(out, axis=-1).min() > 0


@pytest.mark.parametrize("name, minimum", [("mnist", 0.95), ("fashion_mnist", 0.85)])
def test_zero_shot_accuracy_in_domain(clip, name, minimum):
    data = load_vision(name)
    acc = accuracy(clip, data.x_test, data.y_test, data.prompts)
    assert acc >= minimum, f"{name} zero-shot accuracy {acc:.3f}"


@pytest.mark.parametrize("name", ["mnist_inverted", "fashion_rotated", "loc_mnist"])
def test_shifted_sets_leave_room_to_tune(clip, name):
    data = load_vision(name)
    acc = accuracy(clip, data.x_test, data.y_test, data.prompts)
    assert acc < 0.6, f"{name} zero-shot accuracy {acc:.3f}"


def test_wrong_class_prompts_hurt(clip, mnist):
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    shuffled = mnist.prompts[1:] + mnist.prompts[:1]
    assert accuracy(clip, x, y, shuffled) < 0.2 < accuracy(clip, x, y, mnist.prompts)


def test_probs_rows_sum_to_one(clip, clip_probs, mnist, images):
    probs = clip_probs.query(images, mnist.prompts)
    assert probs.shape == (12, K)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    logits = clip.query(images, mnist.prompts)
    np.testing.assert_allclose(probs, torch.softmax(torch.tensor(logits), -1).numpy(), atol=1e-5)


def test_label_is_argmax_of_logits(clip, clip_label, mnist):
    x = mnist.x_test[:100]
    labels = clip_label.query(x, mnist.prompts)
    assert labels.shape == (100,)
    assert np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, clip.query(x, mnist.prompts).argmax(-1))
    assert accuracy(clip_label, x, mnist.y_test[:100], mnist.prompts) == pytest.approx(
        float((labels == mnist.y_test[:100].numpy()).mean())
    )


@pytest.mark.parametrize(
    "shape",
    [(4, 1, 28, 27), (4, 1, 32, 32), (28, 28), (784,), (4, 28, 28, 1)],
)
def test_bad_image_shape_raises(clip, mnist, shape):
    with pytest.raises(ValueError, match="images"):
        clip.query(torch.zeros(shape), mnist.prompts)
    assert clip.meter.calls == 0 and clip.meter.examples == 0


@pytest.mark.parametrize("channels", [2, 4])
def test_bad_channel_count_raises(clip, mnist, channels):
    with pytest.raises(ValueError, match="images.*channels"):
        clip.query(torch.zeros(4, channels, 28, 28), mnist.prompts)
    assert clip.meter.calls == 0


@pytest.mark.parametrize("prompts", ["a photo of the digit zero", []])
def test_bad_prompts_raise_and_are_not_billed(clip, images, prompts):
    with pytest.raises((TypeError, ValueError), match="prompts"):
        clip.query(images, prompts)
    assert clip.meter.calls == 0 and clip.meter.examples == 0


def test_weights_are_safetensors_with_provenance():
    assert WEIGHTS.suffix == ".safetensors"
    raw = WEIGHTS.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    metadata = header["__metadata__"]
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert tensors and all(v["dtype"] in {"F32", "F16", "BF16"} for v in tensors.values())

    with safe_open(str(WEIGHTS), framework="pt") as handle:
        assert handle.metadata() == metadata
        assert set(handle.keys()) == set(tensors)
    config = json.loads(metadata["config"])
    provenance = json.loads(metadata["provenance"])
    assert isinstance(config["width"], int)
    for key in ("script", "args", "train_data", "text_tower"):
        assert provenance[key], key
    assert provenance["script"].endswith(".py")
    assert provenance["args"]["width"] == config["width"]
    assert "MiniLM" in provenance["text_tower"]


def test_weights_load_strictly_into_the_image_tower():
    tower = load_image_tower()
    assert isinstance(tower, ImageTower)
    assert not tower.training
    with safe_open(str(WEIGHTS), framework="pt") as handle:
        assert set(handle.keys()) == set(tower.state_dict())


def test_bad_prompts_are_refused_before_faults_or_billing():
    flaky = MiniCLIPBlackBox(fault_rate=0.5, fault_seed=0)
    for _ in range(6):
        with pytest.raises(TypeError, match="prompts"):
            flaky.query(np.zeros((2, 1, 28, 28), dtype=np.float32), "a photo")
    assert flaky.meter.failed_calls == 0 and flaky.meter.calls == 0


def test_integer_images_are_refused():
    box = MiniCLIPBlackBox()
    with pytest.raises(TypeError, match="images"):
        box.query(np.zeros((2, 1, 28, 28), dtype=np.uint8), ["a", "b"])
