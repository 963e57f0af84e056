"""The paper-scale registry: GLUE and BlackVIP loaders on tiny local files in their formats,
CLIP and a masked LM by folder (tiny random models), the `paper` preset, and the offline errors
that say what to download and where it goes."""

import json
from dataclasses import replace

import huggingface_hub.constants
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from tiny_models import save_tiny_clip, save_tiny_lm

from fedbbpt_lite.blackbox.clip import CLIPBlackBox, load_clip
from fedbbpt_lite.blackbox.language_model import (
    LanguageModelBlackBox,
    hub_source,
    language_model_kind,
    verbaliser_template,
)
from fedbbpt_lite.cli import main
from fedbbpt_lite.datasets.base import unit_images
from fedbbpt_lite.datasets.blackvip import BLACKVIP_SETS, load_blackvip, locate_blackvip
from fedbbpt_lite.datasets.glue import GLUE_TASKS, load_glue
from fedbbpt_lite.datasets.instruction_sets import instruction_task_names, load_instructions
from fedbbpt_lite.datasets.text_sets import load_text
from fedbbpt_lite.datasets.vision_sets import load_vision
from fedbbpt_lite.prompts import Coordinator
from fedbbpt_lite.sweep import experiments, load_spec, run_sweep
from fedbbpt_lite.tasks.engine import run_experiment
from fedbbpt_lite.tasks.text_experiment import TextExperiment
from fedbbpt_lite.tasks.vision import predict
from fedbbpt_lite.tasks.vision_experiment import VisionExperiment, make_generator


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty Hugging Face cache that may not download."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("FEDBBPT_LITE_DATA", str(tmp_path / "data"))


def _tsv(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(cells) for cells in lines) + "\n")


# ---- GLUE -------------------------------------------------------------------------------------


def test_sst2_tsv_loads_with_bdpl_label_words_and_template(tmp_path):
    header = [("sentence", "label")]
    _tsv(tmp_path / "train.tsv", header + [("a fine film ", "1"), ('a "dull" one', "0")])
    _tsv(tmp_path / "dev.tsv", header + [("great fun", "1")])
    data = load_glue("glue/sst2", tmp_path)
    assert data.name == "glue/sst2"
    assert data.train_texts == ("a fine film", 'a "dull" one')
    assert data.y_train.tolist() == [1, 0]
    assert data.test_texts == ("great fun",) and data.y_test.tolist() == [1]
    assert data.class_names == ("terrible", "great")
    assert verbaliser_template(data.template, "masked") == "{text} It was {mask}."


def test_cola_tsv_without_header_reads_fields_by_position(tmp_path):
    _tsv(tmp_path / "train.tsv", [("gj04", "1", "", "Bill ran."), ("gj04", "0", "*", "Ran Bill.")])
    _tsv(tmp_path / "dev.tsv", [("gj04", "1", "", "It rained.")])
    data = load_glue("cola", tmp_path)
    assert data.train_texts == ("Bill ran.", "Ran Bill.") and data.y_train.tolist() == [1, 0]


def test_mnli_tsv_gives_pairs_from_dev_matched_and_maps_string_labels(tmp_path):
    header = [("index", "sentence1", "sentence2", "gold_label")]
    rows = [("0", "A man sleeps.", "A man rests.", "entailment")]
    rows += [("1", "A dog runs.", "A cat sits.", "contradiction")]
    rows += [("2", "It is hot.", "It is July.", "neutral")]
    _tsv(tmp_path / "train.tsv", header + rows)
    _tsv(tmp_path / "dev_matched.tsv", header + rows[:1])
    data = load_glue("glue/mnli", tmp_path)
    assert data.train_texts[1] == ("A dog runs.", "A cat sits.")
    assert data.y_train.tolist() == [0, 2, 1]
    assert data.class_names == ("no", "maybe", "yes")
    assert verbaliser_template(GLUE_TASKS["qqp"].template, "masked") == "{text}? {mask},"


def test_glue_tsv_errors_name_the_file_and_the_problem(tmp_path):
    _tsv(tmp_path / "train.tsv", [("index", "question", "sentence", "label"), ("0", "q", "s", "x")])
    _tsv(tmp_path / "dev.tsv", [("index", "question", "sentence", "label")])
    with pytest.raises(ValueError, match=r"train.tsv: label 'x' is not one of"):
        load_glue("glue/qnli", tmp_path)
    with pytest.raises(ValueError, match=r"train.tsv row 1 lacks the fields"):
        load_glue("glue/rte", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"needs .*empty/train.tsv \(the GLUE TSV layout\)"):
        load_glue("glue/rte", tmp_path / "empty")
    with pytest.raises(ValueError, match="name must be one of"):
        load_glue("glue/stsb", tmp_path)


def test_glue_parquet_files_load_as_the_hugging_face_layout(tmp_path):
    pytest.importorskip("pyarrow")
    folder = tmp_path / "rte"
    folder.mkdir()
    frame = pd.DataFrame(
        {"sentence1": ["A.", "B."], "sentence2": ["C.", "D."], "label": [0, 1], "idx": [0, 1]}
    )
    frame.to_parquet(folder / "train-00000-of-00001.parquet")
    frame.iloc[:1].to_parquet(folder / "validation-00000-of-00001.parquet")
    data = load_glue("glue/rte", tmp_path)
    assert data.train_texts == (("A.", "C."), ("B.", "D.")) and data.y_train.tolist() == [0, 1]
    assert data.test_texts == (("A.", "C."),) and data.class_names == ("yes", "no")


def test_a_folder_of_several_glue_tasks_gives_each_task_its_own_rows(tmp_path):
    pytest.importorskip("pyarrow")
    for task, text in (("rte", "r"), ("mrpc", "m")):
        (tmp_path / task).mkdir()
        frame = pd.DataFrame({"sentence1": [text], "sentence2": [text], "label": [1]})
        for split in ("train", "validation"):
            frame.to_parquet(tmp_path / task / f"{split}-00000-of-00001.parquet")
    assert load_glue("glue/mrpc", tmp_path).train_texts == (("m", "m"),)


def test_a_short_glue_tsv_row_is_an_error_naming_it(tmp_path):
    _tsv(tmp_path / "train.tsv", [("sentence", "label"), ("fine", "1"), ("1",)])
    _tsv(tmp_path / "dev.tsv", [("sentence", "label"), ("fine", "1")])
    with pytest.raises(ValueError, match="row 2 lacks the fields"):
        load_glue("glue/sst2", tmp_path)


def test_glue_files_under_the_data_root_load_by_registry_name(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDBBPT_LITE_DATA", str(tmp_path))
    header = [("sentence", "label")]
    _tsv(tmp_path / "glue" / "sst2" / "train.tsv", header + [("good", "1"), ("bad", "0")])
    _tsv(tmp_path / "glue" / "sst2" / "dev.tsv", header + [("fine", "1")])
    assert load_text("glue/sst2").train_texts == ("good", "bad")


def test_glue_offline_fails_fast_saying_what_to_download_and_where(offline_hub, tmp_path):
    with pytest.raises(ValueError) as error:
        load_text("glue/rte")
    message = str(error.value)
    assert "hf download nyu-mll/glue --repo-type dataset --include 'rte/*'" in message
    assert str(tmp_path / "data" / "glue" / "rte") in message


# ---- pairs through a masked-LM verbaliser ----------------------------------------------------


@pytest.fixture(scope="module")
def tiny_masked(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("masked"), "masked")


@pytest.fixture(scope="module")
def tiny_causal_lm(tmp_path_factory):
    return save_tiny_lm(tmp_path_factory.mktemp("causal"), "causal")


def test_a_pair_is_the_two_texts_joined_by_the_separator_token(tiny_masked):
    api = LanguageModelBlackBox(["no", "yes"], "{text} entailment? {mask}.", tiny_masked)
    pair = api.query([("A man sleeps.", "A man rests.")], "some prompt")
    joined = api.query(["A man sleeps.[SEP]A man rests."], "some prompt")
    np.testing.assert_allclose(pair, joined, rtol=1e-5)
    assert api.meter.examples == 2
    with pytest.raises(ValueError, match="pairs"):
        api.query([("only one",)])


def test_bdpl_runs_on_a_glue_pair_task_and_the_embedding_api_refuses_pairs(tmp_path, tiny_masked):
    header = [("index", "sentence1", "sentence2", "label")]
    labels = ["entailment", "not_entailment"]
    rows = [(str(i), f"It is {i}.", f"It is {i + 1}.", labels[i % 2]) for i in range(12)]
    _tsv(tmp_path / "train.tsv", header + rows)
    _tsv(tmp_path / "dev.tsv", header + rows[:6])
    data = load_glue("glue/rte", tmp_path)
    settings = {"dataset": "glue/rte", "clients": 2, "rounds": 1, "local_calls": 2, "shots": 4}
    settings["samples"] = 2
    experiment = TextExperiment(
        blackbox=tiny_masked, batch_size=4, candidates=5, step_size=1e-4, **settings
    )
    result = run_experiment(experiment, data)
    # 8 of the 12 pairs train; the 4 left are dealt to both clients to validate on, and each
    # scores the learned prompt and the three controls there
    assert result["api_calls"] == 4 + 2 * 4 and 0 <= result["accuracy"] <= 1
    with pytest.raises(ValueError, match="sentence pairs"):
        run_experiment(TextExperiment(**settings), data)


# ---- CLIP by name -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip"), image_size=32)


def test_clip_scores_are_the_scaled_cosines_of_its_own_embeddings(tiny_clip):
    api = CLIPBlackBox(tiny_clip, batch_size=3, device="cpu")
    images = torch.rand(2, 4, 3, 32, 32)
    prompts = ["a photo of a cat", "a photo of a dog"]
    scores = api.query(images, prompts)
    assert scores.shape == (2, 4, 2) and api.meter.examples == 8 and api.meter.calls == 1
    tokenizer, model, mean, std = load_clip(tiny_clip)
    pixels = (images.reshape(-1, 3, 32, 32) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(
        std
    ).view(3, 1, 1)
    with torch.no_grad():
        image = F.normalize(model.get_image_features(pixel_values=pixels).pooler_output, dim=-1)
        batch = tokenizer(prompts, padding=True, return_tensors="pt")
        text = F.normalize(model.get_text_features(**batch).pooler_output, dim=-1)
        expected = model.logit_scale.exp() * image @ text.T
    np.testing.assert_allclose(scores.reshape(8, 2), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_an_image_api_and_data_of_another_size_or_task_are_refused(tiny_clip, tmp_path):
    _eurosat(tmp_path)
    data = load_blackvip("blackvip/eurosat", tmp_path, image_size=32)
    with pytest.raises(ValueError, match="32-pixel images but blackbox 'miniclip' takes 28"):
        run_experiment(VisionExperiment(dataset="blackvip/eurosat"), data)
    with pytest.raises(ValueError, match=r"is an image API \(clip\)"):
        language_model_kind(tiny_clip)
    with pytest.raises(ValueError, match="is an image API"):
        TextExperiment(blackbox="miniclip")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        CLIPBlackBox(tiny_clip, batch_size=0, device="cpu")


def test_clip_rejects_images_of_another_size_or_range(tiny_clip):
    api = CLIPBlackBox(tiny_clip, device="cpu")
    with pytest.raises(ValueError, match=r"\(\.\.\., C, 32, 32\)"):
        api.query(torch.rand(2, 3, 28, 28), ["a", "b"])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        api.query(torch.full((1, 3, 32, 32), 2.0), ["a", "b"])
    assert api.meter.calls == 0


def test_a_model_name_offline_fails_fast_saying_what_to_download(offline_hub):
    with pytest.raises(ValueError, match="hf download openai/clip-vit-base-patch16"):
        CLIPBlackBox("openai/clip-vit-base-patch16")
    with pytest.raises(ValueError, match=r"HF_HUB_OFFLINE=1 forbids downloading"):
        hub_source("FacebookAI/roberta-large", "model")


# ---- BlackVIP's data sets --------------------------------------------------------------------


def _jpeg(path, size, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)


def _eurosat(root):
    folder = root / "eurosat"
    entries = {"train": [], "val": [], "test": []}
    for label, cls in enumerate(["Annual_Crop", "Forest"]):
        for i in range(6):
            image = f"{cls}/{cls}_{i}.jpg"
            _jpeg(folder / "2750" / image, (40, 60), 40 * label + i)
            entries["train" if i < 4 else "test"].append([image, label, cls])
    (folder / "split_zhou_EuroSAT.json").write_text(json.dumps(entries))


def test_a_coop_split_loads_resized_centre_cropped_uint8_images(tmp_path):
    _eurosat(tmp_path)
    data = load_blackvip("blackvip/eurosat", tmp_path, image_size=32, pool_per_class=3)
    assert data.x_train.shape == (6, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert data.x_test.shape == (4, 3, 32, 32) and data.y_test.tolist() == [0, 0, 1, 1]
    assert data.class_names == ("Annual Crop", "Forest")
    assert data.prompts[0] == "a centered satellite photo of Annual Crop."
    assert data.tuning == BLACKVIP_SETS["eurosat"].tuning
    assert int(data.x_test[2].float().mean()) == 44  # Forest_4's constant pixel value
    capped = load_blackvip("blackvip/eurosat", tmp_path, image_size=32, max_test=2)
    assert capped.y_test.tolist() == [0, 1]
    more = load_blackvip("blackvip/eurosat", tmp_path, image_size=32, max_test=100)
    assert more.y_test.tolist() == [0, 0, 1, 1]  # every class keeps what it has


def test_fgvc_aircraft_and_class_folder_layouts_load(tmp_path):
    folder = tmp_path / "fgvc_aircraft"
    (folder / "variants.txt").parent.mkdir(parents=True)
    (folder / "variants.txt").write_text("707-320\nA300B4\n")
    for part, ids in (("train", ["1", "2"]), ("test", ["3", "4"])):
        lines = [f"{i} {['707-320', 'A300B4'][int(i) % 2]}" for i in ids]
        (folder / f"images_variant_{part}.txt").write_text("\n".join(lines))
        for i in ids:
            _jpeg(folder / "images" / f"{i}.jpg", (32, 32), 9)
    data = load_blackvip("blackvip/fgvc_aircraft", tmp_path, image_size=16)
    assert data.class_names == ("707-320", "A300B4") and data.y_train.tolist() == [1, 0]
    imagenet = tmp_path / "imagenet"
    for sub in ("images/train", "images/val"):
        for wnid in ("n01", "n02"):
            _jpeg(imagenet / sub / wnid / "a.jpg", (20, 20), 1)
    (imagenet / "classnames.txt").write_text("n01 tench\nn02 goldfish\n")
    data = load_blackvip("blackvip/imagenet", tmp_path, image_size=16)
    assert data.class_names == ("tench", "goldfish") and data.y_test.tolist() == [0, 1]


def test_a_missing_blackvip_set_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDBBPT_LITE_DATA", str(tmp_path))
    with pytest.raises(ValueError) as error:
        load_vision("blackvip/oxford_pets")
    message = str(error.value)
    assert str(tmp_path / "oxford_pets" / "split_zhou_OxfordPets.json") in message
    assert "DATASETS.md" in message and "FEDBBPT_LITE_DATA" in message
    (tmp_path / "oxford_pets").mkdir()
    (tmp_path / "oxford_pets" / "split_zhou_OxfordPets.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must map 'train' and 'test'"):
        locate_blackvip("blackvip/oxford_pets")


def test_the_coordinator_prompts_large_images_from_its_28_pixel_draw():
    coordinator = Coordinator(channels=3, image_size=64, eps=0.5)
    images = torch.rand(2, 3, 64, 64)
    assert torch.equal(coordinator.apply(coordinator.init_params(), images)[0], images)
    w = coordinator.init_params() + np.random.default_rng(0).normal(0, 0.1, coordinator.num_params)
    prompted = coordinator.apply(w, images)
    assert prompted.shape == (1, 2, 3, 64, 64) and not torch.equal(prompted[0], images)
    with pytest.raises(ValueError, match=r"\(N, C, 64, 64\)"):
        coordinator.apply(w, torch.rand(2, 3, 28, 28))


def test_a_federated_coordinator_run_on_a_blackvip_set_goes_through_clip(tmp_path, tiny_clip):
    _eurosat(tmp_path)
    data = load_blackvip("blackvip/eurosat", tmp_path, image_size=32)
    experiment = VisionExperiment(
        dataset="blackvip/eurosat",
        blackbox=tiny_clip,
        generator="coordinator",
        clients=2,
        rounds=1,
        local_steps=2,
        shots=2,
        batch_size=4,
        step_size=0.01,
    )
    result = run_experiment(experiment, data)
    # 2 clients x 2 steps, each one call of 2 x SP_AVG prompted copies of a client's 2 images
    steps = 4 * 10 * 2
    # then each client validates zero-shot and the learned prompt on its 2 held-out images
    assert result["api_calls"] == 4 + 2 * 2 and result["examples_sent"] == steps + 2 * 2 * 2
    unprompted = predict(CLIPBlackBox(tiny_clip), unit_images(data.x_test), data.prompts)
    assert result["zero_shot_accuracy"] == round(
        float((unprompted == data.y_test.numpy()).mean()), 4
    )
    assert 0 <= result["accuracy"] <= 1 and len(result["accuracy_per_round"]) == 2
    with pytest.raises(ValueError, match="whitebox"):
        VisionExperiment(blackbox=tiny_clip, method="whitebox")


# ---- the paper preset --------------------------------------------------------------------------


def test_the_paper_preset_carries_blackvip_and_bdpl_defaults():
    runs = experiments(load_spec("paper"))
    vision = [r for r in runs if isinstance(r, VisionExperiment)]
    text = [r for r in runs if isinstance(r, TextExperiment)]
    assert {r.dataset for r in vision} == {f"blackvip/{n}" for n in BLACKVIP_SETS}
    assert {r.dataset for r in text} == {f"glue/{t}" for t in GLUE_TASKS}
    assert {(r.blackbox, r.batch_size, r.shots, r.step_size, r.steps) for r in vision} == {
        ("openai/clip-vit-base-patch16", 128, 16, 0.01, 5000)
    }
    assert {
        (r.blackbox, r.batch_size, r.shots, r.step_size, r.samples, r.prompt_length)
        + (r.candidates, r.calls)
        for r in text
    } == {("FacebookAI/roberta-large", 128, 16, 1e-4, 20, 10, 200, 8000)}


def test_the_paper_preset_runs_instructzero_by_model_name(tiny_causal_lm):
    runs = [r for r in experiments(load_spec("paper")) if r.task == "instruction"]
    assert {r.dataset for r in runs} == set(instruction_task_names())
    assert {
        (r.generator_model, r.scoring, r.demos, r.batch_size, r.max_new_tokens) for r in runs
    } == {("lmsys/vicuna-13b-v1.3", "generate", 10, 20, 128)}
    assert {r.search for r in runs if r.method == "fedbbpt"} == {"bo", "pooled_bo"}
    small = replace(  # the same experiment on a tiny random model, at a tiny budget
        runs[1], blackbox=tiny_causal_lm, generator_model=tiny_causal_lm, rounds=1, clients=2,
        local_evaluations=2, initial_points=2, max_new_tokens=4, shots=8, batch_size=4, demos=3,
    )  # fmt: skip
    data = load_instructions(runs[1].dataset)
    data = replace(data, test_inputs=data.test_inputs[:4], test_outputs=data.test_outputs[:4])
    result = run_experiment(small, data)
    assert result["scoring"] == "generate" and result["api_calls"] > 0


def test_the_paper_sweep_offline_stops_before_any_run(offline_hub, tmp_path, capsys):
    with pytest.raises(ValueError, match="needs .*split_zhou_Caltech101.json"):
        run_sweep("paper", tmp_path / "out", progress=False)
    assert (
        not (tmp_path / "out" / "runs.jsonl").exists()
        or not (tmp_path / "out" / "runs.jsonl").read_text()
    )
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--task", "text", "--dataset", "blackvip/eurosat"])
    assert exit_.value.code == 2 and "is a vision data set" in capsys.readouterr().err


# ---- BlackVIP's prompt space on CLIP --------------------------------------------------------

# BlackVIP's trainers/utils.py: CLIP's normalised pixel range, per channel
BLACKVIP_CLIP_BOUNDS = [(-1.79226253, 1.93033625), (-1.75209713, 2.07488384)]
BLACKVIP_CLIP_BOUNDS += [(-1.48021977, 2.14589699)]


def blackvip_prompted(images, prompt, eps, mean, std):
    """BlackVIP's clip_clipping(normalise(x) + eps * prompt), in CLIP's normalised space."""
    normalised = (images - mean) / std + eps * prompt
    return torch.stack(
        [normalised[:, c].clamp(low, high) for c, (low, high) in enumerate(BLACKVIP_CLIP_BOUNDS)],
        dim=1,
    )


@pytest.mark.parametrize("generator", ["grid", "padding", "coordinator"])
def test_on_clip_prompts_are_added_in_clips_normalised_space_as_blackvip_adds_them(
    tiny_clip, generator
):
    api = CLIPBlackBox(tiny_clip, device="cpu")
    _, _, mean, std = load_clip(tiny_clip)
    mean, std = torch.tensor(mean).view(3, 1, 1), torch.tensor(std).view(3, 1, 1)
    prompter = make_generator(generator, 3, seed=0, image_size=32, eps=0.5, pixel_std=api.pixel_std)
    images = torch.rand(4, 3, 32, 32)
    w = np.random.default_rng(0).normal(size=prompter.num_params)
    prompted = prompter.apply(w, images)[0]
    if generator == "coordinator":
        prompt = prompter.prompts(w, images)[0]
    else:
        prompt = prompter.pattern(w).expand(4, -1, -1, -1)
    expected = blackvip_prompted(images, prompt, 0.5, mean, std)
    torch.testing.assert_close((prompted - mean) / std, expected, rtol=0, atol=2e-5)


def test_on_clip_the_coordinator_starts_as_blackvips_and_on_miniclip_at_zero_shot(tiny_clip):
    api = CLIPBlackBox(tiny_clip, device="cpu")
    blackvip = make_generator("coordinator", 3, seed=0, image_size=32, pixel_std=api.pixel_std)
    assert blackvip.init == "blackvip"
    trigger = blackvip._decoder.trigger.detach()
    assert 0 <= trigger.min() and trigger.max() <= 0.1 and trigger.std() > 0
    images = torch.rand(4, 3, 32, 32)
    assert blackvip.prompts(blackvip.init_params(), images).abs().max() > 0.01
    ours = make_generator("coordinator", 1, seed=0)
    assert ours.init == "zero" and ours.pixel_std is None
    grey = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(ours.apply(ours.init_params(), grey)[0], grey)
    with pytest.raises(ValueError, match="pixel_std"):
        make_generator("grid", 3, seed=0, pixel_std=(0.2, -1.0, 0.3))
