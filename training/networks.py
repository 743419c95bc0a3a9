"""DCGAN-style generator and critic at any power-of-two resolution.

Generator: z (plus, for the ACGAN, the condition `cat(labels * mask, mask)`) -> linear to a
4x4 map -> blocks of nearest-neighbour upsample + 3x3 conv, each followed by pixel norm and
LeakyReLU -> the last block's conv makes RGB, then tanh. Upsample + conv instead of stride-2
transposed convs avoids the checkerboard texture (Odena et al. 2016); pixel norm instead of
BatchNorm makes train and eval mode compute the same function, so the exported (eval) model
is the model that was trained.

Critic: stride-2 4x4 convs with LeakyReLU and no normalisation (WGAN-GP's penalty is
per-sample, which BatchNorm would break), then a linear score head and, for the ACGAN, a
linear head regressing the normalised features.

Channels at a feature map of side r are `width * resolution / (2 r)`, capped at 8 * width,
so width 64 at 64 px is the classic DCGAN 512-256-128-64 ladder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MIN_RESOLUTION = 8


def check_resolution(resolution: int) -> int:
    if resolution < MIN_RESOLUTION or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= {MIN_RESOLUTION}, got {resolution}")
    return int(resolution)


class Network(nn.Module):
    """What checkpoints and export rely on in every registered network (architectures.py):
    its size, and the constructor kwargs that rebuild it."""

    resolution: int
    c_dim: int

    def config(self) -> dict:
        raise NotImplementedError


class GeneratorNetwork(Network):
    """A generator also tells the loop, evaluation and export how long its latents are."""

    z_dim: int


def channels_at(side: int, resolution: int, width: int) -> int:
    return max(1, min(8 * width, width * resolution // (2 * side)))


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit RMS (ProGAN); no running statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class Upsample2x(nn.Upsample):
    """Nearest-neighbour 2x upsampling (an nn.Upsample, so export can still fuse it with the
    following conv). In NCHW it runs as a broadcast copy: torch's CPU `upsample_nearest2d`
    kernel is ~4x slower there and was half of the generator's time."""

    def __init__(self):
        super().__init__(scale_factor=2.0, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        if channels_last or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
            return super().forward(x)  # one Resize node in exported graphs; compilers fuse it
        return x.unsqueeze(3).unsqueeze(5).expand(-1, -1, -1, 2, -1, 2).flatten(4, 5).flatten(2, 3)


def condition_vector(
    z: torch.Tensor, c_dim: int, labels: torch.Tensor | None, mask: torch.Tensor | None
) -> torch.Tensor:
    """What a conditional generator sees of the labels: cat(labels * mask, mask), (N, 2 c_dim).
    Missing labels mean "nothing known" (mask 0); a missing mask means every label is present."""
    if labels is None:
        labels = z.new_zeros(z.shape[0], c_dim)
        mask = z.new_zeros(z.shape[0], c_dim)
    elif mask is None:
        mask = torch.ones_like(labels)
    if labels.shape != (z.shape[0], c_dim) or mask.shape != labels.shape:
        raise ValueError(
            f"labels and mask must have shape ({z.shape[0]}, {c_dim}), "
            f"got {tuple(labels.shape)} and {tuple(mask.shape)}"
        )
    return torch.cat([labels * mask, mask], dim=1)


class Generator(GeneratorNetwork):
    def __init__(self, z_dim: int = 128, resolution: int = 64, width: int = 64, c_dim: int = 0):
        super().__init__()
        if z_dim < 1 or width < 1 or c_dim < 0:
            raise ValueError(f"bad generator size: z_dim={z_dim} width={width} c_dim={c_dim}")
        self.z_dim = int(z_dim)
        self.resolution = check_resolution(resolution)
        self.width = int(width)
        self.c_dim = int(c_dim)
        base = channels_at(4, resolution, width)
        self.input = nn.Linear(self.z_dim + 2 * self.c_dim, base * 16)
        self.input_act = nn.Sequential(PixelNorm(), nn.LeakyReLU(0.2))
        blocks = []
        side, channels = 4, base
        for _ in range(int(math.log2(resolution)) - 3):
            side *= 2
            out = channels_at(side, resolution, width)
            blocks += [
                Upsample2x(),
                nn.Conv2d(channels, out, 3, padding=1),
                PixelNorm(),
                nn.LeakyReLU(0.2),
            ]
            channels = out
        blocks += [Upsample2x(), nn.Conv2d(channels, 3, 3, padding=1)]
        self.blocks = nn.Sequential(*blocks)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """z (N, z_dim); labels/mask (N, c_dim) for the ACGAN. Missing labels mean "nothing
        known" (mask 0); a missing mask means every given label is present."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (N, {self.z_dim}), got {tuple(z.shape)}")
        x = torch.cat([z, condition_vector(z, self.c_dim, labels, mask)], dim=1) if self.c_dim else z
        x = self.input_act(self.input(x).view(z.shape[0], -1, 4, 4))
        return torch.tanh(self.blocks(x).float())

    def config(self) -> dict:
        return {"z_dim": self.z_dim, "resolution": self.resolution, "width": self.width, "c_dim": self.c_dim}


class Critic(Network):
    def __init__(self, resolution: int = 64, width: int = 64, c_dim: int = 0):
        super().__init__()
        if width < 1 or c_dim < 0:
            raise ValueError(f"bad critic size: width={width} c_dim={c_dim}")
        self.resolution = check_resolution(resolution)
        self.width = int(width)
        self.c_dim = int(c_dim)
        layers = []
        side, channels = resolution, 3
        while side > 4:
            side //= 2
            out = channels_at(side, resolution, width)
            layers += [nn.Conv2d(channels, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = out
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.score = nn.Linear(channels * 16, 1)
        self.aux = nn.Linear(channels * 16, self.c_dim) if self.c_dim else None

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """images (N, 3, R, R) in [-1, 1] -> (score (N,), aux (N, c_dim) or None), float32.
        The labels are not used: this critic conditions through its auxiliary head only."""
        if images.ndim != 4 or images.shape[1:] != (3, self.resolution, self.resolution):
            raise ValueError(
                f"images must have shape (N, 3, {self.resolution}, {self.resolution}), got {tuple(images.shape)}"
            )
        h = self.features(images)
        score = self.score(h).float().squeeze(1)
        aux = self.aux(h).float() if self.aux is not None else None
        return score, aux

    def config(self) -> dict:
        return {"resolution": self.resolution, "width": self.width, "c_dim": self.c_dim}


def to_uint8_nhwc(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float NCHW -> uint8 NHWC RGB: (x + 1) * 127.5, rounded half to even, clamped.
    The one conversion: sample grids, evaluation and the exported ONNX graph all use it."""
    return ((images + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
