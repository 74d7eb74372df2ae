"""The web users in PostgreSQL (table ``web_users``): the CLI's synchronous side and the log-in's async lookup.

A user is never deleted (audit entries name them): ``disable`` keeps the row and ends their sessions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.store.tables import web_sessions, web_users
from callcenter.web.passwords import generate_password, hash_password
from callcenter.web.users import Principal, Role, UserError

__all__ = [
    "FIRST_ADMIN",
    "FIRST_ADMIN_FILE",
    "StoredUser",
    "add_user",
    "any_admin",
    "ensure_first_admin",
    "find_user_async",
    "list_users",
    "set_disabled",
    "set_password",
]


@dataclass(frozen=True)
class StoredUser:
    username: str
    role: Role
    extension: str
    password_hash: str
    disabled: bool
    created_at: datetime
    password_changed_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, self.extension)


def _user(data: RowMapping) -> StoredUser:
    return StoredUser(
        str(data["username"]),
        Role(str(data["role"])),
        str(data["extension"]),
        str(data["password_hash"]),
        bool(data["disabled"]),
        data["created_at"],
        data["password_changed_at"],
    )


_COLUMNS = (
    web_users.c.username,
    web_users.c.role,
    web_users.c.extension,
    web_users.c.password_hash,
    web_users.c.disabled,
    web_users.c.created_at,
    web_users.c.password_changed_at,
)


def add_user(connection: Connection, username: str, role: Role, extension: str, password_hash: str) -> None:
    try:
        with connection.begin_nested():
            connection.execute(
                insert(web_users).values(
                    username=username, role=str(role), extension=extension, password_hash=password_hash
                )
            )
    except IntegrityError:
        raise UserError(f"user {username!r} exists already (`callcenter users passwd` changes a password)") from None


def set_password(connection: Connection, username: str, password_hash: str, now: datetime) -> None:
    """A new password; the user's sessions end (whoever had the old one is logged out)."""
    done = connection.execute(
        update(web_users)
        .where(web_users.c.username == username)
        .values(password_hash=password_hash, password_changed_at=now)
    )
    if done.rowcount == 0:
        raise UserError(f"no user {username!r}")
    connection.execute(delete(web_sessions).where(web_sessions.c.username == username))


def set_disabled(connection: Connection, username: str, disabled: bool) -> None:
    done = connection.execute(update(web_users).where(web_users.c.username == username).values(disabled=disabled))
    if done.rowcount == 0:
        raise UserError(f"no user {username!r}")
    if disabled:
        connection.execute(delete(web_sessions).where(web_sessions.c.username == username))


def list_users(connection: Connection) -> list[StoredUser]:
    return [_user(row._mapping) for row in connection.execute(select(*_COLUMNS).order_by(web_users.c.username))]


def any_admin(connection: Connection) -> bool:
    """Whether an enabled admin exists (else the service makes the first one)."""
    query = select(web_users.c.id).where(web_users.c.role == str(Role.ADMIN), web_users.c.disabled.is_(False))
    return connection.execute(query.limit(1)).first() is not None


async def find_user_async(connection: AsyncConnection, username: str) -> StoredUser | None:
    row = (await connection.execute(select(*_COLUMNS).where(web_users.c.username == username))).first()
    return _user(row._mapping) if row is not None else None


FIRST_ADMIN = "admin"
FIRST_ADMIN_FILE = "web-admin-password"  # in the run directory, mode 0600; `callcenter users first-password`


def ensure_first_admin(connection: Connection, run_dir: Path) -> str | None:
    """With no enabled admin at all, make ``admin`` with a generated password, saved (0600) in the run
    directory for `callcenter users first-password` to print; returns the password made, or None.

    There is no default password: the one made here is random, and it is only on this machine's disk.
    """
    if any_admin(connection):
        return None
    password = generate_password()
    exists = connection.execute(select(web_users.c.id).where(web_users.c.username == FIRST_ADMIN)).first()
    if exists is None:
        add_user(connection, FIRST_ADMIN, Role.ADMIN, "", hash_password(password))
    else:  # an "admin" disabled or demoted by hand, and no other admin left: it becomes the way in again
        connection.execute(
            update(web_users)
            .where(web_users.c.username == FIRST_ADMIN)
            .values(role=str(Role.ADMIN), extension="", disabled=False, password_hash=hash_password(password))
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / FIRST_ADMIN_FILE
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(password + "\n")
    temporary.replace(path)
    return password
