"""BlackVIP's fourteen vision data sets, for CLIP ViT-B/16 at the paper's scale.

Each loads from the layout CoOp and BlackVIP prepare under a data root ($FEDBBPT_LITE_DATA, else
<kit cache>/data): a folder per data set holding its images and its split file
(split_zhou_<Name>.json: {"train"|"val"|"test": [[image path, label, class name], ...]}), or
FGVC-Aircraft's variant lists, or one folder per class (ImageNet, SVHN). Images are resized
(shorter side, bicubic) and centre-cropped to the black box's size, as CLIP's test transform
does, and kept as uint8 pixels. `tuning` holds BlackVIP's per-data-set SPSA-GC settings (c,
gamma, beta) and prompt strength eps, the defaults of a run on that data set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..paths import data_root
from ..validation import check_count
from .base import VisionDataset

PREFIX = "blackvip/"
CLIP_SIZE = 224


@dataclass(frozen=True)
class BlackVIPSet:
    """Where a data set lives under the data root, how its split is stored, its CLIP template
    and BlackVIP's tuned settings for it (docs/configuration.md of BlackVIP)."""

    folder: str
    images: str
    layout: str  # "split": a split JSON; "aircraft": variant lists; "folders": class folders
    template: str
    tuning: dict = field(default_factory=dict)
    split_file: str = ""
    test_folder: str = ""
    class_file: str = ""


def _tuning(beta: float, gamma: float, c: float, eps: float) -> dict:
    return {"beta": beta, "gamma": gamma, "c": c, "eps": eps}


BLACKVIP_SETS = {
    "caltech101": BlackVIPSet(
        "caltech-101", "101_ObjectCategories", "split", "a photo of a {}.",
        _tuning(0.9, 0.2, 0.005, 0.2), "split_zhou_Caltech101.json",
    ),
    "oxford_pets": BlackVIPSet(
        "oxford_pets", "images", "split", "a photo of a {}, a type of pet.",
        _tuning(0.9, 0.1, 0.01, 1.0), "split_zhou_OxfordPets.json",
    ),
    "stanford_cars": BlackVIPSet(
        "stanford_cars", "", "split", "a photo of a {}.",
        _tuning(0.9, 0.2, 0.01, 0.3), "split_zhou_StanfordCars.json",
    ),
    "oxford_flowers": BlackVIPSet(
        "oxford_flowers", "jpg", "split", "a photo of a {}, a type of flower.",
        _tuning(0.5, 0.2, 0.02, 1.0), "split_zhou_OxfordFlowers.json",
    ),
    "food101": BlackVIPSet(
        "food-101", "images", "split", "a photo of {}, a type of food.",
        _tuning(0.9, 0.1, 0.01, 0.3), "split_zhou_Food101.json",
    ),
    "fgvc_aircraft": BlackVIPSet(
        "fgvc_aircraft", "images", "aircraft", "a photo of a {}, a type of aircraft.",
        _tuning(0.3, 0.1, 0.01, 0.5),
    ),
    "sun397": BlackVIPSet(
        "sun397", "SUN397", "split", "a photo of a {}.",
        _tuning(0.5, 0.1, 0.01, 1.0), "split_zhou_SUN397.json",
    ),
    "dtd": BlackVIPSet(
        "dtd", "images", "split", "{} texture.",
        _tuning(0.7, 0.2, 0.01, 0.3), "split_zhou_DescribableTextures.json",
    ),
    "svhn": BlackVIPSet(
        "svhn", "train", "folders", "This is a photo of a {}",
        _tuning(0.9, 0.2, 0.005, 1.0), test_folder="test",
    ),
    "eurosat": BlackVIPSet(
        "eurosat", "2750", "split", "a centered satellite photo of {}.",
        _tuning(0.9, 0.2, 0.005, 0.4), "split_zhou_EuroSAT.json",
    ),
    "resisc45": BlackVIPSet(
        "resisc45", "NWPU-RESISC45", "split", "This is a photo of a {}",
        _tuning(0.95, 0.1, 0.01, 0.3), "split_mlai_Resisc45.json",
    ),
    "clevr": BlackVIPSet(
        "CLEVR_v1.0", "images", "split", "This is a photo of {} objects",
        _tuning(0.9, 0.2, 0.005, 1.0), "split_mlai_CLEVR.json",
    ),
    "ucf101": BlackVIPSet(
        "ucf101", "UCF-101-midframes", "split", "a photo of a person doing {}.",
        _tuning(0.9, 0.1, 0.01, 0.3), "split_zhou_UCF101.json",
    ),
    "imagenet": BlackVIPSet(
        "imagenet", "images/train", "folders", "a photo of a {}.",
        _tuning(0.9, 0.2, 0.005, 0.3), test_folder="images/val", class_file="classnames.txt",
    ),
}  # fmt: skip


def blackvip_names() -> list[str]:
    """The registry names of BlackVIP's data sets, e.g. 'blackvip/eurosat'."""
    return [PREFIX + name for name in BLACKVIP_SETS]


def load_blackvip(
    name: str,
    root=None,
    image_size: int = CLIP_SIZE,
    pool_per_class: int = 64,
    max_test: int | None = None,
) -> VisionDataset:
    """A BlackVIP data set by registry name ('blackvip/eurosat') from `root` (default
    data_root()). The training pool keeps `pool_per_class` images per class (drawn with seed
    0; runs draw their 16 shots from it); the test set is whole unless max_test caps it (a
    class-balanced draw with seed 0)."""
    entry = _entry(name)
    image_size = check_count("image_size", image_size)
    pool_per_class = check_count("pool_per_class", pool_per_class)
    if max_test is not None:
        max_test = check_count("max_test", max_test)
    folder = locate_blackvip(name, root)
    splits, class_names = _read_split(name, entry, folder)
    rng = np.random.default_rng(0)
    train = _subset(splits["train"], lambda members: min(len(members), pool_per_class), rng)
    per_class = None if max_test is None else max(1, max_test // len(class_names))
    test = _subset(
        splits["test"],
        lambda members: len(members) if per_class is None else min(len(members), per_class),
        rng,
    )
    arrays = {}
    for part, rows in (("train", train), ("test", test)):
        images = torch.stack([_image(path, image_size) for path, _ in rows])
        arrays[part] = images, torch.tensor([label for _, label in rows], dtype=torch.int64)
    return VisionDataset(
        name=PREFIX + name.removeprefix(PREFIX),
        x_train=arrays["train"][0],
        y_train=arrays["train"][1],
        x_test=arrays["test"][0],
        y_test=arrays["test"][1],
        class_names=tuple(class_names),
        template=entry.template,
        tuning=dict(entry.tuning),
    )


def locate_blackvip(name: str, root=None) -> Path:
    """The data set's folder after checking its split is readable (no image is loaded)."""
    entry = _entry(name)
    folder = Path(root if root is not None else data_root()) / entry.folder
    _read_split(name, entry, folder)
    return folder


def _entry(name: str) -> BlackVIPSet:
    if not isinstance(name, str) or name.removeprefix(PREFIX) not in BLACKVIP_SETS:
        raise ValueError(f"name must be one of {blackvip_names()}, got {name!r}")
    return BLACKVIP_SETS[name.removeprefix(PREFIX)]


def _missing(name: str, entry: BlackVIPSet, path: Path, root: Path) -> ValueError:
    return ValueError(
        f"data set {name!r} needs {path}. Fix: download it as CoOp's DATASETS.md describes "
        "(github.com/KaiyangZhou/CoOp; BlackVIP's README for SVHN, Resisc45 and CLEVR) so that "
        f"the folder {entry.folder!r} sits under the data root {root} (set FEDBBPT_LITE_DATA "
        "to move the root)."
    )


def _read_split(name: str, entry: BlackVIPSet, folder: Path):
    """{'train'|'test': [(image path, label)]} and the class names, from the data set's layout."""
    images = folder / entry.images
    if entry.layout == "split":
        path = folder / entry.split_file
        if not path.is_file():
            raise _missing(name, entry, path, folder.parent)
        try:
            split = json.loads(path.read_text())
            rows = {part: split[part] for part in ("train", "test")}
            names = {int(label): str(cls) for part in rows.values() for _, label, cls in part}
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ValueError(
                f"{path.name} must map 'train' and 'test' to [image, label, class name] lists"
            ) from None
        splits = {
            part: [(images / image, int(label)) for image, label, _ in entries]
            for part, entries in rows.items()
        }
        class_names = [names[label] for label in sorted(names)]
    elif entry.layout == "aircraft":
        variants = folder / "variants.txt"
        if not variants.is_file():
            raise _missing(name, entry, variants, folder.parent)
        class_names = [line.strip() for line in variants.read_text().splitlines() if line.strip()]
        splits = {}
        for part in ("train", "test"):
            lines = folder / f"images_variant_{part}.txt"
            if not lines.is_file():
                raise _missing(name, entry, lines, folder.parent)
            pairs = [line.split(" ", 1) for line in lines.read_text().splitlines() if line.strip()]
            splits[part] = [
                (images / f"{image}.jpg", class_names.index(variant.strip()))
                for image, variant in pairs
            ]
    else:
        if not images.is_dir():
            raise _missing(name, entry, images, folder.parent)
        folders = sorted(p.name for p in images.iterdir() if p.is_dir())
        if entry.class_file:  # ImageNet: '<wnid> <class name>' lines
            lines = (folder / entry.class_file).read_text().splitlines()
            readable = dict(line.split(" ", 1) for line in lines if line.strip())
            class_names = [readable.get(wnid, wnid) for wnid in folders]
        else:
            class_names = folders
        splits = {
            part: [
                (image, label)
                for label, wnid in enumerate(folders)
                for image in sorted((folder / sub / wnid).glob("*"))
            ]
            for part, sub in (("train", entry.images), ("test", entry.test_folder))
        }
    for part, rows in splits.items():
        if not rows:
            raise ValueError(f"data set {name!r} has no {part} images under {folder}")
    return splits, [c.replace("_", " ") for c in class_names]


def _subset(rows, keep, rng: np.random.Generator) -> list:
    """Per class, `keep(members)` of its rows drawn without replacement, in file order."""
    labels = np.array([label for _, label in rows])
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen.extend(rng.choice(members, keep(members), replace=False))
    return [rows[i] for i in sorted(chosen)]


def _image(path: Path, size: int) -> torch.Tensor:
    """An RGB image as (3, size, size) uint8: shorter side resized (bicubic), centre-cropped."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (OSError, ValueError) as error:
        raise ValueError(f"image {path} cannot be read ({error})") from None
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (width - size) // 2, (height - size) // 2
    image = image.crop((left, top, left + size, top + size))
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
