"""Tests for the committed vision suite (manifest, checksums, loading) and the shift functions."""

import hashlib
import json

import numpy as np
import pytest
import torch

from fedbbpt_lite.datasets import dataset_info, dataset_names, load_vision, shifts
from fedbbpt_lite.datasets.vision_sets import (
    DIGIT_NAMES,
    DIGIT_TEMPLATE,
    FASHION_NAMES,
    FASHION_TEMPLATE,
    MANIFEST,
    VISION_DIR,
)

MANIFEST_DATA = json.loads(MANIFEST.read_text())
NAMES = list(MANIFEST_DATA)
REQUIRED = {"mnist", "fashion_mnist", "digits_upsampled", "mnist_biased", "loc_mnist"}


@pytest.fixture(scope="module")
def loaded() -> dict:
    return {}


def load(cache: dict, name: str):
    if name not in cache:
        cache[name] = load_vision(name)
    return cache[name]


# ------------------------------------------------------------------------------------ manifest


def test_dataset_names_equal_manifest_keys():
    assert dataset_names() == NAMES
    assert REQUIRED <= set(NAMES)


def test_manifest_has_both_shift_kinds():
    kinds = {entry["shift"] for entry in MANIFEST_DATA.values()}
    assert {"photometric", "geometric"} <= kinds
    assert kinds <= {"none", "photometric", "geometric"}
    assert MANIFEST_DATA["mnist"]["shift"] == "none"
    assert MANIFEST_DATA["loc_mnist"]["shift"] == "geometric"


def test_every_npz_is_in_the_manifest():
    assert sorted(p.stem for p in VISION_DIR.glob("*.npz")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_file_checksum_and_size_match_manifest(name):
    entry = MANIFEST_DATA[name]
    data = (VISION_DIR / f"{name}.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert len(data) == entry["bytes"]


@pytest.mark.parametrize("name", NAMES)
def test_dataset_info_matches_manifest(name):
    info = dataset_info(name)
    assert info == MANIFEST_DATA[name]
    for key in ("description", "shift", "source", "channels", "n_train", "n_test", "sha256"):
        assert key in info, key


# -------------------------------------------------------------------------------- load_vision


@pytest.mark.parametrize("name", NAMES)
def test_load_vision_shapes_ranges_and_labels(loaded, name):
    info = MANIFEST_DATA[name]
    ds = load(loaded, name)
    assert ds.name == name
    splits = ((ds.x_train, ds.y_train, info["n_train"]), (ds.x_test, ds.y_test, info["n_test"]))
    for x, y, n in splits:
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
        assert x.ndim == 4 and x.shape[2:] == (28, 28)
        assert x.shape[1] == info["channels"] and x.shape[1] in (1, 3)
        assert x.shape[0] == n == len(y)
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert x.max() > 0.5  # scaled from uint8, not left at 0..255 nor crushed to ~0
        assert not torch.is_floating_point(y)
        assert int(y.min()) >= 0 and int(y.max()) <= 9
    assert torch.bincount(ds.y_test, minlength=10).tolist() == [100] * 10


@pytest.mark.parametrize("name", NAMES)
def test_class_names_and_prompts(loaded, name):
    ds = load(loaded, name)
    assert len(ds.class_names) == 10
    assert all(isinstance(n, str) for n in ds.class_names)
    assert ds.class_names in (DIGIT_NAMES, FASHION_NAMES)
    expected_template = DIGIT_TEMPLATE if ds.class_names == DIGIT_NAMES else FASHION_TEMPLATE
    assert ds.template == expected_template
    assert ds.prompts == [ds.template.format(n) for n in ds.class_names]
    assert len(set(ds.prompts)) == 10


def test_prompt_examples(loaded):
    assert load(loaded, "mnist").prompts[0] == "a photo of the digit zero"
    assert load(loaded, "fashion_mnist").prompts[9] == "a photo of a ankle boot"


@pytest.mark.parametrize("bad", ["cifar10", "", "MNIST"])
def test_unknown_name_raises_naming_name(bad):
    with pytest.raises(ValueError, match="name"):
        load_vision(bad)
    with pytest.raises(ValueError, match="name"):
        dataset_info(bad)


# ----------------------------------------------------- committed sets agree with their shifts


def test_inverted_set_is_inverted_mnist(loaded):
    clean, inv = load(loaded, "mnist"), load(loaded, "mnist_inverted")
    assert torch.equal(inv.y_test, clean.y_test)
    np.testing.assert_allclose(inv.x_test.numpy(), shifts.invert(clean.x_test.numpy()), atol=1e-6)


def test_rotated_set_is_rotated_fashion(loaded):
    clean, rot = load(loaded, "fashion_mnist"), load(loaded, "fashion_rotated")
    expected = shifts.rotate90(clean.x_test[:, 0].numpy())
    np.testing.assert_array_equal(rot.x_test[:, 0].numpy(), expected)


def test_loc_mnist_digits_fit_a_12x12_window(loaded):
    x = load(loaded, "loc_mnist").x_test[:, 0].numpy()
    for img in x:
        rows, cols = np.nonzero(img)
        assert len(rows) > 0
        assert np.ptp(rows) < 12 and np.ptp(cols) < 12


def test_biased_background_matches_label_mostly_in_pool_rarely_in_test(loaded):
    ds = load(loaded, "mnist_biased")

    def match_rate(x, y):
        corner = x[:, :, 0, 0].numpy()  # MNIST corners are background
        nearest = ((corner[:, None, :] - shifts.PALETTE[None]) ** 2).sum(-1).argmin(-1)
        return float((nearest == y.numpy()).mean())

    assert 0.85 <= match_rate(ds.x_train, ds.y_train) <= 0.95
    assert 0.05 <= match_rate(ds.x_test, ds.y_test) <= 0.15


def test_low_contrast_set_range(loaded):
    x = load(loaded, "mnist_low_contrast").x_test
    assert x.min() >= 0.49 and x.max() <= 0.63


# ------------------------------------------------------------------------------------ shifts


@pytest.fixture
def digits() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.zeros((6, 28, 28))
    x[:, 6:22, 10:14] = rng.uniform(0.5, 1.0, (6, 16, 4))  # a vertical stroke
    x[:, 6:9, 10:20] = 1.0  # and an asymmetric bar
    return x


def test_invert_twice_is_identity(digits):
    once = shifts.invert(digits)
    assert not np.allclose(once, digits)
    np.testing.assert_allclose(shifts.invert(once), digits)


def test_rotate90_four_times_is_identity(digits):
    once = shifts.rotate90(digits)
    assert once.shape == digits.shape
    assert not np.allclose(once, digits)
    np.testing.assert_allclose(once, np.rot90(digits, 1, axes=(1, 2)))
    x = digits
    for _ in range(4):
        x = shifts.rotate90(x)
    np.testing.assert_array_equal(x, digits)


def test_rotate90_is_a_copy(digits):
    out = shifts.rotate90(digits)
    out[:] = 0.0
    assert digits.max() == 1.0


@pytest.mark.parametrize("contrast, level", [(0.12, 0.5), (0.3, 0.1)])
def test_low_contrast_range(digits, contrast, level):
    x = digits.copy()
    x[0, 0, 0], x[0, 1, 1] = 0.0, 1.0
    out = shifts.low_contrast(x, contrast=contrast, level=level)
    assert out.min() == pytest.approx(level)
    assert out.max() == pytest.approx(level + contrast)
    np.testing.assert_allclose(out, level + contrast * x)


def test_gaussian_noise_clipped_and_seeded(digits):
    a = shifts.gaussian_noise(digits, np.random.default_rng(5))
    b = shifts.gaussian_noise(digits, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert not np.allclose(a, digits)


def test_colour_background_rho_one_uses_label_colour(digits):
    labels = np.arange(6)
    out = shifts.colour_background(digits, labels, np.random.default_rng(1), rho=1.0)
    assert out.shape == (6, 28, 28, 3)
    background = digits == 0.0
    for i, label in enumerate(labels):
        np.testing.assert_allclose(
            out[i][background[i]], np.broadcast_to(shifts.PALETTE[label], (background[i].sum(), 3))
        )
        stroke = digits[i] == 1.0
        np.testing.assert_allclose(out[i][stroke], 1.0)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_colour_background_rho_zero_never_uses_label_colour():
    labels = np.array([0, 1, 2, 3, 4, 5] * 20)
    x = np.zeros((len(labels), 28, 28))
    out = shifts.colour_background(x, labels, np.random.default_rng(2), rho=0.0)
    corner = out[:, 0, 0, :]
    nearest = ((corner[:, None, :] - shifts.PALETTE[None]) ** 2).sum(-1).argmin(-1)
    assert not (nearest == labels).any()


def test_palette_colours_are_distinct():
    assert shifts.PALETTE.shape == (10, 3)
    distances = ((shifts.PALETTE[:, None] - shifts.PALETTE[None]) ** 2).sum(-1)
    assert (distances + np.eye(10)).min() > 0


def test_relocate_keeps_shape_and_fits_window(digits):
    out = shifts.relocate(digits, np.random.default_rng(3), size=12)
    assert out.shape == digits.shape == (6, 28, 28)
    assert out.min() >= 0.0 and out.max() <= 1.0
    corners = set()
    for img in out:
        rows, cols = np.nonzero(img > 1e-9)
        assert len(rows) > 0
        assert np.ptp(rows) < 12 and np.ptp(cols) < 12
        corners.add((rows.min(), cols.min()))
    assert len(corners) > 1  # digits land at different places


def test_upsample_to_mnist_frame():
    x8 = np.full((2, 8, 8), 16.0)
    out = shifts.upsample_to_mnist(x8)
    assert out.shape == (2, 28, 28)
    np.testing.assert_allclose(out[:, 4:24, 4:24], 1.0, atol=1e-6)
    assert out[:, :4].max() == 0.0 and out[:, 24:].max() == 0.0
