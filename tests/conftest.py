"""Shared test helpers: the devices to run on and how closely torch must agree with NumPy.

The rule for every parity test:

* the NumPy reference always runs in float64;
* torch runs in float64 on the CPU, where the two must agree to 1e-12 (relative), and in
  float32 on CUDA, where 1e-5 is what float32 arithmetic can honestly promise.

Use the ``device`` fixture to run a test on every device, and ``assert_close`` to compare::

    def test_sigmoid(device):
        z = np.random.default_rng(0).normal(size=(4, 3))
        assert_close(F.sigmoid(z), torch.sigmoid(to_tensor(z, device)), device)

The helpers are plain functions, so a test module imports them: ``from conftest import ...``.
"""
import numpy as np
import pytest
import torch
from hypothesis import settings

# Property tests explore the same examples on every run and every machine, so a failure seen
# once is seen again; no example database is written into the checkout.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.load_profile("deterministic")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

DTYPES = {"cpu": torch.float64, "cuda": torch.float32}
TOLERANCES = {"cpu": 1e-12, "cuda": 1e-5}


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device in DEVICES in turn: "cpu", and "cuda" when a GPU is visible."""
    return request.param


def torch_dtype(device):
    """float64 on the CPU, float32 on CUDA."""
    return DTYPES[torch.device(device).type]


def tolerance(device):
    """The largest relative difference a parity test accepts on ``device``."""
    return TOLERANCES[torch.device(device).type]


def to_tensor(array, device, *, requires_grad=False):
    """A copy of ``array`` as a tensor on ``device`` in that device's dtype (integers stay integers)."""
    array = np.asarray(array)
    dtype = torch_dtype(device) if np.issubdtype(array.dtype, np.floating) else None
    return torch.tensor(array, dtype=dtype, device=device, requires_grad=requires_grad)


def to_numpy(value):
    """A tensor (on any device), an ndarray or a number as a float64 ndarray."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().to(torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def max_relative_difference(expected, actual):
    """max |expected − actual| / max(|expected|, |actual|): a norm-wise relative difference.

    Scaling by the largest magnitude of either array keeps entries that are tiny next to the
    others (a sigmoid of −700 beside a sigmoid of 3) from dominating through rounding alone.
    Non-finite entries must match exactly; two all-zero arrays differ by 0.
    """
    expected, actual = to_numpy(expected), to_numpy(actual)
    if expected.shape != actual.shape:
        raise AssertionError(f"shapes differ: expected {expected.shape}, got {actual.shape}")
    finite = np.isfinite(expected) & np.isfinite(actual)
    if not np.array_equal(expected[~finite], actual[~finite], equal_nan=True):
        return np.inf  # an inf or NaN in one array that the other does not have in that place
    expected, actual = expected[finite], actual[finite]
    scale = max(np.max(np.abs(expected), initial=0.0), np.max(np.abs(actual), initial=0.0))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(expected - actual), initial=0.0) / scale)


def assert_close(numpy_array, torch_tensor, device, *, rtol=None, what="value"):
    """Fail unless the NumPy result and the torch result agree within ``tolerance(device)``."""
    rtol = tolerance(device) if rtol is None else rtol
    difference = max_relative_difference(numpy_array, torch_tensor)
    assert difference <= rtol, (
        f"{what}: max relative difference {difference:.3e} exceeds {rtol:.0e} on {device}"
    )
