"""GAN objectives behind one interface, in phases (after stylegan2-ada's `training/loss.py`).

`GANLoss.phase_loss(phase, ...)` returns the scalar to back-propagate for one phase plus
named statistics; the loop owns optimisers, gradient sync and stepping. Phases:

    "D"     critic update on real and (detached) fake images
    "Dreg"  the critic's regulariser alone (WGAN-GP's gradient penalty, or R1 for nsgan-r1)
    "Dboth" both on the same fakes; the loop runs it every `interval` critic steps with the
            regulariser weighted x interval (lazy regularisation, StyleGAN2)
    "G"     generator update

Objectives (`loss.kind`): wgan-gp, wgan-clip (the seed's weight-clipped WGAN; the loop clips
after each critic step), hinge, nsgan-r1 (non-saturating with lazy R1). DiffAugment is applied
to everything the critic sees in every phase. ACGAN: the critic's auxiliary head regresses the
normalised features with an MSE over present features only, on reals (true labels) in "D" and
on fakes (the requested labels) in "G".

LeCam (Tseng et al. 2021, google/lecam-gan), `loss.lecam_weight` > 0: the critic pays for
real scores above the moving average of its fake scores, and fake scores below the moving
average of its real scores, which keeps an over-confident critic on little data from running
away. The two averages are training state (`GANLoss.state_dict`, saved with the checkpoint).
Under DDP each process averages its own share of the batch and the checkpoint keeps the
first process's averages, so a resumed multi-process run is exact on that process only.

Mode seeking (Mao et al. 2019, MSGAN), `loss.mode_seeking` > 0: in the G phase the batch's
second half gets the first half's conditions, and G pays the inverse of how far apart each
pair's images are per unit of latent distance. A conditional generator on few covers per
condition tends to let the condition decide the picture and ignore z; this term makes two
latents with one condition draw two different covers.

LOGAN (Wu et al. 2019): before a G update, z moves one natural-gradient step up the critic's
score, dz = alpha / (beta + |g|^2) * g with g = d D(G(z)) / dz per sample, and the G loss is
back-propagated through dz (create_graph). With the uniform prior z' is clipped to [-1, 1] as
in the paper; with the normal prior there is no box to stay in, so z' is left unclipped.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from albumgan.training.augment import diff_augment, parse_policy
from albumgan.training.config import Config

Tensor = torch.Tensor


@dataclass(frozen=True)
class Objective:
    critic: Callable[[Tensor, Tensor], Tensor]  # (real scores, fake scores) -> loss
    generator: Callable[[Tensor], Tensor]  # fake scores -> loss
    regulariser: str | None  # "gp" | "r1" | None


OBJECTIVES: dict[str, Objective] = {
    "wgan-gp": Objective(lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(), "gp"),
    "wgan-clip": Objective(lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(), None),
    "hinge": Objective(lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(), lambda f: -f.mean(), None),
    "nsgan-r1": Objective(
        lambda r, f: F.softplus(f).mean() + F.softplus(-r).mean(), lambda f: F.softplus(-f).mean(), "r1"
    ),
}


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over present features only (0 when nothing is present)."""
    return ((pred - target).pow(2) * mask).sum() / mask.sum().clamp(min=1.0)


def mode_seeking(images_a: Tensor, images_b: Tensor, z_a: Tensor, z_b: Tensor, eps: float = 1e-5) -> Tensor:
    """MSGAN's term: 1 / (image distance / latent distance), per pair, averaged."""
    image_distance = (images_a - images_b).abs().flatten(1).mean(1)
    latent_distance = (z_a - z_b).abs().flatten(1).mean(1)
    return (1.0 / (image_distance / latent_distance + eps)).mean()


class LeCam:
    """Moving averages of the critic's mean real and fake scores, and the penalty against them."""

    def __init__(self, decay: float):
        self.decay = decay
        # Tensors on the scores' device, so a critic step never waits on the GPU for them.
        self.real_average: Tensor | None = None  # None until the first critic step
        self.fake_average: Tensor | None = None

    def __call__(self, real_score: Tensor, fake_score: Tensor) -> Tensor:
        real_mean, fake_mean = real_score.detach().float().mean(), fake_score.detach().float().mean()
        if self.real_average is None or self.fake_average is None:
            self.real_average, self.fake_average = real_mean, fake_mean
        else:
            weight = 1 - self.decay
            self.real_average = self.real_average.to(real_mean.device).lerp(real_mean, weight)
            self.fake_average = self.fake_average.to(fake_mean.device).lerp(fake_mean, weight)
        real_too_high = F.relu(real_score - self.fake_average).pow(2).mean()
        fake_too_low = F.relu(self.real_average - fake_score).pow(2).mean()
        return real_too_high + fake_too_low

    def state_dict(self) -> dict:
        def plain(average: Tensor | None) -> float | None:
            return None if average is None else float(average)

        return {"real_average": plain(self.real_average), "fake_average": plain(self.fake_average)}

    def load_state_dict(self, state: dict) -> None:
        def tensor(average: float | None) -> Tensor | None:
            return None if average is None else torch.tensor(average)

        self.real_average, self.fake_average = tensor(state["real_average"]), tensor(state["fake_average"])


class GANLoss:
    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        config: Config,
        *,
        autocast: Callable[[], AbstractContextManager] = nullcontext,
        G_fast: Callable | None = None,
        D_fast: Callable | None = None,
    ):
        self.G, self.D = G, D
        # Compiled twins for passes without double backward (penalties and LOGAN need eager).
        self.G_fast = G if G_fast is None else G_fast
        self.D_fast = D if D_fast is None else D_fast
        self.loss, self.logan = config.loss, config.logan
        self.uniform = config.model.latent_prior == "uniform"
        self.objective = OBJECTIVES[config.loss.kind]
        self.policy = parse_policy(config.augment.policy)
        self.cutout = config.augment.cutout
        self.autocast = autocast
        self.lecam = LeCam(config.loss.lecam_decay) if config.loss.lecam_weight > 0 else None

    def state_dict(self) -> dict:
        """What exact resume needs beyond the networks and optimisers."""
        return {"lecam": self.lecam.state_dict()} if self.lecam is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.lecam is not None and "lecam" in state:
            self.lecam.load_state_dict(state["lecam"])

    @property
    def regulariser_interval(self) -> int:
        intervals = {"gp": self.loss.gp_interval, "r1": self.loss.r1_interval}
        kind = self.objective.regulariser
        return intervals[kind] if kind is not None else 0

    def augment(self, images: Tensor) -> Tensor:
        return diff_augment(images, self.policy, self.cutout) if self.policy else images

    def latent_step(self, z: Tensor, labels, mask, *, create_graph: bool) -> tuple[Tensor, Tensor]:
        """LOGAN's natural-gradient step: (z', dz)."""
        z = z.detach().requires_grad_(True)
        G = self.G if create_graph else self.G_fast
        D = self.D if create_graph else self.D_fast
        with self.autocast():
            score, _ = D(self.augment(G(z, labels, mask)), labels, mask)
        (g,) = torch.autograd.grad(score.sum(), z, create_graph=create_graph)
        dz = self.logan.alpha / (self.logan.beta + g.pow(2).sum(1, keepdim=True)) * g
        z_new = z + dz
        if self.uniform:
            z_new = z_new.clamp(-1.0, 1.0)
        if not create_graph:
            z_new, dz = z_new.detach(), dz.detach()
        return z_new, dz

    def phase_loss(
        self,
        phase: str,
        *,
        real: Tensor | None = None,
        labels: Tensor | None = None,
        mask: Tensor | None = None,
        z: Tensor | None = None,
        gen_labels: Tensor | None = None,
        gen_mask: Tensor | None = None,
        gain: float = 1.0,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss of one phase: "D", "Dreg", "Dboth" (both on the same fakes) or "G".
        `gain` scales the regulariser (the lazy interval)."""
        if phase in ("D", "Dreg", "Dboth"):
            if real is None:
                raise ValueError(f"phase {phase} needs real images")
            fake = self._fakes_for_critic(z, gen_labels, gen_mask).to(real.dtype)
            real_aug, fake_aug = self.augment(real), self.augment(fake)
            loss, stats = torch.zeros((), device=real.device), {}
            if phase != "Dreg":
                loss, stats = self._critic(real_aug, fake_aug, labels, mask, gen_labels, gen_mask)
            if phase != "D":
                penalty, reg_stats = self._regulariser(real, real_aug, fake_aug, labels, mask)
                loss, stats = loss + penalty * gain, stats | reg_stats
            return loss, stats
        if phase == "G":
            return self._generator(z, gen_labels, gen_mask)
        raise ValueError(f"unknown phase {phase!r}")

    def _fakes_for_critic(self, z, gen_labels, gen_mask) -> Tensor:
        if self.logan.enabled and self.logan.in_critic:
            z, _ = self.latent_step(z, gen_labels, gen_mask, create_graph=False)
        with torch.no_grad(), self.autocast():
            return self.G_fast(z, gen_labels, gen_mask)

    def _critic(self, real_aug, fake_aug, labels, mask, gen_labels, gen_mask):
        with self.autocast():
            if getattr(self.D, "batch_coupled", False):
                # BatchNorm in the critic: a mixed batch would share statistics across
                # reals and fakes, so each goes through on its own (as Projected GAN does).
                real_score, aux = self.D_fast(real_aug, labels, mask)
                fake_score, _ = self.D_fast(fake_aug, gen_labels, gen_mask)
            else:
                # One critic pass over reals and fakes together: fewer, larger kernels.
                both = (
                    (None, None)
                    if gen_labels is None
                    else (torch.cat([labels, gen_labels]), torch.cat([mask, gen_mask]))
                )
                scores, aux = self.D_fast(torch.cat([real_aug, fake_aug]), *both)
                real_score, fake_score = scores.split(len(real_aug))
        loss = self.objective.critic(real_score, fake_score)
        stats = {"D/adv": loss.detach(), "D/real": real_score.detach().mean(), "D/fake": fake_score.detach().mean()}
        if self.lecam is not None:
            lecam = self.lecam(real_score, fake_score)
            loss = loss + self.loss.lecam_weight * lecam
            stats["D/lecam"] = lecam.detach()
        if aux is not None and self.loss.aux_weight:
            aux_loss = masked_mse(aux[: len(real_aug)], labels, mask)
            loss = loss + self.loss.aux_weight * aux_loss
            stats["D/aux"] = aux_loss.detach()
        return loss, stats

    def _regulariser(self, real, real_aug, fake_aug, labels, mask):
        kind = self.objective.regulariser
        if kind == "gp":
            # The penalty on lines between augmented reals and fakes: where the critic looks.
            eps = torch.rand(len(real_aug), 1, 1, 1, device=real_aug.device, dtype=real_aug.dtype)
            mixed = (eps * real_aug.detach() + (1 - eps) * fake_aug.detach()).requires_grad_(True)
            with self.autocast():
                score, _ = self.D(mixed)  # wgan-gp runs with the dcgan critic only (config), which ignores labels
            (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
            penalty = (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()
            return penalty * self.loss.gp_weight, {"D/gp": penalty.detach()}
        if kind == "r1":
            # R1 on the un-augmented reals, through the augmentation (as stylegan2-ada does).
            real = real.detach().requires_grad_(True)
            with self.autocast():
                score, _ = self.D(self.augment(real), labels, mask)
            (grad,) = torch.autograd.grad(score.sum(), real, create_graph=True)
            penalty = grad.float().pow(2).flatten(1).sum(1).mean()
            return penalty * (self.loss.r1_gamma / 2), {"D/r1": penalty.detach()}
        raise ValueError(f"{self.loss.kind} has no critic regulariser")

    def _generator(self, z, gen_labels, gen_mask):
        stats = {}
        dz = None
        pairs = len(z) // 2 if self.loss.mode_seeking else 0
        if pairs and gen_labels is not None:
            gen_labels, gen_mask = (torch.cat([t[:pairs], t[:pairs], t[2 * pairs :]]) for t in (gen_labels, gen_mask))
        if self.logan.enabled:
            z, dz = self.latent_step(z, gen_labels, gen_mask, create_graph=True)
            stats["G/dz"] = dz.detach().norm(dim=1).mean()
        G = self.G if self.logan.enabled else self.G_fast
        D = self.D if self.logan.enabled else self.D_fast
        with self.autocast():
            fake = G(z, gen_labels, gen_mask)
            score, aux = D(self.augment(fake), gen_labels, gen_mask)
        loss = self.objective.generator(score)
        stats["G/adv"] = loss.detach()
        if pairs:
            seeking = mode_seeking(
                fake[:pairs].float(), fake[pairs : 2 * pairs].float(), z[:pairs], z[pairs : 2 * pairs]
            )
            loss = loss + self.loss.mode_seeking * seeking
            stats["G/ms"] = seeking.detach()
        if aux is not None and self.loss.aux_weight:
            aux_loss = masked_mse(aux, gen_labels, gen_mask)
            loss = loss + self.loss.aux_weight * aux_loss
            stats["G/aux"] = aux_loss.detach()
        if dz is not None and self.logan.latent_penalty:
            loss = loss + self.logan.latent_penalty * dz.pow(2).sum(1).mean()
        return loss, stats

    def clip_critic(self) -> None:
        """wgan-clip: keep every critic weight in [-clip, clip] after each critic step."""
        if self.loss.kind == "wgan-clip":
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.loss.clip, self.loss.clip)
