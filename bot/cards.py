"""The features card: a bar chart of the 10 audio features that conditioned a cover.

People would rather look than read. Drawn at 800 px wide so that it stays legible when
chat clients scale it down to ~400-550 px: each row shows the feature name, a bar placed
within the feature's range, and the raw value with its unit. Missing features are a grey
"unknown" row, never a made-up bar.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw, ImageFont

from albumgan.bot.imaging import to_png
from albumgan.bot.types import FeatureReport
from albumgan.labels import DEFAULT_SCHEMA, FeatureSpec, LabelSchema

WIDTH = 800
ROW_H = 46
TOP = 104
BAR_X0, BAR_X1 = 252, 600
BG = (32, 34, 37)
TEXT = (242, 243, 245)
MUTED = (148, 155, 164)
TRACK = (54, 57, 63)
UNKNOWN = (88, 92, 99)
PALETTE = [
    (88, 101, 242),
    (235, 69, 158),
    (87, 242, 135),
    (254, 231, 92),
    (237, 66, 69),
    (69, 196, 237),
    (250, 166, 26),
    (155, 132, 236),
    (46, 204, 113),
    (241, 196, 15),
]


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # DejaVu covers far more of the world's track names than Pillow's built-in font
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def format_value(spec: FeatureSpec, value: float | None) -> str:
    """A raw feature value as people read it: "0.74", "-7.2 dB", "128 BPM", "62"."""
    if value is None:
        return "unknown"
    if spec.unit == "BPM":
        return f"{value:.0f} BPM"
    if spec.unit:
        return f"{value:.1f} {spec.unit}"
    if spec.high - spec.low > 1:
        return f"{value:.0f}"
    return f"{value:.2f}"


def render_features_card(
    values: Mapping[str, float | None],
    *,
    title: str,
    subtitle: str = "",
    sources: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    fitted: Mapping[str, float] | None = None,
    schema: LabelSchema = DEFAULT_SCHEMA,
    parameters: Mapping[str, object] | None = None,
) -> bytes:
    """PNG bytes of the card (carrying `parameters`: imaging.png_text). `values` are raw
    feature values by name (None = unknown); `fitted` the values the model was given instead,
    drawn as a white tick on their bars."""
    fitted = fitted or {}
    big, mid, small = _font(30), _font(24), _font(19)
    footer_lines = [
        line for note in (_sources_line(sources or {}), *notes) if note for line in _wrap(note, small, WIDTH - 48)
    ]
    height = TOP + ROW_H * len(schema) + 16 + 30 * len(footer_lines) + 12
    image = Image.new("RGB", (WIDTH, height), BG)
    draw = ImageDraw.Draw(image)

    draw.text((24, 18), _fit(draw, title, big, WIDTH - 48), font=big, fill=TEXT)
    if subtitle:
        draw.text((24, 58), _fit(draw, subtitle, mid, WIDTH - 48), font=mid, fill=MUTED)

    for i, spec in enumerate(schema.features):
        y = TOP + i * ROW_H
        value = values.get(spec.name)
        known = value is not None
        draw.text((24, y + 8), spec.name, font=mid, fill=TEXT if known else MUTED)
        draw.rounded_rectangle((BAR_X0, y + 10, BAR_X1, y + 36), radius=6, fill=TRACK)
        if value is not None:
            x1 = _bar_x(spec, value)
            draw.rounded_rectangle((BAR_X0, y + 10, x1, y + 36), radius=6, fill=PALETTE[i % len(PALETTE)])
            if spec.name in fitted:
                tick = _bar_x(spec, fitted[spec.name])
                draw.rectangle((tick - 2, y + 4, tick + 2, y + 42), fill=TEXT)
        else:
            _hatch(draw, (BAR_X0, y + 10, BAR_X1, y + 36))
        draw.text((BAR_X1 + 16, y + 8), format_value(spec, value), font=mid, fill=TEXT if known else MUTED)

    y = TOP + ROW_H * len(schema) + 16
    for line in footer_lines:
        draw.text((24, y), _fit(draw, line, small, WIDTH - 48), font=small, fill=MUTED)
        y += 30
    # optimize=True tries every filter: 4x the CPU for a 4% smaller file (bot_load benchmark)
    return to_png(image, parameters, compress_level=6)


def _bar_x(spec: FeatureSpec, value: float) -> int:
    """Where `value` ends on its bar (at least a stub, so a zero still shows its colour)."""
    share = (min(max(value, spec.low), spec.high) - spec.low) / (spec.high - spec.low)
    return BAR_X0 + max(12, round(share * (BAR_X1 - BAR_X0)))


def _sources_line(sources: Mapping[str, str]) -> str:
    if not sources:
        return ""
    counts = Counter(sources.values())
    parts = [f"{name} ({n})" for name, n in counts.most_common()]
    return "features from " + ", ".join(parts)


def _hatch(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    for x in range(x0 - (y1 - y0), x1, 14):
        draw.line(
            (max(x, x0), y1 - max(0, x0 - x), min(x + (y1 - y0), x1), y0 + max(0, x + (y1 - y0) - x1)),
            fill=UNKNOWN,
            width=3,
        )


def _wrap(text: str, font, max_width: int, max_lines: int = 3) -> list[str]:
    """`text` in lines of whole words that fit `max_width`; the last one cut with "…" if
    there is more (a note names at most a few features, so three lines hold it)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [" ".join(lines[max_lines - 1 :])]
    return lines


def _fit(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> str:
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=font) > max_width:
        text = text[:-1]
    return text + "…"


def features_summary(report: FeatureReport) -> str:
    """The features that conditioned a cover as chat text (values formatted as on the card),
    plus how many tracks were averaged and what was missing."""
    specs = {spec.name: spec for spec in DEFAULT_SCHEMA.features}
    present = [
        f"{name} {format_value(specs[name], value)}"
        for name, value in report.values.items()
        if value is not None and name in specs
    ]
    lines = [" · ".join(present) if present else "no audio features found"]
    if report.tracks_total > 1 or report.tracks_used != report.tracks_total:
        lines.append(f"averaged over {report.tracks_used} of {report.tracks_total} tracks")
    lines += [note for note in (report.missing_note, fitted_note(report)) if note]
    return "\n".join(lines)


def fitted_note(report: FeatureReport) -> str:
    """Which values lay outside what the model learned, and what it was given instead."""
    if not report.fitted:
        return ""
    if len(report.fitted) > 3:
        return f"{len(report.fitted)} features beyond what the model learned: it was given the nearest it knows"
    specs = {spec.name: spec for spec in DEFAULT_SCHEMA.features}
    used = ", ".join(f"{name} {format_value(specs[name], value)}" for name, value in report.fitted.items())
    return f"beyond what the model learned, it was given {used}"
