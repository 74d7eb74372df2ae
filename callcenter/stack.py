"""The whole call center on one machine: PostgreSQL, Asterisk and the service, started and stopped in order.

Used by `callcenter up` (what `make run` runs) and by the end-to-end tests, so
both bring the stack up the same way.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from callcenter.asterisk.confgen import render_config, write_config
from callcenter.asterisk.runtime import AsteriskProcess, build_root
from callcenter.config import Secrets, Settings
from callcenter.dialplan.loader import load_dialplan
from callcenter.store import schema
from callcenter.store.cluster import PostgresCluster

__all__ = ["Stack", "follow_log"]

log = logging.getLogger(__name__)


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialplan = load_dialplan(settings.dialplan_dir)
        self.secrets = Secrets.load(settings.run_dir, [phone.extension for phone in self.dialplan.phones()])
        self.database: PostgresCluster | None = None
        if not settings.database_url:
            self.database = PostgresCluster(settings.pg_data_dir, settings.pg_port, self.secrets.db_password)
        self.asterisk = AsteriskProcess(
            settings.asterisk_root, settings.asterisk_config_dir, settings.sounds_dir, settings.asterisk_state_dir
        )

    def start_database(self) -> None:
        if self.database is not None:
            self.database.start()
        schema.upgrade(self.settings.database_dsn(self.secrets))

    def start_asterisk(self) -> None:
        version = build_root(self.settings.asterisk_root)
        log.info("Asterisk root %s has Asterisk %s", self.settings.asterisk_root, version)
        self.write_asterisk_config()
        self.asterisk.start()
        self.asterisk.wait_ready(self.settings.ami_port)

    def write_asterisk_config(self) -> Path:
        """Render the generated part of Asterisk's config (phones, ports, secrets); return its directory."""
        directory = self.settings.asterisk_state_dir / "generated"
        write_config(directory, render_config(self.settings, self.secrets, self.dialplan))
        return directory

    def stop(self) -> None:
        self.asterisk.stop()
        if self.database is not None:
            self.database.stop()


async def follow_log(path: Path, logger: logging.Logger) -> None:
    """Echo lines appended to ``path`` (Asterisk's log) into our log, from its current end.

    Polling, like tail -f: a log file gives nothing to wait on, and a local file read does not block.
    """
    while not path.exists():  # noqa: ASYNC110, ASYNC240
        await asyncio.sleep(0.5)
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        handle.seek(0, 2)
        while True:
            line = handle.readline()
            if line:
                logger.info("%s", line.rstrip())
            else:
                await asyncio.sleep(0.2)
