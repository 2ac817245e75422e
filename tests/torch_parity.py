"""Helpers for the tests that compare the library with PyTorch.

The rule for every parity test:

* the NumPy reference always runs in float64;
* torch runs in ``introdl.torch_twin.default_dtype(device)``: float64 on the CPU, where the two
  must agree to 1e-12 (relative), and float32 on CUDA, where 1e-5 is what float32 arithmetic can
  honestly promise. Both numbers come from the library: ``introdl.torch_twin.tolerance(device)``,
  and the difference is the library's one ``introdl.gradcheck.relative_error``.

Use the ``device`` fixture (tests/conftest.py) to run a test on every device, and ``assert_close``::

    from torch_parity import assert_close, to_tensor

    def test_sigmoid(device):
        z = np.random.default_rng(0).normal(size=(4, 3))
        assert_close(F.sigmoid(z), torch.sigmoid(to_tensor(z, device)), device)
"""
import torch

from introdl import torch_twin
from introdl.gradcheck import relative_error
from introdl.torch_twin import default_dtype as torch_dtype  # float64 on the CPU, float32 on CUDA
from introdl.torch_twin import to_numpy, tolerance

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

__all__ = ["DEVICES", "assert_close", "relative_error", "to_numpy", "to_tensor", "tolerance", "torch_dtype"]


def to_tensor(array, device, *, requires_grad=False):
    """A copy of ``array`` as a tensor on ``device`` in that device's dtype (integers stay integers)."""
    return torch_twin.tensor(array, on_device=device, requires_grad=requires_grad)


def assert_close(numpy_array, torch_tensor, device, *, rtol=None, what="value"):
    """Fail unless the NumPy result and the torch result agree within ``tolerance(device)``."""
    rtol = tolerance(device) if rtol is None else rtol
    if isinstance(torch_tensor, torch.Tensor):
        torch_tensor = to_numpy(torch_tensor)
    difference = relative_error(numpy_array, torch_tensor)
    assert difference <= rtol, (
        f"{what}: max relative difference {difference:.3e} exceeds {rtol:.0e} on {device}"
    )
