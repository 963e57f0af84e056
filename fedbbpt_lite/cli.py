"""The `fedbbpt-lite` command (also `python -m fedbbpt_lite`)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import fields, replace
from pathlib import Path

from .blackbox.embedding import EmbeddingBlackBox
from .blackbox.miniclip import MiniCLIPBlackBox
from .datasets.blackvip import BLACKVIP_SETS, blackvip_names
from .datasets.glue import HF_DATASET, glue_names
from .datasets.instruction_sets import (
    instruction_task_names,
    load_instruction_file,
    load_instructions,
)
from .datasets.text_sets import (
    TEXT_DIR,
    load_text,
    load_text_file,
    text_dataset_info,
    text_dataset_names,
)
from .datasets.vision_sets import dataset_info, dataset_names, load_vision, load_vision_file
from .paths import data_root
from .sweep import accuracy_table, markdown_table, run_sweep, spec_names
from .tasks import EXPERIMENTS
from .tasks.engine import Experiment, run_experiment
from .tasks.instruction_experiment import InstructionExperiment
from .tasks.text import text_accuracy
from .tasks.text_experiment import TextExperiment
from .tasks.vision import accuracy
from .tasks.vision_experiment import VisionExperiment
from .validation import check_template


def _datasets(args) -> int:
    rows = []
    for name in dataset_names():
        info = dataset_info(name)
        row = {"task": "vision", "name": name, **{k: info[k] for k in ("shift", "n_train")}}
        row.update(n_test=info["n_test"], bytes=info["bytes"])
        if args.zero_shot:
            data = load_vision(name)
            zero_shot = accuracy(MiniCLIPBlackBox(), data.x_test, data.y_test.numpy(), data.prompts)
            row["zero_shot_accuracy"] = round(zero_shot, 4)
        rows.append({**row, "description": info["description"], "source": info["source"]})
    for name in text_dataset_names():
        info = text_dataset_info(name)
        row = {"task": "text", "name": name, "shift": "-", "n_train": info["pool"]}
        row.update(n_test=info["test"], bytes=(TEXT_DIR / f"{name}.jsonl").stat().st_size)
        if args.zero_shot:
            data = load_text(name)
            zero_shot = text_accuracy(
                EmbeddingBlackBox(), data.test_texts, data.y_test, data.prompts, data.manual_prompt
            )
            row["zero_shot_accuracy"] = round(zero_shot, 4)
        rows.append({**row, "description": info["description"], "source": info["source"]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'name':20s} {'shift':12s} {'train':>6s} {'test':>6s} {'KiB':>6s}"
    print(header + ("  zero-shot" if args.zero_shot else "") + "  description")
    for r in rows:
        score = f"  {r['zero_shot_accuracy']:9.3f}" if args.zero_shot else ""
        print(
            f"{r['name']:20s} {r['shift']:12s} {r['n_train']:6d} {r['n_test']:6d} "
            f"{r['bytes'] // 1024:6d}{score}  {r['description']}"
        )
    print("\nSources and licences: data/README.md")
    print("\nPaper scale, loaded by name once downloaded (fedbbpt-lite sweep --preset paper):")
    print(
        f"  {', '.join(glue_names())}:\n    Hugging Face {HF_DATASET}, or GLUE TSV files in ",
        end="",
    )
    print(data_root() / "glue" / "<task>")
    folders = ", ".join(entry.folder for entry in BLACKVIP_SETS.values())
    print(
        f"  {', '.join(blackvip_names())}:\n    CoOp/BlackVIP folders ({folders}) in {data_root()}"
    )
    return 0


FLAG_TYPES = {"str": str, "int": int, "float": float, "float | None": float}


def _settings() -> dict[str, tuple[type, str, tuple[str, ...]]]:
    """Each experiment setting but the data set: its type, doc and the tasks that have it."""
    shared = {f.name: f.metadata["doc"] for f in fields(Experiment)}
    found: dict[str, tuple[type, str, tuple[str, ...]]] = {}
    for task, experiment_class in EXPERIMENTS.items():
        for f in fields(experiment_class):
            if f.name != "dataset":
                tasks = found.get(f.name, (None, "", ()))[2]
                doc = shared.get(f.name, f.metadata["doc"])
                found[f.name] = (FLAG_TYPES[f.type], doc, (*tasks, task))
    return found


def _experiment(args, dataset: str):
    """The experiment of the flags the user gave (the rest keep the experiment's defaults)."""
    given = {n: getattr(args, n) for n in _settings() if getattr(args, n) is not None}
    return EXPERIMENTS[args.task](dataset=dataset, **given)


def _run_text(args) -> dict:
    if args.data:
        template = args.template or "This text is about {}."
        data = load_text_file(args.data, template, args.manual_prompt or "")
    else:
        data = load_text(args.dataset or TextExperiment().dataset)
        if args.template or args.manual_prompt is not None:
            template = args.template or data.template
            manual = data.manual_prompt if args.manual_prompt is None else args.manual_prompt
            data = replace(data, template=check_template(template), manual_prompt=manual)
    experiment = _experiment(args, data.name)
    return run_experiment(experiment, data, checkpoint=_checkpoint(args, experiment))


def _run_instruction(args) -> dict:
    if args.data:
        data = load_instruction_file(args.data, args.instruction or "")
    else:
        data = load_instructions(args.dataset or InstructionExperiment().dataset)
        if args.instruction is not None:
            data = replace(data, instruction=" ".join(args.instruction.split()))
    experiment = _experiment(args, data.name)
    return run_experiment(experiment, data, checkpoint=_checkpoint(args, experiment))


def _run_vision(args) -> dict:
    if args.data:
        data = load_vision_file(args.data, args.template or "a photo of a {}")
    else:
        data = load_vision(args.dataset or VisionExperiment().dataset)
    experiment = _experiment(args, data.name)
    return run_experiment(experiment, data, checkpoint=_checkpoint(args, experiment))


def _checkpoint(args, experiment):
    """The --checkpoint file, which only a federated run writes."""
    if args.checkpoint and experiment.method != "fedbbpt":
        raise ValueError("--checkpoint applies to --method fedbbpt (the federated run) only")
    return args.checkpoint


def _dataset_names() -> dict[str, list[str]]:
    """The data sets each task runs on, by task."""
    return {
        "vision": dataset_names() + blackvip_names(),
        "text": text_dataset_names() + glue_names(),
        "instruction": instruction_task_names(),
    }


def _run(args) -> int:
    only = {n: tasks for n, (_, _, tasks) in _settings().items() if len(tasks) == 1}
    only.update(manual_prompt=("text",), instruction=("instruction",))
    only["template"] = ("vision", "text")
    for name, tasks in only.items():
        if args.task not in tasks and getattr(args, name) is not None:
            raise ValueError(
                f"--{name.replace('_', '-')} applies to --task {' or '.join(tasks)} only"
            )
    names = _dataset_names()
    if args.dataset and args.dataset not in names[args.task]:
        owner = next(task for task, found in names.items() if args.dataset in found)
        raise ValueError(
            f"dataset {args.dataset!r} is a {owner} data set: add --task {owner} (--task "
            f"{args.task} takes {', '.join(names[args.task])})"
        )
    runners = {"vision": _run_vision, "text": _run_text, "instruction": _run_instruction}
    result = runners[args.task](args)
    if args.json:
        print(json.dumps(result))
        return 0
    what = result[EXPERIMENTS[args.task].variant]
    print(
        f"{result['method']} on {result['dataset']} ({what} "
        f"{'search' if args.task == 'instruction' else 'prompt'}, "
        f"{result['clients']} clients, {result['partition']} partition, seed {result['seed']})"
    )
    print(f"zero-shot accuracy  {result['zero_shot_accuracy']:.3f}")
    for name, value in result.get("controls", {}).items():
        print(f"  {name + ' prompt':17s} {value:.3f}")
    if result.get("step_size_scores"):
        tried = ", ".join(
            f"{step:g}: {score:.3f}" for step, score in result["step_size_scores"].items()
        )
        print(f"step size           {result['step_size']:g} (validation accuracy {tried})")
    for scores in result.get("validation_accuracy", []):
        listed = ", ".join(f"{name} {score:.3f}" for name, score in scores.items())
        print(f"validation          {listed}")
    for chosen, scores in zip(
        result.get("selected", []), result.get("validation_accuracy", []), strict=True
    ):
        if chosen != "learned":
            why = (
                f"the {chosen.replace('_', '-')} prompt: the learned one did not beat it on "
                f"validation (its test accuracy: {result['learned_accuracy']:.3f})"
            )
        elif math.isnan(scores["learned"]):
            why = "the learned prompt, unvalidated (no examples or budget left)"
        else:
            why = "the learned prompt (it beat every control on validation)"
        print(f"returned            {why}")
    print(f"accuracy            {result['accuracy']:.3f}")
    for kind in ("prompt", "instruction"):
        for words in filter(None, result.get(f"learned_{kind}s", [])):
            print(f"{'learned ' + kind:19s} {words!r}")
    print(f"API calls           {result['api_calls']} ({result['examples_sent']} examples)")
    return 0


def _sweep(args) -> int:
    frame = run_sweep(
        args.spec or args.preset,
        args.out,
        progress=not args.quiet,
        workers=args.workers,
        ray_address=args.ray,
    )
    print(f"{len(frame)} runs stored; summary, table and figures in {args.out}/")
    print("Test accuracy (%), mean ± std over seeds:\n")
    print(markdown_table(accuracy_table(frame)))
    claims = Path(args.out) / "claims.md"
    if claims.exists():
        print(f"The README's claims, as these runs measured them ({claims}):\n")
        print(claims.read_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="fedbbpt-lite", description="Federated black-box prompt tuning, a teaching kit."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    datasets = sub.add_parser("datasets", help="list the committed data sets")
    datasets.add_argument(
        "--zero-shot",
        action="store_true",
        help="also score each test set zero-shot (MiniCLIP, or MiniLM with the manual prompt)",
    )
    datasets.add_argument("--json", action="store_true", help="print JSON instead of a table")
    datasets.set_defaults(handler=_datasets)

    run = sub.add_parser(
        "run",
        help="run one experiment (the flags are the task's Experiment fields)",
    )
    run.add_argument("--task", choices=list(EXPERIMENTS), default="vision")
    source = run.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        choices=[name for names in _dataset_names().values() for name in names],
        help="a data set (default mnist_inverted; bbc_news with --task text, antonyms with "
        "--task instruction); the blackvip/ and glue/ ones load once downloaded",
    )
    source.add_argument(
        "--data",
        metavar="FILE",
        help="your own data: .npz images, .jsonl/.csv texts with --task text, or .jsonl "
        "input/output pairs with --task instruction (see the README)",
    )
    run.add_argument("--template", help="class description with {} for the class name")
    run.add_argument("--manual-prompt", help="text: the hand-written prefix (a control)")
    run.add_argument("--instruction", help="instruction: the hand-written instruction (a control)")
    for name, (kind, doc, tasks) in _settings().items():
        where = "" if len(tasks) > 1 else f"{tasks[0]}: "
        run.add_argument("--" + name.replace("_", "-"), type=kind, help=where + doc)
    run.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="save the federated run after every round to FILE (safetensors); rerunning the "
        "same command resumes it",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(handler=_run)

    sweep = sub.add_parser(
        "sweep", help="run a benchmark sweep, resumable (see fedbbpt_lite.sweep)"
    )
    grid = sweep.add_mutually_exclusive_group()
    grid.add_argument(
        "--preset",
        choices=spec_names(),
        default="quick",
        help="a spec the kit ships (benchmarks/specs/NAME.yaml)",
    )
    grid.add_argument("--spec", metavar="FILE", help="a .yaml or .json spec of SweepSpec fields")
    sweep.add_argument("--out", required=True, help="folder of the results store and report")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    places = sweep.add_mutually_exclusive_group()
    places.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N worker processes here, sharing the cores (default 1); sweeps started "
        "elsewhere on the same --out share it too, each run once",
    )
    places.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run each run as a task on the Ray cluster at ADDRESS ('local': start one here), "
        "one GPU a run where the cluster has GPUs",
    )
    sweep.set_defaults(handler=_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"fedbbpt-lite {args.command}: error: {error}\n")
