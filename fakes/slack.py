"""A loopback Slack: the Web API methods a cover bot calls, the file upload URLs, response
URLs, and a Socket Mode websocket, on one aiohttp server in the test's event loop.

The real slack_sdk / slack-bolt clients talk to it over sockets: point an `AsyncWebClient`
at `fake.api_base` (slack_sdk's `base_url`); the Socket Mode client asks
`apps.connections.open` for its websocket URL, exactly as against Slack.

Wire formats follow Slack's: Web API arguments as query string, form or JSON body, the
token as `Authorization: Bearer`, answers `{"ok": true, ...}` or `{"ok": false, "error":
...}` (HTTP 200, except 429 + Retry-After for rate limits); Socket Mode envelopes with an
`envelope_id` that the app must ack on the same socket; response URLs taking JSON.

Everything the bot does is recorded per request (`RequestLog`): the envelope ack, what it
posted to the response URL, and the uploads and messages in the request's channel that
mention the requesting user, so tests assert on exact payloads and PNG bytes.

    async with FakeSlack() as fake:
        ...start the bot against fake.api_base with fake.bot_token / fake.app_token...
        await fake.wait_connected()
        log = await fake.send_command("/random", "7")
        await log.wait_final()
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from fakes.loopback import PATIENCE_S, serve_on_loopback

TEAM_ID = "T0FAKETEAM"
BOT_USER_ID = "U0ALBUMGAN"
APP_ID = "A0ALBUMGAN"
PUBLIC_CHANNEL = "C0PUBLIC01"


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    bot_member: bool = True


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Upload:
    """One files.completeUploadExternal: the files as uploaded to their upload URLs."""

    channel: str
    initial_comment: str
    files: list[dict[str, Any]]  # {"id", "title", "filename", "data"}
    at: float = field(default_factory=time.perf_counter)

    def file(self, filename: str) -> bytes:
        for f in self.files:
            if f["filename"] == filename:
                return f["data"]
        raise KeyError(f"no file {filename!r}; got {[f['filename'] for f in self.files]}")


@dataclass
class Message:
    """A chat.postMessage, chat.postEphemeral or response_url post."""

    kind: str  # "message", "ephemeral", "response"
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    payload: dict[str, Any]
    ts: str = ""
    at: float = field(default_factory=time.perf_counter)

    @property
    def ephemeral(self) -> bool:
        if self.kind == "response":
            return self.payload.get("response_type", "ephemeral") == "ephemeral"
        return self.kind == "ephemeral"

    @property
    def all_text(self) -> str:
        """The text plus every text in the blocks, for assertions on what people read."""
        return "\n".join([self.text, *_block_texts(self.blocks)])

    def file_ids(self) -> list[str]:
        """The uploaded files the message shows in image blocks (`slack_file`), in order."""
        return [
            b["slack_file"]["id"] for b in self.blocks if b.get("type") == "image" and "id" in b.get("slack_file", {})
        ]

    def buttons(self) -> list[dict[str, Any]]:
        return [
            el
            for block in self.blocks
            if block.get("type") == "actions"
            for el in block.get("elements", [])
            if el.get("type") == "button"
        ]


def _block_texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        texts = [value["text"]] if isinstance(value.get("text"), str) else []
        return texts + [t for k, v in value.items() if k != "text" or not isinstance(v, str) for t in _block_texts(v)]
    if isinstance(value, list):
        return [t for item in value for t in _block_texts(item)]
    return []


class RequestLog:
    """One slash command or button click and everything the bot did about it."""

    def __init__(self, fake: FakeSlack, envelope: dict[str, Any], user_id: str, channel_id: str) -> None:
        self.fake = fake
        self.envelope = envelope
        self.user_id = user_id
        self.channel_id = channel_id
        self.dispatched_at = 0.0
        self.ack: dict[str, Any] | None = None  # the envelope ack's payload ({} when bare)
        self.acked_at = 0.0
        self.responses: list[Message] = []  # posts to this request's response_url
        self.uploads: list[Upload] = []
        self.messages: list[Message] = []  # channel messages and ephemerals for the user
        self.signed_request: tuple[str, dict[str, str]] | None = None  # HTTP mode: (body, headers) as sent

    @property
    def envelope_id(self) -> str:
        return self.envelope["envelope_id"]

    @property
    def ack_text(self) -> str:
        return (self.ack or {}).get("text", "")

    @property
    def result(self) -> Message | None:
        """The message with the Reroll/Variations buttons."""
        return next((m for m in self.messages if m.kind == "message" and m.buttons()), None)

    @property
    def private_answers(self) -> list[Message]:
        """Ephemeral answers that are not queue notices."""
        return [m for m in [*self.responses, *self.messages] if m.ephemeral and not self.fake.notice.search(m.text)]

    @property
    def final(self) -> Message | None:
        return self.result or next(iter(self.private_answers), None)

    def upload(self) -> Upload:
        assert self.uploads, "nothing was uploaded"
        return self.uploads[-1]

    async def wait_for(self, predicate: Callable[[RequestLog], bool], timeout: float = PATIENCE_S) -> None:
        async with asyncio.timeout(timeout), self.fake._changed:
            await self.fake._changed.wait_for(lambda: predicate(self))

    async def wait_acked(self, timeout: float = PATIENCE_S) -> dict[str, Any]:
        await self.wait_for(lambda log: log.ack is not None, timeout)
        return self.ack  # type: ignore[return-value]

    async def wait_final(self, timeout: float = PATIENCE_S) -> Message:
        await self.wait_for(lambda log: log.final is not None, timeout)
        return self.final  # type: ignore[return-value]


class FakeSlack:
    """One workspace, one app, one bot user. Start it in the test's event loop."""

    def __init__(self, *, notice_pattern: str = r"^⏳") -> None:
        self.bot_token = "xoxb-fake-" + secrets.token_hex(8)
        self.app_token = "xapp-fake-" + secrets.token_hex(8)
        self.signing_secret = secrets.token_hex(16)
        self.notice = re.compile(notice_pattern)  # ephemerals that are progress, not answers
        self.channels: dict[str, Channel] = {}
        self.add_channel(PUBLIC_CHANNEL, "covers")
        self.calls: list[ApiCall] = []
        self.uploads: list[Upload] = []
        self.messages: list[Message] = []
        self.requests: list[RequestLog] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0  # websockets ever opened
        self.rate_limits: dict[str, list[int]] = {}  # method -> Retry-After per coming call
        self._pending_files: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}  # every completed upload by id, shared or not
        self.admins: set[str] = set()  # users.info says these are workspace admins
        self.deleted: list[dict[str, Any]] = []  # chat.delete, files.delete and delete_original, in order
        self._socket_requests: dict[web.WebSocketResponse, web.Request] = {}
        self._by_response_url: dict[str, RequestLog] = {}
        self._by_envelope: dict[str, RequestLog] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/link/", self._socket)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drop_sockets()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/"

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, bot_member: bool = True) -> Channel:
        channel = Channel(channel_id, name, private, bot_member)
        self.channels[channel_id] = channel
        return channel

    def rate_limit(self, method: str, retry_after: int, times: int = 1) -> None:
        """The next `times` calls of `method` get 429 with this Retry-After."""
        self.rate_limits.setdefault(method, []).extend([retry_after] * times)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    # --- Socket Mode -------------------------------------------------------------------

    def _live_sockets(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.sockets if not ws.closed]

    async def wait_connected(self, connections: int = 1, timeout: float = PATIENCE_S) -> None:
        """Until `connections` websockets were ever opened and one is open now."""
        await self.wait_until(lambda: self.connections >= connections and bool(self._live_sockets()), timeout)

    async def drop_sockets(self, *, code: int = 1001, abrupt: bool = False) -> None:
        """Close every Socket Mode connection, as Slack does when a server goes away, or
        (`abrupt`) cut the TCP connection without a close frame, as a lost network does."""
        for ws, request in list(self._socket_requests.items()):
            if ws.closed:
                continue
            if abrupt and request.transport is not None:
                request.transport.abort()
            else:
                await ws.close(code=code)
        await self._notify()

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's polite "reconnect elsewhere" message, sent before it closes a socket."""
        for ws in self._live_sockets():
            await ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        self._socket_requests[ws] = request
        self.connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._live_sockets()),
                "debug_info": {"host": "fake-slack"},
                "connection_info": {"app_id": APP_ID},
            }
        )
        await self._notify()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await self._on_ack(json.loads(message.data))
        await self._notify()
        return ws

    async def _on_ack(self, ack: dict[str, Any]) -> None:
        log = self._by_envelope.get(ack.get("envelope_id", ""))
        if log is not None and log.ack is None:
            log.ack = ack.get("payload") or {}
            log.acked_at = time.perf_counter()
            await self._notify()

    async def _dispatch(self, log: RequestLog) -> RequestLog:
        live = self._live_sockets()
        assert live, "no Socket Mode connection to send on"
        self.requests.append(log)
        self._by_envelope[log.envelope_id] = log
        log.dispatched_at = time.perf_counter()
        await live[-1].send_str(json.dumps(log.envelope))
        return log

    def _response_url(self, log_key: str) -> str:
        return f"{self.base_url}/respond/{log_key}"

    def slash_command(
        self, command: str, text: str = "", *, user_id: str = "U0LISTENER", channel_id: str = PUBLIC_CHANNEL
    ) -> tuple[dict[str, Any], str]:
        """A slash_commands payload as Slack sends it (form fields, all strings)."""
        key = f"cmd-{next(self._ids)}-{secrets.token_hex(4)}"
        channel = self.channels.get(channel_id)
        payload = {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": channel.name if channel else "unknown",
            "user_id": user_id,
            "user_name": f"user-{user_id.lower()}",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(key),
            "trigger_id": f"trigger-{key}",
        }
        return payload, key

    async def send_command(
        self, command: str, text: str = "", *, user_id: str = "U0LISTENER", channel_id: str = PUBLIC_CHANNEL
    ) -> RequestLog:
        payload, key = self.slash_command(command, text, user_id=user_id, channel_id=channel_id)
        envelope = {
            "envelope_id": f"env-{key}",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": payload,
        }
        log = RequestLog(self, envelope, user_id, channel_id)
        self._by_response_url[key] = log
        return await self._dispatch(log)

    async def click(
        self, message: Message, action_id: str, *, user_id: str = "U0LISTENER", value: str | None = None
    ) -> RequestLog:
        """A block_actions click on a button of `message` (or a forged one: `value`)."""
        button = next((b for b in message.buttons() if b["action_id"] == action_id), None)
        if button is None and value is None:
            raise KeyError(f"no button {action_id!r} on the message")
        key = f"act-{next(self._ids)}-{secrets.token_hex(4)}"
        channel = self.channels[message.channel]
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": f"user-{user_id.lower()}", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel.id,
                "is_ephemeral": message.ephemeral,
            },
            "trigger_id": f"trigger-{key}",
            "team": {"id": TEAM_ID, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": BOT_USER_ID,
                "bot_id": "B0ALBUMGAN",
            },
            "state": {"values": {}},
            "response_url": self._response_url(key),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "buttons",
                    "type": "button",
                    "text": {"type": "plain_text", "text": (button or {}).get("text", {}).get("text", "?")},
                    "value": value if value is not None else button["value"],  # type: ignore[index]
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        envelope = {
            "envelope_id": f"env-{key}",
            "type": "interactive",
            "accepts_response_payload": False,
            "payload": payload,
        }
        log = RequestLog(self, envelope, user_id, channel.id)
        self._by_response_url[key] = log
        return await self._dispatch(log)

    # --- HTTP mode (Slack calling the app's Request URL) ---------------------------------

    def signed_headers(self, body: str, *, secret: str | None = None, timestamp: int | None = None) -> dict[str, str]:
        """Slack's request signature: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        key = (self.signing_secret if secret is None else secret).encode()
        digest = hmac.new(key, f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        return {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    async def post_command(
        self,
        url: str,
        command: str,
        text: str = "",
        *,
        secret: str | None = None,
        user_id: str = "U0LISTENER",
        channel_id: str = PUBLIC_CHANNEL,
    ) -> tuple[int, str, RequestLog]:
        """POST a signed slash command to the app's Request URL: (status, body, log)."""
        payload, key = self.slash_command(command, text, user_id=user_id, channel_id=channel_id)
        log = RequestLog(self, {"envelope_id": key, "payload": payload}, user_id, channel_id)
        self._by_response_url[key] = log
        self.requests.append(log)
        body = urllib.parse.urlencode(payload)
        log.signed_request = (body, self.signed_headers(body, secret=secret))
        log.dispatched_at = time.perf_counter()
        status, text_body = await self.resend(url, log)
        return status, text_body, log

    async def resend(self, url: str, log: RequestLog) -> tuple[int, str]:
        """POST `log`'s signed request again, byte for byte, as someone who captured it
        would replay it: (status, body). The first 200 answer is recorded as its ack."""
        assert log.signed_request is not None, "not a request sent by post_command"
        body, headers = log.signed_request
        async with aiohttp.ClientSession() as session, session.post(url, data=body.encode(), headers=headers) as resp:
            text_body = await resp.text()
            if resp.status == 200 and log.ack is None:
                log.ack = json.loads(text_body) if text_body.startswith("{") else {"text": text_body}
                log.acked_at = time.perf_counter()
            return resp.status, text_body

    # --- response URLs -----------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        log = self._by_response_url.get(request.match_info["key"])
        if log is None:
            return web.Response(status=404, text="expired_url")
        body = await request.json()
        if body.get("delete_original"):
            self.deleted.append({"method": "delete_original", "response_url": request.match_info["key"]})
        log.responses.append(Message("response", log.channel_id, body.get("text", ""), body.get("blocks") or [], body))
        await self._notify()
        return web.Response(text="ok")

    # --- Web API -----------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(await request.post())
        return args

    @staticmethod
    def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(text=json.dumps(body), status=status, headers=headers, content_type="application/json")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append(ApiCall(method, args))
        await self._notify()
        pending = self.rate_limits.get(method)
        if pending:
            return self._json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(pending.pop(0))})
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if request.headers.get("Authorization") != f"Bearer {wanted}":
            return self._json({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._json({"ok": False, "error": "unknown_method"})
        body = await handler(args)
        await self._notify()
        return self._json(body)

    async def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "albumgan",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0ALBUMGAN",
            "is_enterprise_install": False,
        }

    async def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._ids)}"}

    async def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):09d}"
        self._pending_files[file_id] = {"filename": filename, "length": int(length), "data": None}
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        pending = self._pending_files.get(request.match_info["file_id"])
        if pending is None:
            return web.Response(status=404, text="unknown upload")
        data = await request.read()
        if len(data) != pending["length"]:
            return web.Response(status=400, text="length mismatch")
        pending["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _membership_error(self, channel_id: str) -> str | None:
        channel = self.channels.get(channel_id)
        if channel is None:
            return "channel_not_found"
        return None if channel.bot_member else "not_in_channel"

    async def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args.get("files", "[]"))
        channel_id = args.get("channel_id", "")
        uploaded = []
        for f in files:
            pending = self._pending_files.get(f.get("id", ""))
            if pending is None or pending["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            uploaded.append(
                {
                    "id": f["id"],
                    "title": f.get("title") or pending["filename"],
                    "filename": pending["filename"],
                    "data": pending["data"],
                }
            )
        if channel_id:
            error = self._membership_error(channel_id)
            if error:
                return {"ok": False, "error": error}
            upload = Upload(channel_id, args.get("initial_comment", ""), uploaded)
            self.uploads.append(upload)
            for log in self._logs_for(channel_id, upload.initial_comment):
                log.uploads.append(upload)
        for f in uploaded:
            del self._pending_files[f["id"]]
            self.files[f["id"]] = {**f, "channel": channel_id}
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in uploaded]}

    def file(self, file_id: str) -> bytes:
        """An uploaded file's bytes, e.g. of an image block's slack_file in an ephemeral message."""
        return self.files[file_id]["data"]

    async def _m_files_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.files.pop(args.get("file", ""), None)
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        self.deleted.append({"method": "files.delete", "file": found["id"]})
        return {"ok": True}

    async def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, ts = args.get("channel", ""), args.get("ts", "")
        message = next((m for m in self.messages if m.channel == channel_id and m.ts == ts and ts), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages.remove(message)
        self.deleted.append({"method": "chat.delete", "channel": channel_id, "ts": ts})
        return {"ok": True, "channel": channel_id, "ts": ts}

    async def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user", "")
        admin = user_id in self.admins
        return {"ok": True, "user": {"id": user_id, "team_id": TEAM_ID, "is_admin": admin, "is_owner": False}}

    def _logs_for(self, channel_id: str, text: str, user_id: str | None = None) -> list[RequestLog]:
        """The oldest unanswered request in this channel from the user the text mentions."""
        for log in self.requests:
            mentioned = f"<@{log.user_id}>" in text if user_id is None else log.user_id == user_id
            if log.channel_id == channel_id and mentioned and log.final is None:
                return [log]
        return []

    async def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = args.get("channel", "")
        error = self._membership_error(channel_id)
        if error:
            return {"ok": False, "error": error}
        blocks = _blocks(args.get("blocks"))
        if not args.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        ts = f"{time.time():.6f}"
        message = Message("message", channel_id, args.get("text", ""), blocks, args, ts)
        self.messages.append(message)
        for log in self._logs_for(channel_id, message.all_text):
            log.messages.append(message)
        return {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "message": {"type": "message", "text": message.text, "blocks": blocks, "user": BOT_USER_ID, "ts": ts},
        }

    async def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, user_id = args.get("channel", ""), args.get("user", "")
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = Message("ephemeral", channel_id, args.get("text", ""), _blocks(args.get("blocks")), args)
        self.messages.append(message)
        for log in self._logs_for(channel_id, "", user_id=user_id):
            log.messages.append(message)
        return {"ok": True, "message_ts": f"{time.time():.6f}"}

    async def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(args.get("channel", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.private:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        already = channel.bot_member
        channel.bot_member = True
        body: dict[str, Any] = {
            "ok": True,
            "channel": {"id": channel.id, "name": channel.name, "is_channel": True, "is_member": True},
        }
        if already:
            body["warning"] = "already_in_channel"
        return body


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return value if isinstance(value, list) else []
