"""What a text black-box query costs, and what the query cache saves.

1. Per-example cost: wall time per news text of the embedding API (MiniLM) and of the
   verbaliser API (SmolLM2-135M), on the same texts with the same word prompt, in calls of
   --batch texts, interleaved and reported as medians with their ratio. SmolLM2's one-off
   conversion from GGUF is timed separately when its cached folder is missing.
2. Cache savings: a BDPL-style run spends calls on sampled prompts, then the three controls
   and the tuned prompt are scored on the same evaluation texts twice (a learner re-running
   cells). With cache=True, the meter reports the examples and calls the cache answered.
Usage: python benchmarks/text_api_cost.py [--batch 16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from fedbbpt_lite.blackbox.language_model import smollm2_folder
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.text import prompted_logits, text_accuracy
from fedbbpt_lite.tasks.text_experiment import TextExperiment, control_prompts, text_api


def per_example_seconds(api, texts: list[str], classes, prompt: str, batch: int) -> float:
    """Seconds per text of one pass over texts in calls of `batch`, scoring every class."""
    start = time.perf_counter()
    for first in range(0, len(texts), batch):
        prompted_logits(api, texts[first : first + batch], classes, prompt)
    return (time.perf_counter() - start) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    news = load_text("bbc_news")

    start = time.perf_counter()
    smollm2_folder()
    print(f"SmolLM2 folder ready in {time.perf_counter() - start:.1f} s (converted if missing)")
    apis = {name: text_api(name, news) for name in ("minilm", "smollm2")}
    texts = list(news.test_texts[: args.texts])
    for api in apis.values():  # warm up (first calls allocate)
        prompted_logits(api, texts[: args.batch], news.prompts, news.manual_prompt)
    times = {name: [] for name in apis}
    for repeat in range(args.repeats):
        prompt = f"{news.manual_prompt} {repeat}"  # a new prompt: no encoder-side reuse
        for name, api in apis.items():
            times[name].append(per_example_seconds(api, texts, news.prompts, prompt, args.batch))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nper-example cost, {args.texts} news texts (64 words), calls of {args.batch}:")
    for name, value in median.items():
        print(f"  {name:8s} {1000 * value:6.1f} ms per text")
    print(f"  ratio smollm2 / minilm: {median['smollm2'] / median['minilm']:.1f}x")

    api = text_api("minilm", news, cache=True)
    quick = TextExperiment(clients=5, rounds=2, local_calls=10, batch_size=8, step_size=0.03)
    data = news.__class__(
        **{**news.__dict__, "test_texts": news.test_texts[::2], "y_test": news.y_test[::2]}
    )
    run_experiment(quick, data, api)
    print(
        f"\ncache during training (BDPL, {api.meter.calls} calls): "
        f"{api.meter.saved_examples} of {api.meter.examples + api.meter.saved_examples} "
        f"examples answered from the cache"
    )
    prompts = control_prompts(news, 5, seed=0)
    before = (api.meter.calls, api.meter.examples, api.meter.saved_calls, api.meter.saved_examples)
    for _ in range(2):
        for prompt in prompts.values():
            text_accuracy(api, data.test_texts, data.y_test, data.prompts, prompt)
    calls, examples = api.meter.calls - before[0], api.meter.examples - before[1]
    saved_calls, saved = api.meter.saved_calls - before[2], api.meter.saved_examples - before[3]
    print(
        f"evaluation, 3 controls x 2 passes over {len(data.test_texts)} texts: "
        f"{calls} calls billed, {saved_calls} answered whole from the cache; "
        f"{saved} of {examples + saved} examples saved ({saved / (examples + saved):.0%})"
    )


if __name__ == "__main__":
    main()
