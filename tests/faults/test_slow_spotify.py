"""A slow Spotify must not starve /random (issue #14): covers wait for their lookups without
holding a generation slot, and in a thread pool of their own, not the one that renders PNGs.

Spotify's track lookups are held (not delayed) until the test lets them through, so each
test asserts an order of events: /random finishes while the covers are still waiting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from albumgan.bot.types import Requester
from tests.service_fixtures import make_config

pytestmark = pytest.mark.timeout(90)

HELD_LOOKUPS = r"^GET /v1/tracks/"
GUARD_S = 30.0  # a hang guard, not a latency figure: a starved /random waits until release


@pytest.fixture
def spotify_gate(fake_spotify):
    """Spotify answers track lookups only once the test sets this. Ask for the fakes, then
    `open_service`, then this: teardown then releases the lookups, closes the services
    (they finish admitted covers) and stops the fakes, in that order, even after a failure."""
    release = threading.Event()
    fake_spotify.inject(HELD_LOOKUPS, None, times=None, hold=release)
    yield release
    release.set()


def slow_spotify_config(tmp_path, tiny_models, fake_spotify, fake_recco, *, workers: int):
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco, workers=workers)
    # the held lookups must not time out while the test looks at what happens meanwhile
    return dataclasses.replace(config, spotify=dataclasses.replace(config.spotify, timeout_s=GUARD_S * 2))


async def covers_waiting_on_spotify(service, catalog, fake_spotify, count: int) -> list[asyncio.Task]:
    """`count` /cover requests from different people, each blocked in its Spotify lookup."""
    tasks = [
        asyncio.create_task(service.cover(f"spotify:track:{track_id}", Requester("discord", f"fan{i}"), seed=i))
        for i, track_id in enumerate(list(catalog.tracks)[:count])
    ]
    for _ in range(int(GUARD_S / 0.01)):
        if fake_spotify.count(HELD_LOOKUPS) == count:
            return tasks
        finished = [t for t in tasks if t.done()]
        assert not finished, finished[0].result()  # a cover that ended early: show why
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {fake_spotify.count(HELD_LOOKUPS)} of {count} covers reached Spotify")


async def random_meanwhile(service, covers: list[asyncio.Task]):
    random = asyncio.create_task(service.random(Requester("slack", "dj"), seed=5))
    await asyncio.wait({random}, timeout=GUARD_S)
    assert random.done(), "/random waited for covers whose Spotify lookups were still blocked"
    assert not any(c.done() for c in covers), "the covers' lookups were released too early"
    return random.result()


async def test_random_is_served_while_covers_waiting_on_spotify_are_as_many_as_the_slots(
    fake_spotify, fake_recco, open_service, spotify_gate, tmp_path, tiny_models, catalog
):
    # Two generation slots, two covers waiting on Spotify: a lookup must not hold a slot.
    service = await open_service(slow_spotify_config(tmp_path, tiny_models, fake_spotify, fake_recco, workers=2))
    covers = await covers_waiting_on_spotify(service, catalog, fake_spotify, 2)
    result = await random_meanwhile(service, covers)
    assert result.kind == "random" and result.image_png.startswith(b"\x89PNG")
    spotify_gate.set()
    done = await asyncio.gather(*covers)
    assert [r.kind for r in done] == ["cover"] * 2 and all(r.image_png.startswith(b"\x89PNG") for r in done)


async def test_random_renders_while_lookups_fill_asyncio_default_thread_pool(
    fake_spotify, fake_recco, open_service, spotify_gate, tmp_path, tiny_models, catalog
):
    # asyncio's default pool has min(32, cores + 4) threads; three is a small machine's share
    # taken up by three blocked lookups. Rendering /random's PNG must not need one of them.
    blocked = 3
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=blocked))
    service = await open_service(slow_spotify_config(tmp_path, tiny_models, fake_spotify, fake_recco, workers=8))
    covers = await covers_waiting_on_spotify(service, catalog, fake_spotify, blocked)
    result = await random_meanwhile(service, covers)
    assert result.image_png.startswith(b"\x89PNG")
    spotify_gate.set()
    assert len(await asyncio.gather(*covers)) == blocked
