"""The arithmetic of a black box's forward pass: fp32 (BlackVIP's, the default), TF32 matrix
products and convolutions on NVIDIA GPUs (about 3x faster there; fp32 elsewhere), or bf16
autocast. benchmarks/precision.py measures what each changes in logits and accuracy."""

from __future__ import annotations

import contextlib

import torch

from ..validation import check_choice

PRECISIONS = ("fp32", "tf32", "bf16")


def check_precision(precision: str) -> str:
    return check_choice("precision", precision, PRECISIONS)


@contextlib.contextmanager
def compute_precision(precision: str, device: torch.device):
    """Run the block at `precision` on `device`; the global TF32 switches are restored after."""
    if precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
        return
    if device.type != "cuda":  # TF32 exists only on NVIDIA GPUs
        yield
        return
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = matmul.fp32_precision, conv.fp32_precision
    # PyTorch lets cuDNN convolutions use TF32 by default: fp32 here means full fp32
    matmul.fp32_precision = conv.fp32_precision = "tf32" if precision == "tf32" else "ieee"
    try:
        yield
    finally:
        matmul.fp32_precision, conv.fp32_precision = before
