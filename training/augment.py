"""DiffAugment (Zhao et al. 2020, mit-han-lab/data-efficient-gans `DiffAugment_pytorch.py`).

Differentiable augmentations applied to every image the critic sees, real and fake, in both
the critic and the generator updates, so the critic cannot memorise a small dataset and the
generator still gets gradients through the augmentation. Images are NCHW in [-1, 1]; each
image gets its own random parameters from torch's global RNG (saved in checkpoints).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F


def brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its side, filling with zeros (mid grey)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into a 1-pixel zero-padded copy: clamping to the border reads the padding.
    gy = torch.clamp(rows + ty + 1, 0, h + 1).expand(n, h, w)
    gx = torch.clamp(cols + tx + 1, 0, w + 1).expand(n, h, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[batch, gy, gx].permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` of the side at a random centre in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside_y = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch)
    inside_x = (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    keep = ~(inside_y & inside_x)
    return x * keep.unsqueeze(1).to(x.dtype)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        else torch.contiguous_format
    )


OPS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str) -> tuple[str, ...]:
    """ "color,translation,cutout" -> names; "" means no augmentation."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; choose from {', '.join(OPS)}")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], cutout_ratio: float = 0.5) -> torch.Tensor:
    for name in policy:
        for op in OPS[name]:
            x = op(x, cutout_ratio) if op is cutout else op(x)
    return x
