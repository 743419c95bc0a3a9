"""Make the pictures in docs/DISCORD.md and docs/SLACK.md from what people really receive:
`python scripts/doc_screenshots.py` runs the real bot (the shipped 64 px models, the real
discord.py client and slack-bolt app) against the loopback fakes of Discord, Slack, Spotify
and ReccoBeats, sends /cover, Pick and /blend, and saves the files the fakes received
(the grid, the features card, the blend strip) under docs/img/, shrunk to small PNGs.

Deterministic: a song's first grid is always the same (its song seed), so re-running only
changes the pictures when the models or the rendering change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fakes/ and tests/ helpers

from albumgan.bot.config import DiscordConfig, ModelsConfig, SlackConfig  # noqa: E402
from albumgan.bot.discord_app import make_bot  # noqa: E402
from albumgan.bot.service import CoverService  # noqa: E402
from albumgan.bot.slack_app import SlackFrontend  # noqa: E402
from fakes.discord import FakeDiscord  # noqa: E402
from fakes.reccobeats import FakeReccoBeats  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from fakes.spotify import FakeSpotify, make_catalog  # noqa: E402
from tests.service_fixtures import SPOTIFY_SECRETS, make_config  # noqa: E402

OUT = REPO / "docs" / "img"
WIDTH = {"grid": 480, "card": 480, "blend": 720}  # px wide in the docs


def save(name: str, data: bytes) -> None:
    """A received PNG, shrunk to the docs' width (palette PNG: a few tens of kB)."""
    kind = name.split("-", 1)[1]
    image = Image.open(io.BytesIO(data)).convert("RGB")
    height = round(image.height * WIDTH[kind] / image.width)
    small = image.resize((WIDTH[kind], height), Image.Resampling.LANCZOS).quantize(256)
    path = OUT / f"{name}.png"
    small.save(path, optimize=True)
    print(f"{path.relative_to(REPO)}: {small.width}x{small.height}, {path.stat().st_size // 1024} kB")


async def discord_pictures(service: CoverService, track: str, album: str) -> None:
    async with FakeDiscord() as fake:
        with fake.patched():
            bot = make_bot(service, DiscordConfig(), guild_ready_timeout=0)
            task = asyncio.create_task(bot.start(fake.token))  # type: ignore[attr-defined]
            await fake.wait_for_connections(1)
            await bot.wait_until_ready()  # type: ignore[attr-defined]
            grid = await (await fake.send_interaction(fake.slash_command("cover", {"link": track}))).wait_final()
            save("discord-grid", grid.file("cover.png"))
            save("discord-card", grid.file("features.png"))
            options = {"a": track, "b": album}
            blend = await (await fake.send_interaction(fake.slash_command("blend", options))).wait_final()
            save("discord-blend", blend.file("blend.png"))
            await bot.close()  # type: ignore[attr-defined]
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def slack_pictures(service: CoverService, track: str, album: str) -> None:
    async with FakeSlack() as fake:
        frontend = SlackFrontend(
            service, SlackConfig(api_base=fake.api_base), bot_token=fake.bot_token, app_token=fake.app_token
        )
        await frontend.start()
        await fake.wait_connected(1)
        log = await fake.send_command("/album", album)
        await log.wait_final()
        save("slack-grid", log.upload().file("cover.png"))
        save("slack-card", log.upload().file("features.png"))
        log = await fake.send_command("/blend", f"{album} seed:7", user_id="U0BLEND")
        await log.wait_for(lambda log: bool(log.uploads))
        save("slack-blend", log.upload().file("blend.png"))
        await frontend.close()


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    catalog = make_catalog(n_albums=3, tracks_per_album=7, seed=5)
    track = f"https://open.spotify.com/track/{list(catalog.tracks)[0]}"
    album = f"https://open.spotify.com/album/{catalog.album_list[1].id}"
    with FakeSpotify(catalog) as spotify, FakeReccoBeats(catalog) as recco, tempfile.TemporaryDirectory() as tmp:
        config = dataclasses.replace(
            make_config(Path(tmp), {"unconditional": "", "acgan": ""}, spotify=spotify, recco=recco),
            models=ModelsConfig(
                unconditional=str(REPO / "models" / "unconditional-64.onnx"),
                acgan=str(REPO / "models" / "acgan-64.onnx"),
            ),
        )
        async with CoverService.from_config(config, secrets=SPOTIFY_SECRETS) as service:
            await discord_pictures(service, track, album)
            await slack_pictures(service, track, album)


if __name__ == "__main__":
    asyncio.run(main())
