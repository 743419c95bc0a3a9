"""The Discord frontend: slash commands and persistent buttons over one `CoverService`.

Every interaction is acknowledged first (a deferred "thinking" response, well inside Discord's
3 s window) and answered last, whatever happens in between: the result replaces the thinking
message; a user error, an outage or an internal failure (logged with an incident id) becomes an
ephemeral message instead. Nothing is left to "The application did not respond".

Buttons are `DynamicItem`s whose custom_id carries the generation id (`albumgan:reroll:42`);
the service keeps each generation's inputs, so a button keeps working after a restart.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.utils import MISSING

from albumgan.bot.cards import features_summary
from albumgan.bot.config import DiscordCommands, DiscordConfig
from albumgan.bot.grids import ENLARGED, FULL_SIZE, LAYOUT_SETTING, LAYOUTS
from albumgan.bot.help import BUTTONS as BUTTONS_HELP
from albumgan.bot.help import COMMANDS, INTRO, help_lines
from albumgan.bot.history import history_text
from albumgan.bot.inflight import DRAIN_TIMEOUT_S, InFlight
from albumgan.bot.server_settings import PRIVATE_SETTING, private_by_default
from albumgan.bot.server_settings import change as change_settings
from albumgan.bot.types import (
    SERVER_LAYOUT,
    BlendResult,
    CoverCommands,
    CoverResult,
    HistoryPage,
    Requester,
    failure_text,
    forgotten_text,
)
from albumgan.modelfile import ModelInfo

log = logging.getLogger(__name__)

COVER_FILE = "cover.png"
CARD_FILE = "features.png"
FULL_SIZE_FILE = f"cover-{FULL_SIZE}.png"
BLEND_STRIP_FILE, BLEND_ANIMATION_FILE = "blend.png", "blend.gif"
MAX_SEED = 2**32 - 1
MAX_COVER_ID = 2**53 - 1  # Discord's integer options stop here
EMBED_COLOUR = discord.Colour(0x1DB954)
RESTARTING = "I'm restarting; please try again in a minute."

OnQueued = Callable[[int], Awaitable[None]]
Generate = Callable[[Requester, OnQueued], Awaitable[CoverResult | BlendResult]]
# A private text answer: the text, and buttons under it (or None).
TextAnswer = Callable[[Requester], Awaitable[tuple[str, "discord.ui.View | None"]]]


# --- presenting a result -------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_embeds(result: CoverResult) -> list[discord.Embed]:
    """The cover (or grid) with what made it, then the features card full width (a thumbnail
    would be too small to read)."""
    embeds = [result_embed(result)]
    if result.card_png:
        card = discord.Embed(colour=EMBED_COLOUR)
        card.set_image(url=f"attachment://{CARD_FILE}")
        embeds.append(card)
    return embeds


def result_embed(result: CoverResult) -> discord.Embed:
    embed = discord.Embed(
        title=_short(result.title, 256),
        description=_short(result.subtitle, 4096) or None,
        url=result.source_url or None,
        colour=EMBED_COLOUR,
    )
    embed.set_image(url=f"attachment://{COVER_FILE}")
    if result.features is not None:
        embed.add_field(name="Features", value=_short(features_summary(result.features), 1024), inline=False)
    if result.candidates:
        lines = [f"**{i}** · seed {c.seed}" for i, c in enumerate(result.candidates, 1)]
        embed.add_field(name="Pick one", value="\n".join(lines), inline=False)
    else:
        embed.add_field(name="Seed", value=str(result.seed), inline=True)
    embed.add_field(name="Model", value=f"{result.model_name} {result.model_version}", inline=True)
    saved = "not saved" if result.generation_id is None else f"generation {result.generation_id}"
    embed.set_footer(text=f"{saved} · {result.elapsed_s:.1f} s")
    return embed


def answer_of(result: CoverResult | BlendResult) -> dict[str, Any]:
    """The message a result becomes (edit_original_response's arguments)."""
    if isinstance(result, BlendResult):
        return {"content": None, "embeds": blend_embeds(result), "attachments": blend_files(result), "view": None}
    return {
        "content": full_size_text(result) if result.full_size else None,
        "embeds": [] if result.full_size else result_embeds(result),
        "attachments": result_files(result),
        "view": result_view(result),
    }


def blend_embeds(result: BlendResult) -> list[discord.Embed]:
    strip = discord.Embed(title=_short(result.title, 256), description=result.subtitle, colour=EMBED_COLOUR)
    strip.set_image(url=f"attachment://{BLEND_STRIP_FILE}")
    strip.set_footer(text=f"{result.model_name} {result.model_version} · {result.elapsed_s:.1f} s")
    animation = discord.Embed(colour=EMBED_COLOUR)
    animation.set_image(url=f"attachment://{BLEND_ANIMATION_FILE}")
    return [strip, animation]


def blend_files(result: BlendResult) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(result.strip_png), filename=BLEND_STRIP_FILE),
        discord.File(io.BytesIO(result.animation), filename=BLEND_ANIMATION_FILE),
    ]


def full_size_text(result: CoverResult) -> str:
    return (
        f"**{_short(result.title, 200)}** at {FULL_SIZE} × {FULL_SIZE} px. {ENLARGED.format(px=result.enlarged_from)}"
    )


def result_files(result: CoverResult) -> list[discord.File]:
    if result.full_size:
        return [discord.File(io.BytesIO(result.image_png), filename=FULL_SIZE_FILE)]
    files = [discord.File(io.BytesIO(result.image_png), filename=COVER_FILE)]
    if result.card_png:
        files.append(discord.File(io.BytesIO(result.card_png), filename=CARD_FILE))
    return files


def about_embed(models: list[ModelInfo]) -> discord.Embed:
    embed = discord.Embed(
        title="AlbumGAN",
        description="Album covers from a GAN trained on a music dataset. "
        "`/cover` a track, `/album` an album, `/random` for a surprise.",
        colour=EMBED_COLOUR,
    )
    for info in models[:10]:
        dataset = info.dataset or {}
        lines = [
            f"{info.kind}, {info.resolution}px, step {info.step}",
            f"trained on {dataset.get('count', '?')} covers",
        ]
        embed.add_field(name=f"{info.name} {info.version}", value="\n".join(lines), inline=False)
    if not models:
        embed.add_field(name="Models", value="none loaded", inline=False)
    return embed


# --- persistent buttons --------------------------------------------------------------------


class _GenerationButton:
    """A button that re-runs one generation; everything it needs is in its custom_id.
    Mixed in before `DynamicItem`, which wants its template at class creation."""

    action = ""
    label = ""
    emoji = ""

    def __init__(self, generation_id: int, label: str = "", row: int | None = None) -> None:
        self.generation_id = generation_id
        super().__init__(  # type: ignore[call-arg]
            discord.ui.Button(
                label=label or self.label,
                emoji=self.emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"albumgan:{self.action}:{generation_id}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction, item, match):  # noqa: ANN001 - discord.py's signature
        return cls(int(match["generation_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CoverBotMixin = interaction.client  # type: ignore[assignment]
        await bot.handle_button(interaction, self.action, self.generation_id)


def _button_class(action: str, label: str, emoji: str, number: str = "[0-9]{1,19}") -> Any:
    """A persistent button class whose custom_id is `albumgan:<action>:<number>` (a cover's
    number; for history, a page). discord.py matches clicks to it by that template."""
    return types.new_class(
        f"{action.title()}Button",
        (_GenerationButton, discord.ui.DynamicItem[discord.ui.Button]),
        {"template": rf"albumgan:{action}:(?P<generation_id>{number})"},
        lambda namespace: namespace.update(action=action, label=label, emoji=emoji),
    )


RerollButton = _button_class("reroll", "Reroll", "🎲")
VariationsButton = _button_class("variations", "Variations", "🔀")
PickButton = _button_class("pick", "Pick", "✅")
FullSizeButton = _button_class("full", "Full size", "🖼️")
HistoryPageButton = _button_class("history", "Page", "📜", number="[0-9]{1,4}")


class DeleteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"albumgan:delete:(?P<ids>[0-9]{1,19}(?:,[0-9]{1,19}){0,3})",  # an answer's covers
):
    def __init__(self, generation_ids: list[int], row: int | None = None) -> None:
        self.generation_ids = generation_ids
        super().__init__(
            discord.ui.Button(
                label="Delete",
                emoji="🗑️",
                style=discord.ButtonStyle.danger,
                custom_id="albumgan:delete:" + ",".join(map(str, generation_ids)),
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction, item, match):  # noqa: ANN001 - discord.py's signature
        return cls([int(i) for i in match["ids"].split(",")])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CoverBotMixin = interaction.client  # type: ignore[assignment]
        await bot.handle_delete(interaction, self.generation_ids)


BUTTONS = (RerollButton, VariationsButton, PickButton, HistoryPageButton, FullSizeButton, DeleteButton)


def history_view(page: HistoryPage) -> discord.ui.View | None:
    """Newer and Older buttons around a page of /history."""
    view = discord.ui.View(timeout=None)
    if page.page > 0:
        view.add_item(HistoryPageButton(page.page - 1, "Newer"))
    if page.has_more:
        view.add_item(HistoryPageButton(page.page + 1, "Older"))
    return view if view.children else None


def result_view(result: CoverResult) -> discord.ui.View | None:
    """A single cover: Reroll, Variations, Full size and Delete. A grid: Pick and Vary for
    each candidate, then Reroll and Delete. None for covers without a history row to make
    them from; a full-size file gets none."""
    if result.generation_id is None or result.full_size:
        return None
    view = discord.ui.View(timeout=None)
    if result.candidates:
        made = [(i, c.generation_id) for i, c in enumerate(result.candidates, 1) if c.generation_id is not None]
        for i, generation_id in made:
            view.add_item(PickButton(generation_id, f"Pick {i}", row=0))
            view.add_item(VariationsButton(generation_id, f"Vary {i}", row=1))
        view.add_item(RerollButton(result.generation_id, "Reroll all", row=2))
        view.add_item(DeleteButton([generation_id for _, generation_id in made], row=2))
        return view
    view.add_item(RerollButton(result.generation_id))
    view.add_item(VariationsButton(result.generation_id))
    view.add_item(FullSizeButton(result.generation_id))
    view.add_item(DeleteButton([result.generation_id]))
    return view


# --- the bot -------------------------------------------------------------------------------


def requester(interaction: discord.Interaction) -> Requester:
    return Requester(
        platform="discord",
        user_id=str(interaction.user.id),
        channel_id=str(interaction.channel_id or ""),
        guild_id=str(interaction.guild_id or ""),
    )


class EnglishOnly(app_commands.Translator):
    """Every user-facing string goes through here; English is the only locale so far (the
    strings themselves, from help.py), and other locales fall back to it (None)."""

    ENGLISH = (discord.Locale.american_english, discord.Locale.british_english)

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        return string.message if locale in self.ENGLISH else None


async def translated(interaction: discord.Interaction, text: str) -> str:
    """`text` in the person's language, as far as the tree's translator knows it (else English)."""
    translator = interaction.client.tree.translator  # type: ignore[attr-defined]
    context: app_commands.TranslationContext[Any, None] = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.other, None
    )
    if translator is None:
        return text
    return await translator.translate(app_commands.locale_str(text), interaction.locale, context) or text


def help_embed(names: DiscordCommands) -> discord.Embed:
    embed = discord.Embed(title="AlbumGAN help", description=INTRO, colour=EMBED_COLOUR)
    for usage, what in help_lines(names):
        embed.add_field(name=usage, value=what, inline=False)
    embed.add_field(name="Buttons", value=BUTTONS_HELP, inline=False)
    return embed


def describe(key: str) -> app_commands.locale_str:
    """A command's description from the help catalogue, for the translator."""
    return app_commands.locale_str(COMMANDS[key].description, key=f"{key}.description")


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server or Administrator, in the member permissions Discord sends with the interaction."""
    permissions = interaction.permissions
    return interaction.guild_id is not None and (permissions.manage_guild or permissions.administrator)


def clicked_privately(interaction: discord.Interaction) -> bool:
    """A button on an ephemeral message answers ephemerally too."""
    message = interaction.message
    return message is not None and message.flags.ephemeral


class CoverCommandTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        # Reached only for failures outside our handlers (bad option values, checks).
        if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            await answer_privately(interaction, f"That didn't work: {error}")
            return
        await answer_failure(interaction, error)


async def answer_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral answer, whether or not the interaction was already deferred."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        # After a public defer the first follow-up would replace the public "thinking"
        # message, ignoring the ephemeral flag: remove it so the answer stays private.
        with contextlib.suppress(discord.NotFound):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not answer interaction %s: %s", interaction.id, exc)


async def answer_failure(interaction: discord.Interaction, error: BaseException) -> None:
    command = interaction.command
    data: dict[str, Any] = dict(interaction.data or {})
    what = command.name if command is not None else data.get("custom_id")
    await answer_privately(interaction, failure_text(error, f"interaction {interaction.id} ({what})"))


class CoverBotMixin:
    """Commands, buttons and shutdown; mixed into `discord.Client` or `AutoShardedClient`."""

    def __init__(self, *, service: CoverCommands, settings: DiscordConfig | None = None, **client_options: Any) -> None:
        # Interactions need no privileged intent; guilds keeps discord.py's caches coherent.
        client_options.setdefault("intents", discord.Intents(guilds=True))
        super().__init__(**client_options)
        self.service = service
        self.settings = settings or DiscordConfig()
        # In servers, in DMs with the bot, in group DMs; installed to a server or by a person.
        self.tree = CoverCommandTree(
            self,  # type: ignore[arg-type]
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
        )
        self.in_flight = InFlight("interactions")
        self.on_upload: Callable[[float], None] = lambda seconds: None  # serve.py times uploads (metrics)
        self._add_commands()

    def _add_commands(self) -> None:
        names = self.settings.commands
        private_help = "Only you see the answer (default: the server's setting)"

        @app_commands.command(name=names.cover, description=describe("cover"))
        @app_commands.describe(link="A Spotify track link, e.g. https://open.spotify.com/track/…", private=private_help)
        async def cover(interaction: discord.Interaction, link: str, private: bool | None = None) -> None:
            await self.serve(
                interaction, lambda who, q: self.service.cover(link, who, layout=SERVER_LAYOUT, on_queued=q), private
            )

        @app_commands.command(name=names.album, description=describe("album"))
        @app_commands.describe(link="A Spotify album link, e.g. https://open.spotify.com/album/…", private=private_help)
        async def album(interaction: discord.Interaction, link: str, private: bool | None = None) -> None:
            await self.serve(
                interaction, lambda who, q: self.service.album(link, who, layout=SERVER_LAYOUT, on_queued=q), private
            )

        @app_commands.command(name=names.random, description=describe("random"))
        @app_commands.describe(seed="Re-make covers you saw before (the seeds are in the reply)", private=private_help)
        async def random(
            interaction: discord.Interaction,
            seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
            private: bool | None = None,
        ) -> None:
            await self.serve(
                interaction,
                lambda who, q: self.service.random(who, seed=seed, layout=SERVER_LAYOUT, on_queued=q),
                private,
            )

        songs: list[app_commands.Command] = [cover, album, random]
        for command in songs:
            self.tree.add_command(command)
        self._add_more_commands(private_help)

    def _add_more_commands(self, private_help: str) -> None:
        names = self.settings.commands

        @app_commands.command(name=names.show, description=describe("show"))
        @app_commands.describe(cover="The cover's number, from /history or a cover's footer", private=private_help)
        async def show(
            interaction: discord.Interaction,
            cover: app_commands.Range[int, 1, MAX_COVER_ID],
            private: bool | None = None,
        ) -> None:
            await self.serve(interaction, lambda who, q: self.service.show(cover, who, on_queued=q), private)

        @app_commands.command(name=names.blend, description=describe("blend"))
        @app_commands.describe(
            a="A Spotify track or album link, or seed:123", b="Another one, or seed:456", private=private_help
        )
        async def blend(interaction: discord.Interaction, a: str, b: str, private: bool | None = None) -> None:
            await self.serve(interaction, lambda who, q: self.service.blend(a, b, who, on_queued=q), private)

        @app_commands.command(name=names.history, description=describe("history"))
        @app_commands.describe(page="1 = the newest covers")
        async def history(interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
            await self.tell(interaction, lambda who: self._history_page(who, page - 1))

        @app_commands.command(name=names.about, description=describe("about"))
        async def about(interaction: discord.Interaction) -> None:
            try:
                models = await self.service.about()
                await interaction.response.send_message(embed=about_embed(models), ephemeral=True)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await answer_failure(interaction, exc)

        @app_commands.command(name=names.forget, description=describe("forget"))
        async def forget(interaction: discord.Interaction) -> None:
            async def deleted(who: Requester) -> tuple[str, None]:
                return forgotten_text(await self.service.forget(who)), None

            await self.tell(interaction, deleted)

        @app_commands.command(name=names.settings, description=describe("settings"))
        @app_commands.describe(layout="Grids of four covers to pick from, or single covers", private=private_help)
        @app_commands.choices(layout=[app_commands.Choice(name=name, value=name) for name in LAYOUTS])
        @app_commands.default_permissions(manage_guild=True)
        async def settings(
            interaction: discord.Interaction, layout: str | None = None, private: bool | None = None
        ) -> None:
            changes = {k: v for k, v in ((LAYOUT_SETTING, layout), (PRIVATE_SETTING, private)) if v is not None}

            async def changed(who: Requester) -> tuple[str, None]:
                return await change_settings(self.service, who, changes, admin=is_admin(interaction)), None

            await self.tell(interaction, changed)

        @app_commands.command(name=names.help, description=describe("help"))
        async def help(interaction: discord.Interaction) -> None:
            embed = help_embed(names)
            embed.description = await translated(interaction, embed.description or "")
            await interaction.response.send_message(embed=embed, ephemeral=True)

        commands: list[app_commands.Command] = [show, blend, history, about, forget, settings, help]
        for command in commands:
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*BUTTONS)  # type: ignore[attr-defined]
        await self.tree.set_translator(EnglishOnly())
        if self.settings.guild_ids:
            # Guild commands update at once; global ones can take an hour to appear.
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("commands synced (%s)", self.settings.guild_ids or "global")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        # discord.py drops clicks that match no registered item, and the user would see
        # "This interaction failed": buttons from an older custom_id scheme, say.
        if interaction.type is not discord.InteractionType.component:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not any(b.__discord_ui_compiled_template__.fullmatch(custom_id) for b in BUTTONS):
            await answer_privately(interaction, "This button is from an older version of me; run the command again.")

    async def handle_button(self, interaction: discord.Interaction, action: str, generation_id: int) -> None:
        if action == "history":  # generation_id: the page
            await self.tell(interaction, lambda who: self._history_page(who, generation_id), edit=True)
            return
        service, layout = self.service, SERVER_LAYOUT
        calls: dict[str, Generate] = {
            "reroll": lambda who, q: service.reroll(generation_id, who, layout=layout, on_queued=q),
            "variations": lambda who, q: service.variation(generation_id, who, layout=layout, on_queued=q),
            "pick": lambda who, q: service.remake(generation_id, who, on_queued=q),
            "full": lambda who, q: service.full_size(generation_id, who, on_queued=q),
        }
        await self.serve(interaction, calls[action], clicked_privately(interaction))

    async def handle_delete(self, interaction: discord.Interaction, generation_ids: list[int]) -> None:
        """Delete an answer (its covers from the history, and the message): only whoever asked
        for it, or a server admin; anyone else is told so, privately."""
        with self.in_flight.tracked():
            try:
                await self.service.delete(generation_ids, requester(interaction), admin=is_admin(interaction))
                await interaction.response.defer()  # an update of the clicked message: it goes
                await interaction.delete_original_response()
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await answer_failure(interaction, exc)

    async def _history_page(self, who: Requester, page: int) -> tuple[str, discord.ui.View | None]:
        found = await self.service.history(who, page=page)
        return history_text(found, self.settings.commands.show), history_view(found)

    async def tell(self, interaction: discord.Interaction, answer: TextAnswer, *, edit: bool = False) -> None:
        """A private text answer (and buttons) from the service: deferred, since the database may
        be busy for longer than Discord's 3 s; `edit`: in place of the clicked message."""
        if self.in_flight.draining:
            await answer_privately(interaction, RESTARTING)
            return
        with self.in_flight.tracked():  # the service stays open until the answer is made
            try:
                if edit:
                    await interaction.response.defer()
                else:
                    await interaction.response.defer(ephemeral=True, thinking=True)
                text, view = await answer(requester(interaction))
                if edit:
                    await interaction.edit_original_response(content=text, view=view)
                else:
                    await interaction.followup.send(text, ephemeral=True, view=view or MISSING)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await answer_failure(interaction, exc)

    async def serve(self, interaction: discord.Interaction, generate: Generate, private: bool | None = None) -> None:
        """Defer, generate, answer: the one path every cover request takes. `private`: an
        ephemeral answer (None: as the server's settings say)."""
        if self.in_flight.draining:
            await answer_privately(interaction, RESTARTING)
            return
        with self.in_flight.tracked():
            if private is None:
                private = await private_by_default(self.service, requester(interaction))
            try:
                await interaction.response.defer(thinking=True, ephemeral=private)
            except discord.HTTPException as exc:
                # Unknown interaction (10062): too late or already answered; nobody to tell.
                log.warning("could not acknowledge interaction %s: %s", interaction.id, exc)
                return
            try:
                result = await generate(requester(interaction), self._queued_notice(interaction))
                sending = time.perf_counter()
                await interaction.edit_original_response(**answer_of(result))
                self.on_upload(time.perf_counter() - sending)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await answer_failure(interaction, exc)

    @staticmethod
    def _queued_notice(interaction: discord.Interaction) -> OnQueued:
        async def on_queued(position: int) -> None:
            try:
                await interaction.edit_original_response(
                    content=f"⏳ You're #{position} in line; your cover is coming."
                )
            except discord.HTTPException as exc:  # a lost notice must not lose the cover
                log.warning("queue notice for %s failed: %s", interaction.id, exc)

        return on_queued

    async def drain(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Refuse new work and let in-flight requests finish (the service belongs to whoever
        made it: serve.serve closes it after every frontend drained). Idempotent: `close()`
        drains too, whoever calls it first."""
        await self.in_flight.drain(timeout=timeout)

    async def close(self) -> None:
        await self.drain()
        await super().close()  # type: ignore[misc]

    async def connected(self) -> bool:
        """READY, and the gateway socket of every shard this process runs is open (/healthz)."""
        client: Any = self  # the discord.Client or AutoShardedClient this is mixed into
        if client.is_closed() or not client.is_ready():
            return False
        if isinstance(client, discord.AutoShardedClient):
            return all(not shard.is_closed() for shard in client.shards.values())
        return client.ws is not None and client.ws.open


class CoverBot(CoverBotMixin, discord.Client):
    pass


class ShardedCoverBot(CoverBotMixin, discord.AutoShardedClient):
    pass


def make_bot(service: CoverCommands, settings: DiscordConfig, **client_options: Any) -> CoverBotMixin:
    if settings.shard_count:  # this process runs some (or all) of shard_count shards
        client_options.setdefault("shard_count", settings.shard_count)
        client_options.setdefault("shard_ids", settings.shard_ids or None)
    cls = ShardedCoverBot if settings.sharded or settings.shard_count else CoverBot
    return cls(service=service, settings=settings, **client_options)
