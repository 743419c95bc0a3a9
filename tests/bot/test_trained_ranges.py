"""Songs beyond what the ACGAN learned: a model file records each feature's trained range,
the bot gives the model the nearest value inside it, and the reply shows both the song's
value and what the model was given."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from albumgan.bot.cards import BAR_X0, BAR_X1, TEXT, TOP, features_summary
from albumgan.bot.cli import main
from albumgan.bot.engine import Engine, ModelError
from albumgan.bot.imaging import read_png_text
from albumgan.labels import DEFAULT_SCHEMA, SchemaError, TrainedRanges
from albumgan.modelfile import KEY_DATASET
from tests.bot.test_engine import metadata_of, rewrite
from tests.service_fixtures import REPO, make_config

TEMPO = DEFAULT_SCHEMA.names.index("tempo")
DEMO_TRACK = "spotify:track:0DemoTrack000000000001"


def with_ranges(source, target, ranges) -> object:
    """A copy of a model whose dataset description records `ranges`."""
    dataset = json.loads(metadata_of(source)[KEY_DATASET])
    return rewrite(source, target, props={KEY_DATASET: json.dumps({**dataset, "label_ranges": ranges})})


def test_fit_moves_only_present_values_outside_their_range():
    ranges = TrainedRanges({"tempo": (110.0, 135.0), "energy": (0.3, 0.8)})
    fitted, moved = ranges.fit({"tempo": 180.0, "energy": 0.5, "valence": 0.9, "liveness": None})
    assert fitted == {"tempo": 135.0, "energy": 0.5, "valence": 0.9, "liveness": None}
    assert moved == {"tempo": (180.0, 135.0)}
    assert ranges.fit({"tempo": math.nan, "energy": 0.1})[1] == {"energy": (0.1, 0.3)}
    assert TrainedRanges().fit({"tempo": 999.0}) == ({"tempo": 999.0}, {})


def test_observed_ranges_skip_missing_values_and_clip_into_the_schema():
    rows = [{"tempo": 120.0, "energy": None}, {"tempo": 300.0, "energy": 0.4}, {"tempo": 90.0, "energy": math.nan}]
    assert DEFAULT_SCHEMA.observed_ranges(rows).to_dict() == {"tempo": [90.0, 220.0], "energy": [0.4, 0.4]}


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ({"colour": [0, 1]}, r"'colour', which is not a feature"),
        ({"tempo": [135, 110]}, r"'tempo' must be \[low, high\] with low <= high"),
        ({"tempo": [110]}, r"'tempo' must be \[low, high\]"),
        ({"tempo": ["110", 135]}, r"'tempo' must be \[low, high\]"),
        ([110, 135], r"must be an object"),
    ],
)
def test_malformed_ranges_are_refused(ranges, expected):
    with pytest.raises(SchemaError, match=expected):
        TrainedRanges.from_dict(ranges, DEFAULT_SCHEMA)


def test_a_model_file_with_malformed_ranges_is_a_model_error(tmp_path, tiny_models):
    bad = with_ranges(tiny_models["acgan"], tmp_path / "bad.onnx", {"tempo": [135, 110]})
    with pytest.raises(ModelError, match=r"bad\.onnx: trained range for 'tempo'"):
        Engine.load(bad)


def test_model_files_without_ranges_feed_values_as_they_are(tiny_models):
    info = Engine.load(tiny_models["acgan"]).info
    assert info.trained_ranges.bounds == {}
    labels, _ = info.encode({"tempo": 200.0})
    assert labels[TEMPO] == pytest.approx(DEFAULT_SCHEMA.features[TEMPO].normalise(200.0))


async def test_a_song_beyond_the_trained_range_gets_the_nearest_and_the_reply_says_so(
    tmp_path, tiny_models, catalog, fake_spotify, fake_recco, open_service, alice
):
    track = next(t for t in catalog.tracks.values() if t.reccobeats_knows)
    tempo = track.features["tempo"]
    low = min(tempo + 15.0, 219.0)  # the model only ever heard faster music
    model = with_ranges(tiny_models["acgan"], tmp_path / "acgan.onnx", {"tempo": [low, 220.0], "energy": [0.0, 1.0]})
    config = make_config(tmp_path, {**tiny_models, "acgan": model}, spotify=fake_spotify, recco=fake_recco)
    service = await open_service(config)

    result = await service.cover(f"spotify:track:{track.id}", alice, seed=11)
    report = result.features
    assert report.values["tempo"] == pytest.approx(tempo)  # the song as it is
    assert report.fitted == {"tempo": pytest.approx(low)}  # what the model was given
    stored = await service.db.get_generation(result.generation_id)
    expected, _ = DEFAULT_SCHEMA.encode({**report.values, "tempo": low})
    np.testing.assert_allclose(stored.labels, expected, atol=1e-6)
    assert f"beyond what the model learned, it was given tempo {low:.0f} BPM" in features_summary(report)
    assert json.loads(read_png_text(result.image_png)["features_given"]) == {"tempo": pytest.approx(low)}

    card = np.asarray(Image.open(io.BytesIO(result.card_png)).convert("RGB")).astype(int)
    spec = DEFAULT_SCHEMA.features[TEMPO]
    tick_x = BAR_X0 + round((low - spec.low) / (spec.high - spec.low) * (BAR_X1 - BAR_X0))
    above_bar = TOP + TEMPO * 46 + 6  # the tick stands out of the bar; nothing else is drawn there
    assert tuple(card[above_bar, tick_x]) == TEXT
    assert not (card[above_bar, BAR_X0:BAR_X1] == TEXT).all(axis=1)[: tick_x - BAR_X0 - 3].any()

    # a variation of the stored cover keeps the conditions it was made with, and says so again
    varied = await service.variation(result.generation_id, alice)
    again = await service.db.get_generation(varied.generation_id)
    np.testing.assert_allclose(again.labels, expected, atol=1e-6)
    assert varied.features.fitted == report.fitted


def test_the_command_line_shows_the_ranges_and_what_a_song_was_given(tmp_path, tiny_models, capsys):
    model = with_ranges(tiny_models["acgan"], tmp_path / "acgan.onnx", {"tempo": [120.0, 130.0]})
    config = tmp_path / "bot.toml"
    config.write_text(
        f"""
[models]
unconditional = "{tiny_models["unconditional"]}"
acgan = "{model}"
[features]
local_path = "{REPO / "models" / "demo-tracks.csv"}"
[database]
path = "state/bot.sqlite3"
""",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "about"]) == 0
    assert "trained on tempo 120 BPM to 130 BPM; songs beyond are given the nearest" in capsys.readouterr().out
    # the demo catalogue's first track is 113.4 BPM
    assert main(["--config", str(config), "cover", DEMO_TRACK, "-o", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "113 BPM" in out and "(model given 120 BPM)" in out
    assert "note: beyond what the model learned, it was given tempo 120 BPM" in out
