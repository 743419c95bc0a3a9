import pytest
import torch

from fakes.synthetic_covers import make_dataset


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Tests compare numbers across runs: start every test from the same RNG state."""
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """48 structured covers at 16 and 32 px where valence sets hue and energy brightness."""
    return make_dataset(tmp_path_factory.mktemp("data") / "synthetic", n=48)


TINY = """
[model]
kind = "{kind}"
resolution = 16
z_dim = 8
g_width = 8
d_width = 8
latent_prior = "{prior}"

[loss]
kind = "{loss}"
n_critic = {n_critic}
gp_interval = 2
feature_dropout = 0.2

[logan]
enabled = {logan}

[train]
batch_size = 8
steps = 4
checkpoint_every = 2
keep_checkpoints = 2
sample_every = 2
log_every = 1
grid = 4

[runtime]
device = "cpu"
"""


@pytest.fixture
def tiny_config(tmp_path):
    """Write a tiny-network config and return its path."""

    def write(kind="unconditional", loss="wgan-gp", n_critic=2, logan=True, prior="uniform", name="tiny.toml"):
        path = tmp_path / name
        path.write_text(TINY.format(kind=kind, loss=loss, n_critic=n_critic, logan=str(logan).lower(), prior=prior))
        return path

    return write
