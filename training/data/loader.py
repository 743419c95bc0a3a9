"""Training batches from a `ShardedDataset`: float NCHW images in [-1, 1], labels, mask.

The order is a pure function of (seed, epoch, position): each epoch is a fresh permutation
with a horizontal-flip bit per position from `numpy.random.default_rng([seed, epoch])`, so
the sampler's state is two integers and `--resume` continues the exact sequence. Under
data parallelism every rank walks the same global order and takes its slice of each global
batch (a DistributedSampler that never drops or repeats within an epoch).

Fast path: small datasets (all 1.5k covers at 64 px are 18 MB) are read once and batches are
index gathers (on the GPU when training there); larger ones are gathered from the memmapped
shards with one fancy-index per shard, pinned and copied without blocking. No per-image
Python anywhere.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from albumgan.training.data.format import ShardedDataset

log = logging.getLogger(__name__)


class EpochSampler:
    """Infinite stream of global batches of dataset indices and flip bits."""

    def __init__(self, count: int, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1):
        if count < 1:
            raise ValueError("the dataset is empty")
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by {world_size} processes")
        self.count, self.batch_size, self.seed = count, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._order: tuple[int, np.ndarray, np.ndarray] | None = None

    def _epoch_order(self) -> tuple[np.ndarray, np.ndarray]:
        if self._order is None or self._order[0] != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = (self.epoch, rng.permutation(self.count), rng.random(self.count) < 0.5)
        return self._order[1], self._order[2]

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """This rank's (indices, flips) for the next global batch."""
        indices, flips = [], []
        needed = self.batch_size
        while needed:
            order, flip = self._epoch_order()
            take = min(needed, self.count - self.position)
            indices.append(order[self.position : self.position + take])
            flips.append(flip[self.position : self.position + take])
            self.position += take
            needed -= take
            if self.position == self.count:
                self.epoch, self.position = self.epoch + 1, 0
        per_rank = self.batch_size // self.world_size
        mine = slice(self.rank * per_rank, (self.rank + 1) * per_rank)
        return np.concatenate(indices)[mine], np.concatenate(flips)[mine]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        if state["count"] != self.count or state["seed"] != self.seed:
            raise ValueError("the saved data order belongs to a different dataset or seed")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


class BatchLoader:
    def __init__(
        self,
        dataset: ShardedDataset,
        batch_size: int,
        device: torch.device,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        cache_on_device_mb: float = 1024,
        channels_last: bool = False,
    ):
        self.dataset = dataset
        self.device = device
        self.sampler = EpochSampler(len(dataset), batch_size, seed, rank=rank, world_size=world_size)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.labels = torch.from_numpy(dataset.labels).to(device)
        self.mask = torch.from_numpy(dataset.mask).to(device)
        res = dataset.resolution
        size_mb = len(dataset) * res * res * 3 / 2**20
        # Small datasets are held whole: on the GPU as a uint8 tensor, on the CPU as one numpy
        # array (a numpy gather beats torch's index_select on uint8 there).
        self._on_device: torch.Tensor | None = None
        self._in_memory: np.ndarray | None = None
        if size_mb <= cache_on_device_mb:
            everything = dataset.batch(np.arange(len(dataset)))
            if device.type == "cpu":
                self._in_memory = everything
            else:
                self._on_device = torch.from_numpy(everything).to(device)
            log.info("dataset (%.1f MB at %d px) held in %s memory", size_mb, res, device.type.upper())

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(images float (n, 3, R, R) in [-1, 1], labels (n, C), mask (n, C)) for this rank."""
        indices, flips = self.sampler.next()
        index = torch.from_numpy(indices).to(self.device)
        if self._on_device is not None:
            pixels = self._on_device.index_select(0, index)
            flip = torch.from_numpy(flips).to(self.device).view(-1, 1, 1, 1)
            return self._to_float(torch.where(flip, pixels.flip(2), pixels)), self.labels[index], self.mask[index]
        batch = self._in_memory[indices] if self._in_memory is not None else self.dataset.batch(indices)
        batch[flips] = batch[flips, :, ::-1]
        if self.device.type == "cuda":
            images = self._to_float(torch.from_numpy(batch).pin_memory().to(self.device, non_blocking=True))
        else:
            # numpy's single-threaded conversion: torch's threaded one stalls when cores are busy.
            channels_last = self.memory_format == torch.channels_last
            floats = np.ascontiguousarray(batch if channels_last else batch.transpose(0, 3, 1, 2), dtype=np.float32)
            floats *= 1 / 127.5
            floats -= 1.0
            images = torch.from_numpy(floats)
            images = images.permute(0, 3, 1, 2) if channels_last else images
        return images, self.labels[index], self.mask[index]

    def _to_float(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC on the device -> float NCHW in [-1, 1] in the configured layout."""
        images = pixels.permute(0, 3, 1, 2).to(torch.float32, memory_format=self.memory_format)
        return images.mul_(1 / 127.5).sub_(1.0)

    def sample_conditions(self, n: int, feature_dropout: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels for fakes: rows of real labels drawn at random (torch RNG), so the generator
        is asked for feature combinations that occur, with features dropped at
        `feature_dropout` so it also learns to work from partial information."""
        rows = torch.randint(0, len(self.labels), (n,), device=self.device)
        labels, mask = self.labels[rows], self.mask[rows]
        if feature_dropout > 0:
            mask = mask * (torch.rand_like(mask) >= feature_dropout).to(mask.dtype)
        return labels * mask, mask
