"""The shared queue: round-robin fairness, positions, cooldown, caps, cancellation, drain."""

import asyncio

import pytest

from albumgan.bot.queue import FairQueue
from albumgan.bot.types import ServiceUnavailable, UserError


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def make_queue(**kw):
    options = dict(max_size=100, per_user=100, cooldown_s=0, workers=1, clock=Clock())
    options.update(kw)
    return FairQueue(**options)


async def test_round_robin_across_users():
    queue = make_queue()
    gate = asyncio.Event()
    order = []
    queued_positions = {}

    async def job(name):
        await gate.wait()
        order.append(name)

    async def on_queued_for(name):
        async def report(position):
            queued_positions[name] = position

        return report

    # "blocker" takes the only slot; then A bursts 4 requests before B and C send one each
    tasks = [asyncio.create_task(queue.run("blocker", lambda: job("blocker")))]
    await asyncio.sleep(0)
    for name, user in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("a4", "A"), ("b1", "B"), ("c1", "C")]:
        tasks.append(asyncio.create_task(queue.run(user, lambda n=name: job(n), on_queued=await on_queued_for(name))))
        await asyncio.sleep(0)
    assert queue.waiting == 6 and queue.running == 1
    gate.set()
    await asyncio.gather(*tasks)
    assert order == ["blocker", "a1", "b1", "c1", "a2", "a3", "a4"]
    # positions as reported when each request joined the line
    assert queued_positions == {"a1": 1, "a2": 2, "a3": 3, "a4": 4, "b1": 2, "c1": 3}


async def test_no_on_queued_when_a_slot_is_free():
    queue = make_queue(workers=2)
    told = []

    async def report(position):
        told.append(position)

    async def job():
        return 42

    assert await queue.run("A", job, on_queued=report) == 42
    assert told == []


async def test_cooldown_per_user():
    clock = Clock()
    queue = make_queue(cooldown_s=10, clock=clock)

    async def job():
        return "ok"

    assert await queue.run("A", job) == "ok"
    with pytest.raises(UserError, match="ask again in 10 s"):
        await queue.run("A", job)
    assert await queue.run("B", job) == "ok"  # others are not slowed by A
    clock.now += 4.5
    with pytest.raises(UserError, match="in 6 s"):
        await queue.run("A", job)
    clock.now += 6
    assert await queue.run("A", job) == "ok"


async def test_per_user_cap_and_full_queue():
    queue = make_queue(max_size=3, per_user=2)
    gate = asyncio.Event()

    async def job():
        await gate.wait()

    tasks = [asyncio.create_task(queue.run("A", job)), asyncio.create_task(queue.run("A", job))]
    await asyncio.sleep(0)
    with pytest.raises(UserError, match="already have 2 covers on the way"):
        await queue.run("A", job)
    tasks.append(asyncio.create_task(queue.run("B", job)))
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable, match="busy"):
        await queue.run("C", job)
    gate.set()
    await asyncio.gather(*tasks)
    assert queue.waiting == 0 and queue.running == 0
    await queue.run("C", job)  # room again


async def test_errors_and_cancellation_free_the_slot():
    queue = make_queue()
    gate = asyncio.Event()

    async def boom():
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError):
        await queue.run("A", boom)

    async def wait():
        await gate.wait()
        return "done"

    first = asyncio.create_task(queue.run("A", wait))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(queue.run("B", wait))
    await asyncio.sleep(0)
    assert queue.waiting == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.waiting == 0
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert queue.running == 0
    gate.set()
    assert await queue.run("C", wait) == "done"


async def test_a_failing_on_queued_does_not_lose_the_request():
    queue = make_queue()
    gate = asyncio.Event()

    async def wait():
        await gate.wait()
        return "made"

    async def broken_frontend(position):
        raise ConnectionError("discord is down")

    first = asyncio.create_task(queue.run("A", wait))
    await asyncio.sleep(0)
    second = asyncio.create_task(queue.run("B", wait, on_queued=broken_frontend))
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(first, second) == ["made", "made"]


async def test_close_finishes_admitted_work_and_refuses_new():
    queue = make_queue()
    gate = asyncio.Event()
    finished = []

    async def job(n):
        await gate.wait()
        finished.append(n)

    tasks = [asyncio.create_task(queue.run(u, lambda u=u: job(u))) for u in "ABC"]
    await asyncio.sleep(0)
    closing = asyncio.create_task(queue.close())
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable, match="restarting"):
        await queue.run("D", lambda: job("D"))
    assert not closing.done()
    gate.set()
    await closing
    assert sorted(finished) == ["A", "B", "C"]
    await asyncio.gather(*tasks)
