"""Which network classes a run can use, and how a checkpoint names and rebuilds them.

A checkpoint stores each network as {"arch", "kwargs", "state"}: the registry name, the
constructor kwargs (`module.config()`) and the state_dict, never a pickled class. Files
written before architectures had names carry no "arch": they are DCGAN networks.
"""

from __future__ import annotations

from typing import TypeVar

from torch import nn

from albumgan.training.fastgan import FastGenerator
from albumgan.training.networks import Critic, Generator, GeneratorNetwork, Network
from albumgan.training.projected import FROZEN_PREFIXES, ProjectedDiscriminator

GENERATORS: dict[str, type[GeneratorNetwork]] = {"dcgan": Generator, "fastgan": FastGenerator}
DISCRIMINATORS: dict[str, type[Network]] = {"dcgan": Critic, "projected": ProjectedDiscriminator}
LEGACY_ARCH = "dcgan"
NetworkT = TypeVar("NetworkT", bound=Network)


def arch_of(module: nn.Module) -> str:
    for registry in (GENERATORS, DISCRIMINATORS):
        for name, cls in registry.items():
            if type(module) is cls:
                return name
    raise TypeError(f"{type(module).__name__} is not a registered architecture")


def network_state(module: Network, *, trainable_only: bool = False) -> dict:
    """{"arch", "kwargs", "state"} for a checkpoint. `trainable_only` leaves out frozen parts
    that the constructor rebuilds identically (the projected discriminator's backbone and
    random projections)."""
    state = module.state_dict()
    if trainable_only:
        state = (
            {k: v for k, v in state.items() if not k.startswith(FROZEN_PREFIXES)}
            if isinstance(module, ProjectedDiscriminator)
            else state
        )
    return {"arch": arch_of(module), "kwargs": module.config(), "state": state}


def build(entry: dict, registry: dict[str, type[NetworkT]], *, load_state: bool = True) -> NetworkT:
    """The network a checkpoint entry describes, with its weights (frozen parts missing from
    a trainable-only state come from the constructor). Raises ValueError when the entry
    does not describe a network of this registry."""
    arch = entry.get("arch", LEGACY_ARCH)
    if arch not in registry:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(registry)}")
    try:
        module = registry[arch](**entry["kwargs"])
    except TypeError as exc:
        raise ValueError(f"{arch} kwargs do not fit: {exc}") from exc
    if load_state:
        missing, unexpected = module.load_state_dict(entry["state"], strict=False)
        missing = [k for k in missing if not k.startswith(FROZEN_PREFIXES)]
        if missing or unexpected:
            raise ValueError(f"{arch} weights do not match: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return module
