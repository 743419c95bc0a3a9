"""What one cover is made from and made into, between the service's steps: a `Job` holds
everything a history row needs (built from a command's lookups, or from a stored generation
for reroll, variations and re-makes), the latent it starts from, and the PNGs of the answer.
No I/O here: the service decides where each step runs.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

import numpy as np

from albumgan.bot.cards import fitted_note, render_features_card
from albumgan.bot.db import GenerationRecord, LatentStep
from albumgan.bot.types import FeatureReport, Requester, UserError
from albumgan.latent import SEED_LIMIT, latents_from_seeds, perturb
from albumgan.modelfile import ModelInfo

# Which model serves which kind of cover.
MODEL_FOR = {"cover": "acgan", "album": "acgan", "random": "unconditional"}


@dataclass(frozen=True)
class Job:
    """What to generate and how to describe it: everything a history row needs."""

    kind: str
    title: str
    subtitle: str
    seed: int
    latent_steps: tuple[LatentStep, ...] = ()
    labels: list[float] | None = None
    mask: list[float] | None = None
    report: FeatureReport | None = None
    input_link: str = ""
    input_ids: tuple[str, ...] = ()
    source_url: str = ""
    parent_id: int | None = None

    @classmethod
    def from_record(
        cls,
        rec: GenerationRecord,
        *,
        seed: int,
        latent_steps: tuple[LatentStep, ...],
        parent_id: int | None,
        source_url: str,
    ) -> Job:
        """A stored generation's inputs (no lookups) with the given latent."""
        return cls(
            kind=rec.kind,
            title=rec.title,
            subtitle=f"seed {seed}" if rec.kind == "random" else rec.subtitle,
            seed=seed,
            latent_steps=latent_steps,
            labels=rec.labels,
            mask=rec.mask,
            report=None if rec.features is None else FeatureReport(**rec.features),
            input_link=rec.input_link,
            input_ids=tuple(rec.input_ids),
            source_url=source_url,
            parent_id=parent_id,
        )

    @property
    def model_kind(self) -> str:
        return MODEL_FOR[self.kind]

    @property
    def shown_subtitle(self) -> str:
        return f"{self.subtitle} · variation {len(self.latent_steps)}" if self.latent_steps else self.subtitle

    def model_inputs(self, info: ModelInfo) -> tuple[np.ndarray, ...]:
        """The z row, and for a conditioned cover its labels and mask, as the model takes them."""
        z = latent_for(info, self.seed, self.latent_steps)
        if self.labels is None:
            return (z,)
        return z, np.asarray(self.labels, np.float32), np.asarray(self.mask, np.float32)

    def card(self, parameters: dict[str, object]) -> bytes | None:
        """The features card PNG, carrying the cover's `parameters` (None for random)."""
        report = self.report
        if report is None:
            return None
        return render_features_card(
            report.values,
            title=self.title,
            subtitle=self.subtitle,
            sources=report.sources,
            notes=(report.missing_note, fitted_note(report)),
            fitted=report.fitted,
            parameters=parameters,
        )

    def parameters(self, info: ModelInfo, generation_id: int | None) -> dict[str, object]:
        """What this cover was made from, as its PNG carries it (imaging.png_text)."""
        parameters: dict[str, object] = {
            "cover_id": "" if generation_id is None else str(generation_id),
            "kind": self.kind,
            "title": self.title,
            "model": info.name,
            "model_version": info.version,
            "model_sha256": info.sha256,
            "seed": str(self.seed),
            "latent_steps": [[step.seed, step.strength] for step in self.latent_steps],
        }
        if self.report is not None:
            parameters["features"] = self.report.values
            parameters["feature_sources"] = self.report.sources
            if self.report.fitted:  # what the model was given where a value lay beyond its training
                parameters["features_given"] = self.report.fitted
        return parameters

    def record(self, who: Requester, info: ModelInfo) -> GenerationRecord:
        """The history row of this job, made by `info`'s model for `who`."""
        return GenerationRecord(
            platform=who.platform,
            user_id=who.user_id,
            channel_id=who.channel_id,
            guild_id=who.guild_id,
            kind=self.kind,
            parent_id=self.parent_id,
            input_link=self.input_link[:500],
            input_ids=list(self.input_ids),
            title=self.title,
            subtitle=self.subtitle,
            features=None if self.report is None else dataclasses.asdict(self.report),
            labels=self.labels,
            mask=self.mask,
            seed=self.seed,
            latent_steps=list(self.latent_steps),
            model_kind=info.kind,
            model_name=info.name,
            model_version=info.version,
            model_sha256=info.sha256,
        )


def latent_for(info: ModelInfo, seed: int, steps: tuple[LatentStep, ...] | list[LatentStep]) -> np.ndarray:
    """The z row of a generation: the seed's latent, then each variation step in order."""
    z = latents_from_seeds([seed], info.z_dim, info.latent_prior)[0]
    for step in steps:
        z = perturb(z, step.seed, step.strength, info.latent_prior)
    return z


def check_seed(seed: int | None, default: int | None = None) -> int:
    """A person's seed, checked; when they gave none, `default` or else a fresh random one."""
    if seed is None:
        return secrets.randbits(32) if default is None else default
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise UserError(f"A seed is a whole number from 0 to {SEED_LIMIT - 1}.")
    return seed
