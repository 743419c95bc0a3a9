"""A person's covers: `/history` lists them (newest first, a page at a time, only to them),
`/show <cover id>` re-makes one exactly from its stored inputs, and who may see or delete
which cover. The text is the same on every platform (plain, no platform markup).
"""

from __future__ import annotations

import time

from albumgan.bot.db import Database, GenerationRecord
from albumgan.bot.types import HistoryEntry, HistoryPage, Requester, UserError

PAGE_SIZE = 10
MAX_PAGE = 1000  # deeper pages are refused rather than scanned
# History ids are SQLite integers: a button naming a larger (or no positive) one was forged
# or mangled, and is answered as stale instead of overflowing in the database driver.
MAX_GENERATION_ID = 2**63 - 1
STALE_BUTTON = "That button is no longer valid; run the command again for a fresh cover."
KINDS = {"cover": "track", "album": "album", "random": "random"}


async def history_page(db: Database, who: Requester, page: int) -> HistoryPage:
    """One page of `who`'s covers on their platform, newest first."""
    if not 0 <= page <= MAX_PAGE:
        raise UserError(f"Pages go from 1 to {MAX_PAGE + 1}.")
    rows = await db.generations_of(who.platform, who.user_id, PAGE_SIZE + 1, page * PAGE_SIZE)
    entries = tuple(_entry(rec) for rec in rows[:PAGE_SIZE])
    return HistoryPage(entries=entries, page=page, has_more=len(rows) > PAGE_SIZE)


async def stored_cover(db: Database, generation_id: int) -> GenerationRecord:
    """The stored cover a button or /show names, or a UserError saying why there is none."""
    if not 0 < generation_id <= MAX_GENERATION_ID:
        raise UserError(STALE_BUTTON)
    rec = await db.get_generation(int(generation_id))
    if rec is None and await db.was_deleted(int(generation_id)):
        raise UserError(f"Cover #{generation_id} is no longer available: it was deleted. Make a new one.")
    if rec is None:
        raise UserError(
            f"I have no cover #{generation_id} in my history; it may come from another install of this bot."
        )
    return rec


def _entry(rec: GenerationRecord) -> HistoryEntry:
    assert rec.id is not None  # read from the database
    return HistoryEntry(
        generation_id=rec.id,
        kind=rec.kind,
        title=rec.title,
        subtitle=rec.subtitle,
        seed=rec.seed,
        variations=len(rec.latent_steps),
        created_at=rec.created_at,
        model=f"{rec.model_name} {rec.model_version}",
    )


def history_text(page: HistoryPage, show_command: str, now: float | None = None) -> str:
    """The page as chat text: one line per cover, and how to see one again."""
    if not page.entries:
        return "You have no covers in my history yet." if page.page == 0 else "No older covers."
    now = time.time() if now is None else now
    lines = [f"Your covers, page {page.page + 1} (newest first):"]
    for e in page.entries:
        varied = f", variation {e.variations}" if e.variations else ""
        made = _ago(now - e.created_at)
        lines.append(f"#{e.generation_id} · {KINDS.get(e.kind, e.kind)} · {e.title} · seed {e.seed}{varied} · {made}")
    lines.append(
        f"See one again with `/{show_command} <number>`, e.g. `/{show_command} {page.entries[0].generation_id}`."
    )
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def check_visible(rec: GenerationRecord, who: Requester) -> None:
    """`/show` re-makes your own covers and those made in your server (they were posted
    there); a cover made in someone's DMs stays theirs."""
    mine = rec.platform == who.platform and rec.user_id == who.user_id
    here = rec.platform == who.platform and bool(rec.guild_id) and rec.guild_id == who.guild_id
    if not (mine or here):
        raise UserError(f"Cover #{rec.id} isn't yours or from this server, so I can't show it here.")


def check_deletable(rec: GenerationRecord, who: Requester, *, admin: bool) -> None:
    """Only the person who asked for a cover, or an admin of the server it was made in."""
    mine = rec.platform == who.platform and rec.user_id == who.user_id
    admin_here = admin and rec.platform == who.platform and bool(rec.guild_id) and rec.guild_id == who.guild_id
    if not (mine or admin_here):
        raise UserError("Only the person who asked for this cover (or a server admin) can delete it.")
