"""A loopback Discord: REST (`/api/v10/...`) and the gateway websocket on one aiohttp server.

The real discord.py client talks to it over sockets, so tests exercise the library's own
login, IDENTIFY/RESUME, interaction parsing, defer and multipart follow-ups. Point the client
at it with `FakeDiscord.patched()`: discord.py has no constructor knob for the API base or the
gateway, so the two class attributes every other emulator patches (`Route.BASE` and
`DiscordWebSocket.DEFAULT_GATEWAY`) are swapped for the duration.

Sharding speaks Discord's wire format: IDENTIFY's `shard` [id, count] opens that shard's
session, READY echoes it and lists the guilds of that shard (`guild_on_shard` adds one) as
unavailable, each then arrives as GUILD_CREATE, and every guild event goes to shard
(guild_id >> 22) % count alone, so bots running different shards (in one process or several)
each see only their guilds.

Everything the bot sends is recorded per interaction (`InteractionLog`): callbacks, edits of
the original response, follow-ups and deletions, with the decoded JSON payload and any
uploaded files, so tests assert on exact payloads and PNG bytes.

    async with FakeDiscord() as fake, fake.patched():
        ...start the bot with token fake.token...
        await fake.wait_identified()
        log = await fake.send_interaction(fake.slash_command("random", {"seed": 7}))
        await log.wait_for(lambda log: log.final is not None)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

from fakes.loopback import PATIENCE_S, serve_on_loopback

log = logging.getLogger(__name__)

# Gateway opcodes (Discord "Gateway Opcodes" table).
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME, OP_RECONNECT = 0, 1, 2, 6, 7
OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 9, 10, 11

# Interaction callback types (Discord "Interaction Callback Type").
CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE = 4, 5
CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE = 6, 7

EPHEMERAL_FLAG = 1 << 6
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
_DISCORD_EPOCH_MS = 1420070400000


def shard_of(guild_id: str | int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to."""
    return (int(guild_id) >> 22) % shard_count


def _snowflakes() -> Iterator[int]:
    base = (int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22
    return itertools.count(base)


@dataclass
class UploadedFile:
    field: str  # "files[0]"
    filename: str
    data: bytes
    content_type: str


@dataclass
class Response:
    """One thing the bot sent about an interaction."""

    kind: str  # "callback", "edit_original", "followup", "delete_original", "edit_followup"
    method: str
    path: str
    payload: dict[str, Any]
    files: list[UploadedFile] = field(default_factory=list)
    at: float = field(default_factory=time.perf_counter)

    @property
    def ephemeral(self) -> bool:
        data = self.payload.get("data", self.payload) if self.kind == "callback" else self.payload
        return bool((data or {}).get("flags", 0) & EPHEMERAL_FLAG)

    @property
    def content(self) -> str:
        data = self.payload.get("data", {}) if self.kind == "callback" else self.payload
        return (data or {}).get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        data = self.payload.get("data", {}) if self.kind == "callback" else self.payload
        return (data or {}).get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        data = self.payload.get("data", {}) if self.kind == "callback" else self.payload
        return (data or {}).get("components") or []

    def custom_ids(self) -> list[str]:
        return [
            child["custom_id"] for row in self.components for child in row.get("components", []) if "custom_id" in child
        ]

    def file(self, filename: str) -> bytes:
        for upload in self.files:
            if upload.filename == filename:
                return upload.data
        raise KeyError(f"no uploaded file named {filename!r}; got {[f.filename for f in self.files]}")


class InteractionLog:
    """What the bot did with one interaction, in order, plus a way to wait for more."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.dispatched_at = 0.0
        self.shard_id = 0
        self.responses: list[Response] = []
        self._changed = asyncio.Condition()

    @property
    def id(self) -> str:
        return self.payload["id"]

    @property
    def token(self) -> str:
        return self.payload["token"]

    @property
    def callback(self) -> Response | None:
        return next((r for r in self.responses if r.kind == "callback"), None)

    @property
    def messages(self) -> list[Response]:
        """Everything that put content on screen (not the bare callback or a deletion)."""
        return [r for r in self.responses if r.kind in ("edit_original", "followup", "edit_followup")]

    @property
    def final(self) -> Response | None:
        """The result (a message with attachments) or an ephemeral answer, whichever came."""
        for response in reversed(self.messages):
            if response.files or response.ephemeral:
                return response
        callback = self.callback
        if callback is not None and callback.payload.get("type") == CALLBACK_MESSAGE:
            return callback
        return None

    async def record(self, response: Response) -> None:
        async with self._changed:
            self.responses.append(response)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[InteractionLog], bool], timeout: float = PATIENCE_S) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_final(self, timeout: float = PATIENCE_S) -> Response:
        await self.wait_for(lambda log: log.final is not None, timeout)
        assert self.final is not None
        return self.final


@dataclass
class GatewaySession:
    session_id: str
    shard: tuple[int, int]
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME replay
    ws: web.WebSocketResponse | None = None

    def next_dispatch(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        message = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.sent.append(message)
        return message


class FakeDiscord:
    """REST + gateway for one application with one bot user. Start it in the test's loop."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        shards: int = 1,
        heartbeat_interval_ms: int = 41250,
        callback_status: int = 200,
    ) -> None:
        self.token = token
        self.shards = shards
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.callback_status = callback_status  # set 404 to simulate an expired interaction
        self._ids = _snowflakes()
        self.application_id = str(next(self._ids))
        self.bot_user = {
            "id": self.application_id,
            "username": "albumgan",
            "discriminator": "0",
            "global_name": "AlbumGAN",
            "avatar": None,
            "bot": True,
        }
        self.guild_id = str(next(self._ids))
        self.channel_id = str(next(self._ids))
        self.guilds: list[str] = []  # guilds announced to their shard's session (guild_on_shard)
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> commands
        self.rest_calls: list[tuple[str, str]] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.ack_heartbeats = True  # False: a "zombie" connection that stops answering
        self.sessions: dict[int, GatewaySession] = {}  # shard id -> current session
        self.interactions: dict[str, InteractionLog] = {}  # token -> log
        self._connected = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=2 * ATTACHMENT_SIZE_LIMIT)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                await session.ws.close(code=1001)
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.contextmanager
    def patched(self) -> Iterator[FakeDiscord]:
        """Point every discord.py client in this process at this fake, then restore."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # --- gateway ---------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
        """Until `predicate()` holds; re-checked on every connection change and heartbeat."""
        async with asyncio.timeout(timeout), self._connected:
            await self._connected.wait_for(predicate)

    async def wait_identified(self, shards: int = 1, timeout: float = PATIENCE_S) -> None:
        """Until `shards` sessions are connected and READY was sent to each."""
        await self.wait_until(lambda: self._live_shards() >= shards, timeout)

    async def wait_for_connections(self, count: int, timeout: float = PATIENCE_S) -> None:
        """Until IDENTIFY + RESUME handshakes total `count` (for reconnect tests)."""
        await self.wait_until(
            lambda: len(self.identifies) + len(self.resumes) >= count and self._live_shards() > 0,
            timeout,
        )

    def _live_shards(self) -> int:
        return sum(1 for s in self.sessions.values() if s.ws is not None and not s.ws.closed)

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket like a Discord edge restart: a resumable close code."""
        for session in self.sessions.values():
            if session.ws is not None:
                ws, session.ws = session.ws, None
                await ws.close(code=code)

    async def dispatch(self, event: str, data: dict[str, Any], shard_id: int = 0) -> None:
        """Send a dispatch on a shard; kept for RESUME replay if the socket is down."""
        session = self.sessions[shard_id]
        message = session.next_dispatch(event, data)
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_str(json.dumps(message))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            await self._on_gateway_message(ws, json.loads(message.data))
        return ws

    async def _on_gateway_message(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        op, data = message.get("op"), message.get("d")
        if op == OP_HEARTBEAT:
            if self.ack_heartbeats:
                await ws.send_json({"op": OP_HEARTBEAT_ACK})
            async with self._connected:
                self.heartbeats += 1
                self._connected.notify_all()
        elif op == OP_IDENTIFY:
            await self._identify(ws, data)
        elif op == OP_RESUME:
            await self._resume(ws, data)

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = tuple(data.get("shard") or (0, 1))
        session = GatewaySession(session_id=secrets.token_hex(16), shard=shard)  # type: ignore[arg-type]
        guilds = [guild for guild in self.guilds if shard_of(guild, shard[1]) == shard[0]]
        ready = session.next_dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": guild, "unavailable": True} for guild in guilds],
                "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url,
                "shard": list(shard),
                "application": {"id": self.application_id, "flags": 0},
            },
        )
        await ws.send_json(ready)
        for guild in guilds:
            await ws.send_json(session.next_dispatch("GUILD_CREATE", self._guild(guild)))
        async with self._connected:
            self.identifies.append(data)
            session.ws = ws
            self.sessions[shard[0]] = session
            self._connected.notify_all()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions.values() if s.session_id == data.get("session_id")), None)
        if session is None or data.get("token") != self.token:
            await ws.send_json({"op": OP_INVALID_SESSION, "d": False})
            return
        for missed in session.sent:
            if missed["s"] > (data.get("seq") or 0):
                await ws.send_json(missed)
        await ws.send_json(session.next_dispatch("RESUMED", {}))
        async with self._connected:
            self.resumes.append(data)
            session.ws = ws
            self._connected.notify_all()

    # --- guilds and interactions -----------------------------------------------------------

    def guild_on_shard(self, shard_id: int, shard_count: int) -> str:
        """A new guild of the bot's whose events go to `shard_id` of `shard_count`: announced
        to that shard when it identifies."""
        # A snowflake's bits above 22 are its time: pick the next time step on that shard.
        step = (next(self._ids) >> 22) // shard_count + 1
        guild = str((step * shard_count + shard_id) << 22 | len(self.guilds))
        self.guilds.append(guild)
        return guild

    def _guild(self, guild_id: str) -> dict[str, Any]:
        """A GUILD_CREATE payload: the guild, available, with one text channel."""
        return {
            "id": guild_id,
            "name": f"guild {guild_id}",
            "unavailable": False,
            "owner_id": str(next(self._ids)),
            "member_count": 2,
            "roles": [],
            "emojis": [],
            "features": [],
            "members": [],
            "channels": [{"id": str(next(self._ids)), "type": 0, "name": "covers", "position": 0}],
            "threads": [],
            "preferred_locale": "en-US",
        }

    def member(self, user_id: str = "", name: str = "listener") -> dict[str, Any]:
        user = {
            "id": user_id or str(next(self._ids)),
            "username": name,
            "discriminator": "0",
            "global_name": name.title(),
            "avatar": None,
        }
        return {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2248473465835073",
        }

    def _interaction(self, kind: int, data: dict[str, Any], user_id: str, guild_id: str = "") -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        return {
            "id": str(next(self._ids)),
            "application_id": self.application_id,
            "type": kind,
            "token": "itok-" + secrets.token_urlsafe(24),
            "version": 1,
            "guild_id": guild_id,
            "guild": {"id": guild_id, "locale": "en-US", "features": []},
            "channel_id": self.channel_id,
            "channel": {
                "id": self.channel_id,
                "type": 0,
                "guild_id": guild_id,
                "name": "covers",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            },
            "member": self.member(user_id),
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "data": data,
        }

    def slash_command(
        self, name: str, options: dict[str, Any] | None = None, *, user_id: str = "", guild_id: str = ""
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND interaction (type 2) for a chat-input command, in `guild_id`
        (default: the fake's own guild)."""
        registered = next((c for cmds in self.commands.values() for c in cmds if c["name"] == name), None)
        option_types = {o["name"]: o["type"] for o in (registered or {}).get("options", [])}
        data: dict[str, Any] = {
            "id": registered["id"] if registered else str(next(self._ids)),
            "name": name,
            "type": 1,
        }
        if options:
            data["options"] = [
                {"name": key, "type": option_types.get(key, 3), "value": value} for key, value in options.items()
            ]
        return self._interaction(2, data, user_id, guild_id)

    def button_click(
        self, custom_id: str, *, message: Response, user_id: str = "", ephemeral: bool = False
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction (type 3): a click on a button of a message the bot
        sent (`ephemeral`: one only the clicker sees). Discord always includes that message, and
        discord.py finds the button in it."""
        payload = self._interaction(3, {"custom_id": custom_id, "component_type": 2}, user_id)
        payload["message"] = self._message(
            {"content": message.content, "components": message.components, "embeds": message.embeds},
            [],
            flags=EPHEMERAL_FLAG if ephemeral else 0,
        )
        return payload

    @staticmethod
    def in_dm(payload: dict[str, Any]) -> dict[str, Any]:
        """The same interaction in a DM with the bot (context 1): no guild, no member, a user;
        for a user-installed app the installing user owns the integration (type 1)."""
        dm = {k: v for k, v in payload.items() if k not in ("guild_id", "guild", "member", "guild_locale")}
        user = payload["member"]["user"]
        channel_id = str(int(payload["channel_id"]) + 1)
        dm.update(
            user=user,
            channel_id=channel_id,
            channel={"id": channel_id, "type": 1, "recipients": [user], "last_message_id": None, "flags": 0},
            context=1,
            authorizing_integration_owners={"1": user["id"]},
        )
        return dm

    async def send_interaction(self, payload: dict[str, Any]) -> InteractionLog:
        """Dispatch INTERACTION_CREATE on the shard Discord would route it to."""
        counts = {session.shard[1] for session in self.sessions.values()} or {1}
        assert len(counts) == 1, f"sessions identified with different shard counts: {sorted(counts)}"
        shard_id = shard_of(payload["guild_id"], counts.pop()) if payload.get("guild_id") else 0  # DMs: shard 0
        if shard_id not in self.sessions:
            raise LookupError(f"no session identified as shard {shard_id}, where guild {payload['guild_id']} lives")
        interaction = InteractionLog(payload)
        self.interactions[payload["token"]] = interaction
        interaction.shard_id = shard_id
        interaction.dispatched_at = time.perf_counter()
        await self.dispatch("INTERACTION_CREATE", payload, shard_id=interaction.shard_id)
        return interaction

    # --- REST ------------------------------------------------------------------------------

    def _message(
        self, payload: dict[str, Any], files: list[UploadedFile], *, flags: int | None = None
    ) -> dict[str, Any]:
        message_id = str(next(self._ids))
        attachments = []
        for index, upload in enumerate(files):
            attachment_id = str(next(self._ids))
            url = f"https://cdn.discordapp.com/attachments/{self.channel_id}/{attachment_id}/{upload.filename}"
            attachments.append(
                {
                    "id": attachment_id,
                    "filename": upload.filename,
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": "image/png" if upload.data[:4] == b"\x89PNG" else None,
                    "ephemeral": False,
                    "index": index,
                }
            )
        return {
            "id": message_id,
            "channel_id": self.channel_id,
            "type": 20,
            "content": payload.get("content") or "",
            "author": self.bot_user,
            "attachments": attachments,
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-25T12:00:00+00:00",
            "edited_timestamp": None,
            "flags": payload.get("flags", 0) if flags is None else flags,
            "webhook_id": self.application_id,
            "application_id": self.application_id,
        }

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        # discord.py parses JSON only when the content type is exactly application/json.
        return web.Response(status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})

    async def _read_body(self, request: web.Request) -> tuple[dict[str, Any], list[UploadedFile]]:
        if request.content_type == "multipart/form-data":
            payload: dict[str, Any] = {}
            files: list[UploadedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename or "",
                            data=bytes(await part.read()),
                            content_type=part.headers.get("Content-Type", ""),
                        )
                    )
            return payload, files
        if request.can_read_body:
            return await request.json(), []
        return {}, []

    async def _rest(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in (f"Bot {self.token}", None):
            return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        parts = request.match_info["tail"].split("/")
        self.rest_calls.append((request.method, "/" + "/".join(parts)))
        match request.method, parts:
            case "GET", ["users", "@me"]:
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    return self._json({"message": "401: Unauthorized", "code": 0}, 401)
                return self._json(self.bot_user)
            case "GET", ["oauth2", "applications", "@me"]:
                return self._json(self._application())
            case "GET", ["gateway", "bot"]:
                return self._json(
                    {
                        "url": self.gateway_url,
                        "shards": self.shards,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 999,
                            "reset_after": 0,
                            "max_concurrency": 1,
                        },
                    }
                )
            case "GET", ["gateway"]:
                return self._json({"url": self.gateway_url})
            case "PUT", ["applications", _, "commands"]:
                return await self._overwrite_commands(request, "global")
            case "PUT", ["applications", _, "guilds", guild_id, "commands"]:
                return await self._overwrite_commands(request, guild_id)
            case "POST", ["interactions", _, token, "callback"]:
                return await self._callback(request, token)
            case _, ["webhooks", _, token, *rest]:
                return await self._webhook(request, token, rest)
        return self._json({"message": "404: Not Found", "code": 0}, 404)

    def _application(self) -> dict[str, Any]:
        return {
            "id": self.application_id,
            "name": "AlbumGAN",
            "description": "Album covers from a GAN",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.bot_user,
            "verify_key": "0" * 64,
            "flags": 0,
        }

    async def _overwrite_commands(self, request: web.Request, scope: str) -> web.Response:
        body = await request.json()
        registered = []
        for command in body:
            registered.append(
                {
                    **command,
                    "id": str(next(self._ids)),
                    "application_id": self.application_id,
                    "version": str(next(self._ids)),
                    "guild_id": None if scope == "global" else scope,
                }
            )
        self.commands[scope] = registered
        return self._json(registered)

    def _unknown_interaction(self) -> web.Response:
        return self._json({"message": "Unknown interaction", "code": 10062}, 404)

    async def _callback(self, request: web.Request, token: str) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or self.callback_status == 404:
            return self._unknown_interaction()
        if interaction.callback is not None:
            return self._json({"message": "Interaction has already been acknowledged.", "code": 40060}, 400)
        payload, files = await self._read_body(request)
        await interaction.record(Response("callback", "POST", request.path, payload, files))
        kind = payload.get("type")
        body: dict[str, Any] = {
            "interaction": {
                "id": interaction.id,
                "type": interaction.payload["type"],
                "response_message_loading": kind == CALLBACK_DEFERRED_MESSAGE,
                "response_message_ephemeral": bool((payload.get("data") or {}).get("flags", 0) & EPHEMERAL_FLAG),
            },
        }
        if kind in (CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE, CALLBACK_UPDATE):
            body["resource"] = {"type": kind, "message": self._message(payload.get("data") or {}, files)}
        elif kind == CALLBACK_DEFERRED_UPDATE:
            body["resource"] = {"type": kind}
        return self._json(body)

    async def _webhook(self, request: web.Request, token: str, rest: list[str]) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.callback is None:
            return self._json({"message": "Unknown Webhook", "code": 10015}, 404)
        payload, files = await self._read_body(request)
        kind = {
            ("POST", ()): "followup",
            ("PATCH", ("messages", "@original")): "edit_original",
            ("DELETE", ("messages", "@original")): "delete_original",
            ("GET", ("messages", "@original")): "get_original",
        }.get((request.method, tuple(rest)))
        if kind is None and request.method == "PATCH" and rest[:1] == ["messages"]:
            kind = "edit_followup"
        if kind is None:
            return self._json({"message": "405: Method Not Allowed", "code": 0}, 405)
        if kind == "get_original":
            return self._json(self._message({}, []))
        await interaction.record(Response(kind, request.method, request.path, payload, files))
        if kind == "delete_original":
            return web.Response(status=204)
        return self._json(self._message(payload, files))
