"""The `fedbbpt-lite` command (also `python -m fedbbpt_lite`)."""

from __future__ import annotations

import argparse
import json

from .blackbox.miniclip import MiniCLIPBlackBox
from .datasets.registry import dataset_info, dataset_names, load_vision
from .tasks.vision import accuracy


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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    return args.handler(args)
