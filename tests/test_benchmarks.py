"""The benchmark scripts still run, on tiny sizes, and their parity figures are tiny.

benchmarks/ measures; it is not a test suite. These checks only keep its code from rotting: the
driver produces its Markdown, the parity numbers it reports are at the level of rounding, and
the PyTorch loop of the speed benchmark computes what introdl.train.fit computes. No timing is
asserted anywhere.
"""
import numpy as np
import pytest

import gpu_scaling  # benchmarks/ (pyproject.toml puts it on the tests' path)
import run
import training_speed


def _cells(table, column):
    index = table.columns.index(column)
    return [row[index] for row in table.rows]


@pytest.fixture(scope="module")
def quick_parity(tmp_path_factory):
    output = tmp_path_factory.mktemp("benchmarks") / "results.md"
    sections, text = run.main(["--quick", "--only", "parity", "--output", str(output)])
    return sections[0], text, output


def test_the_driver_writes_one_markdown_document(quick_parity):
    _, text, output = quick_parity
    assert output.read_text(encoding="utf-8") == text
    lines = text.splitlines()
    assert lines[0] == "# Measured results"
    assert sum(line.startswith("# ") for line in lines) == 1  # one title; the rest are "##" and below
    assert "## The machine" in lines and "## Parity with PyTorch" in lines
    assert "$" not in text  # the book parses $...$ as maths


def test_parity_figures_are_at_the_level_of_rounding(quick_parity):
    section, _, _ = quick_parity
    layers, losses, optimizers = section.tables
    figures = (_cells(layers, "forward, CPU") + _cells(layers, "∂/∂input, CPU")
               + [c for c in _cells(layers, "∂/∂parameters, CPU") if c != "no parameters"]
               + _cells(losses, "value, CPU") + _cells(losses, "∂/∂prediction, CPU"))
    assert len(figures) == 6 + 6 + 2 + 4 + 4
    assert all(float(figure) <= 1e-12 for figure in figures), figures
    assert len(optimizers.rows) == 10
    assert 0 <= section.worst["cpu"] <= 1e-9


def test_the_torch_loop_computes_what_fit_computes():
    split = training_speed.digits_split()
    case = dict(hidden=8, batch_size=256, epochs=1)
    _, accuracy, ours = training_speed.run_introdl(split, **case)
    _, torch_accuracy, theirs = training_speed.run_torch(split, threads=1, **case)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert accuracy == torch_accuracy


def test_gpu_throughput_code_runs_on_the_cpu():
    examples, rate = gpu_scaling.throughput("cpu", "float32", 4, width=16, layers=2)
    assert examples > 0 and rate > 0
    assert gpu_scaling.flops_per_pass(1, 16, 2) == 2 * 16 * 16 * 5
