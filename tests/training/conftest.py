import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Tests compare numbers across runs: start every test from the same RNG state."""
    torch.manual_seed(0)
    yield
