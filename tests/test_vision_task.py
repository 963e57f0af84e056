"""Tests for GridPrompt and the vision task wiring (losses from API outputs, batched prompt
losses through MiniCLIP in one call, accuracy)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fedbbpt_lite.datasets import load_vision
from fedbbpt_lite.prompts import GridPrompt, PaddingPrompt
from fedbbpt_lite.tasks.vision import (
    accuracy,
    client_accuracy,
    loss_from_outputs,
    predict,
    prompt_loss_fn,
)


@pytest.fixture(scope="module")
def mnist():
    return load_vision("mnist")


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))


# ---------------------------------------------------------------------------------- GridPrompt


@pytest.mark.parametrize("channels", [1, 3])
def test_zero_params_leave_images_unchanged(channels):
    x = torch.rand(5, channels, 28, 28, generator=torch.Generator().manual_seed(1))
    prompt = GridPrompt(grid=7, channels=channels)
    w0 = prompt.init_params()
    assert w0.shape == (prompt.num_params,) and not w0.any()
    out = prompt.apply(w0, x)
    assert out.shape == (1, 5, channels, 28, 28)
    assert torch.equal(out[0], x)


@pytest.mark.parametrize("grid, channels", [(7, 1), (4, 3), (1, 1), (28, 1), (14, 3)])
def test_num_params(grid, channels):
    prompt = GridPrompt(grid=grid, channels=channels)
    assert prompt.num_params == grid * grid * channels
    assert prompt.pattern(np.zeros(prompt.num_params)).shape == (1, channels, 28, 28)


def test_constant_params_give_constant_pattern():
    prompt = GridPrompt(grid=7, channels=3)
    W = np.stack([np.full(prompt.num_params, 0.3), np.full(prompt.num_params, -0.7)])
    pattern = prompt.pattern(W)
    assert pattern.shape == (2, 3, 28, 28)
    torch.testing.assert_close(pattern[0], torch.full((3, 28, 28), 0.3))
    torch.testing.assert_close(pattern[1], torch.full((3, 28, 28), -0.7))


def test_pattern_is_upsampled_grid():
    prompt = GridPrompt(grid=2, channels=1)
    pattern = prompt.pattern(np.array([1.0, 0.0, 0.0, 0.0]))[0, 0]
    assert pattern[0, 0] == pytest.approx(1.0)  # top-left cell
    assert pattern[27, 27] == pytest.approx(0.0)
    assert pattern[0, 0] > pattern[0, 27] and pattern[0, 0] > pattern[27, 0]
    assert len(torch.unique(pattern[0])) > 2  # bilinear: a smooth ramp, not two blocks


def test_apply_adds_scaled_pattern_and_clamps(images):
    prompt = GridPrompt(grid=7, eps=0.5)
    W = np.stack([np.full(49, 0.2), np.full(49, 10.0), np.full(49, -10.0)])
    out = prompt.apply(W, images)
    assert out.shape == (3, 5, 1, 28, 28)
    torch.testing.assert_close(out[0], (images + 0.1).clamp(0, 1))
    assert torch.equal(out[1], torch.ones_like(images))
    assert torch.equal(out[2], torch.zeros_like(images))


@pytest.mark.parametrize("shape", [(48,), (2, 50), (3, 7, 7), (0,)])
def test_wrong_W_shape_raises_naming_W(images, shape):
    prompt = GridPrompt(grid=7)
    with pytest.raises(ValueError, match="W"):
        prompt.apply(np.zeros(shape), images)


def test_apply_rejects_unbatched_images():
    with pytest.raises(ValueError, match="images"):
        GridPrompt().apply(np.zeros(49), torch.zeros(1, 28, 28))


@pytest.mark.parametrize("grid", [0, -1, 29, 2.0, True, "7"])
def test_bad_grid_raises(grid):
    with pytest.raises((TypeError, ValueError), match="grid"):
        GridPrompt(grid=grid)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"channels": 0}, "channels"),
        ({"image_size": 0}, "image_size"),
        ({"eps": 0.0}, "eps"),
        ({"eps": -1.0}, "eps"),
    ],
)
def test_bad_prompt_options_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GridPrompt(**kwargs)


# ---------------------------------------------------------------------------- loss_from_outputs


@pytest.fixture
def logits_and_labels():
    rng = np.random.default_rng(0)
    return rng.normal(0, 3, (4, 16, 10)), rng.integers(0, 10, 16)


def test_cross_entropy_from_logits_matches_torch(logits_and_labels):
    logits, labels = logits_and_labels
    loss = loss_from_outputs(logits, labels, "logits")
    assert loss.shape == (4,)
    expected = [F.cross_entropy(torch.tensor(row), torch.tensor(labels)).item() for row in logits]
    np.testing.assert_allclose(loss, expected, rtol=1e-10)


def test_cross_entropy_from_logits_is_shift_invariant_and_stable(logits_and_labels):
    logits, labels = logits_and_labels
    big = loss_from_outputs(logits * 100 + 1000, labels, "logits")
    assert np.isfinite(big).all()
    np.testing.assert_allclose(
        loss_from_outputs(logits + 50, labels, "logits"),
        loss_from_outputs(logits, labels, "logits"),
    )


def test_cross_entropy_from_probs_matches_logits(logits_and_labels):
    logits, labels = logits_and_labels
    probs = torch.softmax(torch.tensor(logits), -1).numpy()
    np.testing.assert_allclose(
        loss_from_outputs(probs, labels, "probs"),
        loss_from_outputs(logits, labels, "logits"),
        rtol=1e-8,
    )


def test_unbatched_outputs_give_a_scalar(logits_and_labels):
    logits, labels = logits_and_labels
    single = loss_from_outputs(logits[1], labels, "logits")
    assert np.ndim(single) == 0
    assert single == pytest.approx(loss_from_outputs(logits, labels, "logits")[1])


def test_label_mode_gives_error_rate():
    labels = np.array([0, 1, 2, 3])
    predicted = np.array([[0, 1, 2, 3], [0, 1, 9, 9], [3, 2, 1, 0]])
    np.testing.assert_allclose(loss_from_outputs(predicted, labels, "label"), [0.0, 0.5, 1.0])


# ------------------------------------------------------------------------------ with MiniCLIP


def test_prompt_loss_fn_is_one_call(clip, mnist):
    x, y = mnist.x_test[:16], mnist.y_test[:16]
    prompt = GridPrompt(grid=7)
    W = np.random.default_rng(0).normal(0, 0.3, (10, prompt.num_params))
    W[0] = 0.0
    loss_batch = prompt_loss_fn(clip, prompt, x, y, mnist.prompts)
    assert clip.meter.calls == 0  # building the closure queries nothing
    losses = loss_batch(W)
    assert (clip.meter.calls, clip.meter.examples) == (1, 160)
    assert isinstance(losses, np.ndarray)
    assert losses.shape == (10,) and losses.dtype == np.float64
    assert np.isfinite(losses).all()
    assert len(np.unique(losses.round(6))) > 1  # different prompts, different losses

    zero_shot = F.cross_entropy(torch.tensor(clip.query(x, mnist.prompts)), y).item()
    assert losses[0] == pytest.approx(zero_shot, rel=1e-4, abs=1e-6)
    for i in (3, 7):
        alone = loss_batch(W[i : i + 1])
        assert alone.shape == (1,)
        assert alone[0] == pytest.approx(losses[i], rel=1e-4, abs=1e-6)


def test_bad_labels_are_refused_before_any_query(clip, mnist):
    prompt = GridPrompt(grid=7)
    x = mnist.x_test[:8]
    calls = clip.meter.calls
    with pytest.raises(ValueError, match="labels"):
        prompt_loss_fn(clip, prompt, x, np.arange(7), mnist.prompts)
    with pytest.raises(ValueError, match="labels"):
        accuracy(clip, x, np.full(8, 10), mnist.prompts)
    with pytest.raises(ValueError, match="prompt"):
        accuracy(clip, x, np.zeros(8, dtype=int), mnist.prompts, w=prompt.init_params())
    assert clip.meter.calls == calls


def test_accuracy_without_prompt_equals_zero_prompt(clip, mnist):
    x, y = mnist.x_test[:300], mnist.y_test[:300]
    prompt = GridPrompt(grid=7)
    plain = accuracy(clip, x, y, mnist.prompts)
    zero_default = accuracy(clip, x, y, mnist.prompts, prompt=prompt)
    zero_explicit = accuracy(clip, x, y, mnist.prompts, prompt=prompt, w=prompt.init_params())
    assert plain == zero_default == zero_explicit
    assert 0.9 < plain <= 1.0
    assert clip.meter.calls == 3 and clip.meter.examples == 900


def test_accuracy_with_destructive_prompt_drops(clip, mnist):
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    prompt = GridPrompt(grid=7)
    white = np.full(prompt.num_params, 5.0)  # every pixel clamps to 1: no information left
    assert accuracy(clip, x, y, mnist.prompts, prompt=prompt, w=white) <= 0.2


def test_padding_prompt_touches_only_the_frame(mnist):
    prompt = PaddingPrompt(pad=3)
    assert prompt.num_params == 28 * 28 - 22 * 22
    w = np.full(prompt.num_params, 0.5)
    prompted = prompt.apply(w, mnist.x_test[:4])[0]
    centre = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    assert torch.equal(prompted[centre], mnist.x_test[:4][centre])
    assert torch.all(prompted[:, :, :3, :] >= 0.5)
    assert torch.equal(prompt.apply(prompt.init_params(), mnist.x_test[:4])[0], mnist.x_test[:4])


def test_padding_prompt_rejects_a_frame_that_fills_the_image():
    with pytest.raises(ValueError, match="pad"):
        PaddingPrompt(pad=14)


def test_predict_agrees_with_accuracy(clip, mnist):
    x, y = mnist.x_test[:100], mnist.y_test[:100].numpy()
    predicted = predict(clip, x, mnist.prompts)
    assert predicted.shape == (100,) and predicted.dtype.kind == "i"
    assert float((predicted == y).mean()) == accuracy(clip, x, y, mnist.prompts)


def test_client_accuracy_weights_per_class_accuracy_by_the_clients_labels():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 1, 0, 0, 0])  # class 0: 1.0, class 1: 0.5, class 2: 0.0
    # by hand: a client holding three 0s and one 1 sees (3 * 1.0 + 1 * 0.5) / 4
    assert client_accuracy(predicted, labels, [0, 0, 0, 1], 3) == pytest.approx(0.875)
    assert client_accuracy(predicted, labels, [2], 3) == 0.0
    # a client with the test set's own mix sees the plain accuracy
    assert client_accuracy(predicted, labels, labels, 3) == pytest.approx(0.5)


def test_client_accuracy_skips_classes_the_test_set_lacks():
    labels, predicted = np.array([0, 0, 1]), np.array([0, 1, 1])
    assert client_accuracy(predicted, labels, [1, 2, 2, 2], 3) == 1.0
    with pytest.raises(ValueError, match="none of the client's classes"):
        client_accuracy(predicted, labels, [2, 2], 3)


@pytest.mark.parametrize(
    ("client_labels", "match"),
    [([], "client_labels is empty"), ([0, 5], "labels must lie in"), ([0.5], "labels must be")],
)
def test_client_accuracy_rejects_bad_client_labels(client_labels, match):
    with pytest.raises(ValueError, match=match):
        client_accuracy(np.array([0, 1]), np.array([0, 1]), client_labels, 3)
