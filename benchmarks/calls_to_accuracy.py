"""API calls needed to reach 95% of the final test accuracy, per ZO estimator and for one client
per round against all clients.

1. Estimators: one tuner, the grid prompt on mnist_inverted's 16-shot pool (160 images), batches
   of 32, --calls API calls. Each estimator (q = 5 directions, so 10 prompted copies per call;
   CGE: 2 x 49) takes plain ZO-SGD steps w -= a_k g with SPSA-GC's decaying a_k; SPSA-GC is the
   kit's optimiser (segmented SPSA with its correction). Each picks a from A_GRID by its mean
   training loss over the last fifth of the calls (never by test accuracy).
2. Clients per round: Fed-BBPT, 10 clients (IID), 500 calls: all 10 clients in each of 10 rounds
   against one client (fraction_fit=0.1) in each of 100 rounds, seeds 0-2.
Test accuracy is scored on all 1,000 test images by an unbilled evaluator.
Usage: python benchmarks/calls_to_accuracy.py [--calls 200] [--every 10]
"""

from __future__ import annotations

import argparse

import numpy as np

import fedbbpt_lite as fbl

A_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
OPTIMISERS = (*fbl.zo.ESTIMATORS, "spsa_gc")


def calls_to_reach(curve: list[tuple[int, float]], share: float = 0.95) -> int:
    """The first call count at which accuracy reaches `share` of the curve's final accuracy."""
    final = curve[-1][1]
    return next(calls for calls, accuracy in curve if accuracy >= share * final)


def tune(name: str, a: float, calls: int, every: int, data, api, evaluator) -> dict:
    """One tuner's run: test accuracy every `every` calls and the training losses."""
    rng = np.random.default_rng(0)
    images, labels = fbl.tasks.vision_experiment.few_shot_pool(data, 16, rng)
    prompt = fbl.prompts.GridPrompt()
    config = fbl.zo.SPSAGCConfig(a=a)
    w, state = prompt.init_params(), fbl.zo.SPSAGCState()
    test = data.y_test.numpy()

    def accuracy() -> float:
        predicted = fbl.tasks.vision.predict(evaluator, data.x_test, data.prompts, prompt, w)
        return float((predicted == test).mean())

    curve, losses = [(0, accuracy())], []
    for step in range(1, calls + 1):
        index = rng.choice(len(labels), 32, replace=False)
        loss_batch = fbl.tasks.vision.prompt_loss_fn(
            api, prompt, images[index], labels[index], data.prompts
        )
        if name == "spsa_gc":
            w, state, _ = fbl.zo.spsa_gc_step(loss_batch, w, state, config, rng)
        else:
            g = fbl.zo.estimate(name, loss_batch, w, rng, mu=config.c, **_q(name))
            w = w - config.a / (step + config.o) ** config.alpha * g
        unbilled = fbl.tasks.vision.prompt_loss_fn(
            evaluator, prompt, images[index], labels[index], data.prompts
        )
        losses.append(float(unbilled(w[None])[0]))  # the batch's loss after the step
        if step % every == 0:
            curve.append((step, accuracy()))
    return {"curve": curve, "late_loss": float(np.mean(losses[-max(1, calls // 5) :]))}


def _q(name: str) -> dict:
    return {} if name == "cge" else {"q": 5}


def estimators(args, data) -> None:
    api, evaluator = fbl.blackbox.MiniCLIPBlackBox(), fbl.blackbox.MiniCLIPBlackBox()
    print(f"1. one tuner, {args.calls} API calls, grid prompt on mnist_inverted")
    print(f"{'optimiser':16s} {'a':>5s} {'examples':>9s} {'final':>6s} {'calls to 95%':>13s}")
    for name in OPTIMISERS:
        runs = {}
        for a in A_GRID:
            before = api.meter.examples
            runs[a] = tune(name, a, args.calls, args.every, data, api, evaluator)
            runs[a]["examples"] = api.meter.examples - before
        best = min(runs, key=lambda a: runs[a]["late_loss"])
        run = runs[best]
        print(
            f"{name:16s} {best:5g} {run['examples']:9d} {run['curve'][-1][1]:6.3f} "
            f"{calls_to_reach(run['curve']):13d}"
        )


def clients_per_round(data) -> None:
    print("\n2. Fed-BBPT, 10 IID clients, 500 API calls, seeds 0-2")
    settings = {"all 10 clients a round": (1.0, 10), "one client a round": (0.1, 100)}
    for label, (fraction, rounds) in settings.items():
        finals, reached = [], []
        for seed in (0, 1, 2):
            experiment = fbl.tasks.vision_experiment.VisionExperiment(
                dataset="mnist_inverted",
                fraction_fit=fraction,
                rounds=rounds,
                seed=seed,
                step_size=fbl.tasks.vision_experiment.STEP_SIZES["grid"],
            )
            result = fbl.tasks.vision_experiment.run_experiment(experiment, data)
            per_call = experiment.steps // rounds  # training calls (validation comes after)
            curve = [(r * per_call, a) for r, a in enumerate(result["accuracy_per_round"])]
            finals.append(result["learned_accuracy"])
            reached.append(calls_to_reach(curve))
        print(
            f"  {label:22s} final {np.mean(finals):.3f} ± {np.std(finals):.3f}   "
            f"calls to 95% of final: {np.mean(reached):.0f} (per seed {reached})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    data = fbl.datasets.load_vision("mnist_inverted")
    estimators(args, data)
    clients_per_round(data)


if __name__ == "__main__":
    main()
