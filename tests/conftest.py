"""Fixtures for the library tests; the parity helpers live in tests/torch_parity.py."""
import pytest
from hypothesis import settings

from torch_parity import DEVICES

# Property tests explore the same examples on every run and every machine, so a failure seen
# once is seen again; no example database is written into the checkout.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.load_profile("deterministic")


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device in DEVICES in turn: "cpu", and "cuda" when a GPU is visible."""
    return request.param
