"""Pure plot functions: data in, matplotlib Figure out. Lessons call them, widgets wrap them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .tasks import METHOD_ORDER


def show_images(images, labels=None, class_names=None, ncols: int = 8, title: str | None = None):
    """A grid of images (N, C, H, W) in [0, 1], captioned with class names when given."""
    images = torch.as_tensor(images)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i].permute(1, 2, 0).numpy()
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        if labels is not None:
            label = int(labels[i])
            ax.set_title(class_names[label] if class_names else str(label), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_bars(
    accuracies: dict[str, float], title: str = "", reference: float | None = None
):
    """Horizontal bars of accuracy per data set, with an optional reference line."""
    names = list(accuracies)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1))
    ax.barh(names, [accuracies[n] for n in names], color="tab:blue")
    if reference is not None:
        ax.axvline(reference, color="tab:red", linestyle="--", label=f"reference {reference:.2f}")
        ax.legend(loc="lower right")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_error_curves(
    table: pd.DataFrame, x: str, y: str, *, by: str = "method", logx=True, logy=True, title=""
):
    """One line per group of `by`: column y against column x (e.g. relative MSE against q)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, group in table.groupby(by, sort=True):
        group = group.sort_values(x)
        ax.plot(group[x], group[y], marker="o", label=str(name))
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_gradient_estimates(
    function, w, true_gradient, estimates: np.ndarray, title: str = "", span: float = 1.5
):
    """Contours of a 2-D toy function, its true gradient at w (black) and estimates (blue)."""
    w = np.asarray(w, dtype=np.float64)
    grid = np.linspace(-span, span, 121)
    X, Y = np.meshgrid(grid + w[0], grid + w[1])
    Z = function.value(np.stack([X.ravel(), Y.ravel()], 1)).reshape(X.shape)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.contour(X, Y, np.log1p(Z - Z.min()), levels=20, cmap="viridis", linewidths=0.8)
    scale = 0.6 * span / (np.linalg.norm(true_gradient) + 1e-12)
    for g in np.atleast_2d(estimates):
        ax.arrow(*w, *(-scale * g), color="tab:blue", alpha=0.35, width=0.004)
    ax.arrow(*w, *(-scale * np.asarray(true_gradient)), color="black", width=0.01)
    ax.plot(*w, "ko")
    ax.set_title(title or "descent directions: true (black), estimates (blue)")
    ax.set_aspect("equal")
    fig.tight_layout()
    return fig


def plot_curves(curves: dict[str, list[float]], xlabel: str, ylabel: str, title="", logy=False):
    """Several named series against their index (e.g. loss against optimisation step)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name in curves:
        ax.plot(np.arange(len(curves[name])), curves[name], label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_yscale("log" if logy else "linear")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_partition(parts: list[np.ndarray], labels, class_names, title: str = ""):
    """Stacked bars: how many examples of each class every client holds."""
    labels = np.asarray(labels)
    counts = np.array([[(labels[p] == c).sum() for c in range(len(class_names))] for p in parts])
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    bottom = np.zeros(len(parts))
    colours = plt.get_cmap("tab10")
    for c, name in enumerate(class_names):
        ax.bar(range(len(parts)), counts[:, c], bottom=bottom, color=colours(c % 10), label=name)
        bottom += counts[:, c]
    ax.set_xlabel("client")
    ax.set_ylabel("examples")
    ax.set_xticks(range(len(parts)))
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def plot_accuracy_curves(runs: dict[str, dict], references: dict[str, float] | None = None):
    """Test accuracy after every round of federated runs (results of run_experiment), against the
    round (left) and against the tuning calls spent so far (right); references are flat lines."""
    fig, (by_round, by_calls) = plt.subplots(1, 2, figsize=(9.5, 3.6), sharey=True)
    for name, run in runs.items():
        per_round = run["accuracy_per_round"]
        if not per_round:
            raise ValueError(f"run {name!r} has no accuracy_per_round (not a federated run)")
        rounds = np.arange(len(per_round))
        by_round.plot(rounds, per_round, marker=".", label=name)
        by_calls.plot(
            rounds * _tuning_calls(run) / run["rounds"], per_round, marker=".", label=name
        )
    for name, value in (references or {}).items():
        for ax in (by_round, by_calls):
            ax.axhline(value, linestyle="--", linewidth=1, color="grey")
        by_calls.annotate(name, (1.0, value), xycoords=("axes fraction", "data"), fontsize=8)
    by_round.set_xlabel("round")
    by_calls.set_xlabel("API calls spent tuning")
    by_round.set_ylabel("test accuracy")
    by_round.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_client_spread(client_accuracies: dict[str, list[float]], title: str = ""):
    """One dot per client and a bar at the mean, for each named method."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    _draw_spread(ax, client_accuracies)
    ax.set_xticks(range(len(client_accuracies)), list(client_accuracies))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _draw_spread(ax, client_accuracies: dict[str, list[float]]) -> None:
    """Dots per client and a bar at each group's mean, on accuracy axes from 0 to 1."""
    for position, values in enumerate(client_accuracies.values()):
        jitter = np.linspace(-0.15, 0.15, len(values))
        ax.scatter(position + jitter, values, s=18, alpha=0.8)
        ax.hlines(np.mean(values), position - 0.3, position + 0.3, color="black")
    ax.set_ylabel("accuracy on the client's label mix")
    ax.set_ylim(0, 1)


def plot_gains(runs: pd.DataFrame, title: str = "", value: str = "accuracy"):
    """Each tuned method's gain over zero-shot in points (mean over seeds, spread as error bar)
    in one task's sweep runs; `value`: accuracy (what runs returned) or learned_accuracy (what
    they learned)."""
    tuned = runs[runs["method"] != "zero_shot"]
    if tuned.empty:
        raise ValueError("no tuned runs to plot: the selection holds zero-shot runs only")
    several = tuned["variant"].nunique() > 1
    tuned = tuned.assign(
        gain=100 * (tuned[value] - tuned["zero_shot_accuracy"]),
        row=tuned["dataset"] + (" " + tuned["variant"] if several else ""),
    )
    table = tuned.groupby(["row", "method", "setting"], sort=False)["gain"].agg(["mean", "std"])
    settings = list(dict.fromkeys(tuned["setting"]))
    series = sorted(
        dict.fromkeys(zip(tuned["method"], tuned["setting"], strict=True)),
        key=lambda s: (METHOD_ORDER.index(s[0]), settings.index(s[1])),
    )
    rows = list(dict.fromkeys(tuned["row"]))
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 1 + len(rows) * (0.22 * len(series) + 0.25)))
    for k, (method, setting) in enumerate(series):
        bars = table.xs((method, setting), level=("method", "setting"))
        ax.barh(
            [rows.index(r) + k * height for r in bars.index],
            bars["mean"],
            height,
            xerr=bars["std"].fillna(0),
            color=plt.get_cmap("tab10")(METHOD_ORDER.index(method)),
            hatch=("", "//", "..", "xx")[settings.index(setting) % 4],
            edgecolor="white",
            label=f"{method} {setting}",
        )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_yticks(np.arange(len(rows)) + 0.4 - height / 2, rows)
    ax.invert_yaxis()
    ax.set_xlabel("gain over zero-shot (points of test accuracy)")
    ax.set_title(title)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def _tuning_calls(run: dict) -> float:
    """The calls the returned run spent tuning: all it was billed, less its validation
    queries, over the step sizes it tried when it searched (each trained as long)."""
    tuning = run["api_calls"] - np.nan_to_num(run.get("validation_calls", 0))
    tried = run.get("step_size_scores")
    return tuning / (len(tried) if isinstance(tried, dict) and tried else 1)


def plot_sweep_runs(runs: pd.DataFrame, title: str = ""):
    """Sweep runs' test accuracy by round and by API calls spent tuning (a run without per-round
    scores is one point at its whole budget), and each client's accuracy on its own label mix."""
    if runs.empty:
        raise ValueError("no runs to plot: the selection matched none")
    fig, (by_round, by_calls, spread) = plt.subplots(1, 3, figsize=(13, 3.6))
    clients: dict[str, list[float]] = {}
    for number, run in enumerate(runs.itertuples(index=False)):
        label = f"{run.method} {run.variant} seed {run.seed}"
        colour = plt.get_cmap("tab10")(number % 10)
        # what the run learned, as federated runs' curves are
        per_round = list(run.accuracy_per_round) or [getattr(run, "learned_accuracy", run.accuracy)]
        rounds = np.arange(len(per_round)) if len(per_round) > 1 else np.array([run.rounds])
        calls = rounds * _tuning_calls(run._asdict()) / run.rounds
        style = {"marker": "." if len(per_round) > 1 else "s", "color": colour, "label": label}
        by_round.plot(rounds, per_round, **style)
        by_calls.plot(calls, per_round, **style)
        clients[label] = list(run.client_accuracy)
    for ax in (by_round, by_calls):
        ax.axhline(runs["zero_shot_accuracy"].mean(), color="grey", linestyle="--", linewidth=1)
        ax.set_ylabel("test accuracy (dashed: zero-shot)")
        ax.set_xlim(left=0)  # from the start, also when a run is a single point at its budget
    by_round.set_xlabel("round")
    by_calls.set_xlabel("API calls spent tuning")
    by_round.legend(fontsize=7)
    _draw_spread(spread, clients)
    spread.set_xticks(range(len(clients)), list(clients), rotation=30, ha="right", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
