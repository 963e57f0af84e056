"""Train the Coordinator's frozen image encoder: a small autoencoder (maintainers only).

Self-supervised (reconstruction only, no labels, nothing from MiniCLIP), on the same source
images as MiniCLIP's training set: MNIST train and Fashion-MNIST train[:50000].
Usage: python scripts/build_encoder.py [--epochs N]
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

from fedbbpt_lite.prompts.image_encoder import ENCODER_WEIGHTS, AutoEncoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    mnist, fashion = sources.load_mnist(), sources.load_fashion_mnist()
    x = np.concatenate([mnist["train"][0], fashion["train"][0][:50000]])
    images = torch.from_numpy(x).float().div(255).unsqueeze(1)
    model = AutoEncoder()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(images)))
        for step in range(len(images) // 256):
            batch = images[order[step * 256 : (step + 1) * 256]]
            loss = F.mse_loss(model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: last batch MSE {loss.item():.4f} ({time.time() - start:.0f} s)")
    model.eval()
    with torch.no_grad():
        test = torch.from_numpy(mnist["test"][0][:2000]).float().div(255).unsqueeze(1)
        test_mse = F.mse_loss(model(test), test).item()
    print(f"MNIST test reconstruction MSE {test_mse:.4f}")
    provenance = {
        "script": "scripts/build_encoder.py",
        "args": vars(args),
        "train_data": "MNIST train + Fashion-MNIST train[:50000], no labels",
        "mnist_test_mse": round(test_mse, 5),
    }
    ENCODER_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(ENCODER_WEIGHTS), metadata={"provenance": json.dumps(provenance)})
    print(f"wrote {ENCODER_WEIGHTS.relative_to(sources.ROOT)}")


if __name__ == "__main__":
    main()
