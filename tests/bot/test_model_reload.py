"""Maintainers refresh models without downtime: replace the file, the bot swaps it in."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil

import pytest

from albumgan.bot.service import CoverService
from tests.service_fixtures import make_config


@pytest.fixture(scope="module")
def second_acgan(tiny_models):
    return tiny_models["acgan-v2"]


def _replace(src, dst):
    """What albumgan-export does: write beside the target, then rename over it."""
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


async def _started(tmp_path, tiny_models, reload_check_s=0.0, **models):
    live = {kind: tmp_path / f"{kind}.onnx" for kind in ("unconditional", "acgan")}
    for kind, path in live.items():
        if models.get(kind, True):
            shutil.copyfile(tiny_models[kind], path)
    config = make_config(tmp_path, live)
    config = dataclasses.replace(config, models=dataclasses.replace(config.models, reload_check_s=reload_check_s))
    service = CoverService.from_config(config)
    await service.start()
    return service, live


async def test_replaced_model_serves_new_requests_and_in_flight_ones_finish(tmp_path, tiny_models, second_acgan, alice):
    service, live = await _started(tmp_path, tiny_models)
    try:
        before = service.models.runners["acgan"].info.version
        people = [dataclasses.replace(alice, user_id=f"user{s}") for s in range(4)]
        in_flight = [
            asyncio.create_task(service.cover("spotify:track:0DemoTrack000000000001", who, seed=s))
            for s, who in enumerate(people)
        ]
        _replace(second_acgan, live["acgan"])
        outcome = await service.models.reload()
        results = await asyncio.gather(*in_flight)
        assert len(results) == 4 and all(r.image_png.startswith(b"\x89PNG") for r in results)
        after = service.models.runners["acgan"].info.version
        assert after != before and outcome["acgan"].endswith(after)
        fresh = await service.cover("spotify:track:0DemoTrack000000000001", alice, seed=1)
        assert fresh.model_version == after
    finally:
        await service.close()


async def test_broken_or_wrong_kind_file_keeps_the_running_model(tmp_path, tiny_models, alice):
    service, live = await _started(tmp_path, tiny_models)
    try:
        serving = service.models.runners["acgan"].info.version
        live["acgan"].write_bytes(b"not an onnx model")
        assert "kept" in (await service.models.reload())["acgan"]
        _replace(tiny_models["unconditional"], live["acgan"])
        outcome = (await service.models.reload())["acgan"]
        assert "kept" in outcome and "unconditional" in outcome
        result = await service.cover("spotify:track:0DemoTrack000000000001", alice, seed=3)
        assert result.model_version == serving
    finally:
        await service.close()


async def test_watcher_installs_a_model_that_appears_later(tmp_path, tiny_models, alice):
    service, live = await _started(tmp_path, tiny_models, reload_check_s=0.05, acgan=False)
    try:
        assert "acgan" in service.models.problems
        _replace(tiny_models["acgan"], live["acgan"])
        for _ in range(200):
            if "acgan" in service.models.runners:
                break
            await asyncio.sleep(0.05)
        assert "acgan" not in service.models.problems
        result = await service.cover("spotify:track:0DemoTrack000000000001", alice, seed=3)
        assert result.image_png.startswith(b"\x89PNG")
    finally:
        await service.close()
