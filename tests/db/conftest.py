"""A private PostgreSQL cluster for tests of SQL (reports, rollups, users): no Asterisk, no service.

One cluster per test run (its own directory and port, per CC_TEST_SLOT like the e2e stack), one
database migrated to head as a template, and a fresh copy of it for every test that asks for
``database_url`` (``CREATE DATABASE ... TEMPLATE`` takes a fraction of a second; migrating takes more).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from callcenter.store import schema
from callcenter.store.cluster import PostgresCluster

REPO = Path(__file__).resolve().parents[2]
SLOT = int(os.environ.get("CC_TEST_SLOT", "0"))
RUN_DIR = REPO / ".run" / ("db-test" if SLOT == 0 else f"db-test-{SLOT}")
PORT = 16433 + 100 * SLOT
TEMPLATE = "cc_template"


def _url(password: str, database: str) -> str:
    return f"postgresql+psycopg://callcenter:{password}@127.0.0.1:{PORT}/{database}"


def _admin(password: str) -> Engine:
    # CREATE/DROP DATABASE cannot run in a transaction: autocommit.
    return create_engine(_url(password, "postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_password() -> Iterator[str]:
    password_file = RUN_DIR / "password"
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(18))
    password = password_file.read_text().strip()
    cluster = PostgresCluster(RUN_DIR / "pg", PORT, password)
    cluster.start()
    try:
        admin = _admin(password)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {TEMPLATE}"))
        schema.upgrade(_url(password, TEMPLATE))
        admin.dispose()
        yield password
    finally:
        cluster.stop()


@pytest.fixture
def database_url(pg_password: str) -> Iterator[str]:
    """A fresh database with the whole schema, dropped after the test."""
    name = f"t_{secrets.token_hex(6)}"
    admin = _admin(pg_password)
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        yield _url(pg_password, name)
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()
