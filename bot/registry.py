"""The models a bot serves, one per kind: installed at start, hot-reloaded without downtime.

A missing or broken model file is not fatal: the kind is recorded as unavailable with the
reason (the commands it serves say so), the other kind keeps working. `reload` swaps a
replaced file in for new requests while requests in flight finish on the old model; a
broken or wrong-kind file leaves the running model serving. With `[models] reload_check_s`
a watcher polls the files (exports replace them atomically) and reloads on change; whatever
goes wrong in one round is logged, and the watcher keeps watching.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from albumgan.bot.config import BotConfig
from albumgan.bot.engine import ModelRunner
from albumgan.bot.pools import WorkPools
from albumgan.bot.types import ServiceUnavailable
from albumgan.modelfile import ModelError, ModelInfo

log = logging.getLogger(__name__)

# What a reload did to one kind: swapped in a replaced file, installed a missing model, refused
# a broken file (the old model serves on), or found the kind still unavailable.
RELOAD_OUTCOMES = ("swapped", "installed", "refused", "unavailable")
OnReload = Callable[[str, str], None]  # (model kind, outcome)

# The model kinds, and how people know them.
MODEL_LABEL = {"acgan": "audio-feature (ACGAN)", "unconditional": "random-cover"}
COMMANDS_FOR = {"acgan": "/cover and /album", "unconditional": "/random"}


class ModelRegistry:
    def __init__(
        self,
        config: BotConfig,
        pools: WorkPools,
        *,
        runners: dict[str, ModelRunner] | None = None,
        on_reload: OnReload = lambda kind, outcome: None,
    ) -> None:
        self.config = config
        self.pools = pools  # model files are read in its I/O threads
        self._given = runners  # tests and embedders may bring their own runners
        self.runners: dict[str, ModelRunner] = {}
        self.problems: dict[str, str] = {}  # model kind -> why it is not installed
        self._stamps: dict[str, tuple[int, int] | None] = {}  # model kind -> file (mtime, size)
        self._watcher: asyncio.Task | None = None
        self._reloading = asyncio.Lock()  # the watcher's and an operator's reloads take turns
        self._on_reload = on_reload  # counts outcomes (metrics)

    async def start(self) -> None:
        if self._given is not None:
            self.runners = dict(self._given)
        else:
            for kind in MODEL_LABEL:
                await self.install(kind)
            if self.config.models.reload_check_s > 0:
                self._watcher = asyncio.create_task(self._watch(), name="albumgan-model-watch")
        for kind, problem in self.problems.items():
            log.warning("%s unavailable: %s", COMMANDS_FOR[kind], problem)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        for runner in self.runners.values():
            await runner.close()

    def infos(self) -> list[ModelInfo]:
        return [runner.info for runner in self.runners.values()]

    def _model_path(self, kind: str) -> tuple[str, Path]:
        configured = getattr(self.config.models, kind)
        return configured, self.config.path(configured)

    async def install(self, kind: str) -> None:
        """Load the configured model file for `kind`, or record why it can't serve."""
        configured, path = self._model_path(kind)
        self._stamps[kind] = _file_stamp(path)
        try:
            runner = await self.pools.io(ModelRunner, path, max_batch=self.config.limits.max_batch)
        except ModelError as exc:
            self.problems[kind] = self._model_problem(kind, configured, path, exc)
            return
        if runner.info.kind != kind:
            await runner.close()
            self.problems[kind] = f"{configured} is a {runner.info.kind} model, but [models] {kind} needs an {kind} one"
            return
        self.runners[kind] = runner
        self.problems.pop(kind, None)

    @staticmethod
    def _model_problem(kind: str, configured: str, path: Path, exc: ModelError) -> str:
        # name the file as configured: people know that path, and chat users need not
        # see the server's folders
        problem = str(exc).replace(str(path), configured)
        return (
            f"{problem}; train and export one (albumgan-train, then albumgan-export) or set [models] {kind} in bot.toml"
        )

    async def reload(self) -> dict[str, str]:
        """Re-read the configured model files without downtime: a replaced file takes over
        for new requests (requests in flight finish on the old model), a new file installs a
        missing model, and a broken or wrong-kind file leaves the running model serving.
        Returns what happened, per model kind."""
        async with self._reloading:
            return await self._reload()

    async def _reload(self) -> dict[str, str]:
        outcome: dict[str, str] = {}
        for kind in MODEL_LABEL:
            configured, path = self._model_path(kind)
            self._stamps[kind] = _file_stamp(path)
            runner = self.runners.get(kind)
            if runner is None:
                await self.install(kind)
                installed = kind in self.runners
                self._on_reload(kind, "installed" if installed else "unavailable")
                outcome[kind] = (
                    "installed " + self.runners[kind].info.version
                    if installed
                    else "still unavailable: " + self.problems[kind]
                )
                continue
            try:
                # Read once: the engine checked here is the one installed, even if another
                # export replaces the file meanwhile (reading it twice installed that one).
                candidate = await self.pools.io(runner.load, path)
                if candidate.info.kind != kind:
                    raise ModelError(f"{path}: is a {candidate.info.kind} model, not {kind}")
                info = runner.install(candidate)
            except ModelError as exc:
                self._on_reload(kind, "refused")
                outcome[kind] = f"kept {runner.info.version}: {exc}".replace(str(path), configured)
                log.error(
                    "model reload refused, %s keeps serving %s: %s",
                    COMMANDS_FOR[kind],
                    runner.info.version,
                    str(exc).replace(str(path), configured),
                )
                continue
            self._on_reload(kind, "swapped")
            outcome[kind] = f"now serving {info.name} {info.version}"
        return outcome

    async def _watch(self) -> None:
        """Poll the model files; reload when one is replaced (export writes atomically)."""
        while True:
            await asyncio.sleep(self.config.models.reload_check_s)
            try:
                changed = [k for k in MODEL_LABEL if _file_stamp(self._model_path(k)[1]) != self._stamps.get(k)]
                if changed:
                    for kind, what in (await self.reload()).items():
                        log.info("model reload: %s %s", kind, what)
            except Exception:
                # A bug or a surprise in one file must not end hot reloading for the life
                # of the process (the task used to die silently): the running models serve on.
                log.exception("model watcher: this reload failed; the running models keep serving, still watching")

    def runner(self, kind: str) -> ModelRunner:
        """The runner serving `kind`, or ServiceUnavailable saying why there is none."""
        runner = self.runners.get(kind)
        if runner is not None:
            return runner
        problem = self.problems.get(kind, "it was not loaded")
        raise ServiceUnavailable(
            f"{COMMANDS_FOR[kind]} can't run here: the {MODEL_LABEL[kind]} model isn't installed ({problem})"
        )


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
