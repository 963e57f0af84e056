"""Checkpoints of a federation after each round, in safetensors: parameters, client and strategy
state, the sampling generator and the History. A resumed run reaches the same result as one never
interrupted (simulated black-box faults draw from their own, unsaved generator: with fault
injection the retries differ, never the results).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from .history import History
from .state_codec import decode_state, encode_state

FORMAT = "fedbbpt-lite checkpoint 1"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def save_checkpoint(
    path,
    server_round: int,
    parameters,
    states: list[dict],
    rng,
    history: History,
    settings,
    strategy_state: dict[str, np.ndarray] | None = None,
):
    """Write the federation after `server_round` to `path`, whole or not at all (one rename)."""
    path = Path(path)
    tensors = {f"global/{i}": np.ascontiguousarray(p) for i, p in enumerate(parameters)}
    for key, value in (strategy_state or {}).items():
        tensors[f"strategy/{key}"] = np.ascontiguousarray(value)
    described = {}
    for client_id, state in enumerate(states):
        arrays, described[client_id] = encode_state(state, f"client {client_id} state")
        tensors.update({f"client/{client_id}/{key}": a for key, a in arrays.items()})
    meta = {
        "round": server_round,
        "settings": settings,
        "rng": rng.bit_generator.state,
        "states": described,
        "history": {
            "fits": history.fits,
            "evaluations": history.evaluations,
            "failures": history.failures,
            "aggregates": history.aggregates,
            "skipped_rounds": history.skipped_rounds,
            "stopped": history.stopped,
            "last_round": history.last_round,
        },
    }
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        tensors,
        str(partial),
        metadata={"format": FORMAT, "meta": json.dumps(meta, default=_json_default)},
    )
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def load_checkpoint(path) -> dict:
    """What save_checkpoint wrote, as a dict of its parts."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
        if metadata.get("format") != FORMAT:
            raise ValueError("it was not written by save_checkpoint")
        meta = json.loads(metadata["meta"])
    except (OSError, SafetensorError, ValueError, KeyError, json.JSONDecodeError) as error:
        raise ValueError(
            f"checkpoint {path} is not a readable fedbbpt-lite checkpoint ({error}); move it "
            "away to start the run afresh"
        ) from None
    count = sum(key.startswith("global/") for key in tensors)
    states = []
    for client_id, described in sorted(meta["states"].items(), key=lambda kv: int(kv[0])):
        prefix = f"client/{client_id}/"
        arrays = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        states.append(decode_state(arrays, described))
    history = History()
    for name, value in meta["history"].items():
        setattr(history, name, value)
    return {
        "round": meta["round"],
        "settings": meta["settings"],
        "parameters": [tensors[f"global/{i}"] for i in range(count)],
        "states": states,
        "strategy": {
            k[len("strategy/") :]: v for k, v in tensors.items() if k.startswith("strategy/")
        },
        "rng": meta["rng"],
        "history": history,
    }
