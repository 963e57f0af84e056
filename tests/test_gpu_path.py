"""What a GPU black box relies on, checked on the CPU: the precision option (fp32, TF32, bf16),
prompts drawn on the images' device (PyTorch's "meta" device stands in for a GPU: a tensor left
on the host would meet it and fail), the vision pool on the black box's device, and the
paper-scale benchmark at tiny shapes."""

import numpy as np
import pytest
import torch
from script_loader import load_script

import fedbbpt_lite as fbl
from fedbbpt_lite.blackbox.precision import compute_precision


def test_bf16_answers_close_to_fp32_in_float32_and_tf32_is_fp32_off_nvidia():
    data = fbl.load_vision("mnist")
    images = data.x_test[:200]
    found = {
        p: fbl.MiniCLIPBlackBox(precision=p).query(images, data.prompts)
        for p in ("fp32", "tf32", "bf16")
    }
    assert all(logits.dtype == np.float32 for logits in found.values())
    np.testing.assert_array_equal(found["tf32"], found["fp32"])
    gap = np.abs(found["bf16"] - found["fp32"])
    assert 0 < gap.max() < 1.0  # bf16 keeps 8 bits of mantissa: close, not equal
    agree = (found["bf16"].argmax(-1) == found["fp32"].argmax(-1)).mean()
    assert agree > 0.95


def test_precision_is_checked_by_name():
    with pytest.raises(ValueError, match="precision"):
        fbl.MiniCLIPBlackBox(precision="fp16")


def test_the_tf32_switches_are_set_inside_and_restored_after():
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    before = matmul.fp32_precision, conv.fp32_precision
    for precision, inside in (("tf32", "tf32"), ("fp32", "ieee")):
        with compute_precision(precision, torch.device("cuda")):
            assert (matmul.fp32_precision, conv.fp32_precision) == (inside, inside)
        assert (matmul.fp32_precision, conv.fp32_precision) == before


def test_the_paper_scale_benchmark_runs_every_path_at_tiny_shapes(capsys):
    bench = load_script("gpu_paper_scale", "benchmarks")
    bench.main(["--tiny", "--device", "cpu", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert "tiny shapes" in lines[0]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in lines[3:]}
    assert list(rows) == ["fp32", "tf32", "bf16"]
    assert rows["fp32"][4:6] == ["0", "100%"]  # fp32 against itself
    for cells in rows.values():
        assert float(cells[3]) > 0 and float(cells[-1].strip(" |").replace(",", "")) > 0
    # the paper preset trains 210 vision runs of 5,000 steps and 105 text runs of 8,000 calls
    hours = bench.projected_hours(step_s=1.0, query_s=1.0)
    assert hours == pytest.approx((210 * 5_000 + 105 * 8_000) / 3600)


@pytest.mark.parametrize("name", ["grid", "padding", "coordinator"])
def test_prompts_are_drawn_on_the_images_device(name):
    from fedbbpt_lite.tasks.vision_experiment import make_generator

    generator = make_generator(name, 3, 0, 32, 1.0, (0.27, 0.26, 0.28))
    W = np.random.default_rng(0).normal(size=(2, generator.num_params))
    prompted = generator.apply(W, torch.rand(4, 3, 32, 32, device="meta"))
    assert prompted.device.type == "meta" and prompted.shape == (2, 4, 3, 32, 32)


def test_the_vision_pool_lives_on_the_black_boxs_device():
    experiment = fbl.VisionExperiment(dataset="mnist", shots=2)
    evaluator = fbl.MiniCLIPBlackBox()
    evaluator.device = torch.device("meta")
    family = experiment.family(evaluator=evaluator)
    assert family.x.device.type == "meta"
    assert family.examples(family.index[:3]).device.type == "meta"
