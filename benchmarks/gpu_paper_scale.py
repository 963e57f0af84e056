"""Paper-scale step times on random-init models of the paper's shapes, built from configs.

CLIP ViT-B/16 and RoBERTa-large get random weights (their accuracy means nothing; their cost is
the real one) and MiniLM's tokenizer, are saved to a temporary folder (no download) and served by
the kit's own black boxes. For each precision (fp32, TF32, bf16) it prints:
- vision: the image tower's bare forward in images/s; the kit's centralised Coordinator SPSA-GC
  step (batch 128, SP_AVG 5: 1,280 images a step) in seconds and over the bare forward of the
  same images (the limit is 1.0); the logits' largest gap from fp32 and top-1 agreement;
- text: the masked LM's bare forward in texts/s, and the kit's query of 128 texts over it;
- the projected GPU-hours of `--preset paper`'s training: each planned run's SPSA-GC steps times
  the measured step (at the run's batch of 128: an upper bound where a client holds fewer
  images) and each BDPL run's API calls times the measured query. Test and validation scoring
  are not counted (the paper's test sets are not here to count), nor the instruction runs.
--tiny runs every path at tiny shapes (the tests run it on the CPU); its numbers mean nothing.
Usage: python benchmarks/gpu_paper_scale.py [--tiny] [--device cuda] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoTokenizer,
    CLIPConfig,
    CLIPModel,
    RobertaConfig,
    RobertaForMaskedLM,
)

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox.clip import CLIPBlackBox
from fedbbpt_lite.blackbox.language_model import LanguageModelBlackBox, quiet_transformers
from fedbbpt_lite.blackbox.precision import PRECISIONS, compute_precision
from fedbbpt_lite.blackbox.text_encoder import minilm_path
from fedbbpt_lite.sweep import experiments, load_spec
from fedbbpt_lite.tasks.vision import prompt_loss_fn

# (vision tower, text tower) of CLIP ViT-B/16; RoBERTa-large; and tiny stand-ins
CLIP_SHAPES = {
    "paper": (
        {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
         "num_attention_heads": 12, "image_size": 224, "patch_size": 16},
        {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
         "num_attention_heads": 8, "max_position_embeddings": 77},
        512,
    ),
    "tiny": (
        {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 2, "max_position_embeddings": 77},
        16,
    ),
}  # fmt: skip
ROBERTA_SHAPES = {
    "paper": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
              "num_attention_heads": 16},
    "tiny": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2},
}  # fmt: skip
# the paper preset's step shapes, and tiny ones
STEPS = {
    "paper": {"batch": 128, "sp_avg": 5, "texts": 128},
    "tiny": {"batch": 8, "sp_avg": 2, "texts": 8},
}


def build_models(folder: Path, scale: str) -> tuple[str, str]:
    """Random-init CLIP and RoBERTa-style masked LM folders of the given scale."""
    torch.manual_seed(0)
    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    ids = {"bos_token_id": tokenizer.cls_token_id, "eos_token_id": tokenizer.sep_token_id}
    ids["pad_token_id"] = tokenizer.pad_token_id
    vision, text, projection = CLIP_SHAPES[scale]
    clip = CLIPConfig(
        text_config={**text, **ids, "vocab_size": tokenizer.vocab_size},
        vision_config=vision,
        projection_dim=projection,
    )
    roberta = RobertaConfig(
        **ROBERTA_SHAPES[scale],
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        architectures=["RobertaForMaskedLM"],
    )
    paths = folder / "clip", folder / "roberta"
    for path, model in zip(paths, (CLIPModel(clip), RobertaForMaskedLM(roberta)), strict=True):
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return str(paths[0]), str(paths[1])


def _timed(function, repeats: int, device: torch.device) -> float:
    """Median seconds of `function()` over repeats, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        began = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def vision_row(folder: str, precision: str, shape: dict, device, repeats: int) -> dict:
    """Bare tower forward and the kit's centralised Coordinator step at one precision."""
    api = CLIPBlackBox(folder, batch_size=shape["batch"], device=str(device), precision=precision)
    size, batch, sp_avg = api.image_size, shape["batch"], shape["sp_avg"]
    generator = fbl.prompts.Coordinator(
        channels=3, eps=1.0, image_size=size, pixel_std=api.pixel_std, init="blackvip"
    )
    rng = np.random.default_rng(0)
    images = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    labels = rng.integers(0, 10, batch)
    prompts = [f"a photo of a {n}." for n in "abcdefghij"]
    loss = prompt_loss_fn(api, generator, images, labels, prompts)
    config = fbl.zo.SPSAGCConfig(a=0.01, sp_avg=sp_avg)
    w = generator.init_params()

    def step():
        fbl.zo.spsa_gc_step(loss, w, fbl.zo.SPSAGCState(), config, np.random.default_rng(0))

    pixels = torch.rand(2 * sp_avg * batch, 3, size, size, device=device)

    def bare():
        with torch.no_grad(), compute_precision(precision, device):
            for chunk in pixels.split(batch):
                api._model.get_image_features(pixel_values=chunk)

    bare_s, step_s = _timed(bare, repeats, device), _timed(step, repeats, device)
    logits = api.query(generator.apply(w, images)[0], prompts)
    return {"images_per_s": len(pixels) / bare_s, "step_s": step_s, "ratio": step_s / bare_s,
            "logits": logits}  # fmt: skip


def text_row(folder: str, precision: str, shape: dict, device, repeats: int) -> dict:
    """The masked LM's bare forward and the kit's query of the same texts at one precision."""
    api = LanguageModelBlackBox(
        ["terrible", "great"], "{text} It was {mask}.", folder, batch_size=shape["texts"],
        device=str(device), precision=precision,
    )  # fmt: skip
    news = fbl.load_text("bbc_news").test_texts
    texts = [" ".join(t.split()[:32]) for t in news[: shape["texts"]]]
    tokens = api._tokenizer([api._filled(t, "") for t in texts], padding=True, return_tensors="pt")
    tokens = tokens.to(device)

    def bare():
        with torch.no_grad(), compute_precision(precision, device):
            api._model(**tokens)

    bare_s = _timed(bare, repeats, device)
    query_s = _timed(lambda: api.query(texts, ""), repeats, device)
    return {"texts_per_s": len(texts) / bare_s, "query_s": query_s, "ratio": query_s / bare_s}


def projected_hours(step_s: float, query_s: float) -> float:
    """GPU-hours of --preset paper's training at these step and query times."""
    seconds = 0.0
    for experiment in experiments(load_spec("paper")):
        if experiment.method == "zero_shot":
            continue
        if experiment.task == "vision":
            seconds += experiment.steps * step_s * experiment.batch_size / STEPS["paper"]["batch"]
        elif experiment.task == "text":
            seconds += experiment.calls * query_s * experiment.batch_size / STEPS["paper"]["texts"]
    return seconds / 3600


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (a test of the paths)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    scale = "tiny" if args.tiny else "paper"
    device, shape = torch.device(args.device), STEPS[scale]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{datetime.date.today()}, {name}, torch {torch.__version__}, {scale} shapes")
    with tempfile.TemporaryDirectory() as folder:
        clip, roberta = build_models(Path(folder), scale)
        rows = {}
        for precision in PRECISIONS:
            rows[precision] = (
                vision_row(clip, precision, shape, device, args.repeats),
                text_row(roberta, precision, shape, device, args.repeats),
            )
    base = rows["fp32"][0]["logits"]
    print(
        "| precision | images/s bare | kit step s | step ÷ bare | largest logit gap | top-1 "
        "agree | texts/s bare | kit query ÷ bare | paper preset GPU-hours (training) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for precision, (vision, text) in rows.items():
        gap = float(np.abs(vision["logits"] - base).max())
        agree = float((vision["logits"].argmax(-1) == base.argmax(-1)).mean())
        hours = projected_hours(vision["step_s"], text["query_s"])
        print(
            f"| {precision} | {vision['images_per_s']:,.0f} | {vision['step_s']:.3f} | "
            f"{vision['ratio']:.2f} | {gap:.2g} | {100 * agree:.0f}% | "
            f"{text['texts_per_s']:,.0f} | {text['ratio']:.2f} | {hours:,.0f} |"
        )


if __name__ == "__main__":
    main()
