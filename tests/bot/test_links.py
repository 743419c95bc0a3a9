"""Every Spotify link form people paste, and every way to paste the wrong thing."""

import asyncio

import pytest
from aiohttp import web

from albumgan.bot.links import LinkResolver
from albumgan.bot.types import UserError
from albumgan.links import LinkError, ShortLink, SpotifyRef, expect_kind, parse_link

TRACK = "6rqhFgbbKwnb9MLmUQDhG6"
ALBUM = "4aawyAB9vmqN3uQ7FjRGTy"
OTHER = "37i9dQZF1DXcBWIGoYBM5M"

GOOD = [
    (f"https://open.spotify.com/track/{TRACK}", "track", TRACK),
    (f"https://open.spotify.com/track/{TRACK}?si=22cad793e8e248fe", "track", TRACK),
    (f"https://open.spotify.com/track/{TRACK}?si=abc&utm_source=copy-link&dl_branch=1", "track", TRACK),
    (f"https://open.spotify.com/intl-de/track/{TRACK}?si=x", "track", TRACK),
    (f"https://open.spotify.com/intl-pt-BR/track/{TRACK}", "track", TRACK),
    (f"open.spotify.com/track/{TRACK}", "track", TRACK),
    (f"http://open.spotify.com/track/{TRACK}", "track", TRACK),
    (f"spotify:track:{TRACK}", "track", TRACK),
    (f"https://open.spotify.com/embed/track/{TRACK}", "track", TRACK),
    (f"https://open.spotify.com/embed/track/{TRACK}?utm_source=generator", "track", TRACK),
    (f"https://embed.spotify.com/?uri=spotify:track:{TRACK}", "track", TRACK),
    (f"https://embed.spotify.com/?uri=spotify%3Atrack%3A{TRACK}", "track", TRACK),
    (f"https://play.spotify.com/track/{TRACK}", "track", TRACK),
    (f"  <https://open.spotify.com/track/{TRACK}>  ", "track", TRACK),
    (f"\n\t https://open.spotify.com/track/{TRACK}#anchor\n", "track", TRACK),
    (f"check this out https://open.spotify.com/track/{TRACK}?si=1 so good", "track", TRACK),
    (f"||https://open.spotify.com/track/{TRACK}||", "track", TRACK),
    (f"[song](https://open.spotify.com/track/{TRACK})", "track", TRACK),
    (f"https://OPEN.SPOTIFY.COM/track/{TRACK}", "track", TRACK),
    (f"https://open.spotify.com/album/{ALBUM}?si=q", "album", ALBUM),
    (f"https://open.spotify.com/intl-fr/album/{ALBUM}", "album", ALBUM),
    (f"spotify:album:{ALBUM}", "album", ALBUM),
    (f"https://open.spotify.com/embed/album/{ALBUM}", "album", ALBUM),
    (f"https://open.spotify.com/playlist/{OTHER}?si=1", "playlist", OTHER),
    (f"spotify:user:someone:playlist:{OTHER}", "playlist", OTHER),
    (f"https://open.spotify.com/user/someone/playlist/{OTHER}", "playlist", OTHER),
    (f"https://open.spotify.com/artist/{OTHER}", "artist", OTHER),
    (f"https://open.spotify.com/episode/{OTHER}", "episode", OTHER),
    (f"https://open.spotify.com/embed-podcast/episode/{OTHER}", "episode", OTHER),
    (f"https://open.spotify.com/show/{OTHER}", "show", OTHER),
    ("https://open.spotify.com/user/spotify", "user", "spotify"),
]


@pytest.mark.parametrize(("text", "kind", "ident"), GOOD)
def test_link_forms_parse(text, kind, ident):
    assert parse_link(text) == SpotifyRef(kind, ident)


@pytest.mark.parametrize(
    "text",
    [
        "https://spotify.link/jMOB2J5UTyb",
        "spotify.link/jMOB2J5UTyb",
        "https://spoti.fi/3xYzAbC",
        "https://link.tospotify.com/VM2myZxXwbb",
        "https://open.spotify.com/s/2czejYu",
        "<https://spotify.link/jMOB2J5UTyb>",
    ],
)
def test_short_links_are_recognised(text):
    assert isinstance(parse_link(text), ShortLink)


def test_bare_id_means_the_expected_kind():
    assert parse_link(TRACK, bare_id_kind="track") == SpotifyRef("track", TRACK)
    assert parse_link(f" <{ALBUM}> ", bare_id_kind="album") == SpotifyRef("album", ALBUM)
    with pytest.raises(LinkError):
        parse_link(TRACK)


@pytest.mark.parametrize(
    ("text", "want", "says"),
    [
        (
            f"https://open.spotify.com/playlist/{OTHER}",
            "track",
            "That's a playlist link: /cover needs a track link like https://open.spotify.com/track/",
        ),
        (f"https://open.spotify.com/artist/{OTHER}", "track", "pick one of their songs"),
        (f"https://open.spotify.com/episode/{OTHER}", "track", "podcasts have no audio features"),
        (f"https://open.spotify.com/show/{OTHER}", "track", "podcasts"),
        ("https://open.spotify.com/user/spotify", "track", "That's a user link"),
        (f"https://open.spotify.com/album/{ALBUM}", "track", "use /album for a whole album"),
        (f"https://open.spotify.com/track/{TRACK}", "album", "use /cover for one track"),
        (
            f"https://open.spotify.com/playlist/{OTHER}",
            "album",
            "/album needs an album link like https://open.spotify.com/album/",
        ),
        (f"https://open.spotify.com/artist/{OTHER}", "album", "That's an artist link"),
    ],
)
def test_wrong_kinds_say_what_to_paste(text, want, says):
    ref = parse_link(text)
    with pytest.raises(LinkError) as info:
        expect_kind(ref, want)
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Paste a Spotify link"),
        ("   ", "Paste a Spotify link"),
        ("hello there", "couldn't find a Spotify link"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "couldn't find a Spotify link"),
        ("https://open.spotify.com/", "couldn't find a Spotify link"),
        ("https://open.spotify.com/track/abc", "looks cut off"),
        (f"https://open.spotify.com/track/{TRACK[:-1]}", "looks cut off"),
        (f"https://open.spotify.com/track/{TRACK}x", "looks cut off"),
        ("https://open.spotify.com/track/", "looks cut off"),
        ("spotify:track:", "looks cut off"),
        ("spotify:track:not-an-id!", "looks cut off"),
        ("@everyone " + "x" * 10_000, "10,010 characters"),
    ],
)
def test_garbage_gets_a_clear_message(text, says):
    with pytest.raises(LinkError) as info:
        parse_link(text, bare_id_kind="track")
    message = str(info.value)
    assert says in message
    assert len(message) < 300 and "xxxx" not in message and "@everyone" not in message


# -- short links over HTTP against a local fake of the short-link hosts -----------------


@pytest.fixture
async def short_link_server():
    hits = []

    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.path
        hits.append((path, request.headers.get("User-Agent")))
        routes = {
            "/spotify.link/track1": f"https://open.spotify.com/track/{TRACK}?si=abc",
            "/spoti.fi/hop": "https://spotify.link/track1",
            "/spotify.link/list": f"https://open.spotify.com/playlist/{OTHER}?si=1",
            "/spotify.link/loop": "https://spotify.link/loop",
            "/spotify.link/away": "https://example.com/somewhere",
            "/open.spotify.com/s/abc": f"/album/{ALBUM}",
        }
        if path in routes:
            raise web.HTTPFound(routes[path])
        if path == "/spotify.link/html":
            return web.Response(
                text=f'<html><a href="https://open.spotify.com/track/{TRACK}?si=z">open</a></html>',
                content_type="text/html",
            )
        if path == "/spotify.link/slow":
            await asyncio.sleep(1.0)  # past the resolver's 0.5 s timeout
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    resolver = LinkResolver(short_link_base=f"http://127.0.0.1:{port}", timeout_s=0.5, max_redirects=3)
    yield resolver, hits
    await resolver.close()
    await runner.cleanup()


async def test_short_link_follows_redirects(short_link_server):
    resolver, hits = short_link_server
    assert await resolver.resolve("https://spotify.link/track1", "track") == SpotifyRef("track", TRACK)
    assert await resolver.resolve("https://spoti.fi/hop", "track") == SpotifyRef("track", TRACK)
    assert await resolver.resolve("https://open.spotify.com/s/abc", "album") == SpotifyRef("album", ALBUM)
    assert await resolver.resolve("https://spotify.link/html", "track") == SpotifyRef("track", TRACK)
    assert ("/spoti.fi/hop", "curl/8.5.0") in hits


async def test_full_links_need_no_http(short_link_server):
    resolver, hits = short_link_server
    assert await resolver.resolve(f"spotify:track:{TRACK}", "track") == SpotifyRef("track", TRACK)
    assert hits == []


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("https://spotify.link/list", "That's a playlist link: /cover needs a track link"),
        ("https://spotify.link/loop", "doesn't lead to a Spotify track or album"),
        ("https://spotify.link/away", "doesn't lead to a Spotify track or album"),
        ("https://spotify.link/gone", "doesn't exist"),
        ("https://spotify.link/slow", "couldn't open that Spotify short link"),
    ],
)
async def test_bad_short_links(short_link_server, link, says):
    resolver, _ = short_link_server
    with pytest.raises(UserError) as info:
        await resolver.resolve(link, "track")
    assert says in str(info.value)
