"""Spotify links as people paste them -> (kind, id), with a message for everything else.

People paste share URLs with tracking (`?si=`), localised paths (`/intl-de/`), URIs
(`spotify:track:`), embeds, legacy web-player and user-playlist forms, mobile short links
(`spotify.link/...`, `spoti.fi/...`), and Discord wraps links in `<...>` to suppress
previews. We look for the first Spotify link anywhere in the text, so "check this out
https://open.spotify.com/track/..." works too.

Short links carry no id: we follow their redirects (without ever fetching open.spotify.com)
until a location parses as a normal link.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from bot.types import UserError

log = logging.getLogger(__name__)

ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")
MAX_INPUT_CHARS = 1000  # a URL with tracking is ~100; anything this long was not one link
EXAMPLE = {
    "track": "https://open.spotify.com/track/…",
    "album": "https://open.spotify.com/album/…",
}
COMMAND = {"track": "/cover", "album": "/album"}

_URL_RE = re.compile(
    r"(?:https?://)?(?:open|play)\.spotify\.com/(?P<path>[^\s<>\"'`|()\[\]]*)", re.IGNORECASE
)
_URI_RE = re.compile(r"spotify(?::|%3A)(?P<rest>[A-Za-z0-9:%._-]+)", re.IGNORECASE)
_SHORT_RE = re.compile(
    r"(?:https?://)?(?P<host>spotify\.link|spoti\.fi|link\.tospotify\.com)/[A-Za-z0-9_-]+",
    re.IGNORECASE,
)
_SHORT_HOSTS = ("spotify.link", "spoti.fi", "link.tospotify.com")
_KNOWN_KINDS = ("track", "album", "playlist", "artist", "episode", "show", "audiobook",
                "chapter", "user", "concert", "genre", "collection")


@dataclass(frozen=True)
class SpotifyRef:
    """A Spotify object named by a link: kind ("track", "album", "playlist", ...) and id."""

    kind: str
    id: str

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/{self.kind}/{self.id}"


@dataclass(frozen=True)
class ShortLink:
    """A short link whose target is only known after following its redirect."""

    url: str


def parse_link(text: str, *, bare_id_kind: str | None = None) -> SpotifyRef | ShortLink:
    """The first Spotify link in `text`; raises UserError when there is none.

    `bare_id_kind` says what a bare 22-character id means ("track" for /cover); None
    rejects bare ids. Kinds are not checked here: see `expect_kind`.
    """
    text = (text or "").strip()
    if not text:
        raise UserError(f"Paste a Spotify link, like {EXAMPLE['track']}")
    if len(text) > MAX_INPUT_CHARS:
        raise UserError(
            f"That's {len(text):,} characters: paste just one Spotify link, "
            f"like {EXAMPLE['track']}"
        )
    bare = text.strip("<>`'\" ")
    if bare_id_kind and ID_RE.match(bare):
        return SpotifyRef(bare_id_kind, bare)
    found = _first_match(text)
    if found is None:
        raise UserError(
            "I couldn't find a Spotify link in that. In Spotify use Share → Copy link; "
            f"a track link looks like {EXAMPLE['track']}"
        )
    return found


def expect_kind(ref: SpotifyRef, kind: str) -> SpotifyRef:
    """`ref` if it is a `kind` ("track" or "album"), else a UserError saying what to paste."""
    if ref.kind == kind:
        return ref
    raise UserError(_wrong_kind_message(ref.kind, kind))


def _first_match(text: str) -> SpotifyRef | ShortLink | None:
    candidates = []
    for regex, build in ((_URL_RE, _from_url_path), (_URI_RE, _from_uri), (_SHORT_RE, _from_short)):
        candidates.extend((m.start(), m, build) for m in regex.finditer(text))
    for _, m, build in sorted(candidates, key=lambda c: c[0]):
        found = build(m)
        if found is not None:
            return found
    return None


def _from_short(m: re.Match) -> ShortLink:
    url = m.group(0)
    return ShortLink(url if "://" in url else "https://" + url)


def _from_uri(m: re.Match) -> SpotifyRef | None:
    parts = [p for p in unquote(m.group("rest")).split(":") if p]
    # legacy spotify:user:<name>:playlist:<id>
    if len(parts) >= 4 and parts[0].lower() == "user" and parts[2].lower() == "playlist":
        return _ref("playlist", parts[3])
    if len(parts) >= 2:
        return _ref(parts[0].lower(), parts[1])
    if len(parts) == 1 and parts[0].lower() in _KNOWN_KINDS:
        raise _cut_off(parts[0].lower())
    return None


def _from_url_path(m: re.Match) -> SpotifyRef | ShortLink | None:
    raw_path = m.group("path")
    query = urlsplit("https://x/" + raw_path).query
    segments = [s for s in urlsplit("https://x/" + raw_path).path.split("/") if s]
    if segments and segments[0].lower().startswith("intl-"):
        segments = segments[1:]
    if segments and segments[0].lower() in ("embed", "embed-podcast"):
        segments = segments[1:]
    if not segments:
        # legacy embed.spotify.com/?uri=... and open.spotify.com/?uri=... carry a URI
        uri = _URI_RE.search(unquote(query))
        return _from_uri(uri) if uri else None
    head = segments[0].lower()
    if head == "s" and len(segments) >= 2:
        return ShortLink("https://open.spotify.com/s/" + segments[1])
    if head == "user" and len(segments) >= 4 and segments[2].lower() == "playlist":
        return _ref("playlist", segments[3])
    if head == "user":
        return SpotifyRef("user", segments[1] if len(segments) > 1 else "")
    if head not in _KNOWN_KINDS:
        return None
    if len(segments) < 2:
        raise _cut_off(head)
    return _ref(head, segments[1])


def _ref(kind: str, ident: str) -> SpotifyRef | None:
    kind = kind.lower()
    if kind not in _KNOWN_KINDS:
        return None
    if kind == "user":
        return SpotifyRef("user", ident)  # user ids are free-form legacy names
    if not ID_RE.match(ident):
        raise _cut_off(kind)
    return SpotifyRef(kind, ident)


def _cut_off(kind: str) -> UserError:
    return UserError(
        f"That {kind} link looks cut off or mistyped: Spotify ids are 22 letters and digits. "
        "Copy the link again with Share → Copy link."
    )


def _wrong_kind_message(got: str, want: str) -> str:
    command, example = COMMAND[want], EXAMPLE[want]
    if got == "album" and want == "track":
        return (f"That's an album link: use /album for a whole album, or give /cover a track "
                f"link like {example}")
    if got == "track" and want == "album":
        return (f"That's a track link: use /cover for one track, or give /album an album "
                f"link like {example}")
    hints = {
        "playlist": "pick a song in it and use Share → Copy Song Link",
        "artist": "pick one of their songs and use Share → Copy Song Link",
        "user": "pick a song and use Share → Copy Song Link",
        "episode": "podcasts have no audio features to draw from",
        "show": "podcasts have no audio features to draw from",
        "audiobook": "audiobooks have no audio features to draw from",
        "chapter": "audiobooks have no audio features to draw from",
    }
    hint = hints.get(got)
    suffix = f" ({hint})" if hint and want == "track" else ""
    return (f"That's {_a(got)} {got} link: {command} needs {_a(want)} {want} link "
            f"like {example}{suffix}")


def _a(word: str) -> str:
    return "an" if word[:1] in "aeio" else "a"  # "a user link"


class LinkResolver:
    """Turns pasted text into a SpotifyRef, following short links over HTTP.

    `short_link_base` replaces the scheme and host of short links (tests point it at a
    local fake); redirects are followed by hand so every hop is checked and bounded.
    """

    def __init__(self, *, short_link_base: str = "", timeout_s: float = 5.0,
                 max_redirects: int = 5) -> None:
        self.short_link_base = short_link_base.rstrip("/")
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def resolve(self, text: str, kind: str) -> SpotifyRef:
        found = parse_link(text, bare_id_kind=kind)
        if isinstance(found, ShortLink):
            found = await self._follow(found.url)
        return expect_kind(found, kind)

    async def _follow(self, url: str) -> SpotifyRef:
        session = self._get_session()
        try:
            for _ in range(self.max_redirects):
                async with session.get(self._rewrite(url), allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        target = _first_match(url)
                        if isinstance(target, SpotifyRef):
                            return target
                        if not _is_short_host(url):
                            break
                        continue
                    if resp.status == 200:
                        # Branch.io serves browsers an HTML page carrying the open.spotify.com URL
                        body = (await resp.content.read(65536)).decode("utf-8", "replace")
                        target = _first_track_or_album(body)
                        if target is not None:
                            return target
                    if resp.status == 404:
                        raise UserError("That Spotify short link doesn't exist (any more). "
                                        "Paste the full link from Share → Copy link.")
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("short link %s could not be followed: %s", url, exc)
            raise UserError(
                "I couldn't open that Spotify short link just now. Paste the full link "
                f"instead, like {EXAMPLE['track']}"
            ) from exc
        raise UserError(
            "That short link doesn't lead to a Spotify track or album. Paste the full link "
            f"instead, like {EXAMPLE['track']}"
        )

    def _rewrite(self, url: str) -> str:
        if not self.short_link_base:
            return url
        parts = urlsplit(url)
        # keep the short host in the path so one fake can serve every short-link domain
        return f"{self.short_link_base}/{parts.netloc.lower()}{parts.path}"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                # Branch.io answers curl-like clients with a plain redirect (spotify-dart#154)
                headers={"User-Agent": "curl/8.5.0"},
            )
        return self._session


def _first_track_or_album(html: str) -> SpotifyRef | None:
    for m in _URL_RE.finditer(html):
        try:
            found = _from_url_path(m)
        except UserError:
            continue
        if isinstance(found, SpotifyRef) and found.kind in ("track", "album"):
            return found
    return None


def _is_short_host(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.netloc.lower()
    return host in _SHORT_HOSTS or (host == "open.spotify.com" and parts.path.startswith("/s/"))
