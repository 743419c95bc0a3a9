"""Spotify links as people paste them -> (kind, id), with a message for everything else.

People paste share URLs with tracking (`?si=`), localised paths (`/intl-de/`), URIs
(`spotify:track:`), embeds, legacy web-player and user-playlist forms, mobile short links
(`spotify.link/...`, `spoti.fi/...`), and Discord wraps links in `<...>` to suppress
previews. We look for the first Spotify link anywhere in the text, so "check this out
https://open.spotify.com/track/..." works too.

Short links carry no id: the bot's `LinkResolver` (bot/links.py) follows their redirects.
Every refusal is a `LinkError` whose message is written for the person who pasted the text;
the bot shows it as is, the dataset tools as a one-line error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


class LinkError(ValueError):
    """Text that is not a usable Spotify link; the message says what to paste instead."""


ID_RE = re.compile(r"^[0-9A-Za-z]{22}$")
MAX_INPUT_CHARS = 1000  # a URL with tracking is ~100; anything this long was not one link
EXAMPLE = {
    "track": "https://open.spotify.com/track/…",
    "album": "https://open.spotify.com/album/…",
}
COMMAND = {"track": "/cover", "album": "/album"}

_URL_RE = re.compile(r"(?:https?://)?(?:open|play)\.spotify\.com/(?P<path>[^\s<>\"'`|()\[\]]*)", re.IGNORECASE)
_URI_RE = re.compile(r"spotify(?::|%3A)(?P<rest>[A-Za-z0-9:%._-]+)", re.IGNORECASE)
_SHORT_RE = re.compile(
    r"(?:https?://)?(?P<host>spotify\.link|spoti\.fi|link\.tospotify\.com)/[A-Za-z0-9_-]+",
    re.IGNORECASE,
)
_SHORT_HOSTS = ("spotify.link", "spoti.fi", "link.tospotify.com")
_KNOWN_KINDS = (
    "track",
    "album",
    "playlist",
    "artist",
    "episode",
    "show",
    "audiobook",
    "chapter",
    "user",
    "concert",
    "genre",
    "collection",
)


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
    """The first Spotify link in `text`; raises LinkError when there is none.

    `bare_id_kind` says what a bare 22-character id means ("track" for /cover); None
    rejects bare ids. Kinds are not checked here: see `expect_kind`.
    """
    text = (text or "").strip()
    if not text:
        raise LinkError(f"Paste a Spotify link, like {EXAMPLE['track']}")
    if len(text) > MAX_INPUT_CHARS:
        raise LinkError(f"That's {len(text):,} characters: paste just one Spotify link, like {EXAMPLE['track']}")
    bare = text.strip("<>`'\" ")
    if bare_id_kind and ID_RE.match(bare):
        return SpotifyRef(bare_id_kind, bare)
    found = first_match(text)
    if found is None:
        raise LinkError(
            "I couldn't find a Spotify link in that. In Spotify use Share → Copy link; "
            f"a track link looks like {EXAMPLE['track']}"
        )
    return found


def expect_kind(ref: SpotifyRef, kind: str) -> SpotifyRef:
    """`ref` if it is a `kind` ("track" or "album"), else a LinkError saying what to paste."""
    if ref.kind == kind:
        return ref
    raise LinkError(_wrong_kind_message(ref.kind, kind))


def first_match(text: str) -> SpotifyRef | ShortLink | None:
    Parser = Callable[[re.Match], SpotifyRef | ShortLink | None]
    parsers: tuple[tuple[re.Pattern, Parser], ...] = (
        (_URL_RE, _from_url_path),
        (_URI_RE, _from_uri),
        (_SHORT_RE, _from_short),
    )
    candidates: list[tuple[int, re.Match, Parser]] = []
    for regex, parse in parsers:
        candidates.extend((m.start(), m, parse) for m in regex.finditer(text))
    for _, m, parse in sorted(candidates, key=lambda c: c[0]):
        found = parse(m)
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


def _cut_off(kind: str) -> LinkError:
    return LinkError(
        f"That {kind} link looks cut off or mistyped: Spotify ids are 22 letters and digits. "
        "Copy the link again with Share → Copy link."
    )


def _wrong_kind_message(got: str, want: str) -> str:
    command, example = COMMAND[want], EXAMPLE[want]
    if got == "album" and want == "track":
        return f"That's an album link: use /album for a whole album, or give /cover a track link like {example}"
    if got == "track" and want == "album":
        return f"That's a track link: use /cover for one track, or give /album an album link like {example}"
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
    return f"That's {_a(got)} {got} link: {command} needs {_a(want)} {want} link like {example}{suffix}"


def _a(word: str) -> str:
    return "an" if word[:1] in "aeio" else "a"  # "a user link"


def first_track_or_album(html: str) -> SpotifyRef | None:
    for m in _URL_RE.finditer(html):
        try:
            found = _from_url_path(m)
        except LinkError:
            continue
        if isinstance(found, SpotifyRef) and found.kind in ("track", "album"):
            return found
    return None


def is_short_host(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.netloc.lower()
    return host in _SHORT_HOSTS or (host == "open.spotify.com" and parts.path.startswith("/s/"))


def spotify_id(text: str, kind: str) -> str:
    """The bare id of a `kind` object named by an id, URI or full link (dataset tools and
    tables; short links need the bot's resolver, which goes online)."""
    found = parse_link(text, bare_id_kind=kind)
    if isinstance(found, ShortLink):
        raise LinkError(f"that is a short link: paste the full open.spotify.com {kind} link instead ({text!r})")
    return expect_kind(found, kind).id
