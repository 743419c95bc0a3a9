"""The inference engine: exported ONNX generators run with onnxruntime. No torch here.

A model file describes itself in its ONNX ``metadata_props``; `albumgan.modelfile` is the
contract (keys, parsing, `ModelInfo`) that this engine and the export share.

`Engine` is the synchronous core (load, validate, run a batch). `ModelRunner` wraps it
for asyncio: concurrent `generate` calls are gathered into one `run` (micro-batching),
runs happen on a dedicated thread so the event loop never blocks, and `reload` swaps in
a new model atomically while requests already accepted finish on the model they were
made for.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import hashlib
import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from albumgan.modelfile import (
    INPUT_LABELS,
    INPUT_MASK,
    INPUT_Z,
    OUTPUT_IMAGE,
    ModelError,
    ModelInfo,
    describe_session,
)

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")

# ORT's own logging: errors only. Its warnings (and, on a machine without a GPU, the CUDA
# provider's load errors) are noise in a chat bot's log; this module reports what matters.
_ORT_QUIET = 3
_ORT_SILENT = 4


# Devices and threads.


@functools.cache
def cuda_device_count() -> int:
    """GPUs the NVIDIA driver reports, asked quietly through libcuda (once per process);
    0 when there is no driver. Checked before offering onnxruntime the CUDA provider, which otherwise logs
    loud load errors on every CPU-only machine that has onnxruntime-gpu installed."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return count.value


def physical_cores() -> int:
    """Physical cores this process may use: hyperthread siblings share one core's FPUs, so
    more intra-op threads than cores only adds contention."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    current: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("physical id", "core id"):
                current[key] = value.strip()
            elif not key:
                if len(current) == 2:
                    cores.add((current["physical id"], current["core id"]))
                current = {}
    if len(current) == 2:
        cores.add((current["physical id"], current["core id"]))
    return max(1, min(usable, len(cores) or usable))


def _providers(device: str) -> list:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return [CPU]
    if CUDA not in ort.get_available_providers():
        if device == "cuda":
            raise ModelError(
                "device 'cuda' asked for, but this onnxruntime has no CUDA provider "
                "(install albumgan[bot-gpu] instead of albumgan[bot])"
            )
        return [CPU]
    if cuda_device_count() == 0:
        if device == "cuda":
            raise ModelError("device 'cuda' asked for, but no NVIDIA GPU is visible")
        return [CPU]
    # The pip CUDA/cuDNN libraries are not on the loader path by default; onnxruntime can
    # preload them from the nvidia-* wheels. Its messages go to stdout, so keep them out.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
        ort.preload_dlls()
    # HEURISTIC conv search: EXHAUSTIVE re-searches for each new batch size.
    return [(CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU]


def _session_options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = _ORT_QUIET
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    # Idle ORT threads would otherwise spin and steal CPU from the event loop between runs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# The engine.


class Engine:
    """One loaded model. `run` is thread-safe (onnxruntime sessions are)."""

    def __init__(self, session: ort.InferenceSession, info: ModelInfo):
        self.session = session
        self.info = info

    @classmethod
    def load(cls, path: str | os.PathLike, *, threads: int | None = None, device: str = "auto") -> Engine:
        """Load and validate a model file; raises ModelError with the file and the problem."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model file") from None
        except OSError as exc:
            raise ModelError(f"{path}: cannot read model file ({exc.strerror})") from exc
        providers = _providers(device)
        wants_cuda = providers[0] != CPU
        if wants_cuda:
            # A GPU exists but the provider may still fail to load (driver/library mismatch);
            # the fallback is reported below in one line instead of ORT's error dump.
            ort.set_default_logger_severity(_ORT_SILENT)
        try:
            session = ort.InferenceSession(data, sess_options=_session_options(threads), providers=providers)
        except Exception as exc:  # ORT raises Fail/InvalidProtobuf/InvalidGraph/... for bad files
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{path}: not a loadable ONNX model ({first_line})") from exc
        finally:
            if wants_cuda:
                ort.set_default_logger_severity(_ORT_QUIET)
        active = session.get_providers()[0]
        if wants_cuda and active != CUDA:
            if device == "cuda":
                raise ModelError(f"{path}: the CUDA provider failed to start (CUDA/cuDNN libraries?)")
            log.warning("GPU found but onnxruntime's CUDA provider failed to start; running on CPU")
        info = replace(describe_session(session, str(path)), path=path, file_sha256=_file_sha256(data), provider=active)
        device_used = "GPU" if active == CUDA else "CPU"
        log.info(
            "loaded %s model %s v%s (%d px) from %s on %s",
            info.kind,
            info.name,
            info.version,
            info.resolution,
            path,
            device_used,
        )
        return cls(session, info)

    def run(self, z: np.ndarray, labels: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """A batch of covers: z (N, z_dim); for an acgan, labels and mask (N, n_features).
        Returns uint8 (N, H, W, 3) RGB."""
        feed = self.feed(z, labels, mask)
        return self.session.run([OUTPUT_IMAGE], feed)[0]

    def feed(self, z: np.ndarray, labels: np.ndarray | None = None, mask: np.ndarray | None = None) -> dict:
        """Validated input dict for one batch (ValueError on wrong shapes or kinds)."""
        info = self.info
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != info.z_dim or z.shape[0] < 1:
            raise ValueError(f"z must have shape (N>=1, {info.z_dim}), got {z.shape}")
        if info.schema is None:
            if labels is not None or mask is not None:
                raise ValueError(f"{info.name} is unconditional: labels/mask must not be given")
            return {INPUT_Z: z}
        if labels is None or mask is None:
            raise ValueError(f"{info.name} is an acgan: labels and mask are required")
        shape = (z.shape[0], len(info.schema))
        labels = np.ascontiguousarray(labels, dtype=np.float32)
        mask = np.ascontiguousarray(mask, dtype=np.float32)
        if labels.shape != shape or mask.shape != shape:
            raise ValueError(f"labels and mask must have shape {shape}, got {labels.shape} and {mask.shape}")
        return {INPUT_Z: z, INPUT_LABELS: labels, INPUT_MASK: mask}


# The asyncio runner.


@dataclass
class _Request:
    engine: Engine
    z: np.ndarray
    labels: np.ndarray | None
    mask: np.ndarray | None
    future: asyncio.Future


class ModelRunner:
    """Serve one model to many concurrent coroutines.

    Requests that arrive within `window_ms` of each other (up to `max_batch` images) share one
    onnxruntime run on a dedicated worker thread. Each request is bound to the model that
    was current when it was accepted, so `reload` never changes the model under a request
    whose inputs were shaped for the old one, and no request is dropped by a reload.
    The constructor loads the model synchronously.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        max_batch: int = 16,
        window_ms: float = 3.0,
        threads: int | None = None,
        device: str = "auto",
    ):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.path = Path(path)
        self.max_batch = max_batch
        self.window_s = window_ms / 1000.0
        self._threads = threads
        self._device = device
        self._engine = Engine.load(self.path, threads=threads, device=device)
        # One worker: a run already uses every core; a second would only contend.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="albumgan-onnx")
        # Bound to the event loop on first use (Python >= 3.10), so this may run in a thread.
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._batcher: asyncio.Task | None = None
        self._reload_lock: asyncio.Lock | None = None
        self._closed = False
        self.runs = 0  # onnxruntime calls made, for tests and stats

    @property
    def info(self) -> ModelInfo:
        return self._engine.info

    @property
    def engine(self) -> Engine:
        return self._engine

    async def generate(
        self, z_row: np.ndarray, labels_row: np.ndarray | None = None, mask_row: np.ndarray | None = None
    ) -> np.ndarray:
        """One cover, uint8 (H, W, 3), from one z row (and, for an acgan, its labels and mask)."""

        def row(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a, dtype=np.float32).reshape(1, -1)

        z = np.asarray(z_row, dtype=np.float32).reshape(1, -1)
        return (await self.generate_rows(z, row(labels_row), row(mask_row)))[0]

    async def generate_rows(
        self, z: np.ndarray, labels: np.ndarray | None = None, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Covers uint8 (N, H, W, 3) from z (N, z_dim) (and, for an acgan, labels and mask
        (N, n_features)): one request, run in one batch (with whatever else is waiting)."""
        if self._closed:
            raise ModelError(f"{self.path}: the model runner is closed")
        engine = self._engine
        z = np.asarray(z, dtype=np.float32)
        labels = None if labels is None else np.asarray(labels, dtype=np.float32)
        mask = None if mask is None else np.asarray(mask, dtype=np.float32)
        engine.feed(z, labels, mask)  # fail fast, in the caller, on wrong shapes
        self._ensure_batcher()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(engine, z, labels, mask, future))
        return await future

    async def reload(self, path: str | os.PathLike | None = None) -> ModelInfo:
        """Load `path` (default: the current file again) and make it the model for new
        requests. A model that fails to load leaves the current one serving."""
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:
            new_path = Path(path) if path is not None else self.path
            engine = await asyncio.get_running_loop().run_in_executor(None, self.load, new_path)
            return self.install(engine)

    def load(self, path: str | os.PathLike) -> Engine:
        """A model file loaded as this runner loads its own (threads, device), not yet
        serving: callers check it, then `install` that very engine. Blocking."""
        return Engine.load(path, threads=self._threads, device=self._device)

    def install(self, engine: Engine) -> ModelInfo:
        """Make `engine` the model for new requests; accepted ones finish on the old one."""
        old = self._engine.info
        self._engine, self.path = engine, engine.info.path
        log.info("reloaded model: %s v%s -> %s v%s", old.name, old.version, engine.info.name, engine.info.version)
        return engine.info

    async def close(self) -> None:
        """Finish every accepted request, then stop the worker."""
        self._closed = True
        if self._batcher is not None:
            await self._queue.join()
            self._batcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._batcher
            self._batcher = None
        self._executor.shutdown(wait=True)

    def _ensure_batcher(self) -> None:
        if self._batcher is None:
            self._batcher = asyncio.get_running_loop().create_task(self._batch_loop(), name="albumgan-batcher")

    async def _next_batch(self, pending: list[_Request]) -> list[_Request]:
        """Requests for one run: the oldest, then followers for the same model that arrive
        within the window. A request for another model is kept in `pending` for the next run."""
        first = pending.pop(0) if pending else await self._queue.get()
        batch = [first]
        rows = len(first.z)  # images: a grid's request brings four
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window_s
        while rows < self.max_batch and not pending:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item.engine is first.engine:
                batch.append(item)
                rows += len(item.z)
            else:
                pending.append(item)
        return batch

    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        pending: list[_Request] = []
        while True:
            batch = await self._next_batch(pending)
            live = [r for r in batch if not r.future.done()]  # callers may have given up
            try:
                if live:
                    engine = live[0].engine
                    z = np.concatenate([r.z for r in live])
                    labels = mask = None
                    if engine.info.conditional:
                        labels = np.concatenate([r.labels for r in live])
                        mask = np.concatenate([r.mask for r in live])
                    images = await loop.run_in_executor(self._executor, engine.run, z, labels, mask)
                    self.runs += 1
                    start = 0
                    for request in live:
                        rows = len(request.z)
                        if not request.future.done():
                            request.future.set_result(images[start : start + rows])
                        start += rows
            except Exception as exc:  # one failed run fails its own requests, not the runner
                log.exception("model run failed for %d requests", len(live))
                for request in live:
                    if not request.future.done():
                        request.future.set_exception(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()
