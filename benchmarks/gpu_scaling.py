"""GPU scaling: examples per second against batch size, and why mini-batches love GPUs.

The work: one forward and backward pass (no optimizer step) of a wide MLP, ``layers`` Linear
layers of ``width`` × ``width`` with ReLU in between (4096 wide, 3 layers by default), on random
inputs, in PyTorch. We measure it on CUDA in three arithmetic modes and on the CPU:

* float32 with TF32 off (``torch.set_float32_matmul_precision("highest")``): true float32;
* TF32 (``"high"``, the same as ``torch.backends.cuda.matmul.allow_tf32 = True``): float32
  tensors, matrix products on the tensor cores with a 10-bit mantissa;
* bf16 autocast (``torch.autocast("cuda", dtype=torch.bfloat16)``): the matrix products in
  bfloat16 on the tensor cores.

Each measurement warms up first, then times enough iterations for a fifth of a second, between
``torch.cuda.synchronize()`` calls, with CUDA events on the GPU (``perf_counter`` on the CPU).
From the time we get examples/s and the achieved matrix-product rate: a forward and backward
pass costs 2·B·width² floating-point operations for every forward product, every weight
gradient and every input gradient (the first layer needs none: the input needs no gradient).
The rate is shown as a fraction of the device's measured peak: a large square ``torch.matmul``
in the same mode.

The point it shows: at batch 1 every layer is a matrix-vector product, which reads each weight
once for 2 operations, so the GPU waits on memory (and on kernel launches) and runs at a tiny
fraction of its peak; as the batch grows, every weight read serves B examples, and the rate
climbs towards the peak. A CPU, with far less arithmetic to feed, saturates at much smaller
batches.

Without CUDA nothing is measured: the section says so and shows no figure.
"""
from __future__ import annotations

import contextlib
import time

import torch

from report import Section, Table

MODES = ("float32", "TF32", "bf16 autocast")
GPU_BATCHES = (1, 4, 16, 64, 256, 1024, 4096, 16384)
CPU_BATCHES = (1, 16, 256)


@contextlib.contextmanager
def matmul_precision(mode):
    """Run the block with TF32 matrix products on (``mode == "TF32"``) or off (anything else)."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if mode == "TF32" else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def autocast(mode):
    """bf16 autocast for the forward pass in ``mode == "bf16 autocast"`` (CUDA), else nothing."""
    if mode == "bf16 autocast":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def seconds_per_call(function, device, *, warmup=3, budget=0.2, max_calls=200):
    """The time of one ``function()``, averaged over enough calls to take about ``budget`` seconds.

    The GPU runs asynchronously, so we synchronize before starting and time with CUDA events
    recorded on the stream around the calls; on the CPU, wall-clock time.
    """
    cuda = torch.device(device).type == "cuda"
    for _ in range(warmup):
        function()
    if cuda:
        torch.cuda.synchronize()

    def measure(calls):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(calls):
                function()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000 / calls  # elapsed_time is in milliseconds
        begin = time.perf_counter()
        for _ in range(calls):
            function()
        return (time.perf_counter() - begin) / calls

    once = measure(1)
    calls = int(min(max_calls, max(3, budget / max(once, 1e-6))))
    return measure(calls)


def matmul_peak(device, mode, n=8192):
    """The device's measured matrix-product rate in FLOP/s: an n × n × n torch.matmul in ``mode``."""
    dtype = torch.bfloat16 if mode == "bf16 autocast" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    with matmul_precision(mode), torch.no_grad():
        seconds = seconds_per_call(lambda: torch.matmul(a, b), device)
    return 2 * n**3 / seconds


def mlp(width, layers, device):
    """``layers`` Linear(width, width) layers with ReLU between them, float32, on ``device``."""
    modules = []
    for index in range(layers):
        modules.append(torch.nn.Linear(width, width))
        if index < layers - 1:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules).to(device)


def flops_per_pass(batch, width, layers):
    """Matrix-product FLOPs of one forward and backward pass: 2·B·width² per product;
    ``layers`` forward products, ``layers`` weight gradients, ``layers − 1`` input gradients."""
    return 2 * batch * width * width * (3 * layers - 1)


def throughput(device, mode, batch, *, width=4096, layers=3, model=None):
    """(examples per second, achieved matrix FLOP/s) of forward + backward at this batch size."""
    model = mlp(width, layers, device) if model is None else model
    x = torch.randn(batch, width, device=device)

    def step():
        model.zero_grad(set_to_none=True)
        with autocast(mode):  # autocast covers the forward pass; backward follows its casts
            out = model(x)
        out.float().square().mean().backward()

    with matmul_precision(mode):  # TF32 or not, for the backward products too
        seconds = seconds_per_call(step, device)
    return batch / seconds, flops_per_pass(batch, width, layers) / seconds


def run(quick=False):
    section = Section(
        "GPU scaling: throughput against batch size",
        intro=(
            "Forward and backward passes of a 4096-wide, 3-layer MLP (ReLU) in PyTorch, on CUDA in "
            "float32 (TF32 off), TF32 and bf16 autocast, and on the CPU in float32: examples per "
            "second, and the achieved matrix-product rate as a fraction of the device's own peak, "
            "measured with a large square `torch.matmul` in the same arithmetic. Timed with CUDA "
            "events between `torch.cuda.synchronize()` calls, after warm-up."
        ),
    )
    table = Table(["device", "arithmetic", "batch", "examples/s", "achieved TFLOP/s", "measured peak TFLOP/s",
                   "fraction of peak"])
    if not torch.cuda.is_available():
        table.add("no GPU on this machine; not measured", "", "", "", "", "", "")
        section.tables.append(table)
        section.notes.append(
            "This machine has no CUDA device, so there is nothing to show: run "
            "`python benchmarks/run.py --only gpu` on a machine with one. (The CPU rows are measured "
            "only alongside a GPU, as its baseline.)"
        )
        return section

    width, layers = (1024, 2) if quick else (4096, 3)
    gpu_batches = GPU_BATCHES[:4] if quick else GPU_BATCHES
    cpu_batches = CPU_BATCHES[:2] if quick else CPU_BATCHES
    name = torch.cuda.get_device_name(0)
    gpu_model = mlp(width, layers, "cuda")
    for mode in MODES:
        peak = matmul_peak("cuda", mode, n=4096 if quick else 8192)
        for batch in gpu_batches:
            examples, rate = throughput("cuda", mode, batch, width=width, layers=layers, model=gpu_model)
            table.add(name, mode, batch, f"{examples:,.0f}", f"{rate / 1e12:.2f}", f"{peak / 1e12:.1f}",
                      f"{rate / peak:.0%}")
    del gpu_model
    torch.cuda.empty_cache()
    cpu_peak = matmul_peak("cpu", "float32", n=2048)
    cpu_model = mlp(width, layers, "cpu")
    cpu_name = f"CPU ({torch.get_num_threads()} threads)"
    for batch in cpu_batches:
        examples, rate = throughput("cpu", "float32", batch, width=width, layers=layers, model=cpu_model)
        table.add(cpu_name, "float32", batch, f"{examples:,.0f}", f"{rate / 1e12:.3f}", f"{cpu_peak / 1e12:.2f}",
                  f"{rate / cpu_peak:.0%}")
    section.tables.append(table)
    section.notes.append(
        f"Model: {layers} × Linear({width}, {width}) with ReLU between; "
        f"{flops_per_pass(1, width, layers) / 1e6:.0f} MFLOP of matrix products per example and pass."
    )
    return section
