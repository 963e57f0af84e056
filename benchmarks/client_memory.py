"""Peak memory of a Fed-BBPT client against a white-box client: the paper's memory claim.

A Fed-BBPT client holds its few-shot data, its prompt and optimiser state and an API client; the
model answers from another process, as it would behind a real API. A white-box client loads the
model and backpropagates through it. Each role runs in a fresh process and reports its peak
resident memory (ru_maxrss; the API server's memory is not the client's). Printed side by side
for MiniCLIP (vision, SPSA-GC on the grid prompt) and SmolLM2-135M (text: BDPL through the API
against a soft prompt tuned by backpropagation), with a bare process that only imports the
package: the interpreter and torch are most of a small client.
Usage: python benchmarks/client_memory.py [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys

ROLES = ("bare", "fedbbpt_vision", "whitebox_vision", "fedbbpt_text", "whitebox_text")
BATCH = {"vision": 32, "text": 8}


def peak_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(connection, task: str) -> None:
    """The API side: load the black box once, answer queries until told to stop."""
    import fedbbpt_lite as fbl

    if task == "vision":
        api, words = fbl.blackbox.MiniCLIPBlackBox(), []
    else:  # this process also stands in for the federation's server, which draws BDPL's
        # candidate words from the public vocabulary and sends them to every client
        data = fbl.datasets.load_text("bbc_news")
        api = fbl.tasks.text_experiment.text_api("smollm2", data)
        words = fbl.tasks.text_experiment.candidate_words(data, 100, "random")
    connection.send(words)
    while (request := connection.recv()) is not None:
        connection.send(api.query(*request))


class RemoteAPI:
    """The client's end of the API: queries go to the server process, outputs come back."""

    def __init__(self, task: str):
        context = multiprocessing.get_context("spawn")  # a fresh process, not a fork of this one
        self.connection, server_end = context.Pipe()
        self.server = context.Process(target=serve, args=(server_end, task), daemon=True)
        self.server.start()
        self.candidates = self.connection.recv()  # BDPL's candidate words (text only)

    def query(self, *request):
        self.connection.send(request)
        return self.connection.recv()

    def close(self) -> None:
        self.connection.send(None)
        self.server.join()


def fedbbpt_vision(steps: int) -> None:
    import fedbbpt_lite as fbl

    rng = fbl.set_seed(0)
    data = fbl.datasets.load_vision("mnist_inverted")
    images, labels = data.x_train[:160], data.y_train[:160].numpy()
    api, prompt = RemoteAPI("vision"), fbl.prompts.GridPrompt()
    config, state, w = fbl.zo.SPSAGCConfig(a=0.1), fbl.zo.SPSAGCState(), prompt.init_params()
    for _ in range(steps):
        index = rng.choice(len(labels), BATCH["vision"], replace=False)

        def loss_batch(points, index=index):
            outputs = api.query(prompt.apply(points, images[index]).numpy(), data.prompts)
            return fbl.tasks.vision.loss_from_outputs(outputs, labels[index], "logits")

        w, state, _ = fbl.zo.spsa_gc_step(loss_batch, w, state, config, rng)
    api.close()


def whitebox_vision(steps: int) -> None:
    import fedbbpt_lite as fbl

    rng = fbl.set_seed(0)
    data = fbl.datasets.load_vision("mnist_inverted")
    images, labels = data.x_train[:160], data.y_train[:160].numpy()
    fbl.tasks.whitebox.tune_whitebox(
        fbl.prompts.GridPrompt(), images, labels, data.prompts, rng, steps=steps
    )


def fedbbpt_text(steps: int) -> None:
    import fedbbpt_lite as fbl

    rng = fbl.set_seed(0)
    data = fbl.datasets.load_text("bbc_news")
    texts, labels = list(data.train_texts[:80]), data.y_train[:80]
    api, config = RemoteAPI("text"), fbl.policy_gradient.BDPLConfig(lr=0.3, samples=4)
    words = api.candidates
    theta = fbl.policy_gradient.uniform_theta(5, len(words))
    state = fbl.policy_gradient.BDPLState()
    for _ in range(steps):
        index = rng.choice(len(labels), BATCH["text"], replace=False)

        def loss_of_prompts(prompts, index=index):
            return [
                fbl.tasks.vision.loss_from_outputs(
                    api.query(
                        [texts[i] for i in index], fbl.prompts.discrete.prompt_text(words, p)
                    ),
                    labels[index],
                    "logits",
                )
                for p in prompts
            ]

        theta, state, _ = fbl.policy_gradient.bdpl_step(theta, loss_of_prompts, state, config, rng)
    api.close()


def whitebox_text(steps: int) -> None:
    """Adam on a 5-token soft prompt through SmolLM2's weights: the smallest white-box tuner."""
    import torch

    import fedbbpt_lite as fbl

    rng = fbl.set_seed(0)
    data = fbl.datasets.load_text("bbc_news")
    api = fbl.tasks.text_experiment.text_api("smollm2", data)  # label words and template
    tokenizer, model, _ = fbl.blackbox.language_model.load_language_model("smollm2")
    table = model.get_input_embeddings()
    prompt = torch.nn.Parameter(table.weight[:5].detach().clone())
    optimiser = torch.optim.Adam([prompt], lr=1e-3)
    label_ids = torch.tensor(api.label_ids)
    for _ in range(steps):
        index = rng.choice(len(data.train_texts), BATCH["text"], replace=False)
        batch = tokenizer(
            [api.template.replace("{text}", data.train_texts[i]) for i in index],
            padding=True,
            return_tensors="pt",
        )
        inputs = table(batch["input_ids"])
        inputs = torch.cat([prompt.expand(len(index), -1, -1), inputs], dim=1)
        mask = torch.cat([torch.ones(len(index), 5, dtype=torch.long), batch["attention_mask"]], 1)
        logits = model(inputs_embeds=inputs, attention_mask=mask).logits
        last = mask.sum(1) - 1
        scores = logits[torch.arange(len(index)), last][:, label_ids]
        loss = torch.nn.functional.cross_entropy(scores, torch.as_tensor(data.y_train[index]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


def run_role(role: str, steps: int) -> None:
    if role != "bare":
        globals()[role](steps)
    else:
        import fedbbpt_lite  # noqa: F401
    print(json.dumps({"role": role, "peak_mb": round(peak_mb(), 1)}))


def measure(role: str, steps: int) -> float:
    """Peak memory of one role in a fresh process."""
    output = subprocess.run(
        [sys.executable, __file__, "--role", role, "--steps", str(steps)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--role", choices=ROLES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        run_role(args.role, args.steps)
        return
    peaks = {role: measure(role, args.steps) for role in ROLES}
    bare = peaks["bare"]
    print(f"peak resident memory of a client process, {args.steps} tuning steps each (MiB)")
    print(f"  bare process (python + torch + the package): {bare:7.0f}")
    for task, model in (("vision", "MiniCLIP"), ("text", "SmolLM2-135M")):
        fed, white = peaks[f"fedbbpt_{task}"], peaks[f"whitebox_{task}"]
        print(
            f"  {model:13s} Fed-BBPT client {fed:7.0f}   white-box client {white:7.0f}   "
            f"ratio {fed / white:.2f}   above the bare process: "
            f"{fed - bare:5.0f} vs {white - bare:5.0f} ({(fed - bare) / (white - bare):.2f})"
        )


if __name__ == "__main__":
    main()
