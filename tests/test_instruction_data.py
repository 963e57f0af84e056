"""The committed instruction-induction suite and users' own task files."""

import json
from pathlib import Path

import pytest

from fedbbpt_lite.datasets import (
    instruction_task_info,
    instruction_task_names,
    load_instruction_file,
    load_instructions,
)
from fedbbpt_lite.datasets.instruction_sets import verify_instruction_checksums

ROOT = Path(__file__).resolve().parents[1]


def test_the_suite_has_seven_of_instructzeros_tasks_intact():
    assert instruction_task_names() == [
        "antonyms",
        "synonyms",
        "singular_to_plural",
        "first_word_letter",
        "letters_list",
        "sum",
        "diff",
    ]
    assert all(verify_instruction_checksums().values())


@pytest.mark.parametrize("name", instruction_task_names())
def test_each_task_has_its_pool_test_set_and_instruction(name):
    task, info = load_instructions(name), instruction_task_info(name)
    assert (len(task.train_inputs), len(task.test_inputs)) == (info["pool"], info["test"])
    assert len(task.train_outputs) == len(task.train_inputs)
    assert task.instruction == info["instruction"] and task.instruction.endswith(".")
    inputs = task.train_inputs + task.test_inputs
    assert len(set(inputs)) == len(inputs)  # no input in both the pool and the test set
    assert all(
        a.strip() and b.strip()
        for a, b in zip(inputs, task.train_outputs + task.test_outputs, strict=True)
    )
    readme = (ROOT / "data" / "README.md").read_text()
    assert info["sha256"] in readme and f"`{name}`" in readme


def _pairs(name):
    task = load_instructions(name)
    inputs, outputs = task.train_inputs + task.test_inputs, task.train_outputs + task.test_outputs
    return list(zip(inputs, outputs, strict=True))


def test_the_generated_tasks_answer_their_inputs():
    for word, letter in _pairs("first_word_letter"):
        assert letter == word[0]
    for word, letters in _pairs("letters_list"):
        assert letters.split() == list(word)
    for numbers, total in _pairs("sum"):
        a, b = map(int, numbers.split())
        assert int(total) == a + b and 0 <= min(a, b) and max(a, b) <= 99
    for numbers, difference in _pairs("diff"):
        a, b = map(int, numbers.split())
        assert a >= b and int(difference) == a - b


def test_the_word_tasks_pair_different_words():
    for name in ("antonyms", "synonyms", "singular_to_plural"):
        pairs = _pairs(name)
        assert all(a != b and a.isalpha() and a.islower() for a, b in pairs), name
    plurals = dict(_pairs("singular_to_plural"))
    assert sum(p.endswith("s") for p in plurals.values()) > 0.9 * len(plurals)


def _write(tmp_path, rows, name="task.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_users_task_without_splits_is_split_with_a_seed(tmp_path):
    rows = [{"input": f"w{i}", "output": f"W{i}"} for i in range(20)]
    task = load_instruction_file(_write(tmp_path, rows), "  Write it   in capitals. ")
    again = load_instruction_file(_write(tmp_path, rows))
    assert (len(task.train_inputs), len(task.test_inputs)) == (12, 8)
    assert task.test_inputs == again.test_inputs and task.name == "task"
    assert task.instruction == "Write it in capitals." and again.instruction == ""
    assert dict(zip(task.test_inputs, task.test_outputs, strict=True)) == {
        i: i.upper() for i in task.test_inputs
    }


def test_a_users_task_keeps_its_own_splits_and_numbers_as_text(tmp_path):
    rows = [{"input": i, "output": 2 * i, "split": "test" if i < 2 else "train"} for i in range(5)]
    task = load_instruction_file(_write(tmp_path, rows))
    assert task.test_inputs == ("0", "1") and task.train_outputs == ("4", "6", "8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "a"}\n', "needs a non-empty 'output'"),
        ('{"input": "", "output": "b"}\n', "needs a non-empty 'input'"),
        ("not json\n", "line 1 is not JSON"),
        ('["a", "b"]\n', "must be an object"),
        ('{"input": "a", "output": "b", "split": "dev"}\n', "split must be"),
        ('{"input": "a", "output": "b"}\n' * 2, "at least two"),
    ],
)
def test_a_bad_task_file_is_refused_naming_the_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_instruction_file(path)


def test_a_task_file_must_be_an_existing_jsonl_file(tmp_path):
    with pytest.raises(ValueError, match=".jsonl file"):
        load_instruction_file(tmp_path / "missing.jsonl")
    (tmp_path / "task.csv").write_text("input,output\n")
    with pytest.raises(ValueError, match=".jsonl file"):
        load_instruction_file(tmp_path / "task.csv")
    with pytest.raises(TypeError, match="instruction must be a string"):
        load_instruction_file(_write(tmp_path, [{"input": "a", "output": "b"}] * 4), 3)
