"""Model files that arrive while the bot serves (issue #14): a label schema of the wrong
types is a model-file error like any other (refused with a reason, at start-up and on
reload), the watcher survives whatever a reload throws, and a reload installs exactly the
file it validated even when another export lands in between."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from albumgan.bot.cli import EXIT_UNAVAILABLE, main
from albumgan.bot.engine import Engine, ModelError
from albumgan.bot.registry import ModelRegistry
from albumgan.labels import LabelSchema, SchemaError
from albumgan.modelfile import KEY_LABEL_SCHEMA
from tests.bot.test_engine import metadata_of, rewrite
from tests.bot.test_model_reload import _replace, _started
from tests.log_events import LogWatcher
from tests.service_fixtures import REPO

pytestmark = pytest.mark.timeout(90)

DEMO_TRACK = "spotify:track:0DemoTrack000000000001"
GUARD_S = 30.0  # hang guards only: the watcher polls every 50 ms here


def with_schema_feature(source: Path, target: Path, **changes) -> Path:
    """A copy of an acgan model whose first label-schema feature has `changes` applied."""
    schema = json.loads(metadata_of(source)[KEY_LABEL_SCHEMA])
    schema["features"][0].update(changes)
    return rewrite(source, target, props={KEY_LABEL_SCHEMA: json.dumps(schema)})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"high": "1"}, r"'popularity' high must be a number, got str '1'"),
        ({"low": None}, r"'popularity' low must be a number, got NoneType None"),
        ({"low": True}, r"'popularity' low must be a number, got bool True"),
        ({"high": float("inf")}, r"'popularity' high must be a finite number"),
        ({"name": 7}, r"feature name must be a string, got int 7"),
        ({"unit": ["dB"]}, r"'popularity' unit must be a string"),
    ],
)
def test_a_schema_of_wrong_types_is_a_schema_error_naming_the_field(changes, expected):
    features = [dict(f) for f in LabelSchema().to_dict()["features"]]
    features[0].update(changes)
    with pytest.raises(SchemaError, match=expected):
        LabelSchema.from_dict({**LabelSchema().to_dict(), "features": features})


def test_a_model_whose_schema_bound_is_a_string_is_a_model_error(tmp_path, tiny_models):
    bad = with_schema_feature(tiny_models["acgan"], tmp_path / "bad.onnx", high="1")
    with pytest.raises(ModelError, match=r"bad\.onnx: .*'popularity' high must be a number, got str '1'"):
        Engine.load(bad)


def watch_log(text: str) -> tuple[asyncio.Event, LogWatcher]:
    event = asyncio.Event()
    watcher = LogWatcher(text, event)
    logging.getLogger("albumgan.bot.registry").addHandler(watcher)
    return event, watcher


async def wait_until_serving(service, version: str) -> None:
    for _ in range(int(GUARD_S / 0.05)):
        if service.models.runners["acgan"].info.version == version:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the watcher never installed {version}")


async def test_watcher_refuses_a_bad_schema_keeps_serving_and_picks_up_the_next_file(
    tmp_path, tiny_models, alice, caplog
):
    service, live = await _started(tmp_path, tiny_models, reload_check_s=0.05)
    refused, watcher = watch_log("model reload refused")
    try:
        serving = service.models.runners["acgan"].info.version
        bad = with_schema_feature(tiny_models["acgan-v2"], tmp_path / "bad.onnx", high="1")
        _replace(bad, live["acgan"])
        await asyncio.wait_for(refused.wait(), GUARD_S)
        assert "'popularity' high must be a number" in caplog.text
        assert (await service.cover(DEMO_TRACK, alice, seed=1)).model_version == serving
        _replace(tiny_models["acgan-v2"], live["acgan"])  # the fixed export
        await wait_until_serving(service, "2-test")
        assert (await service.cover(DEMO_TRACK, alice, seed=1)).model_version == "2-test"
    finally:
        logging.getLogger("albumgan.bot.registry").removeHandler(watcher)
        await service.close()


async def test_watcher_logs_an_unexpected_failure_and_keeps_watching(tmp_path, tiny_models, alice, caplog, monkeypatch):
    service, live = await _started(tmp_path, tiny_models, reload_check_s=0.05)
    failed, watcher = watch_log("model watcher")
    real_reload = ModelRegistry.reload
    calls = 0

    async def reload_that_breaks_once(self):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug nobody foresaw")
        return await real_reload(self)

    monkeypatch.setattr(ModelRegistry, "reload", reload_that_breaks_once)
    try:
        _replace(tiny_models["acgan-v2"], live["acgan"])
        await asyncio.wait_for(failed.wait(), GUARD_S)
        assert "a bug nobody foresaw" in caplog.text
        await wait_until_serving(service, "2-test")  # the next poll tries again
    finally:
        logging.getLogger("albumgan.bot.registry").removeHandler(watcher)
        await service.close()


def test_cli_start_up_with_a_bad_schema_says_why_in_one_line(tmp_path, tiny_models, capsys):
    bad = with_schema_feature(tiny_models["acgan"], tmp_path / "bad.onnx", high="1")
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[models]\nunconditional = "{tiny_models["unconditional"]}"\nacgan = "{bad}"\n'
        f'[features]\nlocal_path = "{REPO / "models" / "demo-tracks.csv"}"\n'
        '[database]\npath = "bot.sqlite3"\n',
        encoding="utf-8",
    )
    code = main(["--config", str(config), "cover", DEMO_TRACK, "-o", str(tmp_path / "c.png")])
    err = capsys.readouterr().err
    assert code == EXIT_UNAVAILABLE, err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1, err
    assert "bad.onnx" in err and "'popularity' high must be a number, got str '1'" in err


async def test_reload_installs_the_file_it_validated_when_another_export_lands_in_between(
    tmp_path, tiny_models, alice, monkeypatch
):
    service, live = await _started(tmp_path, tiny_models)
    load = Engine.load.__func__  # type: ignore[attr-defined]
    landed = []

    def load_then_a_wrong_kind_export_lands(cls, path, **options):
        engine = load(cls, path, **options)
        if Path(path) == live["acgan"] and not landed:
            # right after the read: an unconditional model replaces the acgan file
            _replace(tiny_models["unconditional"], live["acgan"])
            landed.append(path)
        return engine

    try:
        _replace(tiny_models["acgan-v2"], live["acgan"])
        monkeypatch.setattr(Engine, "load", classmethod(load_then_a_wrong_kind_export_lands))
        outcome = await service.models.reload()
        assert landed, "the test's export never landed"
        installed = service.models.runners["acgan"].info
        assert (installed.kind, installed.version) == ("acgan", "2-test"), outcome
        assert (await service.cover(DEMO_TRACK, alice, seed=2)).model_version == "2-test"
        # the late wrong-kind file is refused by the next reload, the validated model stays
        assert "kept 2-test" in (await service.models.reload())["acgan"]
    finally:
        await service.close()
