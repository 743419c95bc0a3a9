"""Latent vectors from integer seeds: the same z in training's sample grids, export's
parity check and the bot, so a seed shown to a user re-makes the same cover.

Torch-free; numpy's PCG64 stream is stable across platforms and versions.
"""

from __future__ import annotations

import hashlib

import numpy as np

PRIORS = ("normal", "uniform")
# Seeds people see and type: whole numbers in [0, SEED_LIMIT).
SEED_LIMIT = 2**32


def stable_seed(*parts: str) -> int:
    """A seed in [0, SEED_LIMIT) that depends on `parts` only (e.g. a track id and the model
    version): the same on every machine, Python version and restart (blake2b, not hash())."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8, person=b"albumgan-seed").digest()
    return int.from_bytes(digest, "big") % SEED_LIMIT


def latents_from_seeds(seeds: list[int] | tuple[int, ...], z_dim: int, prior: str = "normal") -> np.ndarray:
    """One latent row per seed, float32 of shape (len(seeds), z_dim)."""
    if prior not in PRIORS:
        raise ValueError(f"unknown latent prior {prior!r}; expected one of {PRIORS}")
    rows = []
    for seed in seeds:
        rng = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)
        if prior == "normal":
            rows.append(rng.standard_normal(z_dim))
        else:
            rows.append(rng.uniform(-1.0, 1.0, z_dim))
    return np.asarray(rows, dtype=np.float32).reshape(len(seeds), z_dim)


def perturb(z: np.ndarray, seed: int, strength: float = 0.3, prior: str = "normal") -> np.ndarray:
    """A nearby latent ("variations"): z mixed with fresh noise, keeping the prior's scale."""
    noise = latents_from_seeds([seed], z.shape[-1], prior)[0]
    mixed = np.sqrt(1.0 - strength**2) * z + strength * noise
    if prior == "uniform":
        mixed = np.clip(mixed, -1.0, 1.0)
    return mixed.astype(np.float32)
