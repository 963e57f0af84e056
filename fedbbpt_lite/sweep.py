"""The benchmark sweep: every combination of a spec's data sets, methods, partitions, client
counts and seeds, run into a resumable store, then summarised. The kit's own specs are
benchmarks/specs/NAME.yaml (quick, full, paper, demo, the results tables).
Each finished run is one line of OUT/runs.jsonl, keyed by a digest of all its settings: a rerun
skips every finished run, and a sweep killed at any point loses at most the runs in flight.
Any number of workers (processes here, sweeps on other machines sharing the folder, or Ray
tasks) share one OUT: each run is claimed by one worker at a time (run_claims).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from .blackbox.executor import ExecutorBlackBox
from .blackbox.language_model import SMOLLM2, hub_source
from .datasets.blackvip import blackvip_names, locate_blackvip
from .datasets.glue import glue_names, locate_glue
from .datasets.instruction_sets import instruction_task_names, load_instructions
from .datasets.text_sets import load_text, text_dataset_names
from .datasets.vision_sets import dataset_names, load_vision
from .federated.partition import SCHEMES
from .paths import ROOT
from .results_store import ResultStore, read_rows
from .run_claims import LOCK_FILE, RunClaims
from .tasks import EXPERIMENTS, METHOD_ORDER, text_experiment, vision_experiment
from .tasks.engine import run_experiment
from .tasks.instruction_clients import SEARCHES
from .tasks.text_experiment import TextExperiment, text_api
from .tasks.vision_experiment import VisionExperiment
from .validation import check_choice, check_count, check_real

RUNS_FILE = "runs.jsonl"
WAIT_SECONDS = 1.0  # how often a worker with nothing to claim looks again
# each task's data sets, and the spec axis of its prompt methods
DATASETS = {
    "vision": lambda: dataset_names() + blackvip_names(),
    "text": lambda: text_dataset_names() + glue_names(),
    "instruction": instruction_task_names,
}
VARIANTS = {"vision": "generators", "text": "prompts", "instruction": "searches"}
SPECS = ROOT / "benchmarks" / "specs"
# Methods that pool or ignore the clients' data run once, on the IID split.
PARTITION_FREE = ("zero_shot", "centralized", "whitebox")
AXES = (
    "dataset",
    "method",
    "generator",
    "prompt",
    "search",
    "partition",
    "alpha",
    "clients",
    "seed",
)
SELECTABLE = ("task", "dataset", "method", "partition")  # select_runs' fields beside alpha
GROUP = ("task", "dataset", "method", "variant", "setting", "clients", "test_every")


@dataclass(frozen=True)
class SweepSpec:
    """The grid of a sweep. Methods run on the tasks that have them (text results carry their
    controls); overrides ({match, set}, in order) set e.g. a step size per data set and method;
    privacy entries are DPFedAvg settings of the federated runs."""

    datasets: tuple[str, ...]
    methods: tuple[str, ...] | dict = vision_experiment.METHODS
    generators: tuple[str, ...] = ("grid",)
    prompts: tuple[str, ...] = ("bdpl",)
    searches: tuple[str, ...] = ("bo",)  # instruction search: bo, pooled_bo, spsa
    partitions: tuple[str, ...] = ("iid", "dirichlet")
    alphas: tuple[float, ...] = (0.5,)
    clients: tuple[int, ...] = (5,)
    seeds: tuple[int, ...] = (0,)
    test_every: int = 1  # score every k-th test example (5: a quick look)
    vision: dict = field(default_factory=dict)  # the other experiment settings, e.g. rounds
    text: dict = field(default_factory=dict)
    instruction: dict = field(default_factory=dict)
    method_partitions: dict = field(default_factory=dict)  # per method, overriding _splits's rule
    overrides: tuple = ()
    privacy: tuple = (None,)

    def __post_init__(self):
        if isinstance(self.methods, dict):  # per task: {vision: [...], text: [...]}
            for task in self.methods:
                check_choice("methods", task, tuple(EXPERIMENTS))
            object.__setattr__(self, "methods", {t: tuple(m) for t, m in self.methods.items()})
        else:
            _as_tuple(self, "methods")
        axes = ("datasets", *VARIANTS.values(), "partitions", "alphas", "clients", "seeds")
        for axis in (*axes, "privacy"):
            _as_tuple(self, axis)
        object.__setattr__(self, "overrides", tuple(self.overrides))
        methods = tuple(dict.fromkeys(VisionExperiment.methods + TextExperiment.methods))
        choices = {
            "datasets": [name for names in DATASETS.values() for name in names()],
            "methods": methods,
            "generators": vision_experiment.GENERATORS,
            "prompts": text_experiment.PROMPTS,
            "searches": SEARCHES,
            "partitions": SCHEMES,
        }
        for axis, allowed in choices.items():
            for name in _flat(self.methods) if axis == "methods" else getattr(self, axis):
                check_choice(axis, name, tuple(allowed))
        for alpha in self.alphas:
            check_real("alphas", alpha, positive=True)
        for axis in ("clients", "seeds"):
            for count in getattr(self, axis):
                check_count(axis, count, minimum=1 if axis == "clients" else 0)
        check_count("test_every", self.test_every)
        for task in EXPERIMENTS:
            allowed = {f.name for f in fields(EXPERIMENTS[task])} - set(AXES)
            for name in _mapping(self, task):
                if name not in allowed:
                    raise ValueError(
                        f"{task} setting {name!r} is not one of {', '.join(sorted(allowed))} "
                        "(data sets, methods, partitions, alphas, clients and seeds are axes)"
                    )
        for name, partitions in _mapping(self, "method_partitions").items():
            check_choice("method_partitions", name, methods)
            for scheme in partitions if isinstance(partitions, list | tuple) else [partitions]:
                check_choice(f"method_partitions[{name!r}]", scheme, SCHEMES)
        settings = {f.name for cls in EXPERIMENTS.values() for f in fields(cls)}
        for override in self.overrides:
            if not isinstance(override, dict) or set(override) != {"match", "set"}:
                raise ValueError(f"overrides must be {{match: ..., set: ...}}, got {override!r}")
            for part in ("match", "set"):
                if not isinstance(override[part], dict) or not set(override[part]) <= settings:
                    raise ValueError(
                        f"override {part} must map experiment settings to values, got "
                        f"{override[part]!r}"
                    )
        for entry in self.privacy:
            if entry is not None and (
                not isinstance(entry, dict) or set(entry) != {"clip_norm", "noise_multiplier"}
            ):
                raise ValueError(
                    "privacy entries must be null or {clip_norm: C, noise_multiplier: z}, got "
                    f"{entry!r}"
                )
        if not experiments(self):
            raise ValueError("the spec's methods apply to none of its data sets' tasks")


def _flat(methods: tuple | dict) -> tuple[str, ...]:
    """Every method a spec names, once (methods may be given per task)."""
    if isinstance(methods, dict):
        return tuple(dict.fromkeys(m for ms in methods.values() for m in ms))
    return methods


def _mapping(spec: SweepSpec, name: str) -> dict:
    values = getattr(spec, name)
    if not isinstance(values, dict):
        raise TypeError(f"{name} must be a mapping of settings, got {type(values).__name__}")
    return values


def _as_tuple(spec: SweepSpec, axis: str) -> None:
    """Store an axis as a tuple (a spec file or a caller may give a list)."""
    values = getattr(spec, axis)
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{axis} must be a non-empty list, got {values!r}")
    object.__setattr__(spec, axis, tuple(values))


def task_of(dataset: str) -> str:
    """The task a data set belongs to, by its name."""
    return next(task for task, names in DATASETS.items() if dataset in names())


def spec_names() -> list[str]:
    """The specs that ship with the kit, by name (benchmarks/specs/NAME.yaml)."""
    return sorted(path.stem for path in SPECS.glob("*.yaml"))


def load_spec(source) -> SweepSpec:
    """A spec the kit ships, by name, or a .yaml/.yml/.json file of SweepSpec's fields."""
    if isinstance(source, SweepSpec):
        return source
    path = SPECS / f"{source}.yaml" if source in spec_names() else Path(source)
    if not path.is_file():
        raise ValueError(
            f"spec must be one of the kit's ({', '.join(spec_names())}) or a spec file; "
            f"got {source!r}"
        )
    import yaml

    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(f"spec file {path} must end in .yaml, .yml or .json")
    try:
        text = path.read_text()
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"spec file {path} does not parse: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"spec file {path} must hold a mapping of SweepSpec fields")
    names = {f.name for f in fields(SweepSpec)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"spec file {path}: unknown fields {unknown}; known: {sorted(names)}")
    if "datasets" not in raw:
        raise ValueError(f"spec file {path} must list datasets")
    return SweepSpec(**raw)


def experiments(spec: SweepSpec) -> list[VisionExperiment | TextExperiment]:
    """The spec's runs, seed by seed (so a partial sweep covers every data set early), each once."""
    runs: dict[str, VisionExperiment | TextExperiment] = {}
    for seed in spec.seeds:
        for dataset in spec.datasets:
            task = task_of(dataset)
            methods = EXPERIMENTS[task].methods
            variants, settings = getattr(spec, VARIANTS[task]), getattr(spec, task)
            kind = EXPERIMENTS[task].variant
            wanted = spec.methods.get(task, ()) if isinstance(spec.methods, dict) else spec.methods
            for method in (m for m in wanted if m in methods):
                privacy = spec.privacy if method == "fedbbpt" else (None,)
                for variant, clients, (partition, alpha), dp in itertools.product(
                    variants, spec.clients, _splits(spec, method, task), privacy
                ):
                    experiment = EXPERIMENTS[task](
                        dataset=dataset,
                        method=method,
                        clients=clients,
                        partition=partition,
                        seed=seed,
                        **{kind: variant},
                        **({"alpha": alpha} if alpha is not None else {}),
                        **settings,
                        **(dp or {}),
                    )
                    for override in spec.overrides:
                        if all(
                            getattr(experiment, k, None) == v for k, v in override["match"].items()
                        ):
                            experiment = replace(experiment, **override["set"])
                    if experiment.step_size is None and method != "zero_shot":
                        # a run given no step size trains one per candidate to choose:
                        # a sweep cell runs at the method's default instead
                        experiment = replace(experiment, step_size=experiment.default_step)
                    runs.setdefault(run_id(experiment), experiment)
    return list(runs.values())


def _splits(spec: SweepSpec, method: str, task: str) -> list[tuple[str, float | None]]:
    """(partition, alpha) pairs for a method: Dirichlet once per alpha, IID once; instruction
    tasks have no classes to skew, so IID only."""
    partitions = spec.method_partitions.get(method)
    if partitions is None:
        partitions = ["iid"] if method in PARTITION_FREE else spec.partitions
    elif isinstance(partitions, str):
        partitions = [partitions]
    partitions = ["iid"] if task == "instruction" else partitions
    return [(p, a) for p in partitions for a in (spec.alphas if p == "dirichlet" else [None])]


def run_id(experiment: VisionExperiment | TextExperiment, test_every: int = 1) -> str:
    """The store's key: a digest of a run's settings and of the test examples it is scored on."""
    settings = {"task": experiment.task, "test_every": test_every, **asdict(experiment)}
    if settings["precision"] == "fp32":  # every stored run's arithmetic: its ids leave it out
        del settings["precision"]
    settings = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def describe(experiment: VisionExperiment | TextExperiment) -> str:
    """A short name of a run for progress lines."""
    variant = getattr(experiment, experiment.variant)
    split = experiment.partition + (
        f"({experiment.alpha:g})" if experiment.partition == "dirichlet" else ""
    )
    return f"{experiment.dataset} {experiment.method} {variant} {split} seed {experiment.seed}"


def run_sweep(
    spec, out, progress: bool = True, workers: int = 1, ray_address: str | None = None
) -> pd.DataFrame:
    """Run every unfinished run of `spec`, storing each as it ends; then write the report.
    Sweeps started anywhere on one `out` share it, each run claimed once (run_claims);
    `workers` > 1 starts that many here, and `ray_address` spreads the runs over a Ray cluster
    ("local" starts one on this machine)."""
    from tqdm.auto import tqdm

    spec, out = load_spec(spec), Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a folder, got the file {out}")
    workers = check_count("workers", workers)
    if ray_address is not None and workers != 1:
        raise ValueError("workers applies without ray_address (Ray places the runs itself)")
    if ray_address is not None and (not isinstance(ray_address, str) or not ray_address):
        raise ValueError(f"ray_address must be a cluster address or 'local', got {ray_address!r}")
    store = ResultStore(out / RUNS_FILE, ("run_id",))
    planned = experiments(spec)
    todo = [e for e in planned if (run_id(e, spec.test_every),) not in store]
    check_available(todo)
    if progress:
        finished = len(planned) - len(todo)
        print(f"sweep: {len(planned)} runs, {finished} already finished in {store.path}")
    failures, cause = [], None
    with tqdm(
        total=len(planned), initial=len(planned) - len(todo), disable=not progress, unit="run"
    ) as bar:
        if workers > 1:
            failures = _spawn_workers(spec, out, workers, bar)
        elif ray_address is not None:
            from .ray_sweep import RayRuns

            with RayRuns(ray_address, _run_in_worker) as runs:
                failures = drive(spec, todo, out, runs, bar)
        else:
            runs = InProcessRuns()
            failures = drive(spec, todo, out, runs, bar)
            cause = next(iter(runs.errors), None)  # its traceback shows where the first failed
    with FileLock(out / LOCK_FILE):
        write_report(out)
    if failures:
        raise RuntimeError(
            f"{len(failures)} run(s) failed; every other run is stored, and rerunning the same "
            "sweep retries only what is missing:\n" + "\n".join(failures)
        ) from cause
    return load_results(out)


def run_row(experiment, test_every: int, cache: dict) -> dict:
    """One run's row for the store. `cache` keeps the data set at hand (paper-scale sets are
    large) and the unbilled evaluators, shared so that the controls are scored once."""
    began = time.time()
    if cache.get("dataset") != experiment.dataset:
        cache.update(dataset=experiment.dataset, evaluators={})
        cache["data"] = _test_subset(experiment.dataset, test_every)
    dataset, evaluators = cache["data"], cache["evaluators"]
    api = evaluator = None
    if experiment.task != "vision":
        text = experiment.task == "text"
        make = functools.partial(text_api, data=dataset) if text else ExecutorBlackBox
        which = (experiment.blackbox, experiment.precision)
        if which not in evaluators:
            evaluators[which] = make(experiment.blackbox, cache=True, precision=which[1])
        api = make(experiment.blackbox, cache=True, precision=which[1])
        evaluator = evaluators[which]
    result = run_experiment(experiment, dataset, api, evaluator)
    key = run_id(experiment, test_every)
    seconds = round(time.time() - began, 2)
    return {"run_id": key, **result, "test_every": test_every, "seconds": seconds}


_WORKER_CACHE: dict = {}  # a Ray worker process's run_row cache, kept between its tasks


def _run_in_worker(experiment, test_every: int) -> dict:
    return run_row(experiment, test_every, _WORKER_CACHE)


class InProcessRuns:
    """Runs each run in this process, one at a time, when it is submitted."""

    slots = 1

    def __init__(self):
        self.cache, self.outcomes, self.errors = {}, {}, []

    def submit(self, experiment, test_every: int) -> int:
        handle = len(self.outcomes)
        try:
            self.outcomes[handle] = (run_row(experiment, test_every, self.cache), None)
        except Exception as error:  # noqa: BLE001 - reported with the run, the sweep goes on
            self.outcomes[handle] = (None, error)
            self.errors.append(error)
        return handle

    def wait(self, handles) -> tuple:
        """(handle, row, error) of a finished run among `handles`."""
        return (handles[0], *self.outcomes.pop(handles[0]))


def _claim_next(todo, test_every: int, store: ResultStore, claims: RunClaims, skip: set):
    """Under the folder's lock: the first run of `todo` neither stored nor held by a live worker,
    now claimed, or None; and whether runs held by live workers remain."""
    with claims.lock:
        store.refresh()
        waiting = False
        for experiment in todo:
            key = run_id(experiment, test_every)
            if (key,) in store or key in skip or key in claims.held:
                continue
            if claims.live(key):
                waiting = True
                continue
            claims.take(key)
            return experiment, waiting
    return None, waiting


def drive(spec: SweepSpec, todo, out: Path, runs, bar=None) -> list[str]:
    """Claim, run (through `runs`: InProcessRuns or ray_sweep.RayRuns) and store the runs of
    `todo` until every one is stored or failed here; returns the failures."""
    store, claims = ResultStore(out / RUNS_FILE, ("run_id",)), RunClaims(out)
    flying, failed, failures = {}, set(), []
    try:
        while True:
            waiting = False
            while len(flying) < runs.slots:
                experiment, waiting = _claim_next(todo, spec.test_every, store, claims, failed)
                if experiment is None:
                    break
                if bar is not None:
                    bar.set_postfix_str(describe(experiment))
                flying[runs.submit(experiment, spec.test_every)] = experiment
            if not flying:
                if not waiting:
                    return failures
                time.sleep(WAIT_SECONDS)  # a live worker holds the rest; it may die
                continue
            handle, row, error = runs.wait(list(flying))
            experiment = flying.pop(handle)
            key = run_id(experiment, spec.test_every)
            if error is None:
                with claims.lock:
                    store.append(row)
                if bar is not None:
                    bar.update()
            else:
                failed.add(key)
                failures.append(f"{describe(experiment)}: {type(error).__name__}: {error}")
            claims.release(key)
    finally:
        claims.close()


def _sweep_worker(spec: SweepSpec, out: Path, threads: int) -> None:
    """One of --workers' processes: its share of the cores, then the shared loop."""
    import torch

    torch.set_num_threads(threads)
    todo = experiments(spec)
    failures = drive(spec, todo, out, InProcessRuns())
    if failures:
        raise RuntimeError("\n".join(failures))


def _spawn_workers(spec: SweepSpec, out: Path, workers: int, bar) -> list[str]:
    """Run `workers` processes on one folder, following the store for the progress bar."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    processes = [
        context.Process(target=_sweep_worker, args=(spec, out, threads)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    planned = {run_id(e, spec.test_every) for e in experiments(spec)}
    while any(process.is_alive() for process in processes):
        time.sleep(WAIT_SECONDS)
        stored = {row["run_id"] for row in read_rows(out / RUNS_FILE, missing_ok=True)}
        bar.update(len(planned & stored) - bar.n)
    return [
        f"sweep worker {number} ended with exit code {process.exitcode} (its error is above)"
        for number, process in enumerate(processes)
        if process.exitcode != 0
    ]


def check_available(runs) -> None:
    """Fail before the first run when a paper-scale data set or model of `runs` is neither
    downloaded nor downloadable (the error says what to download and where it goes)."""
    for dataset in dict.fromkeys(e.dataset for e in runs):
        if dataset.startswith("blackvip/"):
            locate_blackvip(dataset)
        elif dataset.startswith("glue/"):
            locate_glue(dataset)
    offline = ("miniclip", text_experiment.EMBEDDING, SMOLLM2)
    models = [e.blackbox for e in runs] + [getattr(e, "generator_model", SMOLLM2) for e in runs]
    for model in dict.fromkeys(models):
        if model not in offline:
            hub_source(model, "model")


def _test_subset(dataset: str, every: int):
    """A data set with every `every`-th test example kept."""
    if task_of(dataset) == "text":
        data = load_text(dataset)
        return replace(data, test_texts=data.test_texts[::every], y_test=data.y_test[::every])
    if task_of(dataset) == "instruction":
        data = load_instructions(dataset)
        return replace(
            data, test_inputs=data.test_inputs[::every], test_outputs=data.test_outputs[::every]
        )
    data = load_vision(dataset)
    return replace(data, x_test=data.x_test[::every], y_test=data.y_test[::every])


def load_results(out) -> pd.DataFrame:
    """Every stored run of a sweep folder or runs file, with `variant` and `setting` to group by."""
    path = Path(out)
    path = path / RUNS_FILE if path.is_dir() else path
    if not path.exists():
        raise ValueError(f"no sweep results at {path}: run `fedbbpt-lite sweep` first")
    frame = pd.DataFrame(read_rows(path))
    if frame.empty:
        raise ValueError(f"{path} holds no finished runs")
    frame["variant"] = [row[EXPERIMENTS[row["task"]].variant] for _, row in frame.iterrows()]
    frame["setting"] = [
        (f"dirichlet({row['alpha']:g})" if row["partition"] == "dirichlet" else row["partition"])
        + (
            f" dp({row['clip_norm']:g}, {row['noise_multiplier']:g})"
            if pd.notna(row.get("clip_norm"))
            else ""
        )
        for _, row in frame.iterrows()
    ]
    return frame


def select_runs(frame: pd.DataFrame, alpha: float | None = None, **fields) -> pd.DataFrame:
    """The stored runs that match every given field (task, dataset, method, partition; alpha only
    matters for Dirichlet runs)."""
    keep = np.ones(len(frame), dtype=bool)
    for name, value in fields.items():
        check_choice("field", name, SELECTABLE)
        if value is not None:
            keep &= (frame[name] == value).to_numpy()
    if alpha is not None:
        keep &= ((frame["partition"] != "dirichlet") | (frame["alpha"] == alpha)).to_numpy()
    return frame[keep]


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of test accuracy over seeds per GROUP, with zero-shot."""
    grouped = frame.groupby(list(GROUP), sort=True)
    table = grouped.agg(
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", lambda a: float(np.std(a))),
        zero_shot=("zero_shot_accuracy", "mean"),
        api_calls=("api_calls", "mean"),
        seeds=("seed", "nunique"),
        seconds=("seconds", "sum"),
    )
    return table.reset_index().round(4)


def _seeds_cell(values) -> str:
    values = [v for v in values if not pd.isna(v)]
    return f"{100 * np.mean(values):.1f} ± {100 * np.std(values):.1f}" if values else "-"


def accuracy_table(frame: pd.DataFrame, value: str = "accuracy") -> pd.DataFrame:
    """Mean ± std over seeds of a test accuracy (%), a row per data set and variant, a column per
    method and setting, and zero-shot: the layout of every results table."""
    columns = sorted(
        {(m, s) for m, s in zip(frame["method"], frame["setting"], strict=True)},
        key=lambda c: (METHOD_ORDER.index(c[0]), list(frame["setting"]).index(c[1])),
    )
    rows = []
    for (dataset, variant), group in frame.groupby(["dataset", "variant"], sort=False):
        row = {"data set": dataset, "variant": variant}
        for method, setting in columns:
            chosen = group[(group["method"] == method) & (group["setting"] == setting)]
            row[f"{method} ({setting})"] = _seeds_cell(chosen[value])
        row["zero-shot"] = _seeds_cell(group.drop_duplicates("seed")["zero_shot_accuracy"])
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """A pandas table as a GitHub Markdown table."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for row in table.itertuples(index=False):
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(out) -> list[Path]:
    """Write summary.csv, summary.md, gains_<task>.png and, when the runs can test any of the
    README's claims, claims.md into the sweep folder; return their paths."""
    import matplotlib.pyplot as plt

    from .claims import check_claims, claims_markdown
    from .plots import plot_gains

    out = Path(out)
    frame = load_results(out)
    written = [out / "summary.csv", out / "summary.md"]
    summarise(frame).to_csv(written[0], index=False)
    written[1].write_text(markdown_table(accuracy_table(frame)))
    claims = check_claims(frame)
    if claims:
        written.append(out / "claims.md")
        written[-1].write_text(claims_markdown(claims))
    for task in sorted(frame.loc[frame["method"] != "zero_shot", "task"].unique()):
        figure = plot_gains(frame[frame["task"] == task], f"{task}: gain over zero-shot")
        written.append(out / f"gains_{task}.png")
        figure.savefig(written[-1], dpi=110)
        plt.close(figure)
    return written
