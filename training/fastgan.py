"""A small FastGAN-style generator (Liu et al. 2021, "Towards faster and stabilized GAN
training for high-fidelity few-shot image synthesis"), sized for CPU training at 64-128 px.

z (unit second moment) -> 4x4 transposed conv + BatchNorm + GLU -> up blocks of nearest 2x
upsample, spectral-norm 3x3 conv to twice the channels, BatchNorm and GLU (the "lite"
block: no noise injection, whose per-pixel noise shows as speckle on a small dataset) ->
3x3 conv to RGB with no tanh (the export clamps to [0, 255]; a tanh's saturated tails slow
learning of flat colour fields, which covers are full of).

Skip-layer excitation: the feature map at side s gates the map at side 16 s channel-wise
(pooled to 4x4, conv 4x4, swish, conv 1x1, sigmoid), so coarse layout steers fine texture
cheaply.

Conditional (c_dim > 0): the condition `cat(labels * mask, mask)` is embedded once
(Linear + LeakyReLU) and every BatchNorm becomes conditional: gain 1 + SN-Linear(e), bias
SN-Linear(e) (the Projected GAN / BigGAN form), so each feature can shift every layer.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from albumgan.training.networks import GeneratorNetwork, Upsample2x, check_resolution, condition_vector

# Channels at each side per unit of `width` (FastGAN's nfc table, halved past 64 px).
CHANNELS_PER_WIDTH = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5}
EMBED_DIM = 128


def sn_conv(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias))


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose gain and bias come from the condition embedding when there is one."""

    def __init__(self, channels: int, embed_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=embed_dim == 0)
        if embed_dim:
            self.gain = spectral_norm(nn.Linear(embed_dim, channels, bias=False))
            self.bias = spectral_norm(nn.Linear(embed_dim, channels, bias=False))

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        x = self.norm(x)
        if embedding is None:
            return x
        gain = 1 + self.gain(embedding)[:, :, None, None]
        return x * gain + self.bias(embedding)[:, :, None, None]


class UpBlock(nn.Module):
    """nearest 2x -> SN conv 3x3 to 2C -> (conditional) BatchNorm -> GLU."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        # An nn.Sequential pair, so the export can fuse upsample + conv into sub-pixel convs.
        self.up = nn.Sequential(Upsample2x(), sn_conv(c_in, 2 * c_out, 3, padding=1, bias=False))
        self.norm = ConditionalBatchNorm(2 * c_out, embed_dim)
        self.glu = nn.GLU(dim=1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        return self.glu(self.norm(self.up(x), embedding))


class SkipExcitation(nn.Module):
    """Channel gates for a fine map computed from a coarse one."""

    def __init__(self, c_coarse: int, c_fine: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            sn_conv(c_coarse, c_fine, 4, bias=False),
            nn.SiLU(),
            sn_conv(c_fine, c_fine, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return fine * self.gate(coarse)


class FastGenerator(GeneratorNetwork):
    def __init__(self, z_dim: int = 256, resolution: int = 64, width: int = 16, c_dim: int = 0):
        super().__init__()
        if z_dim < 1 or width < 1 or c_dim < 0:
            raise ValueError(f"bad generator size: z_dim={z_dim} width={width} c_dim={c_dim}")
        self.z_dim = int(z_dim)
        self.resolution = check_resolution(resolution)
        if self.resolution > max(CHANNELS_PER_WIDTH):
            raise ValueError(f"fastgan supports up to {max(CHANNELS_PER_WIDTH)} px, got {resolution}")
        self.width = int(width)
        self.c_dim = int(c_dim)
        embed_dim = EMBED_DIM if c_dim else 0
        self.embed = nn.Sequential(nn.Linear(2 * c_dim, embed_dim), nn.LeakyReLU(0.2)) if c_dim else None
        channels = {side: max(8, int(n * width)) for side, n in CHANNELS_PER_WIDTH.items()}
        self.sides = [2**k for k in range(2, int(math.log2(resolution)) + 1)]
        self.init = spectral_norm(nn.ConvTranspose2d(self.z_dim, 2 * channels[4], 4, bias=False))
        self.init_norm = ConditionalBatchNorm(2 * channels[4], embed_dim)
        self.blocks = nn.ModuleDict({str(s): UpBlock(channels[s // 2], channels[s], embed_dim) for s in self.sides[1:]})
        self.excite = nn.ModuleDict(
            {str(s): SkipExcitation(channels[s // 16], channels[s]) for s in self.sides if s >= 64}
        )
        self.to_rgb = nn.Conv2d(channels[self.resolution], 3, 3, padding=1)
        self.apply(_init_weights)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z (N, z_dim); labels/mask (N, c_dim) for a conditional model (see
        networks.condition_vector). Returns (N, 3, R, R), roughly in [-1, 1], unclamped."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (N, {self.z_dim}), got {tuple(z.shape)}")
        embedding = self.embed(condition_vector(z, self.c_dim, labels, mask)) if self.embed is not None else None
        # Unit second moment per sample, whatever the prior's scale (FastGAN's input norm).
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        x = nn.functional.glu(self.init_norm(self.init(z[:, :, None, None]), embedding), dim=1)
        maps = {4: x}
        for side in self.sides[1:]:
            x = self.blocks[str(side)](x, embedding)
            if str(side) in self.excite:
                x = self.excite[str(side)](maps[side // 16], x)
            maps[side] = x
        return self.to_rgb(x).float()

    def config(self) -> dict:
        return {"z_dim": self.z_dim, "resolution": self.resolution, "width": self.width, "c_dim": self.c_dim}


def _init_weights(module: nn.Module) -> None:
    """FastGAN's init: N(0, 0.02) weights, BatchNorm gains N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = _trainable_weight(module)
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _trainable_weight(module: nn.Module) -> torch.Tensor:
    """The tensor the optimiser updates: under spectral norm, the parametrization's original."""
    if parametrize.is_parametrized(module, "weight"):
        parametrizations = cast(nn.ModuleDict, module.parametrizations)
        return cast(torch.Tensor, parametrizations["weight"].original)
    return cast(torch.Tensor, module.weight)
