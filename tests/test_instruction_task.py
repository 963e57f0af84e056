"""The instruction pipeline: the executor API and the generator (a tiny random causal LM, and
SmolLM2 for the chat path), InstructZero's scoring, and whole runs through the engine."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from tiny_models import save_tiny_lm

from fedbbpt_lite.bayesian import sobol_points
from fedbbpt_lite.blackbox.executor import ExecutorBlackBox, execution_prompt
from fedbbpt_lite.blackbox.language_model import load_language_model
from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets import load_instructions
from fedbbpt_lite.federated import ClientContext
from fedbbpt_lite.federated.pooled_search import PooledSearch
from fedbbpt_lite.federated.strategy import FitResult
from fedbbpt_lite.prompts.instruction import InstructionGenerator, induction_prompt
from fedbbpt_lite.sweep import SweepSpec, experiments, run_sweep
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.instruction import (
    answer_score,
    candidate_outputs,
    instruction_scores,
    normalise,
)
from fedbbpt_lite.tasks.instruction_clients import InstructionClient
from fedbbpt_lite.tasks.instruction_experiment import CONTROLS, InstructionExperiment

WORDS = ["hot", "big", "early"]
OPPOSITES = ["cold", "small", "late"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("causal"), "causal")


# ---- the executor ------------------------------------------------------------------------------


def test_the_executor_reads_instructzeros_template():
    assert execution_prompt("Write the opposite.", "hot") == (
        "Instruction: Write the opposite.\n\nInput: hot\n\nOUTPUT:"
    )
    assert execution_prompt("", "hot") == "Input: hot\n\nOUTPUT:"


def test_the_executor_answers_each_input_billed_once_and_cached(tiny):
    api = ExecutorBlackBox(tiny, max_new_tokens=3, cache=True)
    answers = api.query(WORDS, "Write the opposite of the word.")
    assert answers.dtype == object and len(answers) == 3
    assert all(isinstance(a, str) and "\n" not in a for a in answers)
    assert (api.meter.calls, api.meter.examples) == (1, 3)
    again = api.query(WORDS[::-1], "Write  the opposite of the word. ")  # same, respaced
    assert list(again) == list(answers[::-1]) and api.meter.calls == 1
    assert api.meter.saved_examples == 3


def test_a_candidates_score_is_its_mean_token_log_likelihood(tiny):
    api = ExecutorBlackBox(tiny)
    scores = api.query(WORDS[:2], "Opposite:", [["cold", "warm day"], ["small", "large"]])
    assert scores.shape == (2, 2) and np.isfinite(scores).all()
    tokenizer, model, _ = load_language_model(tiny, "cpu")
    prompt = tokenizer(execution_prompt("Opposite:", "hot"))["input_ids"]
    tail = tokenizer(" warm day", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tail])
    with torch.no_grad():
        logp = model(ids).logits[0, :-1].log_softmax(-1)
    expected = logp[torch.arange(len(prompt) - 1, ids.shape[1] - 1), ids[0, len(prompt) :]].mean()
    assert scores[0, 1] == pytest.approx(float(expected), abs=1e-5)
    shared = api.query(WORDS[:2], "Opposite:", ["cold", "warm day"])  # one list for all inputs
    assert shared[0, 1] == pytest.approx(scores[0, 1], abs=1e-5)
    padded = api.query(
        ["hot", "a much longer input of many words"], "Opposite:", ["cold", "warm day"]
    )
    np.testing.assert_allclose(padded[0], shared[0], atol=1e-5)  # padding changes nothing
    assert api.meter.examples == 6


def test_the_label_output_returns_the_chosen_candidate(tiny):
    api = ExecutorBlackBox(tiny, output="label")
    chosen = api.query(WORDS, "", [[o, w] for o, w in zip(OPPOSITES, WORDS, strict=True)])
    assert chosen.shape == (3,) and set(chosen) <= {0, 1}


@pytest.mark.parametrize(
    ("inputs", "instruction", "candidates", "error", "message"),
    [
        ("hot", "", None, TypeError, "list of strings"),
        ([" "], "", None, ValueError, "non-blank"),
        (["hot"], 3, None, TypeError, "instruction must be a string"),
        (["hot", "big"], "", [["a", "b"]], ValueError, "one list of C per input"),
        (["hot"], "", ["only"], ValueError, "C >= 2"),
        (["hot"], "", ["a", " "], ValueError, "non-blank"),
    ],
)
def test_bad_executor_queries_are_refused_before_billing(
    tiny, inputs, instruction, candidates, error, message
):
    api = ExecutorBlackBox(tiny)
    with pytest.raises(error, match=message):
        api.query(inputs, instruction, candidates)
    assert api.meter.calls == 0


# ---- the generator -----------------------------------------------------------------------------


def test_the_induction_prompt_is_instructzeros():
    assert induction_prompt(["hot", "big"], ["cold", "small"]) == (
        "\nInput: hot\nOutput: cold\n\nInput: big\nOutput: small\n\nThe instruction was to?"
    )
    with pytest.raises(ValueError, match="as many outputs"):
        induction_prompt(["hot"], [])


def test_z_becomes_soft_tokens_through_a_fixed_uniform_map(tiny):
    generator = InstructionGenerator(tiny, intrinsic_dim=10, soft_tokens=5, seed=3)
    width = generator._model.get_input_embeddings().embedding_dim
    assert generator.projection.shape == (5 * width, 10)
    assert generator.projection.min() >= -1 and generator.projection.max() <= 1
    again = InstructionGenerator(tiny, intrinsic_dim=10, soft_tokens=5, seed=3)
    assert torch.equal(generator.projection, again.projection)
    z = np.linspace(-1, 1, 10)
    soft = generator.soft_prompt(z)
    expected = (generator.projection @ torch.as_tensor(z, dtype=torch.float32)).view(5, width)
    assert soft.shape == (5, width) and torch.allclose(soft, expected)
    with pytest.raises(ValueError, match="10 finite numbers"):
        generator.soft_prompt(np.zeros(3))


def test_an_instruction_is_written_greedily_from_z_and_the_demos(tiny):
    generator = InstructionGenerator(tiny, max_new_tokens=6)
    z = np.full(10, 0.5)
    first = generator.instruction(z, WORDS, OPPOSITES)
    assert isinstance(first, str) and first == generator.instruction(z, WORDS, OPPOSITES)
    assert "\n" not in first and first == " ".join(first.split())


def test_smollm2_writes_an_instruction_in_its_chat_format():
    generator = InstructionGenerator(max_new_tokens=12)
    ape = generator.instruction(None, WORDS, OPPOSITES)
    assert ape.strip() and generator._tokenizer.chat_template
    assert generator.instruction(None, WORDS, OPPOSITES) == ape


# ---- scoring -----------------------------------------------------------------------------------


def test_answers_are_normalised_as_the_instruction_induction_benchmark_does():
    assert normalise("  Cold.\nMore text") == "cold"
    assert normalise("Well-known, sir!") == "well known sir"
    assert normalise("cats and dogs") == "cats dogs"
    assert answer_score("COLD!", "cold") == 1.0 and answer_score("colder", "cold") == 0.0
    assert answer_score("it is cold today", "cold", "contains") == 1.0
    assert answer_score("colder", "cold", "contains") == 0.0


def test_choice_candidates_put_the_expected_output_first_then_the_echo():
    rows = candidate_outputs(WORDS, OPPOSITES, distractors=1, seed=0)
    assert [row[:2] for row in rows] == [[o, w] for o, w in zip(OPPOSITES, WORDS, strict=True)]
    assert all(len(row) == 3 and row[2] in OPPOSITES and row[2] != row[0] for row in rows)
    assert rows == candidate_outputs(WORDS, OPPOSITES, distractors=1, seed=0)


class _Canned:
    """An executor stand-in answering from a table: scoring is the client's own arithmetic."""

    def __init__(self, answers):
        self.answers = answers

    def query(self, inputs, instruction, candidates=None):
        if candidates is None:
            return np.array([self.answers[x] for x in inputs], dtype=object)
        return np.array(
            [
                [float(c == self.answers[x]) for c in row]
                for x, row in zip(inputs, candidates, strict=True)
            ]
        )


def test_instruction_scores_count_the_right_answers_either_way():
    answers = _Canned({"hot": "Cold.", "big": "big", "early": "late"})
    np.testing.assert_array_equal(instruction_scores(answers, "", WORDS, OPPOSITES), [1, 0, 1])
    echoes = _Canned({"hot": "hot", "big": "big", "early": "late"})  # its likeliest candidates
    chosen = instruction_scores(echoes, "", WORDS, OPPOSITES, "choice")
    np.testing.assert_array_equal(chosen, [0, 0, 1])


# ---- whole runs --------------------------------------------------------------------------------

TINY_RUN = {
    "rounds": 1,
    "clients": 2,
    "local_evaluations": 2,
    "initial_points": 2,
    "batch_size": 4,
    "shots": 8,
    "demos": 4,
    "max_new_tokens": 4,
}


@pytest.fixture(scope="module")
def antonyms():
    task = load_instructions("antonyms")
    return replace(task, test_inputs=task.test_inputs[:6], test_outputs=task.test_outputs[:6])


@pytest.mark.parametrize("search", ["bo", "pooled_bo", "spsa"])
def test_a_federated_instruction_run_reports_its_instructions_and_controls(tiny, antonyms, search):
    settings = {**TINY_RUN, "search": search, "blackbox": tiny, "generator_model": tiny}
    experiment = InstructionExperiment(**settings)
    result = run_experiment(experiment, antonyms)
    assert result["task"] == "instruction" and set(result["controls"]) == set(CONTROLS)
    assert result["zero_shot_accuracy"] == result["controls"]["manual"]
    assert 0 <= result["accuracy"] <= 1 and len(result["accuracy_per_round"]) == 2
    assert result["control_instructions"]["manual"] == antonyms.instruction
    assert len(result["learned_instructions"]) == 1 and result["api_calls"] > 0
    assert result == run_experiment(experiment, antonyms)  # the same seed, the same run


@pytest.mark.parametrize("method", ["centralized", "local_only", "zero_shot"])
def test_the_baselines_run_on_the_same_budget(tiny, antonyms, method):
    settings = {**TINY_RUN, "method": method, "blackbox": tiny, "generator_model": tiny}
    result = run_experiment(InstructionExperiment(**settings), antonyms)
    models = {"centralized": 1, "local_only": 2, "zero_shot": 0}[method]
    assert len(result["learned_instructions"]) == models


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"partition": "dirichlet"}, "partition must be iid"),
        ({"step_size": 0.1}, "has no step size"),
        ({"search": "spsa", "local_evaluations": 3}, "must be even"),
        ({"search": "pooled_bo", "fraction_fit": 0.5}, "every client every round"),
        ({"initial_points": 1}, "initial_points"),
        ({"scoring": "vote"}, "scoring"),
    ],
)
def test_bad_instruction_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        InstructionExperiment(**settings)


def test_pooled_bo_outside_a_federation_is_bo():
    assert InstructionExperiment(search="pooled_bo", method="centralized").search == "bo"
    assert InstructionExperiment(search="spsa", method="zero_shot").search == "bo"
    assert InstructionExperiment(search="spsa", method="local_only").search == "spsa"


def test_a_users_task_runs_from_the_command_line(tiny, tmp_path, capsys):
    rows = [{"input": w, "output": w.upper()} for w in "red green blue cyan pink gold grey".split()]
    path = tmp_path / "capitals.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows * 4))
    settings = ["--rounds", "1", "--clients", "2", "--local-evaluations", "2"]
    settings += ["--initial-points", "2", "--shots", "6", "--demos", "3", "--batch-size", "3"]
    settings += ["--max-new-tokens", "3", "--blackbox", tiny, "--generator-model", tiny]
    argv = ["run", "--task", "instruction", "--data", str(path), "--json"]
    assert main([*argv, "--instruction", "Write it in capitals.", *settings]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "capitals" and result["api_calls"] > 0
    assert result["control_instructions"]["manual"] == "Write it in capitals."
    for key in ("accuracy", "zero_shot_accuracy", "controls", "learned_instructions"):
        assert key in result


# ---- the search, with a stand-in generator and executor ------------------------------------------


class _Writer:
    """A generator stand-in: z's first coordinate, rounded, is the instruction."""

    intrinsic_dim = 10

    def instruction(self, z, inputs, outputs):
        return "" if z is None else f"{float(z[0]):.1f}"


class _Grader:
    """An executor stand-in answering right exactly when the instruction's number is positive."""

    def __init__(self):
        self.meter = type("Meter", (), {"calls": 0})()

    def query(self, inputs, instruction, candidates=None):
        self.meter.calls += 1
        right = float(instruction) > 0
        return np.array([[float(right), float(not right)] for _ in inputs])


def _client(context, search="bo", evaluations=3):
    return InstructionClient(
        context, _Grader(), _Writer(), (WORDS, OPPOSITES), WORDS, OPPOSITES, evaluations,
        batch_size=3, search=search, initial_points=2, scoring="choice", step_size=0.1,
    )  # fmt: skip


def test_a_bo_client_keeps_its_evaluations_and_proposes_after_its_design():
    context = ClientContext(0)
    client = _client(context)
    start = [np.full(10, -0.5)]
    first, examples, metrics = client.fit(start, {"seed": 0})
    assert examples == 3 and metrics["api_calls"] == 3
    state = context.state
    assert state["points"].shape == (3, 10) and state["scores"].shape == (3, 3)
    np.testing.assert_array_equal(state["points"][0], start[0])  # the server's z first
    design = sobol_points(2, 10, seed=1)  # then the client's own design (seed + 1 + client id)
    np.testing.assert_array_equal(state["points"][1], design[1])
    again, _, _ = _client(context).fit(first, {"seed": 1})
    assert len(context.state["points"]) == 6
    assert np.abs(context.state["points"][3:]).max() <= 1  # EI's proposals, in CMA-ES's bounds
    values = context.state["values"]
    latest_best = np.flatnonzero(values == values.max())[-1]  # of ties the latest, as InstructZero
    np.testing.assert_array_equal(again[0], context.state["points"][latest_best])
    assert context.state["values"].max() == 1.0  # a positive first coordinate answers right


def test_the_pooled_server_proposes_its_design_then_ei_and_weighs_clients_by_examples():
    search = PooledSearch(num_clients=2, dimension=10, proposals=2, initial_points=2, seed=0)
    best, proposals = search.parameters()
    np.testing.assert_array_equal(proposals, sobol_points(2, 10, 0))
    replies = [
        FitResult(0, [np.array([1.0, 0.0])], 3, {}),
        FitResult(1, [np.array([0.0, 0.0])], 1, {}),
    ]
    parameters, _ = search.aggregate_fit(1, [best, proposals], replies)
    np.testing.assert_allclose(search.values, [0.75, 0.0])
    np.testing.assert_array_equal(search.scores, [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(parameters[0], proposals[0])  # the best so far
    assert parameters[1].shape == (2, 10) and np.abs(parameters[1]).max() <= 1
    assert search.reply_like(parameters)[0].shape == (2,)
    restored = PooledSearch(num_clients=2, dimension=10, proposals=2, initial_points=2, seed=0)
    restored.restore(search.state())
    np.testing.assert_array_equal(restored.parameters()[1], parameters[1])


def test_instruction_searches_are_a_sweep_axis_on_iid_clients(tiny, tmp_path):
    spec = SweepSpec(
        datasets=("antonyms",),
        methods={"instruction": ["zero_shot", "fedbbpt"]},
        searches=("bo", "pooled_bo"),
        test_every=20,
        clients=(2,),
        instruction={
            **{k: v for k, v in TINY_RUN.items() if k != "clients"},
            "blackbox": tiny,
            "generator_model": tiny,
        },
    )
    planned = experiments(spec)
    assert [(e.method, e.search, e.partition) for e in planned] == [
        ("zero_shot", "bo", "iid"),  # once: zero-shot searches nothing
        ("fedbbpt", "bo", "iid"),
        ("fedbbpt", "pooled_bo", "iid"),
    ]
    frame = run_sweep(spec, tmp_path, progress=False)
    assert list(frame["variant"]) == ["bo", "bo", "pooled_bo"]
    assert set(frame["task"]) == {"instruction"}
    assert (tmp_path / "gains_instruction.png").exists()
