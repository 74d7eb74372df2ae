"""`callcenter users`: the web users (log-in for the wallboard, recordings, reports and admin pages).

    callcenter users add NAME --role agent|supervisor|admin [--extension EXT] [--password-stdin]
    callcenter users passwd NAME [--password-stdin]
    callcenter users disable NAME     (and `enable NAME`)
    callcenter users list
    callcenter users first-password   the first admin's generated password (see below)

A password is read from standard input with ``--password-stdin`` (one line), or generated and printed once.
An agent's or supervisor's extension must be in the dialplan. No default password exists: when the service
starts with no enabled admin, it makes ``admin`` with a random password kept (0600) in the run directory,
which ``first-password`` prints; ``passwd admin`` replaces it (and removes the file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from callcenter.config import Settings
from callcenter.errors import CallcenterError
from callcenter.web.passwords import check_new_password, generate_password, hash_password
from callcenter.web.user_store import (
    FIRST_ADMIN,
    FIRST_ADMIN_FILE,
    add_user,
    list_users,
    set_disabled,
    set_password,
)
from callcenter.web.users import Role, check_extension, check_username

__all__ = ["add_users_commands"]


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password and whether it was generated (then it is printed once)."""
    if args.password_stdin:
        line = sys.stdin.readline()
        return check_new_password(line.rstrip("\r\n")), False
    return generate_password(), True


def _cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.cli import _with_database
    from callcenter.dialplan.loader import load_dialplan

    username = check_username(args.name)
    role = Role(args.role)
    extension = check_extension(role, args.extension or "", load_dialplan(settings.dialplan_dir))
    password, generated = _password(args)

    def work(engine: Engine) -> int:
        with engine.begin() as connection:
            add_user(connection, username, role, extension, hash_password(password))
        print(f"user {username} added: {role}" + (f" for extension {extension}" if extension else ""))
        if generated:
            print(f"password (shown once): {password}")
        return 0

    return _with_database(settings, "add the user", work)


def _cmd_passwd(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.cli import _with_database

    password, generated = _password(args)

    def work(engine: Engine) -> int:
        with engine.begin() as connection:
            set_password(connection, args.name, hash_password(password), datetime.now(UTC))
        if args.name == FIRST_ADMIN:
            (settings.run_dir / FIRST_ADMIN_FILE).unlink(missing_ok=True)
        print(f"user {args.name}: password changed; their sessions are closed")
        if generated:
            print(f"password (shown once): {password}")
        return 0

    return _with_database(settings, "change the password", work)


def _disabling(disabled: bool) -> Callable[[Settings, argparse.Namespace], int]:
    def command(settings: Settings, args: argparse.Namespace) -> int:
        from callcenter.cli import _with_database

        def work(engine: Engine) -> int:
            with engine.begin() as connection:
                set_disabled(connection, args.name, disabled)
            print(f"user {args.name}: " + ("disabled; their sessions are closed" if disabled else "enabled"))
            return 0

        return _with_database(settings, "change the user", work)

    return command


def _cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from callcenter.cli import _with_database

    def work(engine: Engine) -> int:
        with engine.connect() as connection:
            users = list_users(connection)
        for user in users:
            state = "disabled" if user.disabled else "enabled"
            print(
                f"{user.username:<20} {user.role:<10} {user.extension or '-':<8} {state:<8} "
                f"password set {user.password_changed_at.isoformat()[:19]}"
            )
        if not users:
            print("no web users yet (the service makes the first admin at its start)")
        return 0

    return _with_database(settings, "list the users", work)


def _cmd_first_password(settings: Settings, args: argparse.Namespace) -> int:
    path = settings.run_dir / FIRST_ADMIN_FILE
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        raise CallcenterError(
            f"{path} does not exist: the first admin's password was changed already (or the service has not "
            f"started yet); an admin can run `callcenter users passwd {FIRST_ADMIN}`"
        ) from None
    print(f"user {FIRST_ADMIN}, password {password}")
    return 0


def add_users_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("users", help="the web users: add, passwd, disable, enable, list, first-password")
    actions = group.add_subparsers(dest="users_command", required=True)
    add = actions.add_parser("add", help="add a user; the password is generated and printed unless --password-stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[str(role) for role in Role])
    add.add_argument("--extension", help="the agent's or supervisor's extension in the dialplan")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(handler=_cmd_add)
    passwd = actions.add_parser("passwd", help="a new password (generated unless --password-stdin); logs them out")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd.set_defaults(handler=_cmd_passwd)
    disable = actions.add_parser("disable", help="the user can no longer log in; their sessions end")
    disable.add_argument("name")
    disable.set_defaults(handler=_disabling(True))
    enable = actions.add_parser("enable", help="a disabled user may log in again")
    enable.add_argument("name")
    enable.set_defaults(handler=_disabling(False))
    actions.add_parser("list", help="every user, role, extension").set_defaults(handler=_cmd_list)
    actions.add_parser(
        "first-password", help="print the first admin's generated password (until it is changed)"
    ).set_defaults(handler=_cmd_first_password)
