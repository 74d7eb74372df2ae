"""The `callcenter` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError

from callcenter.config import Secrets, Settings, weak_secrets
from callcenter.dialplan.model import Dialplan
from callcenter.errors import CallcenterError
from callcenter.report_cli import add_report_commands
from callcenter.users_cli import add_users_commands

if TYPE_CHECKING:
    from callcenter.store.recording_queries import StoredRecording

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
    # Phones without a password in the dialplan use the run directory's: a hand-written weak one stops the start.
    weak = weak_secrets(settings.run_dir, [phone.extension for phone in dialplan.phones() if not phone.password])
    if weak:
        _print_problems(weak)
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
    if args.action in ("backup", "restore"):
        return _backup_or_restore(settings.database_dsn(secrets), args)
    cluster = PostgresCluster(settings.pg_data_dir, settings.pg_port, secrets.db_password)
    if args.action == "start":
        cluster.start()
    else:
        cluster.stop()
    return 0


def _backup_or_restore(dsn: str, args: argparse.Namespace) -> int:
    from callcenter.store import backup

    if not args.file:
        print(f"callcenter db {args.action}: name the dump file", file=sys.stderr)
        return 2
    path = Path(args.file)
    if args.action == "backup":
        size = backup.backup(dsn, path)
        print(f"{path}: {size} bytes")
        return 0
    if not args.yes:  # no prompt (cron, CI): replacing every record is asked for in so many words
        print(f"callcenter db restore replaces the database's records with {path}'s: add --yes", file=sys.stderr)
        return 2
    backup.restore(dsn, path)
    print(f"restored from {path}")
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


# --- recordings ---------------------------------------------------------------------------------------------


def _with_database(settings: Settings, what: str, work: Callable[[Engine], int]) -> int:
    engine = create_engine(settings.database_dsn(Secrets.load(settings.run_dir)), connect_args={"connect_timeout": 5})
    try:
        return work(engine)
    except DBAPIError as error:
        print(f"callcenter: cannot {what}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _cli_actor() -> str:
    """Who the audit log names for a command typed here: the Unix user running it."""
    import os
    import pwd

    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no passwd entry (a container)
        name = str(os.getuid())
    return f"cli:{name}"[:64]


def _iso_time(text: str) -> datetime:
    """For argparse: an ISO 8601 time; without a zone, UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an ISO time like 2027-01-01T00:00:00+03:00") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _search_limit(text: str) -> int:
    from callcenter.store.recording_queries import SEARCH_LIMIT_MAX

    if not text.isdigit() or not 1 <= int(text) <= SEARCH_LIMIT_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number from 1 to {SEARCH_LIMIT_MAX}")
    return int(text)


def _policy_days(settings: Settings) -> dict[str, int] | None:
    """Days kept by queue, from the current dialplan; None (and the problems printed) when it is invalid."""
    from callcenter.dialplan.loader import DialplanError, load_dialplan
    from callcenter.recordings.purge import policy_retention

    try:
        return policy_retention(load_dialplan(settings.dialplan_dir))
    except DialplanError as error:
        _print_problems(error.problems)
        return None


def _recording_line(row: StoredRecording) -> str:
    recording = row.recording
    state = "  held" if row.legal_hold else ""
    if row.purged_at is not None:
        state += f"  purged {row.purged_at.isoformat()[:19]}"
    return (
        f"{recording.started_at.isoformat()[:19]}  {recording.recording_id}  call {recording.linkedid}  "
        f"agent {recording.agent or '-'}  queue {recording.queue or '-'}  {recording.seconds:.1f} s  "
        f"{recording.format}{state}"
    )


def _cmd_recordings_list(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.store.recording_queries import RecordingSearch, search_recordings

    search = RecordingSearch(linkedid=args.linkedid, agent=args.agent, queue=args.queue, limit=args.last)

    def work(engine: Engine) -> int:
        with engine.connect() as connection:
            found = search_recordings(connection, settings.node, search)
        if args.json:
            json.dump([row.to_json() for row in found], sys.stdout, ensure_ascii=False, indent=2)
            print()
        for row in [] if args.json else reversed(found):  # oldest first, as `calls` prints
            print(_recording_line(row))
        return 0

    return _with_database(settings, "read recordings", work)


def _cmd_recordings_show(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.recordings.purge import expiry, retention_days
    from callcenter.store.recording_queries import find_recording

    def work(engine: Engine) -> int:
        with engine.connect() as connection:
            row = find_recording(connection, settings.node, args.recording_id)
        if row is None:
            print(f"callcenter: no recording {args.recording_id!r} on node {settings.node}", file=sys.stderr)
            return 1
        policy_days = _policy_days(settings)
        if policy_days is None:
            print("callcenter: the dialplan is invalid: expiry shown from the stored retention", file=sys.stderr)
        days = retention_days(row, policy_days or {})
        due = expiry(row, policy_days or {})
        data = {
            **row.to_json(),
            "file": str(settings.recordings_dir / row.recording.path),
            "retention_days_now": days,
            "expires_at": due.isoformat() if due is not None else None,
        }
        if args.json:
            json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
            print()
            return 0
        if due is None:
            data["expires_at"] = "never: on legal hold" if row.legal_hold else "purged already"
        for name, value in data.items():
            print(f"{name:<18} {value if value is not None and value != '' else '-'}")
        return 0

    return _with_database(settings, "read recordings", work)


def _cmd_recordings_purge(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.recordings.purge import purge, retention_days

    policy_days = _policy_days(settings)
    if policy_days is None:
        print("callcenter: nothing purged: the retention of each queue is the dialplan's", file=sys.stderr)
        return 1
    now = args.now or datetime.now(UTC)

    def work(engine: Engine) -> int:
        report = purge(
            engine, settings.node, settings.recordings_dir, policy_days, now, _cli_actor(), dry_run=args.dry_run
        )
        if args.dry_run:
            for row in report.expired:
                origin = "queue policy" if row.recording.queue in policy_days else "stored"
                print(
                    f"would purge {row.recording.recording_id}  started {row.recording.started_at.isoformat()[:19]}  "
                    f"kept {retention_days(row, policy_days)} day(s) ({origin})  {row.recording.path}"
                )
            print(f"{len(report.expired)} recording(s) would be purged (dry run: nothing deleted)")
            return 0
        print(
            f"{report.purged} recording(s) purged: {report.deleted} file(s) deleted, {report.missing} missing already; "
            f"{report.failed} failed, {report.skipped} held or purged meanwhile"
        )
        return 1 if report.failed else 0

    return _with_database(settings, "purge recordings", work)


def _cmd_recordings_verify(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.recordings.verify import verify

    def work(engine: Engine) -> int:
        report = verify(engine, settings.node, settings.recordings_dir)
        for finding in report.findings:
            print(finding)
        print(f"{report.checked} recording(s) checked: {len(report.findings)} with a problem")
        return 1 if report.findings else 0

    return _with_database(settings, "verify recordings", work)


def _set_hold(settings: Settings, recording_id: str, hold: bool) -> int:
    from callcenter.records import AuditEntry
    from callcenter.store.recording_queries import add_audit, set_legal_hold

    action = "recording.hold" if hold else "recording.release"

    def work(engine: Engine) -> int:
        with engine.begin() as connection:  # the change and its audit entry together
            row = set_legal_hold(connection, settings.node, recording_id, hold)
            refusal = ""
            if row is None:
                refusal = f"no recording {recording_id!r} on node {settings.node}"
            elif row.purged_at is not None:
                refusal = f"recording {recording_id!r} was purged at {row.purged_at.isoformat()}"
            entry = AuditEntry(
                settings.node, datetime.now(UTC), _cli_actor(), action, recording_id[:96], not refusal, refusal
            )
            add_audit(connection, entry)
        if refusal:
            print(f"callcenter: {refusal}", file=sys.stderr)
            return 1
        print(f"recording {recording_id}: " + ("on legal hold: never purged" if hold else "legal hold released"))
        return 0

    return _with_database(settings, "change the legal hold", work)


def _cmd_recordings_hold(settings: Settings, args: argparse.Namespace) -> int:
    return _set_hold(settings, args.recording_id, True)


def _cmd_recordings_release(settings: Settings, args: argparse.Namespace) -> int:
    return _set_hold(settings, args.recording_id, False)


def _cmd_recordings_audit(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.store.recording_queries import AuditSearch, audit_entries

    search = AuditSearch(node=settings.node, target=args.recording_id, action_prefix="recording.", limit=args.last)

    def work(engine: Engine) -> int:
        with engine.connect() as connection:
            entries = audit_entries(connection, search)
        if args.json:
            json.dump([entry.to_json() for entry in entries], sys.stdout, ensure_ascii=False, indent=2)
            print()
            return 0
        for entry in reversed(entries):
            verdict = "allowed" if entry.allowed else "REFUSED"
            at = entry.at.isoformat()[:23]
            print(f"{at}  {entry.actor}  {entry.action}  {entry.target}  {verdict}  {entry.detail}")
        return 0

    return _with_database(settings, "read the audit log", work)


def _add_recordings_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("recordings", help="the recordings library: list, show, purge, legal hold, audit")
    actions = group.add_subparsers(dest="recordings_command", required=True)
    listing = actions.add_parser("list", help="this node's recordings, newest last")
    listing.add_argument("--linkedid", help="of one call")
    listing.add_argument("--agent", help="an agent's extension")
    listing.add_argument("--queue", help="a queue's name")
    listing.add_argument("--last", type=_search_limit, default=20, metavar="N", help="how many (default 20)")
    listing.add_argument("--json", action="store_true", help="as a JSON list, newest first")
    listing.set_defaults(handler=_cmd_recordings_list)
    show = actions.add_parser("show", help="one recording: metadata, file, legal hold, when it expires")
    show.add_argument("recording_id")
    show.add_argument("--json", action="store_true", help="as a JSON object")
    show.set_defaults(handler=_cmd_recordings_show)
    purge = actions.add_parser(
        "purge", help="delete the files whose retention is over (the queue's current policy, else the stored days)"
    )
    purge.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    purge.add_argument("--now", type=_iso_time, help="decide as of this ISO time (default: now; no zone: UTC)")
    purge.set_defaults(handler=_cmd_recordings_purge)
    hold = actions.add_parser("hold", help="put a recording on legal hold: never purged until released")
    hold.add_argument("recording_id")
    hold.set_defaults(handler=_cmd_recordings_hold)
    release = actions.add_parser("release", help="release a legal hold: the retention applies again")
    release.add_argument("recording_id")
    release.set_defaults(handler=_cmd_recordings_release)
    check = actions.add_parser(
        "verify", help="every unpurged recording's file there, of its size and SHA-256 (after a restore, a move)"
    )
    check.set_defaults(handler=_cmd_recordings_verify)
    audit = actions.add_parser("audit", help="who listed, fetched, held, released or purged recordings")
    audit.add_argument("recording_id", nargs="?", help="one recording's entries (default: all)")
    audit.add_argument("--last", type=_search_limit, default=20, metavar="N", help="how many (default 20)")
    audit.add_argument("--json", action="store_true", help="as a JSON list, newest first")
    audit.set_defaults(handler=_cmd_recordings_audit)


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
    db = commands.add_parser(
        "db", help="the database: upgrade the schema, start or stop the private cluster, back it up, restore it"
    )
    db.add_argument("action", choices=["upgrade", "start", "stop", "backup", "restore"])
    db.add_argument("file", nargs="?", help="backup: the dump to write; restore: the dump to read")
    db.add_argument("--yes", action="store_true", help="restore: yes, replace the database's records with the dump's")
    db.set_defaults(handler=_cmd_db)
    asterisk = commands.add_parser("asterisk-root", help="build (once) and check the Asterisk 22 root")
    asterisk.set_defaults(handler=_cmd_asterisk_root)
    commands.add_parser(
        "asterisk-config", help="write the generated Asterisk config (phones, ports, AMI secret) into the run dir"
    ).set_defaults(handler=_cmd_asterisk_config)
    commands.add_parser("sounds", help="make the project's prompts from sounds/prompts.tsv").set_defaults(
        handler=_cmd_sounds
    )
    _add_recordings_commands(commands)
    add_users_commands(commands)
    add_report_commands(commands)
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
