import pytest
import torch

from albumgan.training.networks import Critic, Generator, count_parameters


@pytest.mark.parametrize("resolution", [16, 32])
def test_unconditional_generator_shapes_and_range(resolution):
    g = Generator(z_dim=16, resolution=resolution, width=8)
    images = g(torch.randn(5, 16) * 3)
    assert images.shape == (5, 3, resolution, resolution)
    assert images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    assert images.std() > 0  # not a constant image


@pytest.mark.parametrize("resolution", [16, 32])
def test_acgan_generator_uses_labels_and_mask(resolution):
    g = Generator(z_dim=16, resolution=resolution, width=8, c_dim=10)
    z = torch.randn(4, 16)
    labels = torch.rand(4, 10) * 2 - 1
    mask = torch.ones(4, 10)
    images = g(z, labels, mask)
    assert images.shape == (4, 3, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    # Masked-out labels are invisible: any value behind mask 0 gives the same image.
    off = torch.zeros(4, 10)
    assert torch.equal(g(z, labels, off), g(z, -labels, off))
    assert torch.equal(g(z), g(z, labels, off))
    assert not torch.allclose(g(z, labels, mask), g(z, -labels, mask))


def test_critic_outputs_score_and_aux():
    d = Critic(resolution=32, width=8, c_dim=10)
    score, aux = d(torch.rand(3, 3, 32, 32) * 2 - 1)
    assert score.shape == (3,) and aux.shape == (3, 10)
    score, aux = Critic(resolution=32, width=8)(torch.zeros(2, 3, 32, 32))
    assert score.shape == (2,) and aux is None


def test_train_and_eval_mode_compute_the_same_function():
    g = Generator(z_dim=16, resolution=16, width=8)
    z = torch.randn(3, 16)
    assert torch.equal(g.train()(z), g.eval()(z))


def test_default_size_is_dcgan_like():
    g, d = Generator(), Critic()
    assert 2e6 < count_parameters(g) < 6e6 and 1e6 < count_parameters(d) < 4e6


@pytest.mark.parametrize("bad", [0, 48, 4])
def test_bad_resolution_rejected(bad):
    with pytest.raises(ValueError, match="power of two"):
        Generator(resolution=bad)


def test_wrong_input_shapes_rejected():
    g = Generator(z_dim=16, resolution=16, width=8, c_dim=10)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 16\)"):
        g(torch.randn(2, 15))
    with pytest.raises(ValueError, match="labels and mask"):
        g(torch.randn(2, 16), torch.zeros(2, 9))
    with pytest.raises(ValueError, match="images must have shape"):
        Critic(resolution=16, width=8)(torch.zeros(2, 3, 32, 32))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_upsample_is_nearest_neighbour(layout):
    from torch.nn import functional as F

    from albumgan.training.networks import Upsample2x

    x = torch.randn(2, 3, 4, 5).contiguous(memory_format=layout)
    assert torch.equal(Upsample2x()(x), F.interpolate(x, scale_factor=2.0, mode="nearest"))
