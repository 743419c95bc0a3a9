"""What each command does, with an example: one catalogue for `/help` on every platform and
for Discord's command descriptions (through discord.py's Translator, English the only locale).

Keys are the command keys of `[discord.commands]` / `[slack.commands]`; the text names no
command, so renamed commands read right (`help_lines` puts the configured names in).
"""

from __future__ import annotations

from dataclasses import dataclass

from albumgan.bot.config import DiscordCommands


@dataclass(frozen=True)
class CommandHelp:
    description: str  # what it does, at most 100 characters (Discord's limit)
    example: str  # the arguments of an example, after the command name ("" = none)


COMMANDS: dict[str, CommandHelp] = {
    "cover": CommandHelp(
        "Covers for a Spotify track, from its audio features: pick one of four",
        "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    ),
    "album": CommandHelp(
        "Covers for a whole Spotify album (its tracks' features averaged)",
        "https://open.spotify.com/album/1DFixLWuPkv3KT3TnV35m3",
    ),
    "random": CommandHelp("Covers from random latents; a seed makes the same ones again", "1234"),
    "show": CommandHelp("Re-make one of your covers exactly, by its number", "42"),
    "blend": CommandHelp(
        "Covers along the path between two songs (or seed:N), as a strip and an animation",
        "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC seed:123",
    ),
    "history": CommandHelp("Your last covers (only you see the list)", "2"),
    "about": CommandHelp("Which models make the covers, and what they were trained on", ""),
    "forget": CommandHelp("Delete every cover you made from my history", ""),
    "settings": CommandHelp("Server admins: grids of four or single covers, private answers by default", "grid"),
    "help": CommandHelp("What each command does, with examples", ""),
}

INTRO = (
    "AlbumGAN makes album covers with a GAN trained on album art, steered by a song's audio "
    'features. A song\'s first covers are always the same ones, so you can share "its cover"; '
    "Reroll gives new ones."
)
BUTTONS = (
    "Buttons: Pick shows one cover full size with its features card; Vary makes four variations "
    "around it; Reroll makes new ones; Full size sends a 3000 px file; Delete removes an answer "
    "(only whoever asked, or a server admin)."
)


def help_lines(names: DiscordCommands) -> list[tuple[str, str]]:
    """(usage example with the configured command name, what it does), in catalogue order."""
    lines = []
    for key, entry in COMMANDS.items():
        name = getattr(names, key, None)
        if name:
            example = f"/{name} {entry.example}".rstrip()
            lines.append((example, entry.description))
    return lines


def help_text(names: DiscordCommands, bold: str = "*") -> str:
    """The whole help as chat text (`bold`: Slack's * or Discord's **)."""
    commands = [f"{bold}{usage}{bold}: {what}" for usage, what in help_lines(names)]
    return "\n".join([INTRO, "", *commands, "", BUTTONS])
