"""The `callcenter` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from callcenter.config import Secrets, Settings
from callcenter.dialplan.model import Dialplan
from callcenter.errors import CallcenterError

__all__ = ["main"]

log = logging.getLogger("callcenter")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
        force=True,
    )
    # panoramisk logs every reconnect attempt; our AMI client says what matters once.
    logging.getLogger("callcenter.asterisk.panoramisk").setLevel(logging.CRITICAL)
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.app import serve

    asyncio.run(serve(settings))
    return 0


def _cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Everything on this machine: PostgreSQL, Asterisk, the service; Ctrl-C stops all of it."""
    from callcenter.app import serve
    from callcenter.stack import Stack, follow_log

    stack = Stack(settings)
    try:
        stack.start_database()
        stack.start_asterisk()
        _print_phones(settings, stack.secrets)

        async def run() -> None:
            follower = asyncio.create_task(follow_log(stack.asterisk.log_file, logging.getLogger("asterisk")))
            try:
                await serve(settings)
            finally:
                follower.cancel()
                with suppress(asyncio.CancelledError):
                    await follower

        with suppress(KeyboardInterrupt):
            asyncio.run(run())
    finally:
        stack.stop()
    log.info("call center stopped")
    return 0


def _print_phones(settings: Settings, secrets: Secrets) -> None:
    from callcenter.dialplan.loader import load_dialplan

    dialplan = load_dialplan(settings.dialplan_dir)
    for agent in dialplan.phones():
        password = agent.password or secrets.phone_passwords.get(agent.extension, "?")
        log.info(
            "desk phone %s (%s): user %s password %s server %s:%d",
            agent.extension,
            agent.name,
            agent.extension,
            password,
            settings.sip_host,
            settings.sip_port,
        )
    for number, line in dialplan.numbers.items():
        log.info("number %s: %s (%s)", number, line.name, line.language)
    log.info("HTTP API http://%s:%d/api/ bearer token %s", settings.http_host, settings.http_port, secrets.api_token)


def _cmd_phones(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.dialplan.loader import load_dialplan

    dialplan = load_dialplan(settings.dialplan_dir)
    secrets = Secrets.load(settings.run_dir, [phone.extension for phone in dialplan.phones()])
    _print_phones(settings, secrets)
    return 0


def _cmd_api_token(settings: Settings, args: argparse.Namespace) -> int:
    """The bare token, for scripts: curl -H "Authorization: Bearer $(callcenter api-token)" ..."""
    print(Secrets.load(settings.run_dir).api_token)
    return 0


def _cmd_calls(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.store.queries import latest_calls

    secrets = Secrets.load(settings.run_dir)
    engine = create_engine(settings.database_dsn(secrets), connect_args={"connect_timeout": 5})
    try:
        records = latest_calls(engine, args.last)
    except DBAPIError as error:
        print(f"callcenter: cannot read call records: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for record in reversed(records):
        print(
            f"{record['started_at'][:19]}  {record['dialled_number'] or record['dialled_raw']:<14} "
            f"from {record['caller_number'] or '-':<14} keys {record['digits'] or '-':<6} "
            f"{record['outcome']} {record['outcome_reason']}"
        )
        if args.steps:
            for step in record["steps"]:
                figures = [
                    f"{name} {step[name]}" for name in ("queue", "agent", "position", "result", "detail") if step[name]
                ]
                if step["seconds"] is not None:
                    figures.append(f"{step['seconds']:.1f} s")
                print(f"    {step['at'][11:19]}  {step['step']:<18} {'  '.join(figures)}")
    return 0


def _load_checked(settings: Settings, path: Path | None = None) -> Dialplan:
    """The dialplan with every check, prompts included; DialplanError lists what is wrong."""
    from callcenter.dialplan.loader import load_dialplan
    from callcenter.sounds import shipped_prompts

    shipped = shipped_prompts(settings.sounds_dir)
    return load_dialplan(path or settings.dialplan_dir, lambda language, name: (language, name) in shipped)


def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} error(s)", file=sys.stderr)


def _cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.dialplan.loader import DialplanError

    path = Path(args.path) if args.path else settings.dialplan_dir
    try:
        dialplan = _load_checked(settings, path)
    except DialplanError as error:
        _print_problems(error.problems)
        return 1
    print(
        f"{path}: OK ({len(dialplan.numbers)} numbers, {len(dialplan.menus)} menus, {len(dialplan.queues)} queues, "
        f"{len(dialplan.agents)} agents, {len(dialplan.supervisors)} supervisors, {len(dialplan.hours)} schedules)"
    )
    return 0


def _cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.dialplan.schema import file_schema

    json.dump(file_schema(), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def _cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from callcenter.dialplan.loader import DialplanError
    from callcenter.ivr.simulator import simulate

    try:
        dialplan = _load_checked(settings)
    except DialplanError as error:
        _print_problems(error.problems)
        return 1
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"callcenter: --at {args.at!r}: expected a date and time like '2026-12-31 23:30'", file=sys.stderr)
            return 2
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(args.timezone))
    else:
        at = datetime.now(ZoneInfo(args.timezone))
    keys = args.keys.split(",") if args.keys else []
    for line in simulate(dialplan, args.number, args.caller, at, keys):
        print(line)
    return 0


def _cmd_reload(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.control import request

    reply = request(settings.run_dir / "control.sock", {"command": "reload"})
    if not reply.get("ok"):
        _print_problems(reply.get("problems") or [reply.get("error", "reload failed")])
        print("the dialplan in service is unchanged", file=sys.stderr)
        return 1
    state = "now live" if reply.get("changed") else "unchanged (the files hold what is live)"
    print(f"dialplan version {reply.get('version')} {state}")
    return 0


def _cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.store import schema
    from callcenter.store.cluster import PostgresCluster

    secrets = Secrets.load(settings.run_dir)
    if args.action == "upgrade":
        schema.upgrade(settings.database_dsn(secrets))
        print(f"database schema at {schema.head_revision()}")
        return 0
    cluster = PostgresCluster(settings.pg_data_dir, settings.pg_port, secrets.db_password)
    if args.action == "start":
        cluster.start()
    else:
        cluster.stop()
    return 0


def _cmd_asterisk_root(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.asterisk.runtime import build_root

    version = build_root(settings.asterisk_root)
    print(f"{settings.asterisk_root}: Asterisk {version}")
    return 0


def _cmd_asterisk_config(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.stack import Stack

    print(f"generated Asterisk config in {Stack(settings).write_asterisk_config()}")
    return 0


def _cmd_sounds(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.sounds import build_music, build_prompts

    made = build_prompts(settings.sounds_dir) + build_music(settings.sounds_dir)
    print(f"{made} prompt(s) made in {settings.sounds_dir}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start PostgreSQL, Asterisk and the service; Ctrl-C stops all").set_defaults(
        handler=_cmd_up
    )
    commands.add_parser("serve", help="run the service (FastAGI, AMI, record writer)").set_defaults(handler=_cmd_serve)
    calls = commands.add_parser("calls", help="print the latest call records")
    calls.add_argument("--last", type=int, default=20, metavar="N", help="how many (default 20)")
    calls.add_argument("--json", action="store_true", help="as a JSON list (each call with its steps)")
    calls.add_argument("--steps", action="store_true", help="each call's steps in the queues, under it")
    calls.set_defaults(handler=_cmd_calls)
    check = commands.add_parser("check", help="validate the dialplan files")
    check.add_argument("path", nargs="?", help="a directory or file (default: dialplans/)")
    check.set_defaults(handler=_cmd_check)
    commands.add_parser("phones", help="print the desk phones' SIP credentials").set_defaults(handler=_cmd_phones)
    commands.add_parser("api-token", help="print the HTTP API's bearer token").set_defaults(handler=_cmd_api_token)
    commands.add_parser("schema", help="print the JSON Schema of the dialplan files").set_defaults(handler=_cmd_schema)
    commands.add_parser("reload", help="reload the dialplan in the running service").set_defaults(handler=_cmd_reload)
    simulate = commands.add_parser("simulate", help="walk a call through the dialplan, without Asterisk")
    simulate.add_argument("number", help="the number dialled, in any form")
    simulate.add_argument("--at", help="when, e.g. '2026-12-31 23:30' (default: now)")
    simulate.add_argument("--timezone", default="Europe/Moscow", help="of --at when it gives none")
    simulate.add_argument("--caller", help="the caller's number")
    simulate.add_argument("--keys", help="the caller's inputs, comma-separated; an empty item lets a timeout pass")
    simulate.set_defaults(handler=_cmd_simulate)
    db = commands.add_parser("db", help="the database: upgrade the schema, start or stop the private cluster")
    db.add_argument("action", choices=["upgrade", "start", "stop"])
    db.set_defaults(handler=_cmd_db)
    asterisk = commands.add_parser("asterisk-root", help="build (once) and check the Asterisk 22 root")
    asterisk.set_defaults(handler=_cmd_asterisk_root)
    commands.add_parser(
        "asterisk-config", help="write the generated Asterisk config (phones, ports, AMI secret) into the run dir"
    ).set_defaults(handler=_cmd_asterisk_config)
    commands.add_parser("sounds", help="make the project's prompts from sounds/prompts.tsv").set_defaults(
        handler=_cmd_sounds
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        _setup_logging(settings.log_level)
        result: int = args.handler(settings, args)
        return result
    except CallcenterError as error:
        print(f"callcenter: {error}", file=sys.stderr)
        return 2
