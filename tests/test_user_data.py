"""Tests for load_vision_file: a user's own .npz, its accepted layouts, and clear errors."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_data import CLASSES, tiny_arrays, write_tiny_npz

from fedbbpt_lite.datasets.vision_sets import load_vision_file
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment


def write(tmp_path: Path, name: str = "mine", **overrides) -> Path:
    return write_tiny_npz(tmp_path / f"{name}.npz", **overrides)


class _Canary:
    """Unpickling this runs os.mkdir(path): proof that a loader executed the pickle."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


# --- what loads -------------------------------------------------------------------------


def test_uint8_grey_images_load_as_floats_in_unit_range(tmp_path):
    raw = tiny_arrays()
    data = load_vision_file(write(tmp_path))
    assert data.name == "mine"
    assert data.x_train.shape == (8, 1, 28, 28) and data.x_test.shape == (6, 1, 28, 28)
    assert data.x_train.dtype == torch.float32
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    expected = torch.from_numpy(raw["x_train"][:, None].astype(np.float32) / 255)
    assert torch.allclose(data.x_train, expected)
    assert data.y_train.dtype == torch.int64
    assert data.y_train.tolist() == raw["y_train"].tolist()
    assert data.y_test.tolist() == raw["y_test"].tolist()
    assert data.class_names == ("cat", "dog")
    assert data.prompts == ["a photo of a cat", "a photo of a dog"]


def test_the_template_makes_the_prompts(tmp_path):
    data = load_vision_file(write(tmp_path), template="a sketch of a {}, drawn by hand")
    assert data.template == "a sketch of a {}, drawn by hand"
    assert data.prompts == ["a sketch of a cat, drawn by hand", "a sketch of a dog, drawn by hand"]


def test_a_path_given_as_a_string_loads(tmp_path):
    assert load_vision_file(str(write(tmp_path))).x_train.shape == (8, 1, 28, 28)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_colour_images_give_three_channels(tmp_path, layout):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (8, 28, 28, 3), dtype=np.uint8)  # channels last
    stored = rgb if layout == "channels_last" else np.ascontiguousarray(rgb.transpose(0, 3, 1, 2))
    test = rng.integers(0, 256, (6, 3, 28, 28), dtype=np.uint8)
    data = load_vision_file(write(tmp_path, x_train=stored, x_test=test))
    assert data.x_train.shape == (8, 3, 28, 28) and data.x_test.shape == (6, 3, 28, 28)
    for c in range(3):  # each channel lands where it belongs, whatever the layout
        expected = torch.from_numpy(rgb[..., c].astype(np.float32) / 255)
        assert torch.allclose(data.x_train[:, c], expected), c


def test_float_images_in_unit_range_are_kept(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.random((8, 28, 28)).astype(np.float32)
    x[0, 0, 0], x[0, 0, 1] = 0.0, 1.0  # the bounds themselves are allowed
    data = load_vision_file(write(tmp_path, x_train=x, x_test=x[:6].astype(np.float64)))
    assert torch.equal(data.x_train[:, 0], torch.from_numpy(x))
    assert torch.allclose(data.x_test[:, 0], torch.from_numpy(x[:6]))


def test_other_sizes_are_resized_to_28(tmp_path):
    x = np.full((8, 32, 32), 128, dtype=np.uint8)
    x[1] = 0
    x[2] = 255
    data = load_vision_file(write(tmp_path, x_train=x))
    assert data.x_train.shape == (8, 1, 28, 28)
    assert torch.allclose(data.x_train[0], torch.full((1, 28, 28), 128 / 255), atol=1e-5)
    assert float(data.x_train[1].abs().max()) == 0.0
    assert torch.allclose(data.x_train[2], torch.ones(1, 28, 28), atol=1e-5)
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0


def test_a_loaded_file_runs_through_run_vision(tmp_path, clip):
    data = load_vision_file(write(tmp_path))
    experiment = VisionExperiment(
        dataset=data.name, method="zero_shot", clients=2, rounds=1, shots=2, batch_size=8
    )
    result = run_experiment(experiment, data, clip)
    assert result["dataset"] == "mine" and result["api_calls"] == 0
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy"] == result["zero_shot_accuracy"]
    # 6 test images: the accuracy is a whole number of sixths
    assert round(result["accuracy"] * 6, 2) == round(result["accuracy"] * 6)


# --- what is refused --------------------------------------------------------------------


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="nope.npz.*does not exist"):
        load_vision_file(tmp_path / "nope.npz")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match=re.escape(tmp_path.name)):
        load_vision_file(tmp_path)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("x_train,y_train\n1,2\n")
    with pytest.raises(ValueError, match="notes.npz is not a readable .npz"):
        load_vision_file(path)


@pytest.mark.parametrize("missing", ["x_train", "y_train", "x_test", "y_test", "class_names"])
def test_a_missing_array_is_named(tmp_path, missing):
    path = write(tmp_path, **{missing: None})
    with pytest.raises(ValueError, match=rf"lacks the arrays \['{missing}'\]"):
        load_vision_file(path)


def test_every_missing_array_is_listed(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, x_train=tiny_arrays()["x_train"], class_names=np.array(CLASSES))
    with pytest.raises(ValueError, match=r"\['y_train', 'x_test', 'y_test'\]"):
        load_vision_file(path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_train": np.array([0, 1, 2, 0, 1, 0, 1, 0])}, r"y_train labels must lie in 0\.\.1"),
        ({"y_test": np.array([0, 1, -1, 0, 1, 0])}, r"y_test labels must lie in 0\.\.1"),
        ({"y_train": np.array([0.0, 1.0] * 4)}, "y_train must hold one integer label"),
        ({"y_test": np.array(["0", "1"] * 3)}, "y_test must hold one integer label"),
        ({"y_train": np.array([0, 1] * 3 + [0])}, "one integer label per image of x_train"),
        ({"y_test": np.array([[0, 1]] * 6)}, "one integer label per image of x_test"),
        (
            {"x_test": np.full((6, 28, 28), 1.5)},
            r"x_test must be uint8 pixels or floats in \[0, 1\]",
        ),
        ({"x_train": np.full((8, 28, 28), -0.1)}, r"x_train must be uint8 pixels or floats"),
        ({"x_train": np.zeros((8, 784), np.uint8)}, r"x_train must be \(N, H, W\)"),
        ({"x_test": np.zeros((6, 1, 1, 28, 28), np.uint8)}, r"x_test must be \(N, H, W\)"),
        ({"x_train": np.zeros((8, 28, 28, 2), np.uint8)}, "x_train must be .* with C 1 or 3"),
        ({"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, int)}, "x_test must"),
        ({"x_train": np.full((8, 28, 28), "a")}, "x_train must be uint8 pixels or floats"),
    ],
    ids=[
        "label-too-big",
        "label-negative",
        "float-labels",
        "string-labels",
        "label-count",
        "labels-2d",
        "float-above-1",
        "float-below-0",
        "rank-2",
        "rank-5",
        "two-channels",
        "no-images",
        "string-images",
    ],
)
def test_malformed_arrays_are_refused_naming_the_problem(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        load_vision_file(write(tmp_path, **overrides))


def test_a_pickled_object_array_is_refused_not_unpickled(tmp_path):
    canary = tmp_path / "unpickled"
    names = np.array(["cat", _Canary(canary)], dtype=object)
    path = write(tmp_path, name="pickled", class_names=names)
    with pytest.raises(ValueError, match="pickled.npz is not a readable .npz without pickles"):
        load_vision_file(path)
    assert not canary.exists(), "the loader executed the pickle"
    # control: the file really carries a live pickle, which an unsafe load would run
    with np.load(path, allow_pickle=True) as f:
        f["class_names"]
    assert canary.is_dir()


@pytest.mark.parametrize("template", ["a photo of a", "a photo of a {name}", ""])
def test_a_template_without_a_slot_is_refused(tmp_path, template):
    with pytest.raises(ValueError, match="template must contain '{}'"):
        load_vision_file(write(tmp_path), template=template)


# ------------------------------------------------------------------ broken files and odd values


@pytest.mark.parametrize(
    "content, message",
    [(b"", "not a readable .npz"), (b"PK\x03\x04 truncated", "not a readable .npz")],
    ids=["empty", "truncated"],
)
def test_broken_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_vision_file(path)


def test_a_renamed_npy_is_refused(tmp_path):
    path = tmp_path / "single.npz"
    with path.open("wb") as handle:
        np.save(handle, np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="single array"):
        load_vision_file(path)


def test_nan_and_out_of_range_integer_images_are_refused(tmp_path):
    nan_images = np.full((4, 28, 28), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="x_train contains NaN"):
        load_vision_file(write(tmp_path, x_train=nan_images))
    wide = np.full((4, 28, 28), 1000, dtype=np.int16)
    with pytest.raises(ValueError, match="x_train holds integers outside"):
        load_vision_file(write(tmp_path, x_train=wide))


@pytest.mark.parametrize("template", ["{} {}", "{} {x}"])
def test_templates_with_other_fields_are_refused(tmp_path, template):
    with pytest.raises(ValueError, match="template"):
        load_vision_file(write(tmp_path), template)
