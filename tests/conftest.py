"""Fixtures shared by several test modules."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module (its tiny nets gain nothing from threads, and on a
    busy machine idle-spinning intra-op threads make them many times slower); a module
    opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``, which sets
    it up before the module's other fixtures."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
