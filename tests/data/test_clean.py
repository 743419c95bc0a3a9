"""Cleaning: odd and broken images, crop/resize, near-duplicate merging, grouping, filters."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from albumgan.training.data.clean import (
    CleanConfig,
    NearDuplicateIndex,
    Rejected,
    SourceRecord,
    build_dataset,
    decode,
    dhash,
    square_resize,
    thumbnail,
)
from albumgan.training.data.format import ShardedDataset
from fakes.spotify import render_cover


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_truncated_and_garbage_images_are_rejected_with_a_reason():
    data = encode(render_cover(1, 128))
    with pytest.raises(Rejected) as info:
        decode(data[: len(data) // 2])
    assert info.value.reason == "truncated"
    with pytest.raises(Rejected) as info:
        decode(b"<html>not an image</html>")
    assert info.value.reason == "unreadable"
    with pytest.raises(Rejected) as info:
        decode(encode(render_cover(1, 16)), min_size=32)
    assert info.value.reason == "too-small"


def test_cmyk_grayscale_and_16_bit_become_rgb():
    red = Image.new("RGB", (40, 40), (200, 30, 30))
    cmyk = decode(encode(red.convert("CMYK"), quality=95))
    assert cmyk.mode == "RGB" and np.allclose(np.asarray(cmyk)[20, 20], (200, 30, 30), atol=12)
    gray = np.asarray(decode(encode(Image.new("L", (40, 40), 90))))
    assert gray.shape == (40, 40, 3) and (gray == gray[..., :1]).all()
    deep = Image.fromarray(np.full((40, 40), 40000, np.uint16))
    assert np.asarray(decode(encode(deep, "PNG")))[0, 0].tolist() == [156, 156, 156]  # 40000 / 257


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (40, 40), (0, 0, 255, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half fully transparent
    for image in (rgba, rgba.convert("LA")):
        pixels = np.asarray(decode(encode(image, "PNG")))
        assert pixels[10, 5].tolist() == [255, 255, 255]
    palette = rgba.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    transparent = palette.getpixel((0, 0))
    pixels = np.asarray(decode(encode(palette, "PNG", transparency=transparent)))
    assert pixels[10, 5].tolist() == [255, 255, 255] and pixels[10, 35].tolist() == [0, 0, 255]


def test_non_square_is_centre_cropped_then_resized_with_antialiasing():
    wide = np.zeros((60, 120, 3), np.uint8)
    wide[:, :30] = (255, 0, 0)
    wide[:, 90:] = (255, 0, 0)
    wide[:, 30:90] = (0, 200, 0)
    out = square_resize(Image.fromarray(wide), 16)
    assert out.shape == (16, 16, 3) and (out[..., 1] > 180).all() and (out[..., 0] < 20).all()
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: antialiasing averages them to grey
    small = square_resize(Image.fromarray(stripes), 8)
    assert np.abs(small.astype(int) - 128).max() < 20


def test_near_duplicate_index_agrees_with_brute_force():
    rng = random.Random(0)
    kept: list[int] = []
    index = NearDuplicateIndex(4)
    for _ in range(400):
        value = rng.getrandbits(64) if rng.random() < 0.5 or not kept else kept[rng.randrange(len(kept))] ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
        brute = next((i for i, k in enumerate(kept) if (k ^ value).bit_count() <= 4), None)
        found = index.find(value)
        assert (found is None) == (brute is None)
        if found is None:
            assert index.add(value) == len(kept)
            kept.append(value)


def test_flat_covers_with_close_hashes_are_not_merged():
    blank = Image.new("RGB", (64, 64), (250, 215, 235))
    texted = Image.new("RGB", (64, 64), (255, 255, 255))
    ImageDraw.Draw(texted).text((20, 30), "lo-fi", fill=(0, 0, 0))
    index = NearDuplicateIndex(4)
    index.add(dhash(blank), thumbnail(blank))
    assert (dhash(blank) ^ dhash(texted)).bit_count() <= 4  # the hash alone would merge them
    assert index.find(dhash(texted), thumbnail(texted)) is None
    copy = decode(encode(blank, quality=60))
    assert index.find(dhash(copy), thumbnail(copy)) == 0


def test_dhash_sees_reencoded_copies_as_near_and_other_covers_as_far():
    cover = render_cover(5, 256)
    copy = decode(encode(cover.resize((200, 200)), quality=50))
    assert (dhash(cover) ^ dhash(copy)).bit_count() <= 4
    assert min((dhash(cover) ^ dhash(render_cover(s, 256))).bit_count() for s in range(6, 30)) > 8


def make_records(tmp_path):
    """Five image files: two distinct covers, an exact copy, a near copy, a broken file."""
    files = {
        "a.jpg": encode(render_cover(1, 96)),
        "b.png": encode(render_cover(2, 96), "PNG"),
        "a-copy.jpg": encode(render_cover(1, 96)),
        "a-near.jpg": encode(render_cover(1, 96).resize((80, 80)), quality=40),
        "broken.jpg": encode(render_cover(3, 96))[:700],  # about half of it
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    rows = [
        ("t1", "a.jpg", 10, "x", 1990), ("t2", "a.jpg", 30, "y", 1990), ("t3", "b.png", 80, "x", 2010),
        ("t4", "a-copy.jpg", 50, "x", 1990), ("t5", "a-near.jpg", None, "", 1990), ("t6", "broken.jpg", 5, "x", 2000),
    ]  # fmt: skip
    return [
        SourceRecord(id=i, image_key=k, cover_id=k.split(".")[0], release_year=y, features={"popularity": p}, sources={"popularity": s} if p is not None else {})
        for i, k, p, s, y in rows
    ]


def test_build_merges_duplicates_and_averages_features(tmp_path):
    records = make_records(tmp_path)
    path, report = build_dataset(records, lambda k: (tmp_path / k).read_bytes(), tmp_path / "ds", CleanConfig(resolutions=(16,)))
    assert report.rejected == {"truncated": 1} and report.exact_duplicates == 1 and report.near_duplicates == 1
    data = ShardedDataset(path)
    assert [it.id for it in data.items] == ["a", "b"]
    a = data.items[0]
    assert a.features["popularity"] == pytest.approx(30.0)  # mean of t1, t2, t4 (t5 has none)
    assert a.feature_sources["popularity"] == "mean:x+y"
    assert data.items[1].feature_sources["popularity"] == "x"
    assert data.manifest["provenance"]["build"]["near_duplicates"] == 1


def test_track_unit_and_filters(tmp_path):
    records = make_records(tmp_path)
    config = CleanConfig(resolutions=(8,), unit="track", popularity_range=(20, 100), year_range=(1980, 2000))
    path, report = build_dataset(records, lambda k: (tmp_path / k).read_bytes(), tmp_path / "ds", config)
    data = ShardedDataset(path)
    assert [it.id for it in data.items] == ["t2", "t4"]  # t1 too unpopular, t3 too recent, t5 unknown
    assert report.filtered == {"popularity out of range": 1, "release year out of range": 1, "popularity unknown": 1}
    assert (data.batch(np.array([0])) == data.batch(np.array([1]))).all()  # both show cover a


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="resolutions"):
        CleanConfig(resolutions=())
    with pytest.raises(ValueError, match="unit"):
        CleanConfig(unit="album")
