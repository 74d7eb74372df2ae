"""Recording agents' conversations: at the answer by policy, or on demand; paused while the caller reads card data.

How a recording comes about:

- Before an offer's Dial, the queue session asks ``plan_offer``. The call's policy (its queue's, else the
  number's; callcenter/recordings/policy.py) says always or sampled: a recording id goes to Dial's U()
  subroutine, and extensions.conf [cc-answered] starts MixMonitor on the agent's leg when they answer
  (interleaved stereo raw, only while bridged) and sends the UserEvent CcRecordingStarted. Or on demand:
  the agent's feature code (*8, features.conf) or the HTTP API starts and stops it with AMI actions.
- Pause and resume (*9, or the API) mute the recording (AMI MixMonitorMute): MixMonitor writes silence,
  so the file keeps its length, and the span is kept with the recording.
- MixMonitor touches ``<id>.done`` once it has closed the file. The finisher turns ``<id>.raw`` into the
  stereo file in the configured format (left the caller, right the agent), under the day it was made,
  with its size and SHA-256, and submits the Recording record. What it needs is in a sidecar ``<id>.json``
  written when the recording starts, so a restart of the service between start and end loses nothing:
  the next start finishes what Asterisk closed meanwhile.
- The finisher's disk is watched (callcenter/recordings/disk.py): free space read every pass, and a
  recording that cannot be written (a full disk) stays as Asterisk left it, retried every pass, with one
  alarm logged per episode and the gauges in /metrics, while calls go on.

AMI events come in through ``event`` (the AMI client's single consumer, in order); actions run on the
caller's task (the HTTP API) or on the desk's own worker (feature codes), never inside ``event``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from panoramisk.message import Message

from callcenter.asterisk.ami import AmiActionError
from callcenter.dialplan.model import Dialplan
from callcenter.errors import CallcenterError
from callcenter.recordings.disk import DiskWatch, Notice
from callcenter.recordings.policy import DEFAULT_RETENTION_DAYS, RecordingPlan, plan_for, policy_for, storage_path
from callcenter.records import Recording

__all__ = ["RAW_BYTES_PER_SECOND", "RecordingActionError", "RecordingDesk"]

log = logging.getLogger(__name__)

RAW_BYTES_PER_SECOND = 8000 * 2 * 2  # MixMonitor's D option: 8 kHz signed linear, 16 bits, two channels
_FINISH_EVERY = 1.0  # seconds between looks for recordings Asterisk has closed


class RecordingActionError(CallcenterError):
    """A recording action that cannot be done now; ``reason`` says why (for the API's answer)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Active:
    recording_id: str
    reason: str  # always, sampled, on_demand
    started_at: datetime
    started: float  # monotonic, for the pause spans
    pauses: list[tuple[float, float]] = field(default_factory=list)
    paused_since: float | None = None


@dataclass
class _Offer:
    linkedid: str
    queue: str
    plan: RecordingPlan
    recording_id: str  # "" unless recorded from the answer


@dataclass
class _Leg:
    """An agent's leg of a queue call, from the answer to its hang-up."""

    channel: str
    uniqueid: str
    agent: str
    offer: _Offer
    recording: _Active | None = None


def _agent_of(channel: str) -> str:
    """PJSIP/1001-0000002a -> 1001."""
    return channel.removeprefix("PJSIP/").rsplit("-", 1)[0]


class RecordingDesk:
    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        ami: Callable[[dict[str, str]], Awaitable[Message]],  # AmiClient.action
        submit: Callable[[Recording], None],
        node: str,
        incoming_dir: Path,
        in_root_incoming: PurePosixPath,
        recordings_dir: Path,
        file_format: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        min_free_bytes: int = 0,
    ) -> None:
        self._dialplan = dialplan
        self._ami = ami
        self._submit = submit
        self._node = node
        self._incoming = incoming_dir  # on this host; Asterisk sees it as in_root_incoming
        self._in_root = in_root_incoming
        self._recordings_dir = recordings_dir
        self._format = file_format
        self._clock = clock
        self._offers: dict[str, _Offer] = {}  # by the caller's uniqueid, until an agent answers
        self._planned: dict[str, _Offer] = {}  # by recording id, the same offers
        self._legs: dict[str, _Leg] = {}  # by the agent's channel name
        self._work: asyncio.Queue[Callable[[], Awaitable[object]]] = asyncio.Queue()
        self.finished = 0
        self.disk = DiskWatch(str(recordings_dir), min_free_bytes)
        self.unfinished = 0  # recordings Asterisk has closed that the last pass could not write

    # --- what the queue sessions and AMI tell the desk ---------------------------------------------------

    def plan_offer(self, caller_uniqueid: str, linkedid: str, queue: str, line: str | None) -> str:
        """Before an offer's Dial: the recording id to start at the answer, or "" (not recorded at once)."""
        plan = plan_for(policy_for(self._dialplan(), queue, line), linkedid)
        recording_id = _new_recording_id(linkedid) if plan.record else ""
        offer = _Offer(linkedid, queue, plan, recording_id)
        previous = self._offers.pop(caller_uniqueid, None)
        if previous is not None:
            self._planned.pop(previous.recording_id, None)
        self._offers[caller_uniqueid] = offer
        if recording_id:
            self._planned[recording_id] = offer
        return recording_id

    def event(self, event: Message) -> None:
        name = event.get("Event", "")
        if name == "DialEnd" and event.get("DialStatus") == "ANSWER":
            offer = self._offers.pop(event.get("Uniqueid", ""), None)
            channel = event.get("DestChannel", "")
            if offer is not None and channel not in self._legs:
                self._legs[channel] = _Leg(channel, event.get("DestUniqueid", ""), _agent_of(channel), offer)
        elif name == "UserEvent":
            self._user_event(event)
        elif name == "Hangup":
            self._hung_up(event)

    def _user_event(self, event: Message) -> None:
        kind, channel = event.get("UserEvent", ""), event.get("Channel", "")
        if kind == "CcRecordingStarted":
            recording_id = event.get("Recording", "")
            offer = self._planned.pop(recording_id, None)
            leg = self._legs.get(channel)
            if leg is None and offer is not None:  # AMI may deliver this before the DialEnd
                leg = self._legs[channel] = _Leg(channel, event.get("Uniqueid", ""), _agent_of(channel), offer)
            if leg is None:
                log.error("recording %s started on %s, which no queue call planned", recording_id, channel)
                return
            reason = leg.offer.plan.record or "always"
            leg.recording = _Active(recording_id, reason, self._clock(), time.monotonic())
            self._write_sidecar(leg, leg.recording)
            log.info("recording %s of agent %s (%s, %s) started", recording_id, leg.agent, leg.offer.queue, reason)
        elif kind in ("CcRecordingToggle", "CcRecordingPause"):
            leg = self._legs.get(channel)
            if leg is None:
                log.info("recording key pressed on %s, which is not on a queue call", channel)
                return
            action = self._toggle if kind == "CcRecordingToggle" else self._toggle_pause
            self._work.put_nowait(lambda: action(leg))

    def _hung_up(self, event: Message) -> None:
        uniqueid = event.get("Uniqueid", "")
        offer = self._offers.pop(uniqueid, None)  # the caller went before an answer
        if offer is not None:
            self._planned.pop(offer.recording_id, None)
        channel = event.get("Channel", "")
        leg = self._legs.pop(channel, None)
        if leg is not None and leg.recording is not None:
            self._close_pause(leg.recording)
            self._write_sidecar(leg, leg.recording)  # the final pause spans; Asterisk closes the file now

    # --- actions: the HTTP API awaits them, feature codes queue them ------------------------------------

    def queue_of(self, channel: str) -> str | None:
        """The queue of the call an agent's ``channel`` is on (a leg answered from a queue), or None."""
        leg = self._legs.get(channel)
        return leg.offer.queue if leg is not None else None

    def state(self, agent: str) -> dict[str, Any] | None:
        """The agent's queue call as far as recording goes, or None when they are not on one."""
        leg = self._leg_of(agent)
        if leg is None:
            return None
        active = leg.recording
        return {
            "agent": agent,
            "linkedid": leg.offer.linkedid,
            "queue": leg.offer.queue,
            "recording": active.recording_id if active else None,
            "reason": active.reason if active else None,
            "paused": bool(active and active.paused_since is not None),
            "on_demand": leg.offer.plan.on_demand,
        }

    async def start(self, agent: str) -> str:
        leg = self._need_leg(agent)
        if leg.recording is not None:
            raise RecordingActionError("already_recording", f"agent {agent}'s call is being recorded already")
        if not leg.offer.plan.on_demand:
            raise RecordingActionError(
                "not_allowed", f"queue {leg.offer.queue}'s policy does not let calls be recorded on demand"
            )
        recording_id = _new_recording_id(leg.offer.linkedid)
        raw, done = self._in_root / f"{recording_id}.raw", self._in_root / f"{recording_id}.done"
        await self._act({"Action": "MixMonitor", "Channel": leg.channel, "File": str(raw), "Options": "bD",
                         "Command": f"/bin/touch {done}"})  # fmt: skip
        leg.recording = _Active(recording_id, "on_demand", self._clock(), time.monotonic())
        self._write_sidecar(leg, leg.recording)
        log.info("recording %s of agent %s started on demand", recording_id, agent)
        return recording_id

    async def stop(self, agent: str) -> str:
        leg = self._need_leg(agent)
        active = self._need_recording(leg)
        if active.reason != "on_demand":
            raise RecordingActionError("not_allowed", f"a recording made by policy ({active.reason}) cannot be stopped")
        await self._act({"Action": "StopMixMonitor", "Channel": leg.channel})
        self._close_pause(active)
        self._write_sidecar(leg, active)
        leg.recording = None
        log.info("recording %s of agent %s stopped on demand", active.recording_id, agent)
        return active.recording_id

    async def pause(self, agent: str) -> str:
        leg = self._need_leg(agent)
        active = self._need_recording(leg)
        if active.paused_since is not None:
            raise RecordingActionError("already_paused", f"agent {agent}'s recording is paused already")
        await self._act({"Action": "MixMonitorMute", "Channel": leg.channel, "Direction": "both", "State": "1"})
        active.paused_since = time.monotonic()
        self._write_sidecar(leg, active)
        log.info("recording %s of agent %s paused", active.recording_id, agent)
        return active.recording_id

    async def resume(self, agent: str) -> str:
        leg = self._need_leg(agent)
        active = self._need_recording(leg)
        if active.paused_since is None:
            raise RecordingActionError("not_paused", f"agent {agent}'s recording is not paused")
        await self._act({"Action": "MixMonitorMute", "Channel": leg.channel, "Direction": "both", "State": "0"})
        self._close_pause(active)
        self._write_sidecar(leg, active)
        log.info("recording %s of agent %s resumed", active.recording_id, agent)
        return active.recording_id

    async def _toggle(self, leg: _Leg) -> None:
        try:
            if leg.recording is None:
                await self.start(leg.agent)
            else:
                await self.stop(leg.agent)
        except RecordingActionError as error:
            log.info("recording key of agent %s: %s", leg.agent, error)

    async def _toggle_pause(self, leg: _Leg) -> None:
        try:
            if leg.recording is not None and leg.recording.paused_since is not None:
                await self.resume(leg.agent)
            else:
                await self.pause(leg.agent)
        except RecordingActionError as error:
            log.info("pause key of agent %s: %s", leg.agent, error)

    def _leg_of(self, agent: str) -> _Leg | None:
        legs = [leg for leg in self._legs.values() if leg.agent == agent]
        return legs[-1] if legs else None

    def _need_leg(self, agent: str) -> _Leg:
        leg = self._leg_of(agent)
        if leg is None:
            raise RecordingActionError("not_on_call", f"agent {agent} is not on a queue call")
        return leg

    @staticmethod
    def _need_recording(leg: _Leg) -> _Active:
        if leg.recording is None:
            raise RecordingActionError("not_recording", f"agent {leg.agent}'s call is not being recorded")
        return leg.recording

    async def _act(self, action: dict[str, str]) -> None:
        try:
            await self._ami(action)
        except AmiActionError as error:
            raise RecordingActionError("asterisk", str(error)) from None

    @staticmethod
    def _close_pause(active: _Active) -> None:
        if active.paused_since is not None:
            active.pauses.append((active.paused_since - active.started, time.monotonic() - active.started))
            active.paused_since = None

    # --- files ------------------------------------------------------------------------------------------

    def _write_sidecar(self, leg: _Leg, active: _Active) -> None:
        data = {
            "recording_id": active.recording_id,
            "node": self._node,
            "linkedid": leg.offer.linkedid,
            "agent": leg.agent,
            "queue": leg.offer.queue,
            "reason": active.reason,
            "retention_days": leg.offer.plan.retention_days,
            "started_at": active.started_at.isoformat(),
            "pauses": [[round(start, 3), round(end, 3)] for start, end in active.pauses],
            # Paused at a crash of the service: the pause runs to the end of the file.
            "paused_from": round(active.paused_since - active.started, 3) if active.paused_since else None,
        }
        self._incoming.mkdir(parents=True, exist_ok=True)
        path = self._incoming / f"{active.recording_id}.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)

    async def run(self) -> None:
        """Finish closed recordings (at start too: those closed while the service was away); do queued actions."""
        worker = asyncio.create_task(self._do_work(), name="recording-actions")
        try:
            while True:
                self.check_disk()
                await self.finish_closed()
                await asyncio.sleep(_FINISH_EVERY)
        finally:
            worker.cancel()

    async def _do_work(self) -> None:
        while True:
            job = await self._work.get()
            try:
                await job()
            except Exception:
                log.exception("recording action failed")

    def check_disk(self) -> None:
        """Read the free space of the recordings directory (a local filesystem call: no await needed)."""
        try:
            self._recordings_dir.mkdir(parents=True, exist_ok=True)
            stats = os.statvfs(self._recordings_dir)
        except OSError as error:
            log.error("free space of %s not read: %s", self._recordings_dir, error)
            return
        _say(self.disk.free_space(time.monotonic(), stats.f_bavail * stats.f_frsize))

    async def finish_closed(self) -> int:
        """Turn every recording Asterisk has closed into its stored file and record; return how many."""
        if not self._incoming.is_dir():
            return 0
        count = 0
        failures: list[str] = []
        for marker in sorted(self._incoming.glob("*.done")):
            recording_id = marker.stem
            try:
                if await self._finish(recording_id):
                    count += 1
            except OSError as error:
                # Said once per episode by the disk alarm, not once a second for each recording.
                log.debug("recording %s not finished (%s); tried again later", recording_id, error)
                failures.append(f"{recording_id}: {(str(error) or repr(error)).splitlines()[0]}")
        self.finished += count
        self.unfinished = len(failures)
        _say(self.disk.finish_pass(time.monotonic(), failures))
        return count

    async def _finish(self, recording_id: str) -> bool:
        raw = self._incoming / f"{recording_id}.raw"
        sidecar_path = self._incoming / f"{recording_id}.json"
        leftovers = [raw, sidecar_path, self._incoming / f"{recording_id}.done"]
        size = raw.stat().st_size if raw.exists() else 0
        if size == 0:
            log.warning("recording %s has no audio (the call ended at once, or MixMonitor failed)", recording_id)
            _remove(leftovers)
            return False
        meta = _read_sidecar(sidecar_path, recording_id, self._node)
        seconds = size / RAW_BYTES_PER_SECOND
        pauses = [(float(start), float(end)) for start, end in meta["pauses"]]
        if meta.get("paused_from") is not None:
            pauses.append((float(meta["paused_from"]), seconds))
        started_at = datetime.fromisoformat(meta["started_at"])
        relative = storage_path(started_at, recording_id, self._format)
        target = self._recordings_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            await _convert(raw, partial, self._format)
        except OSError:
            partial.unlink(missing_ok=True)  # half a file would keep a full disk full
            raise
        os.replace(partial, target)
        digest = await asyncio.to_thread(_sha256, target)
        recording = Recording(
            node=meta["node"],
            recording_id=recording_id,
            linkedid=meta["linkedid"],
            agent=meta["agent"],
            queue=meta["queue"],
            started_at=started_at,
            seconds=round(seconds, 3),
            size=target.stat().st_size,
            sha256=digest,
            path=str(relative),
            format=self._format,
            reason=meta["reason"],
            retention_days=int(meta["retention_days"]),
            pauses=tuple((round(start, 3), round(min(end, seconds), 3)) for start, end in pauses),
        )
        self._submit(recording)  # journalled first: should we stop now, the next start does this again, once
        _remove(leftovers)
        log.info("recording %s finished: %.1f s, %s", recording_id, seconds, relative)
        return True


def _say(notice: Notice | None) -> None:
    if notice is None:
        return
    if notice.kind == "raised":
        log.error("%s", notice.message)
    else:
        log.warning("%s", notice.message)


def _new_recording_id(linkedid: str) -> str:
    """The call's linkedid and the milliseconds now: one per agent's part, and the call readable from it."""
    return f"{linkedid}-{time.time_ns() // 1_000_000}"


def _read_sidecar(path: Path, recording_id: str, node: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        # The service stopped before it saw the start: what the id and the file tell.
        log.error("recording %s has no readable sidecar; its agent and queue are unknown", recording_id)
        raw = path.with_suffix(".raw").stat()
        ended = datetime.fromtimestamp(raw.st_mtime, UTC)
        return {
            "node": node,
            "linkedid": recording_id.rpartition("-")[0],
            "agent": "",
            "queue": "",
            "reason": "unknown",
            "retention_days": DEFAULT_RETENTION_DAYS,
            "started_at": (ended - timedelta(seconds=raw.st_size / RAW_BYTES_PER_SECOND)).isoformat(),
            "pauses": [],
        }


async def _convert(raw: Path, target: Path, file_format: str) -> None:
    """Interleaved raw (from the agent, to the agent) -> stereo file, left the caller and right the agent."""
    process = await asyncio.create_subprocess_exec(
        "sox", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "2", str(raw),
        "-t", file_format, str(target), "remix", "2", "1",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await process.communicate()
    # sox exits 0 when a write fails (a full disk), leaving a cut file: its FAIL line is the only sign.
    if process.returncode != 0 or b" FAIL " in errors:
        raise OSError(f"sox failed ({process.returncode}): {errors.decode(errors='replace').strip()}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
