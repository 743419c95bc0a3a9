"""The features card: 10 labelled rows, missing ones greyed, units, readable size."""

import io

import numpy as np
from PIL import Image

from albumgan.bot.cards import format_value, render_features_card
from albumgan.labels import DEFAULT_SCHEMA

VALUES = {
    "popularity": None,
    "danceability": 0.74,
    "acousticness": 0.1,
    "energy": 1.0,
    "instrumentalness": 0.0,
    "liveness": 0.12,
    "loudness": -7.2,
    "speechiness": 0.05,
    "tempo": 128.0,
    "valence": 0.6,
}


def test_values_read_with_units():
    spec = {s.name: s for s in DEFAULT_SCHEMA.features}
    assert format_value(spec["loudness"], -7.24) == "-7.2 dB"
    assert format_value(spec["tempo"], 127.6) == "128 BPM"
    assert format_value(spec["popularity"], 61.7) == "62"
    assert format_value(spec["energy"], 0.7449) == "0.74"
    assert format_value(spec["energy"], None) == "unknown"


def test_card_draws_known_bars_in_colour_and_unknown_in_grey():
    png = render_features_card(
        VALUES,
        title="Demo Song",
        subtitle="Demo Artist",
        sources={"energy": "reccobeats"},
        notes=["popularity unknown"],
    )
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    height, width, _ = image.shape
    assert width == 800 and 500 < height < 800  # legible when chat scales it to ~400 px

    def row_pixels(i):  # the bar track of row i, left to right
        y = 104 + i * 46 + 23
        return image[y, 260:595]

    def saturation(pixels):
        return (pixels.max(axis=1) - pixels.min(axis=1)).mean()

    energy = row_pixels(3)  # 1.0 fills the whole bar with colour
    popularity = row_pixels(0)  # unknown: grey hatching only, no colour
    valence = row_pixels(9)
    assert saturation(energy) > 100
    assert saturation(popularity) < 10
    # valence 0.6: coloured on the left, the empty track on the right
    assert saturation(valence[:150]) > 100 and saturation(valence[-100:]) < 10


def test_long_and_unicode_titles_fit():
    png = render_features_card(VALUES, title="Ünïcødé — " + "very long title " * 30)
    assert Image.open(io.BytesIO(png)).size[0] == 800


def test_long_notes_wrap_onto_more_lines_instead_of_being_cut():
    def height(note: str) -> int:
        return Image.open(io.BytesIO(render_features_card(VALUES, title="Song", notes=[note]))).size[1]

    one_line = height("popularity unknown")
    assert height("energy 0.76, " * 8) == one_line + 30  # two lines
    assert height("energy 0.76, " * 100) == one_line + 2 * 30  # three at most, the last cut
