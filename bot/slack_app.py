"""The Slack frontend: slash commands and persistent buttons over one `CoverService`.

slack-bolt's `AsyncApp`, fed by Socket Mode (no public URL; `SLACK_APP_TOKEN`) or, by
config, by Slack POSTing to an HTTP endpoint whose requests are checked against
`SLACK_SIGNING_SECRET`. Every command is acknowledged at once with a short ephemeral
"working on it" (Slack wants an ack within 3 s); the cover then goes to the channel as a
`files_upload_v2` upload (cover + features card) followed by a Block Kit message with what
was used and the Reroll / Variations buttons. A user error, an outage or an internal
failure (logged with an incident id) becomes an ephemeral message instead.

Buttons carry the generation id in their value (action_id `albumgan:reroll`, value `42`);
the service keeps each generation's inputs, so they keep working after a restart.

To upload, the bot must be in the channel: it joins public channels (`conversations.join`,
when `[slack] join_channels` allows) and otherwise tells the person how to invite it.
Slack 429s are retried after their Retry-After when that is at most
`[slack] max_retry_after_s`; the Socket Mode client reconnects lost sockets by itself.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from albumgan.bot.blend import split_ends
from albumgan.bot.cards import features_summary
from albumgan.bot.config import SlackConfig
from albumgan.bot.grids import ENLARGED, FULL_SIZE
from albumgan.bot.help import help_text
from albumgan.bot.history import history_text
from albumgan.bot.inflight import DRAIN_TIMEOUT_S, InFlight
from albumgan.bot.server_settings import change as change_settings
from albumgan.bot.server_settings import private_by_default
from albumgan.bot.slack_replay import ReplayGuard
from albumgan.bot.types import (
    SERVER_LAYOUT,
    BlendResult,
    CoverCommands,
    CoverResult,
    Requester,
    UserError,
    failure_text,
    forgotten_text,
)
from albumgan.modelfile import ModelInfo

log = logging.getLogger(__name__)

COVER_FILE = "cover.png"
CARD_FILE = "features.png"
FULL_SIZE_FILE = f"cover-{FULL_SIZE}.png"
BLEND_STRIP_FILE, BLEND_ANIMATION_FILE = "blend.png", "blend.gif"
ACTION_PREFIX = "albumgan:"
ACTIONS = {
    "reroll": "🎲 Reroll",
    "variations": "🔀 Variations",
    "pick": "✅ Pick",
    "full": "🖼️ Full size",
    "delete": "🗑️ Delete",
    "history": "Page",
}
# What each button's value holds: a cover (or page) number; Delete: covers, then file ids.
ACTION_VALUE = re.compile(r"[0-9]{1,19}")
DELETE_VALUE = re.compile(
    r"(?P<ids>[0-9]{1,19}(?:,[0-9]{1,19}){0,3})\|(?P<files>[A-Z0-9]{1,20}(?:,[A-Z0-9]{1,20}){0,3})?"
)
QUEUE_NOTICE = "⏳ You're #{position} in line; your cover is coming."
RESTARTING = "I'm restarting; please try again in a minute."
WORKING = {
    "cover": "🎨 Working on your cover…",
    "album": "🎨 Working on your album cover…",
    "random": "🎲 Working on a random cover…",
}
# Errors that mean "the bot may not post here" (channel_not_found: a private channel or a
# DM the bot cannot even see).
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found"}
SEED_HELP = "The seed must be a whole number from 0 to 4294967295, e.g. `/{command} 7`."

OnQueued = Callable[[int], Awaitable[None]]
Generate = Callable[[OnQueued], Awaitable[CoverResult | BlendResult]]
# A private text answer: the text, and blocks to show it with (buttons; [] = just the text).
TextAnswer = Callable[[Requester], Awaitable[tuple[str, list[dict[str, Any]]]]]


# --- Slack text ----------------------------------------------------------------------------


def unwrap_links(text: str) -> str:
    """Slash-command text as typed: Slack may send links as `<url|label>` and escapes
    `&`, `<` and `>`."""
    text = re.sub(r"<((?:https?|spotify):[^|>]*)(?:\|[^>]*)?>", r"\1", text)
    return html.unescape(text).strip()


def escape(text: str) -> str:
    """Plain text for mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_blocks(
    result: CoverResult, user_id: str, file_ids: Sequence[str] = (), *, show_files: bool = False
) -> list[dict[str, Any]]:
    """The message under the uploaded cover: what was used, and the buttons. `show_files`: the
    uploads as image blocks on top (a private answer, whose files are shared nowhere else)."""
    title = escape(_short(result.title, 200))
    if result.source_url:
        title = f"<{result.source_url}|{title}>"
    images = [image_block(file_id, f"{result.title}: picture {i}") for i, file_id in enumerate(file_ids, 1)]
    images = images if show_files else []
    if result.full_size:
        enlarged = f"*{title}* at {FULL_SIZE} × {FULL_SIZE} px\n{ENLARGED.format(px=result.enlarged_from)}"
        return [*images, {"type": "section", "text": {"type": "mrkdwn", "text": enlarged}}]
    blocks: list[dict[str, Any]] = [
        *images,
        {"type": "section", "text": {"type": "mrkdwn", "text": _short(f"*{title}*\n{escape(result.subtitle)}", 3000)}},
    ]
    if result.features is not None:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _short("*Features*\n" + escape(features_summary(result.features)), 3000),
                },
            }
        )
    saved = "not saved" if result.generation_id is None else f"cover #{result.generation_id}"
    seeds = f"*Seed*\n{result.seed}"
    if result.candidates:
        seeds = "*Pick one*\n" + "\n".join(f"*{i}* · seed {c.seed}" for i, c in enumerate(result.candidates, 1))
    blocks += [
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": seeds},
                {"type": "mrkdwn", "text": escape(f"*Model*\n{result.model_name} {result.model_version}")},
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (f"for <@{user_id}> · {saved} · {result.elapsed_s:.1f} s"),
                }
            ],
        },
    ]
    if result.generation_id is None:  # no history row to make a reroll or variation from
        return blocks
    return blocks + result_actions(result, file_ids)


def button(action: str, value: int | str, label: str = "") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ACTION_PREFIX + action,
        "value": str(value),
        "text": {"type": "plain_text", "text": label or ACTIONS[action], "emoji": True},
    }


def result_actions(result: CoverResult, file_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A single cover: Reroll, Variations, Full size and Delete. A grid: Pick and Vary for each
    candidate, then Reroll and Delete (Slack wants action_ids unique within a block: one block
    per kind of button). Delete's value: the answer's covers, then its uploaded files."""
    assert result.generation_id is not None
    if not result.candidates:
        delete = button("delete", f"{result.generation_id}|{','.join(file_ids)}")
        buttons = [button(action, result.generation_id) for action in ("reroll", "variations", "full")]
        return [{"type": "actions", "block_id": "albumgan", "elements": [*buttons, delete]}]
    made = [(i, c.generation_id) for i, c in enumerate(result.candidates, 1) if c.generation_id is not None]
    delete = button("delete", ",".join(str(g) for _, g in made) + "|" + ",".join(file_ids))
    rows = {
        "albumgan-pick": [button("pick", g, f"✅ Pick {i}") for i, g in made],
        "albumgan-vary": [button("variations", g, f"🔀 Vary {i}") for i, g in made],
        "albumgan": [button("reroll", result.generation_id, "🎲 Reroll all"), delete],
    }
    return [{"type": "actions", "block_id": block_id, "elements": elements} for block_id, elements in rows.items()]


def upload_files(result: CoverResult | BlendResult) -> list[dict[str, Any]]:
    """The files of an answer, for files_upload_v2."""
    if isinstance(result, BlendResult):
        return [
            {"content": result.strip_png, "filename": BLEND_STRIP_FILE, "title": _short(result.title, 200)},
            {"content": result.animation, "filename": BLEND_ANIMATION_FILE, "title": "Animated blend"},
        ]
    files = [
        {
            "content": result.image_png,
            "filename": FULL_SIZE_FILE if result.full_size else COVER_FILE,
            "title": _short(result.title, 200),
            "alt_txt": f"Album cover: {result.title}"[:1000],
        }
    ]
    if result.card_png:
        files.append(
            {
                "content": result.card_png,
                "filename": CARD_FILE,
                "title": "Audio features",
                "alt_txt": "Bar chart of the audio features",
            }
        )
    return files


def answer_blocks(
    result: CoverResult | BlendResult, user_id: str, file_ids: Sequence[str] = (), *, show_files: bool = False
) -> list[dict[str, Any]]:
    if isinstance(result, CoverResult):
        return result_blocks(result, user_id, file_ids, show_files=show_files)
    images = [image_block(file_id, f"{result.title}: {i}") for i, file_id in enumerate(file_ids if show_files else ())]
    text = f"*{escape(_short(result.title, 500))}*\n{escape(result.subtitle)}"
    context = (
        f"for <@{user_id}> · {escape(result.model_name)} {escape(result.model_version)} · {result.elapsed_s:.1f} s"
    )
    return [
        *images,
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]


def image_block(file_id: str, alt: str) -> dict[str, Any]:
    return {"type": "image", "slack_file": {"id": file_id}, "alt_text": _short(alt, 2000)}


def parse_private(text: str) -> tuple[str, bool | None]:
    """A command's text without a trailing `private` or `public` (and which it was)."""
    words = text.split()
    if words and words[-1].lower() in ("private", "public"):
        return " ".join(words[:-1]), words[-1].lower() == "private"
    return text, None


def about_text(models: list[ModelInfo]) -> str:
    lines = ["*AlbumGAN*: album covers from a GAN trained on a music dataset."]
    for info in models[:10]:
        dataset = info.dataset or {}
        lines.append(
            f"• *{escape(info.name)} {escape(info.version)}*: {info.kind}, "
            f"{info.resolution}px, step {info.step}, trained on "
            f"{dataset.get('count', '?')} covers"
        )
    if not models:
        lines.append("No models loaded.")
    return "\n".join(lines)


def command_requester(command: dict[str, Any]) -> Requester:
    return Requester(
        platform="slack",
        user_id=command.get("user_id", ""),
        channel_id=command.get("channel_id", ""),
        guild_id=command.get("team_id", ""),
    )


def parse_seed(text: str, command: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{1,20}", text):
        raise UserError(SEED_HELP.format(command=command))
    return int(text)


# --- the web client ------------------------------------------------------------------------


class CappedRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Waits out a Slack 429's Retry-After when it is at most `max_retry_after_s` (someone is
    waiting in chat); a longer one fails the call at once, and the person is told."""

    def __init__(self, max_retry_after_s: float, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_retry_after_s = max_retry_after_s

    @staticmethod
    def retry_after(response: Any) -> float:
        for name, value in response.headers.items():
            if name.lower() == "retry-after":
                raw = value[0] if isinstance(value, list) else value
                try:
                    return max(0.0, float(raw))
                except ValueError:
                    return float("inf")
        return 1.0

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and self.retry_after(response) <= self.max_retry_after_s
        )

    async def prepare_for_next_attempt_async(self, *, state, request, response=None, error=None) -> None:
        wait = self.retry_after(response)
        log.info("Slack rate limit: retrying in %.0f s", wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait)
        state.increment_current_attempt()


def make_web_client(
    bot_token: str, settings: SlackConfig, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    return AsyncWebClient(
        token=bot_token,
        base_url=settings.api_base,
        timeout=int(settings.timeout_s),
        session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), CappedRateLimitRetry(settings.max_retry_after_s)],
    )


# --- the frontend --------------------------------------------------------------------------


class SlackFrontend:
    """The bolt app, its Socket Mode connection or HTTP endpoint, and graceful shutdown.
    Construct it inside the running event loop (it opens an aiohttp session)."""

    def __init__(
        self,
        service: CoverCommands,
        settings: SlackConfig,
        *,
        bot_token: str,
        app_token: str = "",
        signing_secret: str = "",
        ping_interval_s: float = 10.0,
    ) -> None:
        self.service = service
        self.settings = settings
        self._app_token = app_token
        self._ping_interval_s = ping_interval_s
        self._session = aiohttp.ClientSession()
        self.client = make_web_client(bot_token, settings, self._session)
        http = settings.mode == "http"
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret if http else "",
            request_verification_enabled=http,
            logger=logging.getLogger("slack_bolt"),
        )
        if http:
            self.app.use(ReplayGuard())  # runs after bolt's signature check
        self.bot_user_id = ""
        self.http_port = 0  # the bound port in HTTP mode (settings.http_port may be 0)
        self._socket: AsyncSocketModeHandler | None = None
        self._http: web.AppRunner | None = None
        self.in_flight = InFlight("Slack requests")
        self.on_upload: Callable[[float], None] = lambda seconds: None  # serve.py times uploads (metrics)
        self._add_listeners()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the bot token, start the service, then connect (Socket Mode) or listen (HTTP)."""
        try:
            identity = await self.client.auth_test()
        except SlackApiError as exc:
            raise SystemExit(f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')})") from None
        self.bot_user_id = identity.get("user_id", "")
        socket_url = ""
        if self.settings.mode == "socket":
            # Asked here rather than by the Socket Mode client, which would retry a rejected
            # token forever; it then connects to this URL and asks anew on reconnects.
            try:
                socket_url = (await self.client.apps_connections_open(app_token=self._app_token))["url"]
            except SlackApiError as exc:
                raise SystemExit(f"Slack rejected SLACK_APP_TOKEN ({exc.response.get('error')})") from None
        if self.settings.mode == "http":
            self._http = web.AppRunner(
                self.app.web_app(path=self.settings.http_path), handle_signals=False, access_log=None
            )
            await self._http.setup()
            site = web.TCPSite(self._http, self.settings.http_host, self.settings.http_port)
            await site.start()
            self.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            log.info("Slack HTTP endpoint on %s:%d%s", self.settings.http_host, self.http_port, self.settings.http_path)
        else:
            self._socket = AsyncSocketModeHandler(
                self.app, self._app_token, web_client=self.client, ping_interval=self._ping_interval_s
            )
            self._socket.client.wss_uri = socket_url
            await self._socket.connect_async()
            log.info("Slack Socket Mode connected as %s", self.bot_user_id)

    async def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Refuse new work and let in-flight requests finish (the service is closed by its
        owner, serve.serve). Idempotent: `close()` drains too, whoever calls it first."""
        await self.in_flight.drain(timeout=timeout)

    async def close(self) -> None:
        await self.drain()
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        await self._session.close()

    async def connected(self) -> bool:
        """Socket Mode: the socket is open; HTTP mode: the endpoint listens (/healthz)."""
        if self._http is not None:
            return True
        return self._socket is not None and await self._socket.client.is_connected()

    # -- listeners ------------------------------------------------------------------------

    def _add_listeners(self) -> None:
        names = self.settings.commands
        for kind in ("cover", "album", "random"):
            self.app.command("/" + getattr(names, kind))(self._command_listener(kind))

        async def about(ack: AsyncAck) -> None:
            try:
                await ack(text=about_text(await self.service.about()))
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await ack(text=self._failure_text(exc, f"/{names.about}"))

        self.app.command("/" + names.about)(about)

        async def forget(ack: AsyncAck, command: dict[str, Any]) -> None:
            async def deleted(who: Requester) -> tuple[str, list[dict[str, Any]]]:
                return forgotten_text(await self.service.forget(who)), []

            await self._answer(ack, command_requester(command), command.get("response_url", ""), deleted, "forget")

        self.app.command("/" + names.forget)(forget)

        self._add_more_listeners()
        # Every action: clicks on buttons from an older scheme get an answer too.
        self.app.action(re.compile(".*"))(self._on_button)

    def _add_more_listeners(self) -> None:
        names = self.settings.commands

        async def history(ack: AsyncAck, command: dict[str, Any]) -> None:
            text = unwrap_links(command.get("text") or "") or "1"
            who, response_url = command_requester(command), command.get("response_url", "")
            if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) < 1:
                await ack(text=f"Give a page number, e.g. `/{names.history} 2` (1 = your newest covers).")
                return
            await self._answer(ack, who, response_url, lambda w: self._history_page(w, int(text) - 1), "history")

        self.app.command("/" + names.history)(history)

        async def show(ack: AsyncAck, command: dict[str, Any]) -> None:
            text, private = parse_private(unwrap_links(command.get("text") or ""))
            text = text.lstrip("#")
            if not re.fullmatch(r"[0-9]{1,19}", text):
                await ack(text=f"Give a cover's number, e.g. `/{names.show} 42` (`/{names.history}` lists yours).")
                return
            who, cover = command_requester(command), int(text)
            await self._serve(
                who,
                command.get("response_url", ""),
                f"🖼️ Re-making cover #{cover}…",
                ack,
                lambda q: self.service.show(cover, who, on_queued=q),
                f"/{names.show}",
                private,
            )

        self.app.command("/" + names.show)(show)

        async def blend(ack: AsyncAck, command: dict[str, Any]) -> None:
            text, private = parse_private(unwrap_links(command.get("text") or ""))
            try:
                a, b = split_ends(text)
            except UserError as exc:
                await ack(text=str(exc))
                return
            who = command_requester(command)
            await self._serve(
                who,
                command.get("response_url", ""),
                "🌈 Blending…",
                ack,
                lambda q: self.service.blend(a, b, who, on_queued=q),
                f"/{names.blend}",
                private,
            )

        self.app.command("/" + names.blend)(blend)

        async def help(ack: AsyncAck) -> None:
            await ack(text=help_text(names, bold="*"))

        self.app.command("/" + names.help)(help)

        async def settings(ack: AsyncAck, command: dict[str, Any]) -> None:
            words = unwrap_links(command.get("text") or "").split()
            if len(words) % 2:
                await ack(text=f"Settings go in pairs, e.g. `/{names.settings} layout single private off`.")
                return
            changes = dict(zip(words[::2], words[1::2], strict=True))

            async def changed(who: Requester) -> tuple[str, list[dict[str, Any]]]:
                admin = bool(changes) and await self._is_admin(who)
                return escape(await change_settings(self.service, who, changes, admin=admin)), []

            await self._answer(ack, command_requester(command), command.get("response_url", ""), changed, "settings")

        self.app.command("/" + names.settings)(settings)

    def _command_listener(self, kind: str):
        # bolt passes listener arguments by parameter name
        async def listener(ack: AsyncAck, command: dict[str, Any]) -> None:
            await self._on_command(kind, ack, command)

        return listener

    async def _on_command(self, kind: str, ack: AsyncAck, command: dict[str, Any]) -> None:
        text, private = parse_private(unwrap_links(command.get("text") or ""))
        who = command_requester(command)
        if kind == "random":
            try:
                seed = parse_seed(text, command.get("command", "/random").lstrip("/"))
            except UserError as exc:
                await ack(text=str(exc))
                return

            def generate(q: OnQueued) -> Awaitable[CoverResult]:
                return self.service.random(who, seed=seed, layout=SERVER_LAYOUT, on_queued=q)
        elif kind == "cover":

            def generate(q: OnQueued) -> Awaitable[CoverResult]:
                return self.service.cover(text, who, layout=SERVER_LAYOUT, on_queued=q)
        else:

            def generate(q: OnQueued) -> Awaitable[CoverResult]:
                return self.service.album(text, who, layout=SERVER_LAYOUT, on_queued=q)

        await self._serve(
            who, command.get("response_url", ""), WORKING[kind], ack, generate, command.get("command", kind), private
        )

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        user = body.get("user") or {}
        who = Requester(
            platform="slack",
            user_id=user.get("id", ""),
            channel_id=channel,
            guild_id=(body.get("team") or {}).get("id") or user.get("team_id", ""),
        )
        response_url = body.get("response_url", "")
        name = str(action.get("action_id", "")).removeprefix(ACTION_PREFIX)
        value = str(action.get("value", ""))
        container = body.get("container") or {}
        if name == "delete" and DELETE_VALUE.fullmatch(value):
            await self._delete(ack, who, response_url, value, container)
            return
        if name not in ACTIONS or name == "delete" or not ACTION_VALUE.fullmatch(value):
            await ack()
            await self._tell(who, response_url, "This button is from an older version of me; run the command again.")
            return
        generation_id = int(value)
        if name == "history":  # the value is a page
            await self._answer(ack, who, response_url, lambda w: self._history_page(w, generation_id), name, True)
            return
        service, layout = self.service, SERVER_LAYOUT
        calls: dict[str, Generate] = {
            "reroll": lambda q: service.reroll(generation_id, who, layout=layout, on_queued=q),
            "variations": lambda q: service.variation(generation_id, who, layout=layout, on_queued=q),
            "pick": lambda q: service.remake(generation_id, who, on_queued=q),
            "full": lambda q: service.full_size(generation_id, who, on_queued=q),
        }
        # A button on a private answer answers privately too.
        private = bool(container.get("is_ephemeral"))
        await self._serve(who, response_url, None, ack, calls[name], f"{name} #{generation_id}", private)

    async def _delete(
        self, ack: AsyncAck, who: Requester, response_url: str, value: str, container: dict[str, Any]
    ) -> None:
        """Delete an answer: its covers from the history, its files and its message. Only whoever
        asked for it, or a workspace admin; anyone else is told so, privately."""
        await ack()
        match = DELETE_VALUE.fullmatch(value)
        assert match is not None
        ids = [int(i) for i in match["ids"].split(",")]
        with self.in_flight.tracked():
            try:
                try:
                    await self.service.delete(ids, who)
                except UserError:  # not theirs: a workspace admin may still (users.info says)
                    if not await self._is_admin(who):
                        raise
                    await self.service.delete(ids, who, admin=True)
                for file_id in (match["files"] or "").split(","):
                    if file_id:
                        await self._quietly(self.client.files_delete(file=file_id))
                if container.get("is_ephemeral"):
                    await self._webhook(response_url).send_dict({"delete_original": True})
                else:
                    ts = container.get("message_ts", "")
                    await self._quietly(self.client.chat_delete(channel=who.channel_id, ts=ts))
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await self._tell(who, response_url, self._failure_text(exc, "delete"))

    async def _is_admin(self, who: Requester) -> bool:
        """A workspace admin or owner (users.info; needs the users:read scope)."""
        try:
            user = (await self.client.users_info(user=who.user_id)).get("user") or {}
        except SlackApiError as exc:
            log.info("users.info for %s failed: %s", who.user_id, exc.response.get("error"))
            return False
        return bool(user.get("is_admin") or user.get("is_owner"))

    def _webhook(self, response_url: str) -> AsyncWebhookClient:
        return AsyncWebhookClient(response_url, session=self._session, timeout=int(self.settings.timeout_s))

    @staticmethod
    async def _quietly(call: Awaitable[Any]) -> None:
        """A clean-up call whose failure (already gone, say) is logged, not shown."""
        try:
            await call
        except SlackApiError as exc:
            log.info("clean-up call failed: %s", exc.response.get("error"))

    # -- one request ----------------------------------------------------------------------

    async def _serve(
        self,
        who: Requester,
        response_url: str,
        working: str | None,
        ack: AsyncAck,
        generate: Generate,
        what: str,
        private: bool | None = None,
    ) -> None:
        """Ack, generate, post: the one path every cover request takes. `private`: only the
        person sees the answer (None: as the team's settings say)."""
        if self.in_flight.draining:
            if working:
                await ack(text=RESTARTING)
            else:
                await ack()
                await self._tell(who, response_url, RESTARTING)
            return
        with self.in_flight.tracked():
            await (ack(text=working) if working else ack())

            async def on_queued(position: int) -> None:
                await self._tell(who, response_url, QUEUE_NOTICE.format(position=position))

            try:
                if private is None:
                    private = await private_by_default(self.service, who)
                result = await generate(on_queued)
                sending = time.perf_counter()
                await self._post(result, who, response_url, private)
                self.on_upload(time.perf_counter() - sending)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await self._tell(who, response_url, self._failure_text(exc, what))

    async def _post(
        self, result: CoverResult | BlendResult, who: Requester, response_url: str, private: bool = False
    ) -> None:
        files = upload_files(result)
        text = f"<@{who.user_id}> {result.title}" + (
            f" (seed {result.seed})" if isinstance(result, CoverResult) else ""
        )
        if private:  # uploaded but shared nowhere: the ephemeral answer shows them
            uploaded = await self.client.files_upload_v2(file_uploads=files)
            file_ids = [f["id"] for f in uploaded.get("files") or []]
            await self._tell(who, response_url, text, answer_blocks(result, who.user_id, file_ids, show_files=True))
            return
        comment = f"<@{who.user_id}> {escape(_short(result.title, 200))}"
        try:
            uploaded = await self.client.files_upload_v2(
                channel=who.channel_id, file_uploads=files, initial_comment=comment
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_IN_CHANNEL:
                raise
            if not await self._join(who.channel_id):
                await self._tell(who, response_url, self._invite_text(who.channel_id))
                return
            uploaded = await self.client.files_upload_v2(
                channel=who.channel_id, file_uploads=files, initial_comment=comment
            )
        file_ids = [f["id"] for f in uploaded.get("files") or []]
        await self.client.chat_postMessage(
            channel=who.channel_id, blocks=answer_blocks(result, who.user_id, file_ids), text=text, unfurl_links=False
        )

    async def _join(self, channel_id: str) -> bool:
        """Join a public channel; False where that is not possible or not allowed."""
        if not self.settings.join_channels or channel_id.startswith("D"):
            return False
        try:
            await self.client.conversations_join(channel=channel_id)
        except SlackApiError as exc:
            log.info("cannot join %s: %s", channel_id, exc.response.get("error"))
            return False
        log.info("joined channel %s to post a cover", channel_id)
        return True

    def _invite_text(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return (
                "I can't post in this conversation. Use the command in a channel I'm in, "
                "or in a direct message with me."
            )
        me = f"<@{self.bot_user_id}>" if self.bot_user_id else "the AlbumGAN app"
        return (
            f"I'm not in <#{channel_id}> yet, so I can't post your cover here. Invite me "
            f"with `/invite {me}` (or channel details ▸ Integrations ▸ Add apps), "
            "then run the command again."
        )

    @staticmethod
    def _failure_text(exc: Exception, what: str) -> str:
        if isinstance(exc, SlackApiError) and exc.response.get("error") == "ratelimited":
            return "Slack asked me to slow down; please try again in a minute."
        return failure_text(exc, f"Slack request ({what})")

    async def _history_page(self, who: Requester, page: int) -> tuple[str, list[dict[str, Any]]]:
        found = await self.service.history(who, page=page)
        text = escape(history_text(found, self.settings.commands.show))
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": _short(text, 3000)}}]
        pages = [("⬅️ Newer", found.page - 1)] if found.page > 0 else []
        pages += [("Older ➡️", found.page + 1)] if found.has_more else []
        if pages:
            buttons = [button("history", number, label) for label, number in pages]
            blocks.append({"type": "actions", "block_id": "albumgan-history", "elements": buttons})
        return text, blocks

    async def _answer(
        self, ack: AsyncAck, who: Requester, response_url: str, answer: TextAnswer, what: str, replace: bool = False
    ) -> None:
        """A private text answer (and buttons) from the service. Acked at once: the database may
        be busy for longer than Slack's 3 s. `replace`: in place of the clicked message."""
        await ack()
        if self.in_flight.draining:
            await self._tell(who, response_url, RESTARTING)
            return
        with self.in_flight.tracked():  # the service stays open until the answer is made
            try:
                text, blocks = await answer(who)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                text, blocks, replace = self._failure_text(exc, what), [], False
            await self._tell(who, response_url, text, blocks, replace=replace)

    async def _tell(
        self,
        who: Requester,
        response_url: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """An ephemeral message to the person: through the request's response_url, else
        chat.postEphemeral (response URLs expire after 30 minutes or 5 uses)."""
        if response_url:
            try:
                response = await self._webhook(response_url).send(
                    text=text, blocks=blocks or None, response_type="ephemeral", replace_original=replace
                )
                if response.status_code == 200:
                    return
                log.info("response_url answered %d; posting ephemerally", response.status_code)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("response_url failed (%s); posting ephemerally", exc)
        try:
            await self.client.chat_postEphemeral(channel=who.channel_id, user=who.user_id, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not tell %s in %s: %s", who.user_id, who.channel_id, exc.response.get("error"))
