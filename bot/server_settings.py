"""Per-server settings (a Discord guild, a Slack team) that its admins choose with
`/settings`, stored in the guild_settings table: grids of four or single covers, and whether
answers are private (only the person who asked sees them) unless a command says otherwise.
Frontends check who is an admin; this module checks values and describes them.
"""

from __future__ import annotations

from typing import Any

from albumgan.bot.grids import DEFAULT_LAYOUT, LAYOUT_SETTING, LAYOUTS
from albumgan.bot.types import CoverCommands, Requester, UserError

PRIVATE_SETTING = "private"
DEFAULTS: dict[str, Any] = {LAYOUT_SETTING: DEFAULT_LAYOUT, PRIVATE_SETTING: False}
NOT_ADMIN = "Only server admins (Manage Server permission, or a workspace admin on Slack) can change settings."
NO_SERVER = "Settings belong to a server: use /settings in one of its channels."
YES, NO = ("on", "yes", "true", "private"), ("off", "no", "false", "public")


def parse(key: str, raw: Any) -> Any:
    """A setting's value as an admin gave it (a chat word or a typed option)."""
    if key == LAYOUT_SETTING:
        value = str(raw).strip().lower()
        if value not in LAYOUTS:
            raise UserError(f"The layout is one of {', '.join(LAYOUTS)}.")
        return value
    if key == PRIVATE_SETTING:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word not in (*YES, *NO):
            raise UserError("Private is on or off.")
        return word in YES
    raise UserError(f"There is no setting {key!r}; there are {', '.join(DEFAULTS)}.")


async def current(service: CoverCommands, who: Requester) -> dict[str, Any]:
    return {key: await service.get_setting(who, key, default) for key, default in DEFAULTS.items()}


async def private_by_default(service: CoverCommands, who: Requester) -> bool:
    """Whether this server's answers are private unless a command asks otherwise."""
    if not who.guild_id:
        return False  # a DM is private anyway
    return bool(await service.get_setting(who, PRIVATE_SETTING, DEFAULTS[PRIVATE_SETTING]))


async def change(service: CoverCommands, who: Requester, changes: dict[str, Any], *, admin: bool) -> str:
    """Apply `changes` (raw values by key) for an admin; the settings as text afterwards."""
    if not who.guild_id:
        raise UserError(NO_SERVER)
    if changes and not admin:
        raise UserError(NOT_ADMIN)
    for key, raw in changes.items():
        await service.set_setting(who, key, parse(key, raw))
    return describe(await current(service, who), changed=bool(changes))


def describe(values: dict[str, Any], *, changed: bool = False) -> str:
    layout = "grids of four covers to pick from" if values[LAYOUT_SETTING] == "grid" else "single covers"
    private = "private (only the person who asked sees them)" if values[PRIVATE_SETTING] else "public"
    switch = "on" if values[PRIVATE_SETTING] else "off"
    return "\n".join(
        [
            "Settings saved:" if changed else "This server's settings:",
            f"• layout: {values[LAYOUT_SETTING]} ({layout})",
            f"• private: {switch} (answers are {private} unless a command says otherwise)",
        ]
    )
