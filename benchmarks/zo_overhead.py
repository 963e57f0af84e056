"""How much does the ZO machinery cost on top of the black box, and what does batching save?

1. Overhead ratio: wall time of SPSA-GC steps through the MiniCLIP API (prompting, billing,
   loss, estimator, update) divided by the time of bare MiniCLIP forward passes (image tower
   on the same prompted images, text embeddings precomputed). Target <= 1.10.
2. Batched speedup: one API call for all 2*SP_AVG perturbed prompts against one call per
   perturbed prompt, same points, same examples billed. Target >= 2x. Measured on the local
   API and again with a simulated per-call latency (--latency-ms), as a remote API would add.
Both are measured side by side in one run, interleaved, and reported as medians.
Usage: python benchmarks/zo_overhead.py [--batch 32] [--steps 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox.miniclip import IMAGE_SHAPE, load_image_tower
from fedbbpt_lite.blackbox.text_encoder import shared_text_encoder


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    rng = fbl.set_seed(0)
    data = fbl.datasets.load_vision("mnist_inverted")
    images, labels = data.x_train[: args.batch], data.y_train[: args.batch].numpy()
    api = fbl.blackbox.MiniCLIPBlackBox()
    prompt = fbl.prompts.GridPrompt()
    config = fbl.zo.SPSAGCConfig(a=0.1)
    loss_batch = fbl.tasks.vision.prompt_loss_fn(api, prompt, images, labels, data.prompts)
    points = 2 * config.sp_avg

    tower = load_image_tower()
    text = shared_text_encoder().encode(data.prompts)
    # the prompted batch as the API receives it: grey, repeated to RGB inside the model
    bare_inputs = prompt.apply(rng.normal(0, 0.1, (points, prompt.num_params)), images)
    bare_inputs = bare_inputs.expand(-1, -1, 3, -1, -1)

    def zo_steps():
        w, state = prompt.init_params(), fbl.zo.SPSAGCState()
        for _ in range(args.steps):
            w, state, _ = fbl.zo.spsa_gc_step(loss_batch, w, state, config, rng)

    def bare_forwards():
        with torch.no_grad():
            for _ in range(args.steps):
                tower.logits(bare_inputs.reshape(-1, *IMAGE_SHAPE), text)

    W = rng.normal(0, 0.1, (points, prompt.num_params))

    def batching(losses, steps):
        """(one call for all points, one call per point), as zero-argument timers."""

        def one_call():
            for _ in range(steps):
                losses(W)

        def call_per_point():
            for _ in range(steps):
                for row in W:
                    losses(row[None])

        return one_call, call_per_point

    remote = fbl.blackbox.MiniCLIPBlackBox(latency_s=args.latency_ms / 1000)
    remote_loss = fbl.tasks.vision.prompt_loss_fn(remote, prompt, images, labels, data.prompts)
    runs = {
        "zo": zo_steps,
        "bare": bare_forwards,
        **dict(zip(("batched", "unbatched"), batching(loss_batch, args.steps), strict=True)),
        **dict(zip(("remote_batched", "remote_unbatched"), batching(remote_loss, 2), strict=True)),
    }
    for run in runs.values():  # warm-up
        run()
    timings = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            timings[name].append(timed(run))
    med = {name: statistics.median(values) for name, values in timings.items()}

    per_step = 1000 * med["zo"] / args.steps
    print(f"batch {args.batch} images, {points} perturbed prompts per step, {args.steps} steps")
    print(f"threads: {torch.get_num_threads()}, median of {args.repeats} interleaved repeats")
    print(f"SPSA-GC step through the API: {per_step:.1f} ms")
    print(
        f"bare MiniCLIP forward of the same {points * args.batch} images: "
        f"{1000 * med['bare'] / args.steps:.1f} ms"
    )
    print(
        f"overhead ratio (SPSA-GC / bare forward): {med['zo'] / med['bare']:.3f}  (target <= 1.10)"
    )
    print(
        "batched speedup, local API (one call per point / one call per step): "
        f"{med['unbatched'] / med['batched']:.2f}x  (target >= 2x)"
    )
    print(
        f"batched speedup, API with {args.latency_ms:g} ms simulated latency per call: "
        f"{med['remote_unbatched'] / med['remote_batched']:.2f}x"
    )


if __name__ == "__main__":
    main()
