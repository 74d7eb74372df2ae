"""`callcenter serve`: the FastAGI server, the AMI client and the record writer in one asyncio process."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from pathlib import PurePosixPath

from panoramisk.message import Message
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.asterisk.agi import AgiServer
from callcenter.asterisk.ami import AmiActionError, AmiClient
from callcenter.calls.inbound import InboundCallFlow
from callcenter.config import Secrets, Settings
from callcenter.dialplan.loader import load_dialplan
from callcenter.errors import ConfigError
from callcenter.ivr.prompts import PromptResolver
from callcenter.store import schema
from callcenter.store.writer import RecordWriter

__all__ = ["serve"]

log = logging.getLogger(__name__)

IN_ROOT_SOUNDS = PurePosixPath("/srv/callcenter/sounds")


def _on_ami_event(event: Message) -> None:
    name = event.get("Event", "")
    if name == "FullyBooted":
        log.info("Asterisk is fully booted")
    elif name == "Shutdown":
        log.warning("Asterisk is shutting down (%s)", event.get("Shutdown", ""))
    else:
        log.debug("AMI event %s", name)


async def _log_asterisk_version(ami: AmiClient) -> None:
    while True:
        await ami.connected.wait()
        with suppress(AmiActionError):
            settings = await ami.action({"Action": "CoreSettings"})
            log.info("Asterisk %s on node %s", settings.get("AsteriskVersion"), settings.get("SystemName", "?"))
            return
        await asyncio.sleep(1)


def _check_schema(url: str) -> None:
    """Refuse to run on an outdated schema; a database that is down is not fatal (records spool)."""
    try:
        current = schema.current_revision(url)
    except (DBAPIError, OSError) as error:
        log.error(
            "PostgreSQL unreachable at start (%s); call records will spool until it is back", str(error).splitlines()[0]
        )
        return
    head = schema.head_revision()
    if current != head:
        raise ConfigError(f"database schema is at {current}, this version needs {head}: run `callcenter db upgrade`")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    dialplan = load_dialplan(settings.dialplan_dir)
    secrets = Secrets.load(settings.run_dir, [agent.extension for agent in dialplan.agents])
    url = settings.database_dsn(secrets)
    await asyncio.to_thread(_check_schema, url)
    engine = create_async_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 3})
    writer = RecordWriter(engine, settings.spool_dir)
    writer.recover()
    flow = InboundCallFlow(
        dialplan=lambda: dialplan,
        prompts=PromptResolver(settings.sounds_dir, IN_ROOT_SOUNDS),
        submit=writer.submit,
        node=settings.node,
    )
    agi = AgiServer(flow, settings.agi_host, settings.agi_port)
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_username, secrets.ami_secret, _on_ami_event)

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    await agi.start()
    ami.start()
    try:
        async with asyncio.TaskGroup() as tasks:
            writer_task = tasks.create_task(writer.run(), name="record-writer")
            events_task = tasks.create_task(ami.dispatch_events(), name="ami-events")
            version_task = tasks.create_task(_log_asterisk_version(ami), name="asterisk-version")
            log.info(
                "callcenter serving node %s: %d number(s), %d agent(s)",
                settings.node,
                len(dialplan.numbers),
                len(dialplan.agents),
            )
            await stop.wait()
            log.info("stopping: finishing calls in progress")
            await agi.close()
            ami.close()
            events_task.cancel()
            version_task.cancel()
            writer.stop()
            try:
                async with asyncio.timeout(10):
                    await asyncio.shield(writer_task)
            except TimeoutError:
                writer_task.cancel()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await engine.dispose()
    log.info("stopped; %d call record(s) written this run", writer.written)
