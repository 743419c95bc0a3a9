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
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from albumgan.bot.cards import features_summary
from albumgan.bot.config import DiscordConfig
from albumgan.bot.inflight import DRAIN_TIMEOUT_S, InFlight
from albumgan.bot.types import CoverCommands, CoverResult, Requester, failure_text
from albumgan.modelfile import ModelInfo

log = logging.getLogger(__name__)

COVER_FILE = "cover.png"
CARD_FILE = "features.png"
MAX_SEED = 2**32 - 1
EMBED_COLOUR = discord.Colour(0x1DB954)

OnQueued = Callable[[int], Awaitable[None]]
Generate = Callable[[Requester, OnQueued], Awaitable[CoverResult]]


# --- presenting a result -------------------------------------------------------------------


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    if result.card_png:
        embed.set_thumbnail(url=f"attachment://{CARD_FILE}")
    embed.add_field(name="Seed", value=str(result.seed), inline=True)
    embed.add_field(name="Model", value=f"{result.model_name} {result.model_version}", inline=True)
    embed.set_footer(text=f"generation {result.generation_id} · {result.elapsed_s:.1f} s")
    return embed


def result_files(result: CoverResult) -> list[discord.File]:
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

    def __init__(self, generation_id: int) -> None:
        self.generation_id = generation_id
        super().__init__(  # type: ignore[call-arg]
            discord.ui.Button(
                label=self.label,
                emoji=self.emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"albumgan:{self.action}:{generation_id}",
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction, item, match):  # noqa: ANN001 - discord.py's signature
        return cls(int(match["generation_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: CoverBotMixin = interaction.client  # type: ignore[assignment]
        await bot.handle_button(interaction, self.action, self.generation_id)


class RerollButton(
    _GenerationButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"albumgan:reroll:(?P<generation_id>[0-9]{1,19})",
):
    action, label, emoji = "reroll", "Reroll", "🎲"


class VariationsButton(
    _GenerationButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"albumgan:variations:(?P<generation_id>[0-9]{1,19})",
):
    action, label, emoji = "variations", "Variations", "🔀"


BUTTONS = (RerollButton, VariationsButton)


def result_view(generation_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(generation_id))
    view.add_item(VariationsButton(generation_id))
    return view


# --- the bot -------------------------------------------------------------------------------


def requester(interaction: discord.Interaction) -> Requester:
    return Requester(
        platform="discord",
        user_id=str(interaction.user.id),
        channel_id=str(interaction.channel_id or ""),
        guild_id=str(interaction.guild_id or ""),
    )


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
        self.tree = CoverCommandTree(self)  # type: ignore[arg-type]
        self.in_flight = InFlight("interactions")
        self._add_commands()

    def _add_commands(self) -> None:
        names = self.settings.commands

        @app_commands.command(name=names.cover, description="A cover for a Spotify track")
        @app_commands.describe(link="A Spotify track link, e.g. https://open.spotify.com/track/…")
        async def cover(interaction: discord.Interaction, link: str) -> None:
            await self.serve(interaction, lambda who, q: self.service.cover(link, who, on_queued=q))

        @app_commands.command(name=names.album, description="One cover for a whole Spotify album")
        @app_commands.describe(link="A Spotify album link, e.g. https://open.spotify.com/album/…")
        async def album(interaction: discord.Interaction, link: str) -> None:
            await self.serve(interaction, lambda who, q: self.service.album(link, who, on_queued=q))

        @app_commands.command(name=names.random, description="A cover from a random latent")
        @app_commands.describe(seed="Re-make a cover you saw before (its seed is in the reply)")
        async def random(
            interaction: discord.Interaction, seed: app_commands.Range[int, 0, MAX_SEED] | None = None
        ) -> None:
            await self.serve(interaction, lambda who, q: self.service.random(who, seed=seed, on_queued=q))

        @app_commands.command(name=names.about, description="Which models make the covers")
        async def about(interaction: discord.Interaction) -> None:
            try:
                models = await self.service.about()
                await interaction.response.send_message(embed=about_embed(models), ephemeral=True)
            except Exception as exc:  # noqa: BLE001 - every failure still gets an answer
                await answer_failure(interaction, exc)

        commands: list[app_commands.Command] = [cover, album, random, about]
        for command in commands:
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(*BUTTONS)  # type: ignore[attr-defined]
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
        if action == "reroll":
            await self.serve(interaction, lambda who, q: self.service.reroll(generation_id, who, on_queued=q))
        else:
            await self.serve(interaction, lambda who, q: self.service.variation(generation_id, who, on_queued=q))

    async def serve(self, interaction: discord.Interaction, generate: Generate) -> None:
        """Defer, generate, answer: the one path every cover request takes."""
        if self.in_flight.draining:
            await answer_privately(interaction, "I'm restarting; please try again in a minute.")
            return
        with self.in_flight.tracked():
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException as exc:
                # Unknown interaction (10062): too late or already answered; nobody to tell.
                log.warning("could not acknowledge interaction %s: %s", interaction.id, exc)
                return
            try:
                result = await generate(requester(interaction), self._queued_notice(interaction))
                await interaction.edit_original_response(
                    content=None,
                    embed=result_embed(result),
                    attachments=result_files(result),
                    view=result_view(result.generation_id),
                )
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


class CoverBot(CoverBotMixin, discord.Client):
    pass


class ShardedCoverBot(CoverBotMixin, discord.AutoShardedClient):
    pass


def make_bot(service: CoverCommands, settings: DiscordConfig, **client_options: Any) -> CoverBotMixin:
    cls = ShardedCoverBot if settings.sharded else CoverBot
    return cls(service=service, settings=settings, **client_options)
