"""A person's history in the database, its text, and who may see or delete a cover."""

from __future__ import annotations

import pytest

from albumgan.bot.db import Database
from albumgan.bot.history import PAGE_SIZE, check_deletable, check_visible, history_page, history_text
from albumgan.bot.types import Requester, UserError
from tests.bot.test_db import _record

ALICE = Requester("discord", "alice", guild_id="g1")


async def test_pages_newest_first_and_grids_written_in_one_go(tmp_path):
    db = await Database.open(tmp_path / "bot.db")
    try:
        ids = await db.add_generations([_record(platform="discord", user_id="alice", seed=s) for s in range(12)])
        assert ids == sorted(ids) and len(set(ids)) == 12
        await db.add_generation(_record(platform="discord", user_id="bob"))
        first = await history_page(db, ALICE, 0)
        assert [e.generation_id for e in first.entries] == ids[::-1][:PAGE_SIZE] and first.has_more
        second = await history_page(db, ALICE, 1)
        assert [e.seed for e in second.entries] == [1, 0] and not second.has_more
        text = history_text(second, "show", now=second.entries[0].created_at + 7200)
        assert text.splitlines()[1] == f"#{ids[1]} · track · Song · seed 1 · 2 h ago"
        assert "`/show " in text
        assert await db.delete_generations_by_id(ids[:4]) == 4
        assert (await history_page(db, ALICE, 0)).entries[-1].generation_id == ids[4]
        with pytest.raises(UserError, match="Pages go from 1"):
            await history_page(db, ALICE, -1)
    finally:
        await db.close()


def test_who_may_see_and_delete_a_cover():
    made_here = _record(platform="discord", user_id="alice", guild_id="g1", id=7)
    made_in_dm = _record(platform="discord", user_id="alice", guild_id="", id=8)
    bob_here, bob_elsewhere = Requester("discord", "bob", guild_id="g1"), Requester("discord", "bob", guild_id="g2")
    check_visible(made_here, bob_here)
    check_visible(made_in_dm, Requester("discord", "alice"))
    for rec, who in ((made_here, bob_elsewhere), (made_in_dm, bob_here), (made_here, Requester("slack", "alice"))):
        with pytest.raises(UserError, match="isn't yours"):
            check_visible(rec, who)
    check_deletable(made_here, ALICE, admin=False)
    check_deletable(made_here, bob_here, admin=True)  # an admin of that server
    for rec, who, admin in (
        (made_here, bob_here, False),
        (made_here, bob_elsewhere, True),
        (made_in_dm, bob_here, True),
    ):
        with pytest.raises(UserError, match="Only the person who asked"):
            check_deletable(rec, who, admin=admin)
