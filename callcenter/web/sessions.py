"""Logged-in browsers (table ``web_sessions``): a random token in an HttpOnly cookie, only its SHA-256 stored.

A session ends at the first of: log-out (the row is deleted), ``idle`` without a request, ``lifetime``
after log-in (absolute), a new password or the user's disabling (``user_store`` deletes the rows). Each
log-in makes a NEW token, so a token planted in a browser before log-in (fixation) never becomes a session.
Every session has its own CSRF token, which state-changing requests made with the cookie must echo.

``last_seen_at`` is written at most once a minute per session, not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.store.tables import web_sessions, web_users
from callcenter.web.users import Principal, Role

__all__ = ["OpenedSession", "SessionStore", "WebSession", "token_hash"]

_TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    token: str  # for the cookie; never stored
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class WebSession:
    principal: Principal
    csrf: str
    expires_at: datetime


class SessionStore:
    def __init__(
        self,
        engine: AsyncEngine,
        idle: timedelta,
        lifetime: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self.idle = idle
        self.lifetime = lifetime
        self._clock = clock

    async def open(self, username: str, address: str) -> OpenedSession:
        now = self._clock()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + self.lifetime
        async with self._engine.begin() as connection:
            # Sweep what has expired, for everyone: the table stays the size of the sessions alive.
            await connection.execute(delete(web_sessions).where(self._expired(now)))
            await connection.execute(
                insert(web_sessions).values(
                    token_hash=token_hash(token),
                    username=username,
                    csrf_token=csrf,
                    address=address[:64],
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                )
            )
        return OpenedSession(token, csrf, expires)

    async def find(self, token: str) -> WebSession | None:
        """The live session of ``token`` and its (enabled) user, or None; an expired one is deleted."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        hashed = token_hash(token)
        query = (
            select(
                web_sessions.c.id,
                web_sessions.c.csrf_token,
                web_sessions.c.last_seen_at,
                web_sessions.c.expires_at,
                web_users.c.username,
                web_users.c.role,
                web_users.c.extension,
                web_users.c.disabled,
            )
            .join(web_users, web_users.c.username == web_sessions.c.username)
            .where(web_sessions.c.token_hash == hashed)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            data = row._mapping
            if data["disabled"] or now >= data["expires_at"] or now - data["last_seen_at"] >= self.idle:
                await connection.execute(delete(web_sessions).where(web_sessions.c.id == data["id"]))
                return None
            if now - data["last_seen_at"] >= _TOUCH_EVERY:
                await connection.execute(
                    update(web_sessions).where(web_sessions.c.id == data["id"]).values(last_seen_at=now)
                )
        principal = Principal(str(data["username"]), Role(str(data["role"])), str(data["extension"]))
        return WebSession(principal, str(data["csrf_token"]), data["expires_at"])

    async def close(self, token: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash(token)))

    def _expired(self, now: datetime) -> ColumnElement[bool]:
        return or_(web_sessions.c.expires_at <= now, web_sessions.c.last_seen_at <= now - self.idle)
