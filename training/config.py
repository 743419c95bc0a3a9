"""Training configuration: typed dataclasses, loaded from TOML, overridden from the CLI.

Every key has a default here; a TOML file (see `training/configs/`) states only what its
recipe changes. Unknown sections or keys, wrong types and out-of-range values raise
`ConfigError` with a one-line message naming the key (`training.typed_config`, shared
with the bot's config).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from albumgan.latent import PRIORS
from albumgan.training.augment import parse_policy
from albumgan.training.networks import check_resolution
from albumgan.training.projected import backbone_resolution_fits
from albumgan.typed_config import ConfigError, build

MODEL_KINDS = ("unconditional", "acgan")
GENERATOR_ARCHS = ("dcgan", "fastgan")
DISCRIMINATOR_ARCHS = ("dcgan", "projected")
LOSS_KINDS = ("wgan-gp", "wgan-clip", "hinge", "nsgan-r1")
OPTIMIZERS = ("adam", "rmsprop")
AMP_MODES = ("off", "bf16", "fp16")
SWITCHES = ("auto", "on", "off")
CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class ModelConfig:
    kind: str = "unconditional"  # "unconditional" | "acgan" (conditioned on the 10 features)
    resolution: int = 64  # power of two; the dataset must have images at this size
    generator: str = "dcgan"  # "dcgan" (training/networks.py) | "fastgan" (training/fastgan.py)
    discriminator: str = "dcgan"  # "dcgan" critic | "projected" (training/projected.py)
    d_projection: bool = False  # projected + acgan: projection conditioning in the heads
    z_dim: int = 128  # latent size
    g_width: int = 64  # dcgan: channels at full resolution x 2; fastgan: x 16 at 4x4
    d_width: int = 64  # dcgan: critic channels at half resolution; projected: head width
    # projected: the side the frozen backbone sees, images enlarged to it (0: the model's own).
    # ImageNet features of a 64 px image are coarse (its deepest level is 2x2); Projected GAN
    # itself enlarges everything to 224.
    d_backbone_resolution: int = 0
    latent_prior: str = "normal"  # "normal" | "uniform" (LOGAN's paper uses uniform)


@dataclass
class LossConfig:
    kind: str = "wgan-gp"  # "wgan-gp" | "wgan-clip" | "hinge" | "nsgan-r1"
    n_critic: int = 5  # critic updates per generator update
    gp_weight: float = 10.0  # WGAN-GP lambda
    gp_interval: int = 1  # lazy gradient penalty: every N critic steps, weight x N
    r1_gamma: float = 1.0  # nsgan-r1 R1 weight
    r1_interval: int = 16  # lazy R1: every N critic steps, weight x N
    clip: float = 0.01  # wgan-clip weight clipping bound
    aux_weight: float = 1.0  # ACGAN masked MSE on the auxiliary head (projected: 0 = no head)
    feature_dropout: float = 0.0  # ACGAN: chance to hide each requested feature from G
    lecam_weight: float = 0.0  # LeCam regulariser on the critic's scores (0 = off; the paper uses 0.1-0.3)
    lecam_decay: float = 0.99  # decay of its moving averages of real and fake scores
    mode_seeking: float = 0.0  # MSGAN's mode-seeking term in the G loss (0 = off; the paper uses 1)


@dataclass
class LoganConfig:
    enabled: bool = False  # latent optimisation (Wu et al. 2019) before the G update
    alpha: float = 0.9  # natural-gradient step size
    beta: float = 5.0  # natural-gradient damping
    latent_penalty: float = 0.0  # weight of ||dz||^2 in the G loss
    in_critic: bool = False  # also optimise z for the critic's fakes (costs ~1 G+D pass each)


@dataclass
class AugmentConfig:
    policy: str = "color,translation,cutout"  # DiffAugment ops, comma-separated; "" = off
    cutout: float = 0.5  # side of the cutout square, as a fraction of the image side


@dataclass
class OptimConfig:
    kind: str = "adam"  # "adam" | "rmsprop"
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.0, 0.99])  # Adam only
    # Both rates ramp up linearly over a run's first steps: a fine-tune's optimisers start
    # without moments, and full-rate steps then knock a trained model off its optimum.
    warmup_steps: int = 0


@dataclass
class TrainConfig:
    batch_size: int = 32  # global batch (split across processes)
    steps: int = 10_000  # generator updates to reach
    minutes: float = 0.0  # stop after this wall-clock time too (0 = no limit)
    seed: int = 0
    ema: float = 0.999  # generator EMA decay per step (warmed up over the first steps)
    checkpoint_every: int = 500  # steps
    keep_checkpoints: int = 3
    sample_every: int = 500  # steps
    log_every: int = 50  # steps
    grid: int = 36  # images in a sample grid (fixed z and fixed real labels)
    tensorboard: str = "auto"  # RUN/tensorboard event files: "auto" (if installed) | "on" | "off"


@dataclass
class RuntimeConfig:
    device: str = "auto"  # "auto" (cuda if available) | "cpu" | "cuda" | "cuda:1" ...
    amp: str = "bf16"  # CUDA autocast dtype: "off" | "bf16" | "fp16" (ignored on CPU)
    channels_last: bool = False
    compile: bool = False  # torch.compile the forward passes that need no double backward
    cache_on_device_mb: float = 1024.0  # datasets up to this size live on the device
    threads: int = 0  # torch CPU threads (0 = torch's default; 1 is steadier on busy shared cores)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    logan: LoganConfig = field(default_factory=LoganConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def config_from_dict(data: dict) -> Config:
    config = build(Config, data)
    validate(config)
    return config


def merge(base: dict, overrides: dict) -> dict:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def parse_assignment(text: str) -> dict:
    """ "loss.kind=hinge" -> {"loss": {"kind": "hinge"}}; the value is TOML, else a string."""
    key, sep, raw = text.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return {section: {name: value}}


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file() and not path.suffix and (CONFIG_DIR / f"{path}.toml").is_file():
        path = CONFIG_DIR / f"{path}.toml"  # a recipe name such as "acgan-64"
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def load_config(path: str | Path | None = None, overrides: Sequence[dict] = ()) -> Config:
    data = read_toml(path) if path is not None else {}
    for override in overrides:
        data = merge(data, override)
    return config_from_dict(data)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def validate(c: Config) -> None:
    _require(c.model.kind in MODEL_KINDS, f"model.kind must be one of {MODEL_KINDS}, got {c.model.kind!r}")
    try:
        check_resolution(c.model.resolution)
    except ValueError as exc:
        raise ConfigError(f"model.resolution: {exc}") from None
    for key in ("z_dim", "g_width", "d_width"):
        _require(getattr(c.model, key) >= 1, f"model.{key} must be >= 1")
    _require(
        c.model.generator in GENERATOR_ARCHS,
        f"model.generator must be one of {GENERATOR_ARCHS}, got {c.model.generator!r}",
    )
    _require(
        c.model.discriminator in DISCRIMINATOR_ARCHS,
        f"model.discriminator must be one of {DISCRIMINATOR_ARCHS}, got {c.model.discriminator!r}",
    )
    _require(
        c.model.d_backbone_resolution == 0
        or (
            c.model.discriminator == "projected"
            and backbone_resolution_fits(c.model.resolution, c.model.d_backbone_resolution)
        ),
        'model.d_backbone_resolution needs model.discriminator = "projected", a multiple of 32 and at least '
        "model.resolution (0: the model's own)",
    )
    _require(
        not c.model.d_projection or (c.model.discriminator == "projected" and c.model.kind == "acgan"),
        'model.d_projection needs model.discriminator = "projected" and model.kind = "acgan"',
    )
    _require(
        c.model.discriminator != "projected"
        or c.model.kind != "acgan"
        or c.model.d_projection
        or c.loss.aux_weight > 0,
        "a projected acgan needs model.d_projection = true or loss.aux_weight > 0 to see the labels",
    )
    _require(
        c.model.discriminator != "projected" or c.loss.kind in ("hinge", "nsgan-r1"),
        "the projected discriminator trains with loss.kind hinge or nsgan-r1 (a gradient penalty or weight "
        "clipping would reach its frozen backbone)",
    )
    _require(
        c.model.discriminator != "projected" or c.model.resolution >= 32,
        "the projected discriminator needs model.resolution >= 32 (its backbone's deepest level has stride 32)",
    )
    _require(0.0 < c.augment.cutout < 1.0, "augment.cutout must be in (0, 1)")
    _require(
        c.model.latent_prior in PRIORS, f"model.latent_prior must be one of {PRIORS}, got {c.model.latent_prior!r}"
    )
    _require(c.loss.kind in LOSS_KINDS, f"loss.kind must be one of {LOSS_KINDS}, got {c.loss.kind!r}")
    for key in ("n_critic", "gp_interval", "r1_interval"):
        _require(getattr(c.loss, key) >= 1, f"loss.{key} must be >= 1")
    _require(0.0 <= c.loss.feature_dropout < 1.0, "loss.feature_dropout must be in [0, 1)")
    _require(c.loss.lecam_weight >= 0, "loss.lecam_weight must be >= 0")
    _require(0.0 <= c.loss.lecam_decay < 1.0, "loss.lecam_decay must be in [0, 1)")
    _require(c.loss.mode_seeking >= 0, "loss.mode_seeking must be >= 0")
    _require(c.logan.beta >= 0 and c.logan.alpha >= 0, "logan.alpha and logan.beta must be >= 0")
    try:
        parse_policy(c.augment.policy)
    except ValueError as exc:
        raise ConfigError(f"augment.policy: {exc}") from None
    _require(c.optim.kind in OPTIMIZERS, f"optim.kind must be one of {OPTIMIZERS}, got {c.optim.kind!r}")
    _require(len(c.optim.betas) == 2, "optim.betas must have two values")
    _require(c.optim.g_lr > 0 and c.optim.d_lr > 0, "optim.g_lr and optim.d_lr must be > 0")
    _require(c.optim.warmup_steps >= 0, "optim.warmup_steps must be >= 0")
    for key in ("batch_size", "steps", "checkpoint_every", "sample_every", "log_every", "grid"):
        _require(getattr(c.train, key) >= 1, f"train.{key} must be >= 1")
    _require(c.train.minutes >= 0, "train.minutes must be >= 0")
    _require(0.0 <= c.train.ema < 1.0, "train.ema must be in [0, 1)")
    _require(c.runtime.threads >= 0, "runtime.threads must be >= 0")
    _require(c.runtime.amp in AMP_MODES, f"runtime.amp must be one of {AMP_MODES}, got {c.runtime.amp!r}")
    _require(
        c.train.tensorboard in SWITCHES,
        f"train.tensorboard must be one of {SWITCHES}, got {c.train.tensorboard!r}",
    )
