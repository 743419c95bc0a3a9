"""`albumgan`: the local frontend of the cover service, and the bot launcher.

    albumgan cover LINK [-o cover.png] [--seed N]    a cover for a Spotify track
    albumgan album LINK [-o album.png] [--seed N]    one cover for a whole album
    albumgan random [--seed N] [-o random.png]       a cover from the unconditional model
    albumgan about                                   installed models and data sources
    albumgan demo [--out out/]                       offline: a random and a demo-track cover
    albumgan serve --discord [--slack]               run the chat bot(s)

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
from albumgan.bot.cards import format_value
from albumgan.bot.config import BotConfig, ConfigError, Secrets, load_config
from albumgan.bot.db import DatabaseError
from albumgan.bot.types import CoverResult, Requester, ServiceUnavailable, UserError
from albumgan.labels import DEFAULT_SCHEMA

log = logging.getLogger("albumgan")

EXIT_USER = 2
EXIT_UNAVAILABLE = 3
DEMO_TRACK = "spotify:track:0DemoTrack000000000001"
DEMO_SEED = 7


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else (logging.INFO if args.command == "serve" else logging.ERROR),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
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
    sub.set_defaults(run=_run_serve)
    return parser


def _add_seed_and_output(sub: argparse.ArgumentParser, default_out: str) -> None:
    sub.add_argument("--seed", type=_seed, default=None, help="0..4294967295 (default: random)")
    sub.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(default_out),
        help=f"PNG to write (default {default_out}); the features card goes next to it as NAME-features.png",
    )


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
            print(
                f"{'':13} quality: FID {info.eval['fid']}, KID {info.eval.get('kid')} "
                f"({info.eval.get('n')} samples), {copies}"
            )
        if info.lineage.get("total_steps"):
            minutes = info.lineage.get("total_minutes")
            spent = f" over {minutes:g} minutes" if minutes is not None else ""
            runs = len(info.lineage.get("segments", []))
            print(f"{'':13} trained {info.lineage['total_steps']:,} steps{spent} in {runs} run(s)")
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


# -- helpers ---------------------------------------------------------------------------


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
    write_bytes(output, result.image_png)
    card_path = output.with_name(f"{output.stem}-features.png") if result.card_png else None
    if card_path is not None and result.card_png is not None:
        write_bytes(card_path, result.card_png)
    print(f"{result.title} — {result.subtitle}")
    if result.source_url:
        print(f"  {result.source_url}")
    report = result.features
    if report is not None:
        for spec in DEFAULT_SCHEMA.features:
            value = report.values.get(spec.name)
            source = report.sources.get(spec.name, "")
            print(f"  {spec.name:17} {format_value(spec, value):>10}  {source}")
        if report.missing_note:
            print(f"  note: {report.missing_note}")
    print(
        f"  seed {result.seed} · model {result.model_name} {result.model_version} · "
        f"cover #{result.generation_id} · {result.elapsed_s:.2f} s"
    )
    print(f"  cover:    {output}")
    if card_path is not None:
        print(f"  features: {card_path}")


if __name__ == "__main__":
    sys.exit(main())
