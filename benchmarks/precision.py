"""What a black box's precision option changes, against fp32, on the offline suite.

Each committed vision set through MiniCLIP (every test image, zero-shot) and BBC News through
MiniLM's embedding API (every test text, empty prompt): for TF32 and bf16, the largest logit
difference from fp32, the share of top-1 answers that agree with fp32, the accuracy beside fp32's,
and the forward time over fp32's (medians of interleaved repeats). TF32 exists only on NVIDIA
GPUs: elsewhere it runs fp32 and is printed as such.
Usage: python benchmarks/precision.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox.precision import PRECISIONS
from fedbbpt_lite.blackbox.text_encoder import shared_text_encoder
from fedbbpt_lite.datasets.vision_sets import dataset_names
from fedbbpt_lite.tasks.text import prompted_logits
from fedbbpt_lite.tasks.text_experiment import text_api


def suite():
    """(name, label, {precision: logits function}) for every data set of the offline suite."""
    for name in dataset_names():
        data = fbl.load_vision(name)
        apis = {p: fbl.MiniCLIPBlackBox(precision=p) for p in PRECISIONS}
        forwards = {
            p: (lambda api=api, data=data: api.query(data.x_test, data.prompts))
            for p, api in apis.items()
        }
        yield name, data.y_test.numpy(), forwards
    text = fbl.load_text("bbc_news")
    encoder = shared_text_encoder()

    def text_logits(api):
        encoder._cache.clear()  # the encoder keeps every text's embedding: time the model
        return prompted_logits(api, text.test_texts, text.prompts)

    apis = {p: text_api("minilm", text, precision=p) for p in PRECISIONS}
    forwards = {p: (lambda api=api: text_logits(api)) for p, api in apis.items()}
    yield "bbc_news", np.asarray(text.y_test), forwards


def measure(logits_of: dict, labels: np.ndarray, repeats: int) -> dict:
    """Each precision's logits, accuracy and median forward seconds, repeats interleaved."""
    seconds = {p: [] for p in logits_of}
    logits = {}
    for _ in range(repeats):
        for precision, forward in logits_of.items():
            began = time.perf_counter()
            logits[precision] = forward()
            seconds[precision].append(time.perf_counter() - began)
    return {
        p: {
            "logits": logits[p],
            "accuracy": float((logits[p].argmax(-1) == labels).mean()),
            "seconds": float(np.median(seconds[p])),
        }
        for p in logits_of
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    tf32 = "TF32" if torch.cuda.is_available() else "TF32 (= fp32 here: no NVIDIA GPU)"
    print(
        f"| data set | fp32 accuracy | {tf32}: largest logit gap, top-1 agreement, accuracy, time "
        "÷ fp32 | bf16: largest logit gap, top-1 agreement, accuracy, time ÷ fp32 |"
    )
    print("|---|---|---|---|")
    for name, labels, logits_of in suite():
        found = measure(logits_of, labels, args.repeats)
        base = found["fp32"]
        cells = [f"{100 * base['accuracy']:.1f}"]
        for precision in ("tf32", "bf16"):
            other = found[precision]
            gap = float(np.abs(other["logits"] - base["logits"]).max())
            agree = float((other["logits"].argmax(-1) == base["logits"].argmax(-1)).mean())
            cells.append(
                f"{gap:.2g}, {100 * agree:.1f}%, {100 * other['accuracy']:.1f}, "
                f"{other['seconds'] / base['seconds']:.2f}"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
