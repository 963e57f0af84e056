"""A client's ClientContext.state as plain arrays and JSON, so it can be checkpointed or shipped.

Values may be NumPy arrays, numbers, strings, None, or dataclasses of these from the kit's own
modules (SPSAGCState, BDPLState): what a safetensors file or a Flower record can carry. Nothing
is pickled, so loading a state never runs code from the file.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers

import numpy as np

SCALARS = (str, bool, type(None))


def encode_state(state: dict, where: str = "state") -> tuple[dict[str, np.ndarray], dict]:
    """(arrays by flat key, JSON-able description) of a state dict; `where` names it in errors."""
    arrays: dict[str, np.ndarray] = {}
    described = {}
    for key, value in state.items():
        if not isinstance(key, str) or "/" in key:
            raise ValueError(f"{where}: keys must be strings without '/', got {key!r}")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            kind = type(value)
            if not kind.__module__.startswith("fedbbpt_lite."):
                raise ValueError(f"{where}[{key!r}]: only the kit's own state classes can be saved")
            fields = {}
            for field in dataclasses.fields(value):
                fields[field.name] = _value(
                    getattr(value, field.name), f"{key}/{field.name}", arrays, where
                )
            described[key] = {"class": f"{kind.__module__}:{kind.__qualname__}", "fields": fields}
        else:
            described[key] = _value(value, key, arrays, where)
    return arrays, described


def _value(value, key: str, arrays: dict, where: str):
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.number):
            raise ValueError(f"{where}[{key!r}]: arrays must be numeric, got {value.dtype}")
        arrays[key] = np.ascontiguousarray(value)
        return {"array": key}
    if isinstance(value, SCALARS):
        return {"value": value}
    if isinstance(value, numbers.Real):
        return {"value": value.item() if isinstance(value, np.generic) else value}
    raise ValueError(
        f"{where}[{key!r}]: {type(value).__name__} cannot be saved (arrays, numbers, strings, "
        "None and the kit's state dataclasses can)"
    )


def decode_state(arrays: dict[str, np.ndarray], described: dict) -> dict:
    """The state dict that encode_state described."""
    state = {}
    for key, entry in described.items():
        if "class" in entry:
            module, _, name = entry["class"].partition(":")
            if not module.startswith("fedbbpt_lite."):
                raise ValueError(f"state[{key!r}]: class {entry['class']!r} is not the kit's")
            kind = getattr(importlib.import_module(module), name)
            fields = {n: _restore(v, arrays) for n, v in entry["fields"].items()}
            state[key] = kind(**fields)
        else:
            state[key] = _restore(entry, arrays)
    return state


def _restore(entry: dict, arrays: dict):
    return np.array(arrays[entry["array"]]) if "array" in entry else entry["value"]
