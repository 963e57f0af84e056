"""The `fedbbpt-lite` command (also `python -m fedbbpt_lite`)."""

from __future__ import annotations

import argparse
import json

from .blackbox.miniclip import MiniCLIPBlackBox
from .datasets.registry import dataset_info, dataset_names, load_vision, load_vision_file
from .federated.partition import SCHEMES
from .tasks.vision import accuracy
from .tasks.vision_experiment import GENERATORS, METHODS, VisionExperiment, run_vision


def _datasets(args) -> int:
    rows = []
    blackbox = MiniCLIPBlackBox() if args.zero_shot else None
    for name in dataset_names():
        info = dataset_info(name)
        row = {"name": name, **{k: info[k] for k in ("shift", "n_train", "n_test", "bytes")}}
        row.update(description=info["description"], source=info["source"])
        if blackbox is not None:
            data = load_vision(name)
            row["zero_shot_accuracy"] = round(
                accuracy(blackbox, data.x_test, data.y_test.numpy(), data.prompts), 4
            )
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'name':20s} {'shift':12s} {'train':>6s} {'test':>6s} {'KiB':>6s}"
    print(header + ("  zero-shot" if args.zero_shot else "") + "  description")
    for row in rows:
        line = (
            f"{row['name']:20s} {row['shift']:12s} {row['n_train']:6d} {row['n_test']:6d} "
            f"{row['bytes'] // 1024:6d}"
        )
        if args.zero_shot:
            line += f"  {row['zero_shot_accuracy']:9.3f}"
        print(f"{line}  {row['description']}")
    print("\nSources and licences: data/README.md")
    return 0


def _run(args) -> int:
    data = load_vision_file(args.data, args.template) if args.data else load_vision(args.dataset)
    experiment = VisionExperiment(
        dataset=data.name,
        method=args.method,
        generator=args.generator,
        clients=args.clients,
        rounds=args.rounds,
        local_steps=args.local_steps,
        batch_size=args.batch_size,
        shots=args.shots,
        partition=args.partition,
        alpha=args.alpha,
        fraction_fit=args.fraction_fit,
        step_size=args.step_size,
        server_learning_rate=args.server_lr,
        seed=args.seed,
    )
    result = run_vision(experiment, data)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['method']} on {result['dataset']} ({result['generator']} prompt, "
        f"{result['clients']} clients, {result['partition']} partition, seed {result['seed']})"
    )
    print(f"zero-shot accuracy  {result['zero_shot_accuracy']:.3f}")
    print(f"accuracy            {result['accuracy']:.3f}")
    print(f"API calls           {result['api_calls']} ({result['examples_sent']} examples)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fedbbpt-lite", description="Federated black-box prompt tuning, a teaching kit."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    datasets = sub.add_parser("datasets", help="list the committed data sets")
    datasets.add_argument(
        "--zero-shot", action="store_true", help="also score MiniCLIP zero-shot on each test set"
    )
    datasets.add_argument("--json", action="store_true", help="print JSON instead of a table")
    datasets.set_defaults(handler=_datasets)

    run = sub.add_parser(
        "run", help="run one experiment (see fedbbpt_lite.tasks.vision_experiment)"
    )
    defaults = VisionExperiment()
    run.add_argument("--task", choices=["vision"], default="vision")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=dataset_names(), default=defaults.dataset)
    source.add_argument("--data", metavar="FILE.npz", help="your own data (see the README)")
    run.add_argument("--template", default="a photo of a {}", help="prompt template for --data")
    run.add_argument("--method", choices=METHODS, default=defaults.method)
    run.add_argument("--generator", choices=GENERATORS, default=defaults.generator)
    for name in ("clients", "rounds", "local_steps", "batch_size", "shots", "seed"):
        flag = "--" + name.replace("_", "-")
        run.add_argument(flag, type=int, default=getattr(defaults, name))
    run.add_argument("--partition", choices=SCHEMES, default=defaults.partition)
    run.add_argument("--alpha", type=float, default=defaults.alpha, help="Dirichlet alpha")
    run.add_argument("--fraction-fit", type=float, default=defaults.fraction_fit)
    run.add_argument(
        "--step-size",
        type=float,
        default=None,
        help="SPSA-GC a, or Adam lr for whitebox (default per generator)",
    )
    run.add_argument("--server-lr", type=float, default=defaults.server_learning_rate)
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"fedbbpt-lite {args.command}: error: {error}\n")
