"""Load benchmark: many concurrent chat commands into the real bot and the real CoverService.

A fake chat platform on 127.0.0.1 (the same fake the tests use) dispatches commands to the
bot's real client; latency is measured from the moment the platform dispatches a command to
the moment the bot's answer with the cover arrives back at the platform. Nothing is mocked
between those two points: discord.py, the service, the queue, aiosqlite, onnxruntime.

    python benchmarks/bot_load.py                      # 400 commands, 32 at once
    python benchmarks/bot_load.py --requests 1000 --concurrency 64 --mix random=1,cover=1
    python benchmarks/bot_load.py --rate 25            # open loop: 25 commands/s arrive
    python benchmarks/bot_load.py --slow-spotify 9     # /random while 12 /cover wait on a 9 s Spotify

Models come from --models (default models/, the shipped ones); when a file is missing an
untrained generator of the same shape is exported into a temporary folder (needs torch).
The fake platform runs in the same process and on the same cores as the bot, so its own
work counts against the figures.

`--slow-spotify S` measures isolation instead: timed /random commands while
`--waiting-covers` /cover commands wait on their Spotify lookups, once with the fake Spotify
answering at once and once with it answering every Web API call after S seconds.

The driver only knows the `Frontend` shape (start, send one command, wait for its answer):
`--frontend discord` (the default) or `--frontend slack` (fake Slack Web API + Socket Mode).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from albumgan.bot.config import (  # noqa: E402
    BotConfig,
    DatabaseConfig,
    DiscordConfig,
    FeaturesConfig,
    LimitsConfig,
    ModelsConfig,
    Secrets,
    SpotifyConfig,
)

REPO = Path(__file__).resolve().parents[1]
# The shipped models' shape (training/configs/*-64.toml), for stand-ins when models/ is empty.
STAND_IN = {"z_dim": 128, "resolution": 64, "width": 64}


@dataclass
class Outcome:
    command: str
    latency_s: float | None  # None: no answer before the deadline (lost)
    ok: bool  # answered with a cover (not an error message)
    answer: str = ""
    ack_s: float | None = None  # platforms with a separate ack (Slack): dispatch to ack


class Frontend(Protocol):
    """A chat platform with the bot attached: one method per benchmark need."""

    name: str

    def session(self, service: Any) -> contextlib.AbstractAsyncContextManager[Frontend]: ...

    async def command(self, name: str, options: dict[str, Any], user_id: str, timeout: float) -> Outcome: ...

    @property
    def server_id(self) -> str: ...  # the guild (Slack team) the commands come from


class DiscordFrontend:
    """The fake Discord gateway + REST, and the real discord.py bot from bot.discord_app."""

    name = "discord"

    def __init__(self) -> None:
        self.fake: Any = None

    @contextlib.asynccontextmanager
    async def session(self, service: Any) -> AsyncIterator[DiscordFrontend]:
        from albumgan.bot.discord_app import make_bot
        from fakes.discord import FakeDiscord

        async with FakeDiscord() as fake:
            with fake.patched():
                self.fake = fake
                bot = make_bot(service, DiscordConfig(), guild_ready_timeout=0)
                runner = asyncio.create_task(bot.start(fake.token))
                try:
                    await fake.wait_identified()
                    await bot.wait_until_ready()
                    yield self
                finally:
                    await bot.close()  # drains in-flight work
                    with contextlib.suppress(asyncio.CancelledError):
                        await runner

    async def command(self, name: str, options: dict[str, Any], user_id: str, timeout: float) -> Outcome:
        log = await self.fake.send_interaction(self.fake.slash_command(name, options, user_id=user_id))
        try:
            final = await log.wait_final(timeout)
        except TimeoutError:
            return Outcome(name, None, False)
        ok = bool(final.files) and final.file("cover.png")[:4] == b"\x89PNG"
        return Outcome(name, final.at - log.dispatched_at, ok, "" if ok else final.content)

    @property
    def server_id(self) -> str:
        return self.fake.guild_id


class SlackFrontend:
    """The fake Slack (Web API + Socket Mode), and the real slack-bolt app from bot.slack_app.
    Latency runs to the Block Kit message that follows the cover's upload."""

    name = "slack"

    def __init__(self) -> None:
        self.fake: Any = None

    @contextlib.asynccontextmanager
    async def session(self, service: Any) -> AsyncIterator[SlackFrontend]:
        from albumgan.bot.config import SlackConfig
        from albumgan.bot.slack_app import SlackFrontend as SlackApp
        from fakes.slack import FakeSlack

        async with FakeSlack() as fake:
            self.fake = fake
            app = SlackApp(
                service, SlackConfig(api_base=fake.api_base), bot_token=fake.bot_token, app_token=fake.app_token
            )
            try:
                await app.start()
                await fake.wait_connected()
                yield self
            finally:
                await app.close()  # drains in-flight work

    async def command(self, name: str, options: dict[str, Any], user_id: str, timeout: float) -> Outcome:
        text = str(options.get("seed", "")) if name == "random" else options["link"]
        log = await self.fake.send_command(f"/{name}", text, user_id=f"U{user_id}")
        try:
            final = await log.wait_final(timeout)
        except TimeoutError:
            return Outcome(name, None, False)
        ok = bool(final.buttons()) and log.upload().file("cover.png")[:4] == b"\x89PNG"
        ack_s = log.acked_at - log.dispatched_at if log.ack is not None else None
        return Outcome(name, final.at - log.dispatched_at, ok, "" if ok else final.text, ack_s)

    @property
    def server_id(self) -> str:
        from fakes.slack import TEAM_ID

        return TEAM_ID


FRONTENDS = {"discord": DiscordFrontend, "slack": SlackFrontend}


# --- the workload ----------------------------------------------------------------------


def parse_mix(text: str) -> list[tuple[str, int]]:
    mix = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in ("random", "cover", "album"):
            raise SystemExit(f"--mix: unknown command {name!r} (random, cover, album)")
        mix.append((name, int(weight or 1)))
    return mix


def plan(mix: list[tuple[str, int]], total: int, track_ids: list[str], album_ids: list[str]):
    """A deterministic interleaving of the mix; each command names a real track or album."""
    cycle = [name for name, weight in mix for _ in range(weight)]
    for i in range(total):
        name = cycle[i % len(cycle)]
        if name == "random":
            yield name, {"seed": i}
        elif name == "cover":
            yield name, {"link": f"https://open.spotify.com/track/{track_ids[i % len(track_ids)]}"}
        else:
            yield name, {"link": f"https://open.spotify.com/album/{album_ids[i % len(album_ids)]}"}


async def drive(
    frontend: Frontend, commands: list, *, concurrency: int, rate: float | None, timeout: float
) -> tuple[list[Outcome], float]:
    """Closed loop (`concurrency` outstanding) or open loop (`rate` arrivals per second).
    Every command comes from a different user, so per-user cooldowns do not throttle it:
    this measures the bot, not its fairness rules."""
    limit = asyncio.Semaphore(concurrency if rate is None else len(commands))

    async def one(i: int, name: str, options: dict) -> Outcome:
        async with limit:
            return await frontend.command(name, options, user_id=str(10**17 + i), timeout=timeout)

    started = time.perf_counter()
    tasks = []
    for i, (name, options) in enumerate(commands):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, name, options)))
    outcomes = await asyncio.gather(*tasks)
    return list(outcomes), time.perf_counter() - started


def report(outcomes: list[Outcome], wall_s: float, args: argparse.Namespace, models: str) -> str:
    answered = [o for o in outcomes if o.latency_s is not None]
    latencies = sorted(o.latency_s for o in answered)  # type: ignore[misc]
    errors = [o for o in answered if not o.ok]

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    lines = [
        f"frontend={args.frontend} requests={len(outcomes)} concurrency={args.concurrency} "
        f"rate={args.rate or 'closed-loop'} mix={args.mix} layout={args.layout} models={models}",
        f"cpus={os.cpu_count()} python={platform.python_version()} "
        f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}",
        f"commands/s: {len(answered) / wall_s:.1f}  (wall {wall_s:.1f} s)",
        f"latency p50: {pct(0.50) * 1000:.0f} ms  p95: {pct(0.95) * 1000:.0f} ms  "
        f"max: {(latencies[-1] if latencies else float('nan')) * 1000:.0f} ms  "
        f"mean: {(statistics.fmean(latencies) if latencies else float('nan')) * 1000:.0f} ms",
        f"lost: {len(outcomes) - len(answered)}  error answers: {len(errors)}",
    ]
    acks = sorted(o.ack_s for o in outcomes if o.ack_s is not None)
    if acks:
        lines.append(
            f"ack p50: {acks[len(acks) // 2] * 1000:.0f} ms  "
            f"p95: {acks[min(len(acks) - 1, int(0.95 * len(acks)))] * 1000:.0f} ms  "
            f"max: {acks[-1] * 1000:.0f} ms"
        )
    if errors:
        lines.append(f"first error answer: {errors[0].answer[:200]!r}")
    return "\n".join(lines)


# --- models, upstream fakes, the service --------------------------------------------------


def stand_in_model(folder: Path, kind: str) -> Path:
    """An untrained generator of the shipped shape, exported the way real ones are: the
    same ONNX graph and cost, only the weights are random."""
    import torch

    from albumgan.export.onnx_export import export_checkpoint
    from albumgan.labels import DEFAULT_SCHEMA
    from albumgan.training.architectures import network_state
    from albumgan.training.checkpoint import FORMAT, VERSION, save_checkpoint
    from albumgan.training.networks import Generator

    torch.manual_seed(0)
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    generator = Generator(**STAND_IN, c_dim=c_dim)
    state = network_state(generator)
    checkpoint = save_checkpoint(
        folder / f"{kind}.pt",
        {
            "format": FORMAT,
            "version": VERSION,
            "kind": kind,
            "step": 0,
            "generator": state,
            "generator_ema": state,
            "meta": {
                "latent_prior": "normal",
                "label_schema": DEFAULT_SCHEMA.to_dict() if kind == "acgan" else None,
                "dataset": {
                    "content_hash": "benchmark",
                    "count": 0,
                    "provenance": {"source": "untrained stand-in for benchmarks"},
                },
                "config": {},
                "created": "2026-11-25T00:00:00+00:00",
            },
        },
    )
    return export_checkpoint(checkpoint, folder / f"{kind}-stand-in-64.onnx")[0].path


def find_models(models_dir: Path, scratch: Path) -> tuple[dict[str, Path], str]:
    defaults = ModelsConfig()
    wanted = {"unconditional": Path(defaults.unconditional).name, "acgan": Path(defaults.acgan).name}
    found, label = {}, []
    for kind, name in wanted.items():
        path = models_dir / name
        if path.is_file():
            found[kind] = path
            label.append(name)
        else:
            found[kind] = stand_in_model(scratch, kind)
            label.append(f"{kind} untrained stand-in {STAND_IN}")
    return found, "; ".join(label)


def bench_config(
    scratch: Path, models: dict[str, Path], spotify: Any, recco: Any, workers: int, spotify_timeout_s: float = 5.0
) -> BotConfig:
    return BotConfig(
        models=ModelsConfig(unconditional=str(models["unconditional"]), acgan=str(models["acgan"])),
        features=FeaturesConfig(
            providers=["reccobeats", "spotify-popularity"], reccobeats_base=recco.base_url, timeout_s=5.0
        ),
        spotify=SpotifyConfig(api_base=spotify.api_base, token_url=spotify.token_url, timeout_s=spotify_timeout_s),
        limits=LimitsConfig(queue_size=1024, per_user_queued=3, cooldown_s=0.0, workers=workers),
        database=DatabaseConfig(path=str(scratch / "bench.sqlite3")),
        base_dir=str(scratch),
    )


async def random_while_covers_wait(
    frontend: Frontend, spotify: Any, tracks: list[str], args: argparse.Namespace, delay_s: float
) -> tuple[list[Outcome], float, list[Outcome]]:
    """Timed /random commands while one /cover per track waits on a Spotify answering in
    `delay_s`; returns the /random outcomes, their wall time, and the covers' outcomes."""
    spotify.clear_faults()
    if delay_s:
        spotify.inject(r"^GET /v1/", None, times=None, delay_s=delay_s)
    covers = [
        asyncio.create_task(
            frontend.command(
                "cover",
                {"link": f"https://open.spotify.com/track/{track}"},
                user_id=str(2 * 10**17 + i),
                timeout=args.timeout + delay_s * 4,
            )
        )
        for i, track in enumerate(tracks)
    ]
    await asyncio.sleep(0.5)  # the covers reach their lookups
    randoms = [("random", {"seed": i}) for i in range(args.requests)]
    outcomes, wall_s = await drive(frontend, randoms, concurrency=args.concurrency, rate=None, timeout=args.timeout)
    done = await asyncio.gather(*covers)
    spotify.clear_faults()
    return outcomes, wall_s, list(done)


def isolation_report(
    rows: dict[str, tuple[list[Outcome], float, list[Outcome]]], args: argparse.Namespace, models: str
) -> str:
    """One line per Spotify speed: /random latency while the covers wait, and the ratio."""
    lines = [
        f"frontend={args.frontend} /random x{args.requests} "
        f"({f'arriving {args.rate:g}/s' if args.rate else f'concurrency {args.concurrency}'}) while "
        f"{args.waiting_covers} /cover wait on Spotify; workers={args.workers} models={models}",
        f"cpus={os.cpu_count()} python={platform.python_version()} "
        f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}",
    ]
    p50s = []
    for label, (outcomes, _, covers) in rows.items():
        latencies = sorted(o.latency_s for o in outcomes if o.latency_s is not None)
        p50, p95 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        p50s.append(p50)
        covers_ok = sum(c.ok for c in covers)
        lines.append(
            f"  {label:24} /random p50 {p50 * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  "
            f"lost {len(outcomes) - len(latencies)}  errors {sum(not o.ok for o in outcomes)}  "
            f"covers ok {covers_ok}/{len(covers)}"
        )
    lines.append(f"  p50 slow/fast: {p50s[1] / p50s[0]:.2f}x (target: within 2x)")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> str:
    from albumgan.bot.service import CoverService
    from albumgan.bot.types import Requester
    from fakes.reccobeats import FakeReccoBeats
    from fakes.spotify import FakeSpotify, make_catalog

    mix = parse_mix(args.mix)
    with tempfile.TemporaryDirectory(prefix="bot-load-") as tmp:
        scratch = Path(tmp)
        models, label = await asyncio.to_thread(find_models, Path(args.models), scratch)
        catalog = make_catalog(n_albums=20, tracks_per_album=8, seed=3)
        async with FakeSpotify(catalog) as spotify, FakeReccoBeats(catalog) as recco:
            # a slow Spotify must answer, not time out: its lookups wait as long as it takes
            timeout_s = 5.0 + (args.slow_spotify or 0.0) * 2
            config = bench_config(scratch, models, spotify, recco, args.workers, timeout_s)
            secrets = Secrets(spotify_client_id=spotify.client_id, spotify_client_secret=spotify.client_secret)
            frontend = FRONTENDS[args.frontend]()
            # Opened and closed here, as bot/serve.py does: frontends only borrow the service.
            async with CoverService.from_config(config, secrets=secrets) as service, frontend.session(service):
                # Grids of four (the default) or single covers, as a server's admins choose.
                server = Requester(frontend.name, "bench", guild_id=frontend.server_id)
                await service.set_setting(server, "layout", args.layout)
                commands = list(
                    plan(mix, args.requests + args.warmup, list(catalog.tracks), [a.id for a in catalog.album_list])
                )
                await drive(
                    frontend, commands[: args.warmup], concurrency=args.concurrency, rate=None, timeout=args.timeout
                )
                if args.slow_spotify is not None:
                    tracks = list(catalog.tracks)[-2 * args.waiting_covers :]  # not looked up in the warm-up
                    fast = await random_while_covers_wait(frontend, spotify, tracks[: args.waiting_covers], args, 0.0)
                    slow = await random_while_covers_wait(
                        frontend, spotify, tracks[args.waiting_covers :], args, args.slow_spotify
                    )
                    rows = {"fast Spotify": fast, f"Spotify answering in {args.slow_spotify:g} s": slow}
                    return isolation_report(rows, args, label)
                outcomes, wall_s = await drive(
                    frontend,
                    commands[args.warmup :],
                    concurrency=args.concurrency,
                    rate=args.rate,
                    timeout=args.timeout,
                )
    return report(outcomes, wall_s, args, label)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frontend", choices=sorted(FRONTENDS), default="discord")
    parser.add_argument("--requests", type=int, default=400, help="timed commands")
    parser.add_argument("--warmup", type=int, default=20, help="untimed commands first")
    parser.add_argument("--concurrency", type=int, default=32, help="outstanding commands")
    parser.add_argument(
        "--rate", type=float, default=None, help="open loop: commands arriving per second (default: closed loop)"
    )
    parser.add_argument("--mix", default="random=1,cover=1", help="e.g. random=3,cover=1,album=1")
    parser.add_argument("--layout", choices=("grid", "single"), default="grid", help="answers of four covers, or one")
    parser.add_argument("--workers", type=int, default=LimitsConfig().workers, help="[limits] workers for the service")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a command is lost")
    parser.add_argument("--models", default=str(REPO / "models"))
    parser.add_argument(
        "--slow-spotify",
        type=float,
        default=None,
        metavar="S",
        help="isolation: /random while --waiting-covers /cover wait on a Spotify answering in S s (and in 0 s)",
    )
    parser.add_argument("--waiting-covers", type=int, default=12, help="/cover commands waiting, with --slow-spotify")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or (args.rate is not None and args.rate <= 0):
        parser.error("--requests, --concurrency and --rate must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    print(asyncio.run(run(parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
