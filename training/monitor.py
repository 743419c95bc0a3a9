"""What a person watches while a run trains: the status line and TensorBoard.

Both are rank 0's and both are optional, so the loop calls them unconditionally: a disabled
status line draws nothing and a closed-off TensorBoard writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from albumgan.typed_config import ConfigError

log = logging.getLogger(__name__)

TENSORBOARD_DIR = "tensorboard"
# With a time limit the bar counts seconds; the rate tqdm would print ("1.00s/s") says nothing.
TIMED_BAR_FORMAT = "{l_bar}{bar}| {elapsed}<{remaining}{postfix}"


def expected_seconds(limit_s: float, elapsed_s: float, steps_done: int, steps_left: int) -> float:
    """How long this session will train: its time limit, or less when the step target comes
    first at the pace so far."""
    if steps_done <= 0:
        return limit_s
    return min(limit_s, elapsed_s * (steps_done + steps_left) / steps_done)


class ProgressBar:
    """The tqdm status line. Without a time limit it counts images toward the step target; with
    one (`train.minutes`) it counts seconds toward whichever comes first, so a one-minute run of
    a 100,000-step recipe shows a one-minute bar, not a 99-hour ETA. `unit`, `total` and `n` are
    kept here too: a disabled tqdm keeps neither."""

    def __init__(
        self,
        *,
        step: int,
        steps: int,
        images: int,
        images_per_step: int,
        limit_s: float,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_step, self.steps, self.limit_s, self.clock = step, steps, limit_s, clock
        self.started = clock()
        self.unit = "s" if limit_s else "img"
        self.total = limit_s if limit_s else float(steps * images_per_step)
        self.n = 0.0 if limit_s else float(images)
        self.bar = tqdm(
            total=self.total,
            initial=self.n,
            unit=self.unit,
            unit_scale=not limit_s,
            bar_format=TIMED_BAR_FORMAT if limit_s else None,
            disable=not enabled,
            dynamic_ncols=True,
        )

    @property
    def disable(self) -> bool:
        return bool(self.bar.disable)

    def advance(self, step: int, images: int) -> None:
        if self.limit_s:
            elapsed = self.clock() - self.started
            self.total = round(expected_seconds(self.limit_s, elapsed, step - self.first_step, self.steps - step), 1)
            self.bar.total = self.total
            done = round(min(elapsed, self.total), 1)
        else:
            done = float(images)
        self.bar.set_description(f"step {step:,}", refresh=False)  # shown at the next refresh
        self.bar.update(done - self.n)
        self.n = done

    def set_postfix(self, values: Mapping[str, Any]) -> None:
        self.bar.set_postfix(values)

    def close(self) -> None:
        self.bar.close()


class TensorBoard:
    """Scalars and pictures as TensorBoard event files in RUN/tensorboard; `writer` None writes nothing."""

    def __init__(self, writer: Any = None) -> None:
        self.writer = writer

    def scalars(self, line: Mapping[str, float], step: int) -> None:
        if self.writer is None:
            return
        for key, value in line.items():
            if key != "step":
                self.writer.add_scalar(key, value, step)

    def picture(self, tag: str, pixels: np.ndarray, step: int) -> None:
        """`pixels`: one HWC uint8 image, such as a sample grid."""
        if self.writer is not None:
            self.writer.add_image(tag, pixels, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def open_tensorboard(run_dir: Path, setting: str, *, resume_step: int | None) -> TensorBoard:
    """`setting` is train.tensorboard: "off", "on" (an error without the package) or "auto"
    (on when the tensorboard package imports). A resumed run purges the events of the steps
    it is about to redo, as stats.jsonl does."""
    if setting == "off":
        return TensorBoard()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        if setting == "on":
            raise ConfigError(
                f'train.tensorboard = "on" needs the tensorboard package (pip install tensorboard): {exc}'
            ) from exc
        log.debug("no TensorBoard event files: %s", exc)
        return TensorBoard()
    # Events at the checkpoint's own step stay: they are not redone.
    purge = None if resume_step is None else resume_step + 1
    return TensorBoard(SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=purge))
