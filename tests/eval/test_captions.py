"""Every evaluation picture says what it shows: a caption band below the grid."""

import numpy as np
from PIL import Image

from albumgan.training.metrics.grids import image_grid, line_height, pair_grid, with_caption, wrap


def dark_pixels(pixels: np.ndarray) -> int:
    return int((pixels.min(axis=-1) < 100).sum())


def test_a_caption_is_a_band_below_the_untouched_picture():
    grid = image_grid(np.full((16, 16, 16, 3), 200, np.uint8), columns=8)
    captioned = with_caption(grid, "LEFT generated, RIGHT real. Model: tiny (unconditional), step 7.")
    assert captioned.width == grid.width and captioned.height > grid.height + line_height()
    pixels = np.asarray(captioned)
    assert (pixels[: grid.height] == np.asarray(grid)).all()
    assert dark_pixels(pixels[grid.height :]) > 20  # text in the band


def test_caption_text_wraps_to_the_picture_width_and_keeps_line_breaks():
    lines = wrap("one two three four five six seven eight nine ten\nnext", 60)
    assert len(lines) > 3 and lines[-1] == "next"
    narrow = with_caption(Image.new("RGB", (60, 10), "white"), "one two three four five six seven eight nine ten")
    wide = with_caption(Image.new("RGB", (600, 10), "white"), "one two three four five six seven eight nine ten")
    assert narrow.height > wide.height and narrow.width == 60


def test_pair_labels_are_written_under_their_pairs():
    left, right = np.full((5, 8, 8, 3), 255, np.uint8), np.full((5, 8, 8, 3), 255, np.uint8)
    plain = np.asarray(pair_grid(left, right, pairs_per_row=2))
    labelled = np.asarray(pair_grid(left, right, pairs_per_row=2, labels=[f"0.{k}" for k in range(5)]))
    assert labelled.shape[1] == plain.shape[1] and labelled.shape[0] == plain.shape[0] + 3 * line_height()
    assert dark_pixels(labelled[8 : 8 + line_height()]) > 0  # under the first row of pairs
    assert dark_pixels(labelled[:8]) == 0  # the covers themselves are untouched
