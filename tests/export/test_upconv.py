"""The export-time sub-pixel rewrite computes the same function as upsample + conv."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from albumgan.export.upconv import SubpixelUpConv, fuse_upsample_conv
from albumgan.training.networks import Generator


@pytest.mark.parametrize(("resolution", "c_dim"), [(16, 0), (32, 10)])
def test_fused_generator_matches_the_original(resolution, c_dim):
    torch.manual_seed(resolution)
    generator = Generator(z_dim=16, resolution=resolution, width=8, c_dim=c_dim).eval()
    fused, replaced = fuse_upsample_conv(generator)
    assert replaced == int(math.log2(resolution)) - 2  # every growth block, including the RGB one
    assert not any(isinstance(m, nn.Upsample) for m in fused.modules())
    assert not any(isinstance(m, SubpixelUpConv) for m in generator.modules()), "original was modified"
    z = torch.randn(5, 16)
    args = (z, torch.rand(5, c_dim) * 2 - 1, (torch.rand(5, c_dim) > 0.3).float()) if c_dim else (z,)
    with torch.no_grad():
        assert torch.allclose(fused(*args), generator(*args), atol=1e-5)


def test_single_pair_matches_on_odd_sizes_and_without_bias():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
    pair = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv)
    x = torch.randn(2, 3, 5, 7)
    with torch.no_grad():
        assert torch.allclose(SubpixelUpConv(conv)(x), pair(x), atol=1e-5)


def test_other_layers_are_left_alone():
    model = nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(3, 3, 3, padding=1),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(3, 3, 5, padding=2),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(3, 3, 3, padding=1, stride=2),
    )
    fused, replaced = fuse_upsample_conv(model)
    assert replaced == 0
    assert [type(m) for m in fused] == [type(m) for m in model]
