"""albumgan.bot.engine and bot.imaging on real tiny_models models: validation of bad files, provider
choice, determinism, micro-batching, hot reload, display upscaling. Torch-free side."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from albumgan.bot.engine import Engine, ModelError, ModelRunner, cuda_device_count, physical_cores
from albumgan.bot.imaging import DISPLAY_SIZE, RESAMPLE, to_png, upscale

REPO = Path(__file__).resolve().parents[2]
Z_DIM = 16  # of the tiny test models (tests/models/make_test_models.py)


def within_one_level(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


def onnx_package():
    """Rewriting model files needs the onnx package (the train extra); a bot-only install
    skips just those tests."""
    return pytest.importorskip("onnx")


def rewrite(source: Path, target: Path, *, props=None, drop=()) -> Path:
    """A copy of a model with some metadata_props changed or removed."""
    onnx = onnx_package()
    model = onnx.load(source)
    current = {p.key: p.value for p in model.metadata_props}
    current.update(props or {})
    for key in drop:
        current.pop(key, None)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, current)
    onnx.save(model, target)
    return target


def metadata_of(path: Path) -> dict[str, str]:
    onnx = onnx_package()
    return {p.key: p.value for p in onnx.load(path).metadata_props}


# Refusing bad files.


def test_missing_truncated_and_garbage_files_are_refused(tmp_path, tiny_models):
    good = tiny_models["unconditional"]
    with pytest.raises(ModelError, match=r"nothere\.onnx: no such model file"):
        Engine.load(tmp_path / "nothere.onnx")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match=r"truncated\.onnx: not a loadable ONNX model"):
        Engine.load(truncated)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not onnx at all" * 100)
    with pytest.raises(ModelError, match=r"garbage\.onnx: not a loadable ONNX model"):
        Engine.load(garbage)


def test_models_without_or_with_unknown_metadata_are_refused(tmp_path, tiny_models):
    good = tiny_models["unconditional"]
    every_key = list(metadata_of(good))
    bare = rewrite(good, tmp_path / "bare.onnx", drop=every_key)
    with pytest.raises(ModelError, match=r"bare\.onnx: not an albumgan model"):
        Engine.load(bare)
    future = rewrite(good, tmp_path / "future.onnx", props={"albumgan.format": "2"})
    with pytest.raises(ModelError, match=r"future\.onnx: model format '2' is not supported"):
        Engine.load(future)
    partial = rewrite(good, tmp_path / "partial.onnx", drop=["albumgan.z_dim"])
    with pytest.raises(ModelError, match=r"partial\.onnx: metadata is missing albumgan\.z_dim"):
        Engine.load(partial)
    odd_kind = rewrite(good, tmp_path / "odd.onnx", props={"albumgan.kind": "stylegan"})
    with pytest.raises(ModelError, match="unknown model kind 'stylegan'"):
        Engine.load(odd_kind)
    bad_schema = rewrite(tiny_models["acgan"], tmp_path / "schema.onnx", props={"albumgan.label_schema": "{"})
    with pytest.raises(ModelError, match="label schema is not valid JSON"):
        Engine.load(bad_schema)


def test_graphs_that_do_not_match_their_metadata_are_refused(tmp_path, tiny_models):
    unconditional = tiny_models["unconditional"]
    acgan_props = metadata_of(tiny_models["acgan"])
    # An unconditional graph that claims to be an acgan: inputs do not match.
    claims_acgan = rewrite(unconditional, tmp_path / "claims.onnx", props=acgan_props)
    with pytest.raises(ModelError, match=r"claims\.onnx: inputs \['z'\] do not match the acgan model"):
        Engine.load(claims_acgan)
    wrong_z = rewrite(unconditional, tmp_path / "wrongz.onnx", props={"albumgan.z_dim": str(Z_DIM + 1)})
    with pytest.raises(ModelError, match=r"input z is tensor\(float\)\['batch', 16\], expected"):
        Engine.load(wrong_z)
    # A valid ONNX model with albumgan metadata but foreign inputs and a float output.
    onnx = onnx_package()
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["noise"], ["image"])],
        "foreign",
        [onnx.helper.make_tensor_value_info("noise", onnx.TensorProto.FLOAT, ["n", Z_DIM])],
        [onnx.helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, ["n", Z_DIM])],
    )
    foreign = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 20)], ir_version=10)
    onnx.helper.set_model_props(foreign, metadata_of(unconditional))
    onnx.checker.check_model(foreign)
    onnx.save(foreign, tmp_path / "foreign.onnx")
    with pytest.raises(ModelError, match=r"foreign\.onnx: inputs \['noise'\] do not match the unconditional model"):
        Engine.load(tmp_path / "foreign.onnx")


# Providers, threads, no torch, no noise.


def test_cpu_machine_runs_on_cpu_and_refuses_an_explicit_cuda_request(tiny_models):
    path = tiny_models["unconditional"]
    engine = Engine.load(path)
    assert engine.session.get_session_options().intra_op_num_threads == physical_cores()
    assert Engine.load(path, threads=1).session.get_session_options().intra_op_num_threads == 1
    if cuda_device_count() == 0:
        assert engine.info.provider == "CPUExecutionProvider"
        # The CPU runtime has no CUDA provider; the GPU runtime on a machine without a GPU sees none.
        with pytest.raises(ModelError, match="no CUDA provider .*bot-gpu|no NVIDIA GPU is visible"):
            Engine.load(path, device="cuda")
    else:  # a GPU machine: the CUDA provider must really be in use
        assert Engine.load(path, device="cuda").info.provider == "CUDAExecutionProvider"


def test_engine_imports_no_torch_and_loads_quietly(tiny_models):
    path = tiny_models["acgan"]
    script = textwrap.dedent(
        f"""
        import logging, sys
        logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
        from albumgan.bot.engine import Engine
        from albumgan.bot.imaging import to_png, upscale
        engine = Engine.load({str(path)!r})
        labels, mask = engine.info.encode({{"energy": 0.9, "tempo": 128.0}})
        image = engine.run(engine.info.latents([5]), labels[None], mask[None])[0]
        png = to_png(upscale(image))
        assert png.startswith(b"\\x89PNG")
        assert "torch" not in sys.modules, "albumgan.bot.engine pulled in torch"
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("albumgan.bot.engine loaded acgan model"), proc.stderr
    if cuda_device_count() == 0:
        assert lines[0].endswith("on CPU")


# Determinism and input checks.


def test_same_seed_and_features_give_the_same_cover(tiny_models):
    path = tiny_models["acgan"]
    first, second = Engine.load(path), Engine.load(path, threads=1)
    z = first.info.latents([11, 12, 13, 14])
    labels, mask = first.info.schema.encode_rows(
        [{"valence": 0.2}, {}, {"tempo": 90.0, "energy": 1.0}, {"loudness": -5}]
    )
    batch = first.run(z, labels, mask)
    assert np.array_equal(batch, first.run(z, labels, mask))
    assert np.array_equal(batch, second.run(z, labels, mask))
    # A row's cover does not depend on what it was batched with.
    alone = np.concatenate([first.run(z[i : i + 1], labels[i : i + 1], mask[i : i + 1]) for i in range(4)])
    assert np.array_equal(batch, alone)
    assert not np.array_equal(batch[0], batch[1])


def test_wrong_inputs_are_rejected_before_running(tiny_models):
    unconditional = Engine.load(tiny_models["unconditional"])
    acgan = Engine.load(tiny_models["acgan"])
    z = unconditional.info.latents([1])
    with pytest.raises(ValueError, match=r"z must have shape \(N>=1, 16\)"):
        unconditional.run(np.zeros((1, Z_DIM + 1), np.float32))
    with pytest.raises(ValueError, match="unconditional: labels/mask must not be given"):
        unconditional.run(z, np.zeros((1, 10)), np.zeros((1, 10)))
    with pytest.raises(ValueError, match="acgan: labels and mask are required"):
        acgan.run(z)
    with pytest.raises(ModelError, match="takes no features"):
        unconditional.info.encode({"energy": 0.5})


# The async runner.


@pytest.fixture(scope="module")
def two_models(tiny_models):
    """Two unconditional models with different weights, for reload tests."""
    return [tiny_models["unconditional"], tiny_models["unconditional-v2"]]


def gate_worker(runner: ModelRunner) -> threading.Event:
    """Occupy the runner's single worker thread until the returned event is set, so a test
    can line up requests deterministically while a run is 'in progress'."""
    gate = threading.Event()
    runner._executor.submit(gate.wait)
    return gate


async def test_concurrent_requests_share_runs_and_match_single_runs(tiny_models):
    path = tiny_models["acgan"]
    engine = Engine.load(path)
    runner = ModelRunner(path, max_batch=5)
    z = engine.info.latents(range(12))
    labels, mask = engine.info.schema.encode_rows([{"energy": i / 12, "tempo": 60 + 10 * i} for i in range(12)])
    requests = (runner.generate(z[i], labels[i], mask[i]) for i in range(12))
    results = await asyncio.wait_for(asyncio.gather(*requests), timeout=30)
    assert runner.runs == 3  # 12 requests arriving together, at most 5 per run
    for i, image in enumerate(results):
        assert image.shape == (16, 16, 3) and image.dtype == np.uint8
        assert within_one_level(image, engine.run(z[i : i + 1], labels[i : i + 1], mask[i : i + 1])[0])
    with pytest.raises(ValueError, match="labels and mask are required"):
        await runner.generate(z[0])
    await runner.close()
    with pytest.raises(ModelError, match="closed"):
        await runner.generate(z[0], labels[0], mask[0])


async def test_hot_reload_under_load_loses_nothing_and_never_mixes_models(two_models):
    old_path, new_path = two_models
    old, new = Engine.load(old_path), Engine.load(new_path)
    z = old.info.latents(range(40))
    want_old, want_new = old.run(z), new.run(z)
    assert not within_one_level(want_old, want_new)
    runner = ModelRunner(old_path, max_batch=4)
    gate = gate_worker(runner)
    before = [asyncio.create_task(runner.generate(z[i])) for i in range(20)]
    await asyncio.sleep(0)  # let them be accepted (they queue behind the busy worker)
    reloading = asyncio.create_task(runner.reload(new_path))
    during = [asyncio.create_task(runner.generate(z[i])) for i in range(20, 30)]
    info = await reloading
    assert info.step == 20 and runner.info.path == new_path and not any(t.done() for t in before)
    after = [asyncio.create_task(runner.generate(z[i])) for i in range(30, 40)]
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*before, *during, *after), timeout=30)
    assert len(results) == 40
    for i, image in enumerate(results):
        on_old, on_new = within_one_level(image, want_old[i]), within_one_level(image, want_new[i])
        assert on_old != on_new, f"request {i} is not one whole model's output"
        if i < 20:
            assert on_old, f"request {i} was accepted before the reload but ran on the new model"
        if i >= 30:
            assert on_new, f"request {i} was accepted after the reload but ran on the old model"
    await runner.close()


async def test_failed_reload_keeps_the_current_model_serving(tmp_path, two_models):
    path = two_models[0]
    runner = ModelRunner(path)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match=r"broken\.onnx: not a loadable ONNX model"):
        await runner.reload(broken)
    assert runner.info.path == path
    z = runner.info.latents([3])
    assert within_one_level(await runner.generate(z[0]), Engine.load(path).run(z)[0])
    await runner.close()


async def test_close_finishes_accepted_requests(two_models):
    runner = ModelRunner(two_models[0], max_batch=2)
    z = runner.info.latents(range(5))
    gate = gate_worker(runner)
    pending = [asyncio.create_task(runner.generate(z[i])) for i in range(5)]
    await asyncio.sleep(0)
    closing = asyncio.create_task(runner.close())
    await asyncio.sleep(0)
    assert not closing.done()
    gate.set()
    await asyncio.wait_for(closing, timeout=30)
    assert all(t.done() and t.result().shape == (16, 16, 3) for t in pending)


# Display.


def test_upscale_is_a_plain_lanczos_resample_and_png_round_trips(tiny_models):
    engine = Engine.load(tiny_models["unconditional"])
    image = engine.run(engine.info.latents([9]))[0]
    picture = upscale(image)
    assert picture.size == (DISPLAY_SIZE, DISPLAY_SIZE) and picture.mode == "RGB"
    expected = Image.fromarray(image).resize((DISPLAY_SIZE, DISPLAY_SIZE), RESAMPLE)
    assert np.array_equal(np.asarray(picture), np.asarray(expected))
    # Block averages of the upscaled picture stay close to the generator's pixels: no invented detail.
    blocks = np.asarray(picture, dtype=float).reshape(16, 32, 16, 32, 3).mean(axis=(1, 3))
    assert np.abs(blocks - image).mean() < 6
    png = to_png(picture)
    assert png == to_png(upscale(image))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), np.asarray(picture))
    assert upscale(image, size=16).size == (16, 16)
    with pytest.raises(ValueError, match=r"expected a uint8 \(H, W, 3\) array"):
        upscale(image.astype(np.float32))


def test_committed_tiny_models_are_what_their_script_makes():
    onnx_package()
    from tests.models.make_test_models import HERE, MODELS, model_bytes

    for stem in MODELS:
        assert (HERE / f"{stem}.onnx").read_bytes() == model_bytes(stem), f"rerun {HERE / 'make_test_models.py'}"
