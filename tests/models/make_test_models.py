"""Make the tiny ONNX models the bot's tests run on, without torch:

    python tests/models/make_test_models.py        # rewrites tests/models/*.onnx

Each is a real albumgan model file by the contract (`albumgan.modelfile`): the inputs,
output and metadata the engine checks, and a generator small enough to read, a linear map
from cat(z, labels * mask, mask) to a 16 px image through tanh, quantised to uint8 NHWC in
the graph like an export. Seeds and features therefore change the picture, deterministically.
The files are committed, so a bot-only install (no torch, no onnx) can run its tests; a
test checks that this script still makes exactly them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from albumgan import modelfile as mf
from albumgan.labels import DEFAULT_SCHEMA

Z_DIM = 16
RESOLUTION = 16
HERE = Path(__file__).resolve().parent
# file stem -> (kind, weight seed, version, step); v2 is the "re-exported" model of reload tests
MODELS = {
    "tiny-unconditional": ("unconditional", 0, "1-test", 10),
    "tiny-acgan": ("acgan", 1, "1-test", 10),
    "tiny-acgan-v2": ("acgan", 7, "2-test", 20),
    "tiny-unconditional-v2": ("unconditional", 20, "2-test", 20),
}
COARSE = 4  # the linear map draws a 4x4 picture, smoothly resized to 16 px like a real cover


def metadata(kind: str, seed: int, version: str, step: int) -> dict[str, str]:
    props = {
        mf.KEY_FORMAT: mf.FORMAT_VERSION,
        mf.KEY_KIND: kind,
        mf.KEY_NAME: f"{kind}-{RESOLUTION}",  # the name an export to models/KIND-16.onnx gets
        mf.KEY_VERSION: version,
        mf.KEY_STEP: str(step),
        mf.KEY_RESOLUTION: str(RESOLUTION),
        mf.KEY_Z_DIM: str(Z_DIM),
        mf.KEY_LATENT_PRIOR: "normal",
        mf.KEY_DATASET: json.dumps(
            {
                "content_hash": f"bot-test-{kind}",
                "count": 1,
                "provenance": {"source": "tests/models/make_test_models.py"},
            }
        ),
        mf.KEY_EVAL: json.dumps({}),
        mf.KEY_CREATED: "2026-12-01T00:00:00+00:00",
        mf.KEY_WEIGHTS_SHA256: f"{seed:064x}",
    }
    if kind == "acgan":
        props[mf.KEY_LABEL_SCHEMA] = DEFAULT_SCHEMA.to_json()
    mf.parse_metadata(props, f"tiny-{kind}")  # what the engine will accept
    return props


def build(kind: str, seed: int, version: str, step: int) -> onnx.ModelProto:
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    pixels = COARSE * COARSE * 3
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((Z_DIM + 2 * c_dim, pixels)) * 0.5).astype(np.float32)
    bias = (rng.standard_normal(pixels) * 0.2).astype(np.float32)
    inputs = [helper.make_tensor_value_info(mf.INPUT_Z, TensorProto.FLOAT, ["batch", Z_DIM])]
    nodes = []
    features = mf.INPUT_Z
    if c_dim:
        inputs += [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", c_dim])
            for name in (mf.INPUT_LABELS, mf.INPUT_MASK)
        ]
        nodes += [
            helper.make_node("Mul", [mf.INPUT_LABELS, mf.INPUT_MASK], ["present"]),
            helper.make_node("Concat", [mf.INPUT_Z, "present", mf.INPUT_MASK], ["condition"], axis=1),
        ]
        features = "condition"
    nodes += [
        helper.make_node("Gemm", [features, "weight", "bias"], ["linear"]),
        helper.make_node("Reshape", ["linear", "coarse_shape"], ["coarse"]),
        helper.make_node("Resize", ["coarse", "", "scales"], ["smooth"], mode="linear"),
        helper.make_node("Transpose", ["smooth"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Tanh", ["nhwc"], ["image_float"]),
        helper.make_node("Add", ["image_float", "one"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "half_range"], ["scaled"]),
        helper.make_node("Round", ["scaled"], ["rounded"]),
        helper.make_node("Clip", ["rounded", "zero", "full"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["bytes"], to=TensorProto.UINT8),
        helper.make_node("Reshape", ["bytes", "shape"], [mf.OUTPUT_IMAGE]),
    ]
    constants = [
        numpy_helper.from_array(weight, "weight"),
        numpy_helper.from_array(bias, "bias"),
        numpy_helper.from_array(np.array([-1, 3, COARSE, COARSE], np.int64), "coarse_shape"),
        numpy_helper.from_array(np.array([1, 1, RESOLUTION / COARSE, RESOLUTION / COARSE], np.float32), "scales"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(127.5, np.float32), "half_range"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(255.0, np.float32), "full"),
        numpy_helper.from_array(np.array([-1, RESOLUTION, RESOLUTION, 3], np.int64), "shape"),
    ]
    output = helper.make_tensor_value_info(mf.OUTPUT_IMAGE, TensorProto.UINT8, ["batch", RESOLUTION, RESOLUTION, 3])
    graph = helper.make_graph(nodes, f"tiny-{kind}", inputs, [output], initializer=constants)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=10, producer_name="albumgan-tests"
    )
    helper.set_model_props(model, metadata(kind, seed, version, step))
    onnx.checker.check_model(model, full_check=True)
    return model


def model_bytes(stem: str) -> bytes:
    return build(*MODELS[stem]).SerializeToString(deterministic=True)


def main() -> int:
    for stem in MODELS:
        path = HERE / f"{stem}.onnx"
        path.write_bytes(model_bytes(stem))
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
