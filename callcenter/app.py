"""`callcenter serve`: the FastAGI server, the AMI client and the record writer in one asyncio process."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from panoramisk.message import Message
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.acd.events import AgentLoggedIn, AgentPaused, AgentState, AgentStateChanged
from callcenter.acd.setup import acd_rules
from callcenter.asterisk.agi import AgiChannel, AgiHandler, AgiServer
from callcenter.asterisk.ami import AmiActionError, AmiClient
from callcenter.asterisk.confgen import BLOCKED_FILE, render_config, write_config
from callcenter.calls.acd_service import AcdService
from callcenter.calls.agent_codes import AgentCodes
from callcenter.calls.callbacks import CallbackDesk
from callcenter.calls.holds import HoldWatch
from callcenter.calls.inbound import InboundCallFlow
from callcenter.calls.monitoring import MonitorDesk
from callcenter.calls.presence import PresencePublisher
from callcenter.calls.queue_wait import QueueWaiting
from callcenter.calls.recordings import RecordingDesk
from callcenter.calls.resync import LiveCalls, RequeueFlow
from callcenter.calls.transfers import TransferDesk
from callcenter.config import Secrets, Settings
from callcenter.control import ControlServer
from callcenter.dialplan.loader import DialplanError, Problem, load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError
from callcenter.ivr.prompts import PromptResolver
from callcenter.live_dialplan import LiveDialplan
from callcenter.records import AgentEvent, Callback, CallbackStatus, CallStep, Record
from callcenter.security.blocking import BlockRules, exempt_addresses
from callcenter.security.guard import SipGuard
from callcenter.sounds import shipped_prompts
from callcenter.store import schema
from callcenter.store.queries import last_agent_states, open_callbacks
from callcenter.store.rollups import maintain_rollups
from callcenter.store.writer import RecordWriter
from callcenter.web.admin_api import DialplanAdmin
from callcenter.web.auth import WebAuth
from callcenter.web.metrics import LiveSources, RecordingDiskSources, ServiceMetrics, start_metrics
from callcenter.web.recording_api import RecordingLibrary
from callcenter.web.report_pages import ReportSource
from callcenter.web.server import WebParts, start_web
from callcenter.web.sessions import SessionStore
from callcenter.web.user_store import FIRST_ADMIN, FIRST_ADMIN_FILE, ensure_first_admin
from callcenter.web.wallboard import Wallboard, queue_thresholds
from callcenter.web.wallboard_api import WallboardFeed, today_steps_async

__all__ = ["serve"]

log = logging.getLogger(__name__)

IN_ROOT_SOUNDS = PurePosixPath("/srv/callcenter/sounds")
IN_ROOT_RECORDINGS = PurePosixPath("/srv/callcenter/run/recordings")  # Settings.recordings_incoming_dir, inside


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


class _AsteriskSync:
    """Keeps Asterisk's generated config (phones, mailboxes) in step with the live dialplan.

    A reload only marks the config stale; one task writes it and asks Asterisk to reload, so a
    burst of edits costs one Asterisk reload and no task is left unreferenced.
    """

    def __init__(self, settings: Settings, ami: AmiClient) -> None:
        self._settings = settings
        self._ami = ami
        self._stale = asyncio.Event()
        self._latest: Dialplan | None = None

    def changed(self, dialplan: Dialplan) -> None:
        self._latest = dialplan
        self._stale.set()

    async def run(self) -> None:
        while True:
            await self._stale.wait()
            self._stale.clear()
            dialplan = self._latest
            assert dialplan is not None
            secrets = Secrets.load(self._settings.run_dir, [phone.extension for phone in dialplan.phones()])
            write_config(
                self._settings.asterisk_state_dir / "generated", render_config(self._settings, secrets, dialplan)
            )
            for module in ("res_pjsip.so", "app_voicemail.so", "pbx_config.so"):  # phones, mailboxes, BLF hints
                try:
                    await self._ami.action({"Action": "Reload", "Module": module})
                except AmiActionError as error:
                    log.warning(
                        "Asterisk did not reload %s: %s (it will read the new config at its next start)", module, error
                    )
            log.info("Asterisk config updated for the new dialplan")


def _sip_guard(settings: Settings, ami: AmiClient, metrics: ServiceMetrics) -> SipGuard:
    """Blocks SIP addresses that keep failing; never the carrier's or the service's own addresses."""
    own = (settings.carrier_address, settings.sip_host, settings.ami_host, settings.agi_host)
    rules = BlockRules(
        failures=settings.sip_block_failures,
        window=settings.sip_block_window,
        period=settings.sip_block_seconds,
        exempt=exempt_addresses(own, settings.sip_block_exempt.split(",")),
    )
    return SipGuard(
        rules,
        settings.asterisk_state_dir / "generated" / BLOCKED_FILE,
        settings.run_dir / "sip-blocks.json",
        lambda: ami.action({"Action": "Reload", "Module": "res_pjsip.so"}),
        ami.connected,
        counted=metrics.sip_security_event,
        blocked_now=metrics.sip_blocked,
    )


def _restore_agents(acd: AcdService, url: str, node: str, agents: set[str], spooled: list[Record]) -> None:
    """Agents logged in (or paused, with their reason) before a restart are so again after it: PostgreSQL's
    last states, with what is still spooled (newer: a change during an outage, or just before a kill) on top."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    states: dict[str, tuple[str, str]] = {}
    try:
        states = last_agent_states(engine, node)
    except (DBAPIError, OSError) as error:
        log.error("agent states not read from PostgreSQL (%s); the spooled ones only", str(error).splitlines()[0])
    finally:
        engine.dispose()
    for record in spooled:  # oldest first: the last one of an agent wins
        if isinstance(record, AgentEvent) and record.node == node:
            states[record.agent] = (record.state, record.reason)
    now = acd.now()
    for agent, (state, reason) in sorted(states.items()):
        if agent not in agents or state == AgentState.LOGGED_OUT:
            continue
        acd.post(AgentLoggedIn(now, agent))
        if state == AgentState.PAUSED:
            acd.post(AgentPaused(now, agent, reason))
        log.info("agent %s restored as %s", agent, "paused" if state == AgentState.PAUSED else "logged in")


async def _resync_live_calls(ami: AmiClient, live_calls: LiveCalls, then: Callable[[], None]) -> None:
    """Once AMI is up after the start: conversations between callers and agents that outlived a restart.
    After each reconnect: those of them that ended while AMI was away (no Hangup came) end now. ``then``
    runs once, after the first resync."""
    logged_in = asyncio.Event()
    ami.on_login(logged_in.set)
    resumed = False
    while True:
        await ami.connected.wait()
        logged_in.clear()
        try:
            statuses = await ami.action_list({"Action": "Status", "Variables": "CC_WAITING"}, timeout=10)
        except AmiActionError as error:
            log.warning("live calls not resynced yet: %s", error)
            await asyncio.sleep(1)
            continue
        if not resumed:
            found = live_calls.found(statuses)
            log.info("live calls resynced from AMI: %d channel(s), %d conversation(s) going on", len(statuses), found)
            resumed = True
            then()
        else:
            gone = live_calls.still_up(statuses)
            log.info("live calls resynced after an AMI reconnect: %d ended while AMI was away", gone)
        await logged_in.wait()


def _open_callbacks(url: str, node: str, spooled: list[Record]) -> list[Callback]:
    """Callbacks promised before a restart and not yet kept: PostgreSQL's rows, what is still spooled
    (newer) on top."""
    latest: dict[str, Callback] = {}
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        for row in open_callbacks(engine, node):
            row.pop("id"), row.pop("written_at")
            latest[row["callback_id"]] = Callback(**{**row, "status": CallbackStatus(row["status"])})
    except (DBAPIError, OSError) as error:
        log.error("callbacks not read from PostgreSQL (%s); the spooled ones only", str(error).splitlines()[0])
    finally:
        engine.dispose()
    for record in spooled:
        if isinstance(record, Callback) and record.node == node:
            known = latest.get(record.callback_id)
            if known is None or known.updated_at <= record.updated_at:
                latest[record.callback_id] = record
    return list(latest.values())


def _first_admin(url: str, run_dir: Path) -> None:
    """No admin yet (a fresh install): make one with a random password, kept 0600 in the run directory."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as connection:
            made = ensure_first_admin(connection, run_dir)
    except (DBAPIError, OSError) as error:
        log.error("web users not checked, PostgreSQL unreachable (%s)", str(error).splitlines()[0])
        return
    finally:
        engine.dispose()
    if made is not None:
        log.warning(
            "no web admin existed: user %r made with a random password in %s (`callcenter users first-password` "
            "prints it; change it with `callcenter users passwd %s`)",
            FIRST_ADMIN,
            run_dir / FIRST_ADMIN_FILE,
            FIRST_ADMIN,
        )


async def _seed_wallboard(feed: WallboardFeed, engine: AsyncEngine, node: str, zone: ZoneInfo) -> None:
    """Today's figures so far, so a restart does not zero the wallboard."""
    try:
        async with engine.connect() as connection:
            steps = await today_steps_async(connection, node, zone, datetime.now(UTC))
    except (DBAPIError, OSError) as error:
        log.error("wallboard starts without today's calls: PostgreSQL unreachable (%s)", str(error).splitlines()[0])
        return
    feed.seed(steps)
    log.info("wallboard seeded with %d call step(s) of today", len(steps))


def _call_of(recordings: RecordingDesk, agent: str) -> tuple[str, str] | None:
    """The (linkedid, queue) of the queue call ``agent`` is on, from the live call legs, for the wallboard."""
    state = recordings.state(agent)
    return (str(state["linkedid"]), str(state["queue"])) if state is not None else None


def _dialplan_check(directory: Path, shipped: Callable[[str, str], bool]) -> Callable[[], list[Problem]]:
    def check() -> list[Problem]:
        try:
            load_dialplan(directory, shipped)
        except DialplanError as error:
            return list(error.problems)
        return []

    return check


# Worker threads (record writer, rollups, reports) run Python while the event loop answers FastAGI: by default
# the loop may wait 5 ms for the GIL, which alone broke the 2 ms target for an AGI command (make load: p99 3.3 ms
# at 200 calls at once; 1.8 ms with this and the writer off the loop).
_GIL_SWITCH_SECONDS = 0.0005


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    sys.setswitchinterval(_GIL_SWITCH_SECONDS)
    shipped_set = shipped_prompts(settings.sounds_dir)

    def shipped(language: str, name: str) -> bool:
        return (language, name) in shipped_set

    dialplan = LiveDialplan(settings.dialplan_dir, shipped)
    secrets = Secrets.load(settings.run_dir, [phone.extension for phone in dialplan.current.phones()])
    url = settings.database_dsn(secrets)
    await asyncio.to_thread(_check_schema, url)
    engine = create_async_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 3})
    # The rollup maintainer's passes run in a worker thread (pure Python between queries): a sync engine.
    rollup_engine = create_engine(url, pool_pre_ping=True, pool_size=1, connect_args={"connect_timeout": 3})
    writer = RecordWriter(url, settings.spool_dir, linger=0.2)
    writer.recover()
    metrics = ServiceMetrics()
    prompts = PromptResolver(settings.sounds_dir, IN_ROOT_SOUNDS)
    acd = AcdService(*acd_rules(dialplan.current))
    zone = ZoneInfo(settings.web_timezone)
    board = Wallboard(zone, lambda queue: queue_thresholds(dialplan.current, queue))
    wallboard = WallboardFeed(board, dialplan, acd.queue_waits, lambda: acd.agent_states)

    def journal(record: Record) -> None:
        """Every record to the writer; call steps counted for the metrics and shown on the wallboard on the way."""
        writer.submit(record)
        if isinstance(record, CallStep):
            metrics.step(record)
            wallboard.step(record)

    def on_agent_state(change: AgentStateChanged) -> None:
        writer.submit(AgentEvent(settings.node, change.agent, str(change.state), change.reason, datetime.now(UTC)))
        presence.agent_state_changed(change)  # made below with the AMI client; acd.run() starts after both
        wallboard.agent_state(change)

    acd.on_agent_state = on_agent_state
    agents = {a.extension for a in dialplan.current.agents}
    await asyncio.to_thread(_restore_agents, acd, url, settings.node, agents, writer.spooled())
    callbacks = CallbackDesk(
        acd, lambda action, timeout: ami.originate(action, timeout), writer.submit, settings.node, prompts
    )
    promised = await asyncio.to_thread(_open_callbacks, url, settings.node, writer.spooled())

    def restore_callbacks() -> None:
        # Only once the live calls are known: an agent still on a call that outlived a restart would be
        # offered one (and, the Originate failing while AMI is not up yet, auto-paused as not answering).
        restored = callbacks.restore(promised)
        if restored:
            log.info("%d callback(s) waiting again", restored)

    recordings = RecordingDesk(
        dialplan,
        lambda action: ami.action(action),
        writer.submit,
        settings.node,
        settings.recordings_incoming_dir,
        IN_ROOT_RECORDINGS,
        settings.recordings_dir,
        settings.recording_format,
        min_free_bytes=settings.recordings_min_free_mb * 1024 * 1024,
    )
    waiting = QueueWaiting(acd, prompts, lambda: datetime.now(UTC), journal, settings.node, callbacks, recordings)
    live_calls = LiveCalls(acd, journal, settings.node)
    holds = HoldWatch(journal, settings.node)
    flow = InboundCallFlow(
        dialplan=dialplan,
        prompts=prompts,
        submit=writer.submit,
        node=settings.node,
        queues=waiting,
    )
    wallboard.current_call = lambda agent: _call_of(recordings, agent)
    monitoring = MonitorDesk(
        dialplan,
        lambda action, timeout: ami.originate(action, timeout),
        writer.submit,
        settings.node,
        recordings.queue_of,
    )
    transfers = TransferDesk(dialplan, waiting, journal, settings.node)  # agents' transfers, the record follows
    routes: dict[str, AgiHandler] = {
        "inbound": flow,
        "agent": AgentCodes(dialplan, acd),
        "callback": callbacks,
        "requeue": RequeueFlow(dialplan, waiting, acd, journal, settings.node),
        "transfer": transfers,
        "monitor": monitoring,
    }

    async def route(channel: AgiChannel) -> None:
        handler = routes.get(channel.header("network_script"))
        if handler is None:
            log.error("FastAGI request for unknown script %r", channel.header("network_script"))
            return  # the dialplan's fallback takes the call
        await handler(channel)

    def on_ami_event(event: Message) -> None:
        recordings.event(event)  # DialEnd, UserEvent (recording keys), Hangup
        monitoring.event(event)  # ChanSpyStart/Stop, DTMFEnd (mode switches)
        holds.event(event)
        transfers.event(event)  # BlindTransfer, AttendedTransfer
        sip_guard.event(event)  # security events: failed SIP requests, counted per address
        if event.get("Event") == "DialEnd" and event.get("DialStatus") == "ANSWER":
            # DestChannel is like PJSIP/1001-0000002a: the endpoint is the agent.
            agent = event.get("DestChannel", "").removeprefix("PJSIP/").rsplit("-", 1)[0]
            acd.answered(event.get("Uniqueid", ""), agent)
            callbacks.answered(event.get("Uniqueid", ""))
        elif event.get("Event") == "Hangup":
            live_calls.hung_up(event.get("Uniqueid", ""))
        else:
            _on_ami_event(event)

    agi = AgiServer(route, settings.agi_host, settings.agi_port, observe=metrics.agi_command)
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_username, secrets.ami_secret, on_ami_event)
    presence = PresencePublisher(ami, [agent.extension for agent in dialplan.current.agents])
    asterisk_sync = _AsteriskSync(settings, ami)
    sip_guard = _sip_guard(settings, ami, metrics)

    def dialplan_changed(new: Dialplan) -> None:
        asterisk_sync.changed(new)
        acd.reconfigure(*acd_rules(new))  # agents keep their state, waiting callers their place
        presence.agents_changed(agent.extension for agent in new.agents)

    dialplan.on_change = dialplan_changed

    async def reload(_: dict[str, Any]) -> dict[str, Any]:
        result = dialplan.reload()
        return {
            "ok": result.ok,
            "changed": result.changed,
            "version": result.version,
            "problems": [str(problem) for problem in result.problems],
        }

    control = ControlServer(settings.run_dir / "control.sock", {"reload": reload})

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    await agi.start()
    library = RecordingLibrary(engine, settings.recordings_dir, writer.submit, settings.node)
    await asyncio.to_thread(_first_admin, url, settings.run_dir)
    await _seed_wallboard(wallboard, engine, settings.node, zone)
    sessions = SessionStore(
        engine, timedelta(seconds=settings.web_session_idle), timedelta(seconds=settings.web_session_lifetime)
    )
    parts = WebParts(
        auth=WebAuth(sessions, engine, settings.web_cookie_secure),
        wallboard=wallboard,
        admin=DialplanAdmin(
            dialplan, lambda: dialplan.version, _dialplan_check(settings.dialplan_dir, shipped), dialplan.reload
        ),
        reports=ReportSource(engine, settings.web_timezone, lambda: datetime.now(UTC)),
    )
    web_api = await start_web(
        settings, acd, dialplan, secrets.api_token, recordings=library, live_calls=(recordings, monitoring), parts=parts
    )
    await control.start()
    metrics.add_live(
        LiveSources(acd.queue_waits, lambda: dict(acd.agent_states), lambda: writer.pending, writer.lag,
                    lambda: ami.reconnects)
    )  # fmt: skip
    metrics.add_recording_disk(
        RecordingDiskSources(lambda: recordings.disk.free_bytes, lambda: recordings.disk.alarm,
                             lambda: recordings.unfinished)
    )  # fmt: skip
    metrics_web = await start_metrics(metrics, settings.metrics_host, settings.metrics_port)
    ami.start()
    try:
        async with asyncio.TaskGroup() as tasks:
            writer_task = tasks.create_task(writer.run(), name="record-writer")
            helpers = [
                tasks.create_task(ami.dispatch_events(), name="ami-events"),
                tasks.create_task(_log_asterisk_version(ami), name="asterisk-version"),
                tasks.create_task(dialplan.watch(), name="dialplan-watch"),
                tasks.create_task(asterisk_sync.run(), name="asterisk-config-sync"),
                tasks.create_task(acd.run(), name="acd"),
                tasks.create_task(callbacks.run(), name="callbacks"),
                tasks.create_task(recordings.run(), name="recordings"),
                tasks.create_task(_resync_live_calls(ami, live_calls, restore_callbacks), name="live-call-resync"),
                tasks.create_task(presence.run(), name="agent-presence"),
                tasks.create_task(sip_guard.run(), name="sip-guard"),
                tasks.create_task(
                    maintain_rollups(
                        rollup_engine,
                        lambda: dialplan.current,
                        every=settings.rollup_seconds,
                        passed=metrics.rollup_marks,
                        set_aside=metrics.rollup_marks_set_aside,
                    ),
                    name="rollups",
                ),
            ]
            log.info(
                "callcenter serving node %s: %d number(s), %d agent(s)",
                settings.node,
                len(dialplan.current.numbers),
                len(dialplan.current.agents),
            )
            await stop.wait()
            log.info("stopping: finishing calls in progress")
            await control.close()
            await web_api.cleanup()  # requests in flight get a few seconds
            await metrics_web.cleanup()
            await agi.close()
            ami.close()
            for helper in helpers:
                helper.cancel()
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
        rollup_engine.dispose()
        writer.close()
    log.info("stopped; %d call record(s) written this run", writer.written)
