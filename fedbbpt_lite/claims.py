"""The README's headline claims, tested on a sweep's runs (claims.md; `make demo` ends with it).

Figures compare what methods learned (learned_accuracy): a run may return a control instead,
which would hide a method's losses. Vision figures average over the shifted sets a prompt can fix:
where white-box tuning gains at least FIXABLE over zero-shot (all, without white-box runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .datasets.vision_sets import dataset_info, dataset_names

FIXABLE = 0.05
FEDBBPT, DIRICHLET = ("fedbbpt", "iid"), ("fedbbpt", "dirichlet(0.5)")
ZERO, CENTRAL, WHITE = ("zero_shot", "iid"), ("centralized", "iid"), ("whitebox", "iid")
LOCAL = ("local_only", "dirichlet(0.5)")


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
    means = {p: _means(grid, *p, "grid") for p in (ZERO, CENTRAL, WHITE, FEDBBPT, DIRICHLET, LOCAL)}
    zero, white = means[ZERO], means[WHITE]
    fixable = [d for d in zero.index if d not in white or white[d] - zero[d] >= FIXABLE]
    return means, fixable


def _difference(means: dict, fixable: list[str], a, b) -> tuple[float, str] | None:
    """Mean (a - b) in points over the fixable sets both ran, and the smallest, named."""
    both = [d for d in fixable if d in means[a] and d in means[b]]
    if not both:
        return None
    gaps = pd.Series({d: 100 * (means[a][d] - means[b][d]) for d in both})
    return gaps.mean(), f"{gaps.mean():+.1f} points (smallest: {gaps.idxmin()}, {gaps.min():+.1f})"


# (claim, method a, method b, least mean gap of a over b in points, strictly above it?)
GAP_CLAIMS = (
    ("Fed-BBPT (IID) gains at least 20 points over zero-shot on the shifted sets", FEDBBPT, ZERO,
     20, False),
    ("Fed-BBPT (IID) comes within 2 points of centralised tuning", FEDBBPT, CENTRAL, -2, False),
    ("Fed-BBPT (Dirichlet 0.5) comes within 4 points of centralised tuning", DIRICHLET, CENTRAL,
     -4, False),
    ("Fed-BBPT (Dirichlet 0.5) beats clients tuning alone (local-only, Dirichlet 0.5)", DIRICHLET,
     LOCAL, 0, True),
)  # fmt: skip


def check_claims(frame: pd.DataFrame) -> list[dict]:
    """Each headline claim the runs can test: {claim, measured, target, held}."""
    means, fixable = _vision(frame)
    rows = []
    for claim, a, b, least, strict in GAP_CLAIMS:
        found = _difference(means, fixable, a, b)
        if found is not None:
            held = found[0] > least if strict else found[0] >= least
            target = f"{'>' if strict else '>='} {'+' * (least > 0)}{least:g} points"
            rows.append({"claim": claim, "measured": found[1], "target": target, "held": held})
    gaps = [
        (means[FEDBBPT][d] - means[ZERO][d]) / (means[WHITE][d] - means[ZERO][d])
        for d in fixable
        if all(d in means[k] for k in (FEDBBPT, ZERO, WHITE))
    ]
    if gaps:
        share = 100 * float(np.mean(gaps))
        claim = "Fed-BBPT (IID) recovers at least 80% of the zero-shot to white-box gap"
        rows.insert(
            1,
            {"claim": claim, "measured": f"{share:.0f}%", "target": ">= 80%", "held": share >= 80},
        )
    return rows + _control_claims(frame)


# (task, variant, claim, what a control is): a federated method against its task's best control
CONTROL_CLAIMS = (
    ("text", "bdpl", "Federated BDPL (IID) beats every control prompt", "prompt"),
    (
        "instruction",
        "bo",
        "Federated InstructZero (FedAvg of z) beats every control",
        "instruction",
    ),
)


def _control_claims(frame: pd.DataFrame) -> list[dict]:
    """Each claim of CONTROL_CLAIMS, per data set of its task that the runs cover."""
    rows = []
    for task, variant, claim, control in CONTROL_CLAIMS:
        for dataset, runs in frame[frame["task"] == task].groupby("dataset", sort=False):
            learned = _means(runs, *FEDBBPT, variant)
            if dataset not in learned:
                continue
            by_seed = runs.drop_duplicates("seed")["controls"]
            controls = {c: np.mean([s[c] for s in by_seed]) for c in by_seed.iloc[0]}
            best = max(controls, key=controls.get)
            gap = 100 * (learned[dataset] - controls[best])
            rows.append(
                {
                    "claim": f"{claim} on {dataset}",
                    "measured": f"{gap:+.1f} points over the {best} {control}",
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
