"""The README's headline claims, checked against a sweep's stored runs: each claim, what the runs
measured and whether it held (claims.md beside a sweep's summary; `make demo` ends with it).

Every figure compares what methods learned (learned_accuracy, mean over seeds): a run may return
a control instead, which would hide a method's losses. Vision figures average over the shifted
data sets a prompt can fix: those where white-box tuning gains at least FIXABLE over zero-shot
(every shifted one when the runs have no white-box tuning).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .datasets.vision_sets import dataset_info, dataset_names

FIXABLE = 0.05
FEDBBPT, DIRICHLET = ("fedbbpt", "iid"), ("fedbbpt", "dirichlet(0.5)")


def _means(frame: pd.DataFrame, method: str, setting: str, variant: str) -> pd.Series:
    """Per data set, the mean over seeds of what one method learned."""
    runs = frame[
        (frame["method"] == method) & (frame["setting"] == setting) & (frame["variant"] == variant)
    ]
    return runs.groupby("dataset")["learned_accuracy"].mean()


def _vision(frame: pd.DataFrame) -> tuple[dict, list[str]]:
    """{(method, setting): per-data-set means} of the grid prompt on the fixable shifted sets."""
    shifted = [d for d in dataset_names() if dataset_info(d)["shift"] != "none"]
    grid = frame[(frame["task"] == "vision") & frame["dataset"].isin(shifted)]
    pairs = [("zero_shot", "iid"), ("centralized", "iid"), ("whitebox", "iid"), FEDBBPT, DIRICHLET]
    means = {p: _means(grid, *p, "grid") for p in [*pairs, ("local_only", "dirichlet(0.5)")]}
    zero, white = means["zero_shot", "iid"], means["whitebox", "iid"]
    fixable = [d for d in zero.index if d not in white or white[d] - zero[d] >= FIXABLE]
    return means, fixable


def _difference(means: dict, fixable: list[str], a, b) -> tuple[float, str] | None:
    """Mean (a - b) in points over the fixable sets both ran, and the smallest, named."""
    both = [d for d in fixable if d in means[a] and d in means[b]]
    if not both:
        return None
    gaps = pd.Series({d: 100 * (means[a][d] - means[b][d]) for d in both})
    return gaps.mean(), f"{gaps.mean():+.1f} points (smallest: {gaps.idxmin()}, {gaps.min():+.1f})"


def check_claims(frame: pd.DataFrame) -> list[dict]:
    """Each headline claim the runs can test: {claim, measured, target, held}."""
    means, fixable = _vision(frame)
    rows = []

    def add(claim: str, found, target: str, held) -> None:
        if found is not None:
            value, measured = found
            rows.append(
                {"claim": claim, "measured": measured, "target": target, "held": held(value)}
            )

    zero = ("zero_shot", "iid")
    add(
        "Fed-BBPT (IID) gains at least 20 points over zero-shot on the shifted sets",
        _difference(means, fixable, FEDBBPT, zero),
        ">= +20 points",
        lambda v: v >= 20,
    )
    gaps = [
        (means[FEDBBPT][d] - means[zero][d]) / (means["whitebox", "iid"][d] - means[zero][d])
        for d in fixable
        if all(d in means[k] for k in (FEDBBPT, zero, ("whitebox", "iid")))
    ]
    if gaps:
        share = 100 * float(np.mean(gaps))
        add(
            "Fed-BBPT (IID) recovers at least 80% of the zero-shot to white-box gap",
            (share, f"{share:.0f}%"),
            ">= 80%",
            lambda v: v >= 80,
        )
    central = ("centralized", "iid")
    add(
        "Fed-BBPT (IID) comes within 2 points of centralised tuning",
        _difference(means, fixable, FEDBBPT, central),
        ">= -2 points",
        lambda v: v >= -2,
    )
    add(
        "Fed-BBPT (Dirichlet 0.5) comes within 4 points of centralised tuning",
        _difference(means, fixable, DIRICHLET, central),
        ">= -4 points",
        lambda v: v >= -4,
    )
    add(
        "Fed-BBPT (Dirichlet 0.5) beats clients tuning alone (local-only, Dirichlet 0.5)",
        _difference(means, fixable, DIRICHLET, ("local_only", "dirichlet(0.5)")),
        "> 0 points",
        lambda v: v > 0,
    )
    rows += _text_claims(frame)
    return rows


def _text_claims(frame: pd.DataFrame) -> list[dict]:
    """Federated BDPL against the best of the three control prompts, per text data set."""
    rows = []
    text = frame[frame["task"] == "text"]
    for dataset, runs in text.groupby("dataset", sort=False):
        learned = _means(runs, *FEDBBPT, "bdpl")
        if dataset not in learned:
            continue
        by_seed = runs.drop_duplicates("seed")["controls"]
        controls = {c: np.mean([s[c] for s in by_seed]) for c in by_seed.iloc[0]}
        best = max(controls, key=controls.get)
        gap = 100 * (learned[dataset] - controls[best])
        rows.append(
            {
                "claim": f"Federated BDPL (IID) beats every control prompt on {dataset}",
                "measured": f"{gap:+.1f} points over the {best} prompt",
                "target": "> 0 points",
                "held": bool(gap > 0),
            }
        )
    return rows


def claims_markdown(rows: list[dict]) -> str:
    """The claims as a Markdown table, held or not held."""
    lines = ["| claim | measured | target | held? |", "|---|---|---|---|"]
    for row in rows:
        held = "held" if row["held"] else "**not held**"
        lines.append(f"| {row['claim']} | {row['measured']} | {row['target']} | {held} |")
    return "\n".join(lines) + "\n"
