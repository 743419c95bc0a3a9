"""`albumgan`: the local frontend of the cover service, and the bot launcher.

    albumgan cover LINK [-o cover.png] [--seed N]    a cover for a Spotify track
    albumgan album LINK [-o album.png] [--seed N]    one cover for a whole album
    albumgan random [--seed N] [-o random.png]       a cover from the unconditional model
    albumgan about                                   installed models and data sources
    albumgan demo [--out out/]                       offline: a random and a demo-track cover
    albumgan serve --discord [--slack]               run the chat bot(s)
        [--shards 0-3 --shard-count 8] [--database PATH] [--metrics HOST:PORT] [--log-format json]
    albumgan health                                  ask a running bot's /healthz (the container's HEALTHCHECK)
    albumgan forget --user discord:ID                delete one person's covers from the history
    albumgan prune                                   delete what is past its keeping time ([storage])

Exit codes: 0 done, 2 bad input or config, 3 something needed is unavailable (a model,
Spotify), 1 an internal error (reported with an incident id, traceback with -v).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import secrets
import sys
from pathlib import Path

import albumgan
from albumgan.atomic import write_bytes
from albumgan.bot.cards import fitted_note, format_value
from albumgan.bot.config import (
    LOG_FORMATS,
    BotConfig,
    ConfigError,
    Secrets,
    bind_problem,
    load_config,
    metrics_address,
    shards_problem,
)
from albumgan.bot.db import Database, DatabaseError
from albumgan.bot.types import CoverResult, Requester, ServiceUnavailable, UserError
from albumgan.labels import DEFAULT_SCHEMA
from albumgan.logsafe import configure_logging, use_json_lines

log = logging.getLogger("albumgan")

EXIT_USER = 2
EXIT_UNAVAILABLE = 3
DEMO_TRACK = "spotify:track:0DemoTrack000000000001"
DEMO_SEED = 7
PLATFORMS = ("discord", "slack", "cli")  # Requester.platform


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(
        level=logging.DEBUG if args.verbose else (logging.INFO if args.command == "serve" else logging.ERROR),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = _with_process_flags(args, load_config(args.config))
        if (getattr(args, "log_format", None) or config.logging.format) == "json":
            use_json_lines()
        return args.run(args, config)
    except (UserError, ConfigError) as exc:
        print(f"albumgan: {exc}", file=sys.stderr)
        return EXIT_USER
    except (ServiceUnavailable, DatabaseError) as exc:
        print(f"albumgan: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130
    except Exception:
        incident = secrets.token_hex(4)
        log.debug("incident %s", incident, exc_info=True)
        print(f"albumgan: internal error (incident {incident}); run again with -v for details", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albumgan", description="Album covers from audio features.")
    parser.add_argument("--version", action="version", version=f"albumgan {albumgan.__version__}")
    parser.add_argument("--config", default=None, help="settings file (default: ./bot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, helptext in (
        ("cover", "a cover for a Spotify track link"),
        ("album", "one cover for a Spotify album link"),
    ):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("link", help="a Spotify link, URI or id")
        _add_seed_and_output(sub, f"{name}.png")
        sub.set_defaults(run=_run_link)

    sub = commands.add_parser("random", help="a cover from the unconditional model")
    _add_seed_and_output(sub, "random.png")
    sub.set_defaults(run=_run_random)

    sub = commands.add_parser("about", help="installed models and data sources")
    sub.set_defaults(run=_run_about)

    sub = commands.add_parser("demo", help="offline: a random cover and a demo-track cover")
    sub.add_argument("--out", type=Path, default=Path("out"), help="folder for the PNGs")
    sub.set_defaults(run=_run_demo)

    sub = commands.add_parser("serve", help="run the chat bot")
    sub.add_argument("--discord", action="store_true", help="the Discord frontend")
    sub.add_argument("--slack", action="store_true", help="the Slack frontend (both flags: one process serves both)")
    sub.add_argument("--shards", metavar="IDS", help="Discord shards this process runs, e.g. 0-3 or 0,2")
    sub.add_argument("--shard-count", type=int, metavar="N", help="the bot's Discord shards across all its processes")
    _add_database_option(sub)
    _add_metrics_option(sub)
    sub.add_argument("--log-format", choices=LOG_FORMATS, help="text or json lines (default: [logging] format)")
    sub.set_defaults(run=_run_serve)

    sub = commands.add_parser("health", help="ask a running bot's /healthz: exit 0 healthy (or no [metrics]), 1 not")
    _add_metrics_option(sub)
    sub.set_defaults(run=_run_health)

    sub = commands.add_parser("forget", help="delete one person's covers from the history (docs/PRIVACY.md)")
    sub.add_argument("--user", required=True, type=_user, metavar="PLATFORM:ID", help="e.g. slack:U0G9QF9C6")
    _add_database_option(sub)
    sub.set_defaults(run=_run_forget)

    sub = commands.add_parser("prune", help="delete covers and cache entries past their keeping time ([storage])")
    _add_database_option(sub)
    sub.set_defaults(run=_run_prune)
    return parser


# Settings that differ between processes of one bot (docs/OPERATIONS.md, "Scale"): flags
# that override bot.toml, so that several processes can share one file.


def _add_database_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--database", type=Path, metavar="PATH", help="the SQLite file (default: [database] path)")


def _add_metrics_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--metrics", metavar="HOST:PORT", help="/healthz and /metrics (default: [metrics] bind)")


def _with_process_flags(args, config: BotConfig) -> BotConfig:
    changes: dict = {}
    if getattr(args, "database", None) is not None:
        changes["database"] = dataclasses.replace(config.database, path=str(args.database.resolve()))
    if getattr(args, "metrics", None) is not None:
        if problem := bind_problem(args.metrics):
            raise UserError(f"--metrics: {problem}")
        changes["metrics"] = dataclasses.replace(config.metrics, bind=args.metrics)
    if getattr(args, "shards", None) is not None or getattr(args, "shard_count", None) is not None:
        if not args.discord:
            raise UserError("--shards and --shard-count are for the Discord frontend: add --discord")
        ids = _shard_ids(args.shards) if args.shards is not None else config.discord.shard_ids
        count = config.discord.shard_count if args.shard_count is None else args.shard_count
        if problem := shards_problem(ids, count):
            raise UserError(f"--shards {args.shards or ''} --shard-count {count}: {problem}")
        changes["discord"] = dataclasses.replace(config.discord, shard_ids=ids, shard_count=count)
    return dataclasses.replace(config, **changes)


def _shard_ids(text: str) -> list[int]:
    """ "0-3" -> [0, 1, 2, 3]; "0,2,5" and "0-1,4" too."""
    ids: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()) or (dash and int(last) < int(first)):
            raise UserError(f"--shards {text!r}: not shard ids (e.g. 0-3, 0,2,4 or 0-1,6)")
        ids += range(int(first), int(last if dash else first) + 1)
    return ids


def _add_seed_and_output(sub: argparse.ArgumentParser, default_out: str) -> None:
    sub.add_argument("--seed", type=_seed, default=None, help="0..4294967295 (default: random)")
    sub.add_argument(
        "-o",
        "--output",
        type=_output_file,
        default=Path(default_out),
        help=f"PNG to write (default {default_out}); the features card goes next to it as NAME-features.png",
    )


def _output_file(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    return Path(text)


def _user(text: str) -> tuple[str, str]:
    platform, colon, user_id = text.partition(":")
    if not colon or platform not in PLATFORMS or not user_id.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not PLATFORM:ID (PLATFORM: {', '.join(PLATFORMS)})")
    return platform, user_id.strip()


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


# -- commands --------------------------------------------------------------------------


def _run_link(args, config: BotConfig) -> int:
    async def go(service):
        call = service.cover if args.command == "cover" else service.album
        return await call(args.link, _me(), seed=args.seed)

    result = asyncio.run(_with_service(config, go))
    _report(result, args.output)
    return 0


def _run_random(args, config: BotConfig) -> int:
    result = asyncio.run(_with_service(config, lambda s: s.random(_me(), seed=args.seed)))
    _report(result, args.output)
    return 0


def _run_demo(args, config: BotConfig) -> int:
    """Everything local: no tokens, no network, the made-up demo tracks."""

    async def go(service):
        unavailable = list(service.models.problems.values())
        if unavailable:
            raise ServiceUnavailable("the demo needs both models:\n  " + "\n  ".join(unavailable))
        random = await service.random(_me(), seed=DEMO_SEED)
        cover = await service.cover(DEMO_TRACK, _me(), seed=DEMO_SEED)
        return random, cover

    random, cover = asyncio.run(_with_service(config, go, secrets=Secrets()))
    print("albumgan demo: offline, local demo data (made-up tracks), no tokens\n")
    _report(random, args.out / f"random-seed{random.seed}.png")
    print()
    _report(cover, args.out / f"demo-track-seed{cover.seed}.png")
    return 0


def _run_about(args, config: BotConfig) -> int:
    async def go(service):
        return await service.about(), dict(service.models.problems), service.lookups.spotify_note

    models, problems, spotify_note = asyncio.run(_with_service(config, go))
    for info in models:
        dataset = info.dataset or {}
        print(
            f"{info.kind:13} {info.name} {info.version}: {info.resolution} px, step {info.step}, "
            f"trained on {dataset.get('count', '?')} covers ({info.provider})"
        )
        print(f"{'':13} {info.path} sha256 {info.sha256[:12]}")
        if info.eval.get("fid") is not None:
            copies = "no memorised covers" if info.eval.get("memorisation_passed") else "MEMORISATION CHECK FAILED"
            variety = (
                f", precision {info.eval['precision']}, recall {info.eval['recall']}"
                if info.eval.get("recall") is not None
                else ""
            )
            print(
                f"{'':13} quality: FID {info.eval['fid']}, KID {info.eval.get('kid')}{variety} "
                f"({info.eval.get('n')} samples), {copies}"
            )
        if info.lineage.get("total_steps"):
            minutes = info.lineage.get("total_minutes")
            spent = f" over {minutes:g} minutes" if minutes is not None else ""
            runs = len(info.lineage.get("segments", []))
            print(f"{'':13} trained {info.lineage['total_steps']:,} steps{spent} in {runs} run(s)")
        if info.schema is not None and info.trained_ranges.bounds:
            bounds = info.trained_ranges.bounds
            spans = ", ".join(
                f"{spec.name} {format_value(spec, bounds[spec.name][0])} to {format_value(spec, bounds[spec.name][1])}"
                for spec in info.schema.features
                if spec.name in bounds
            )
            print(f"{'':13} trained on {spans}; songs beyond are given the nearest")
        weak = (dataset.get("provenance") or {}).get("weak_labels")
        if weak and info.conditional:
            print(f"{'':13} weak labels: {weak}")
    for kind, problem in problems.items():
        print(f"{kind:13} not installed: {problem}")
    print(f"{'spotify':13} {'off: ' + spotify_note if spotify_note else 'credentials set'}")
    print(f"{'features':13} {', '.join(config.features.providers)}")
    return 0


def _run_serve(args, config: BotConfig) -> int:
    slack = args.slack or (not args.discord and config.slack.enabled)
    if not (args.discord or slack):
        raise UserError(
            "choose a frontend: albumgan serve --discord and/or --slack (or [slack] enabled = true in bot.toml)"
        )
    if args.discord and not Secrets.from_env().discord_token:
        raise UserError(
            "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications and export its token"
        )
    if slack:
        from albumgan.bot.serve import slack_secrets_problem

        if problem := slack_secrets_problem(config.slack, Secrets.from_env()):
            raise UserError(problem)
    missing = [
        config.path(p) for p in (config.models.unconditional, config.models.acgan) if not config.path(p).is_file()
    ]
    if len(missing) == 2:
        raise ServiceUnavailable(
            f"no models installed ({missing[0]}, {missing[1]} do not exist): train and export "
            "them (albumgan-train, albumgan-export) or set [models] in bot.toml"
        )
    from albumgan.bot.serve import serve
    from albumgan.bot.service import CoverService

    asyncio.run(serve(config, CoverService.from_config(config), discord=args.discord or not slack, slack=slack))
    return 0


def _run_health(args, config: BotConfig) -> int:
    from albumgan.bot.ops_server import ask_health

    address = metrics_address(config.metrics.bind)
    if address is None:
        print("no [metrics] bind (or --metrics): this bot serves no /healthz to ask; counted as healthy")
        return 0
    status, body = ask_health(address)
    print(body)
    return 0 if status == 200 else 1


def _run_forget(args, config: BotConfig) -> int:
    platform, user_id = args.user
    count = asyncio.run(_with_database(config, lambda db: db.delete_generations_of(platform, user_id)))
    print(f"deleted {count} cover(s) of {platform}:{user_id}")
    return 0


def _run_prune(args, config: BotConfig) -> int:
    from albumgan.bot.retention import prune

    pruned = asyncio.run(_with_database(config, lambda db: prune(db, config)))
    days = config.storage.history_days
    kept = f"older than {days} days" if days else "(none: history_days = 0 keeps them all)"
    print(f"deleted {pruned.covers} cover(s) {kept} and {pruned.cache_entries} expired cache entries")
    return 0


# -- helpers ---------------------------------------------------------------------------


async def _with_database(config: BotConfig, body):
    """The database alone, for an operator's maintenance: no models, no network."""
    db = await Database.open_configured(config)
    try:
        return await body(db)
    finally:
        await db.close()


async def _with_service(config: BotConfig, body, *, secrets: Secrets | None = None):
    from albumgan.bot.service import CoverService  # imported late: `albumgan --help` stays instant

    # One person at a terminal: no cooldown between a command's own requests.
    config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, cooldown_s=0.0))
    overrides = {} if secrets is None else {"secrets": secrets}
    async with CoverService.from_config(config, **overrides) as service:
        return await body(service)


def _me() -> Requester:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local"
    return Requester(platform="cli", user_id=user)


def _report(result: CoverResult, output: Path) -> None:
    """Write the PNGs and print what was used to make them."""
    _write_output(output, result.image_png)
    card_path = output.with_name(f"{output.stem}-features.png") if result.card_png else None
    if card_path is not None and result.card_png is not None:
        _write_output(card_path, result.card_png)
    print(f"{result.title} — {result.subtitle}")
    if result.source_url:
        print(f"  {result.source_url}")
    report = result.features
    if report is not None:
        for spec in DEFAULT_SCHEMA.features:
            value = report.values.get(spec.name)
            source = report.sources.get(spec.name, "")
            used = report.fitted.get(spec.name)
            given = f" (model given {format_value(spec, used)})" if used is not None else ""
            print(f"  {spec.name:17} {format_value(spec, value):>10}  {source}{given}")
        for note in (report.missing_note, fitted_note(report)):
            if note:
                print(f"  note: {note}")
    print(
        f"  seed {result.seed} · model {result.model_name} {result.model_version} · "
        f"{'not saved' if result.generation_id is None else f'cover #{result.generation_id}'} · "
        f"{result.elapsed_s:.2f} s"
    )
    print(f"  cover:    {output}")
    if card_path is not None:
        print(f"  features: {card_path}")


def _write_output(path: Path, data: bytes) -> None:
    """A path that cannot be written is the user's to fix (exit 2), not an internal error."""
    try:
        write_bytes(path, data)
    except IsADirectoryError:
        raise UserError(f"cannot write {path}: it is a folder; name a file in it, e.g. {path / 'cover.png'}") from None
    except (FileExistsError, NotADirectoryError):  # a file stands where a folder on the way should be
        raise UserError(f"cannot write {path}: {path.parent} is not a folder") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


if __name__ == "__main__":
    sys.exit(main())
