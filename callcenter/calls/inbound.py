"""An inbound call, from the carrier or a desk phone, over FastAGI.

Unknown numbers are refused before answer (SIP 404 via cause 1, unallocated
number). Known numbers are answered in the line's language and walked through
the IVR interpreter. Whatever happens, one call record is written; if this code
fails, the channel goes back to extensions.conf, which plays the fallback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from callcenter.asterisk.agi import ALL_KEYS, AgiChannel, AgiHangupError
from callcenter.calls.queue_wait import QueueVisit, QueueWaiting
from callcenter.dialplan.model import Dialplan, ToNumber, ToQueue, ToVoicemail
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.ivr.interpreter import CallContext, Collect, Finish, IvrSession, Refuse, Turn
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import IN_PROGRESS, CallRecord, Outcome

__all__ = ["CAUSE_UNALLOCATED", "InboundCallFlow"]

log = logging.getLogger(__name__)

CAUSE_UNALLOCATED = 1  # Q.850 "unallocated number": PJSIP answers 404 Not Found


def _now() -> datetime:
    return datetime.now(UTC)


def _normalized_or_none(number: str) -> str | None:
    try:
        return normalize_number(number) if number else None
    except InvalidNumberError:
        return None


def _dialplan_location(end: Finish) -> tuple[str, str, str] | None:
    """Where extensions.conf takes a call the IVR hands on (context, extension, priority)."""
    target = end.target
    if isinstance(target, ToQueue):
        return ("cc-queue", target.queue, "1")
    if isinstance(target, ToNumber):
        return ("cc-transfer", target.number, "1")
    if isinstance(target, ToVoicemail):
        return ("cc-voicemail", target.mailbox, "1")
    return None


class InboundCallFlow:
    """The FastAGI handler for ``inbound``: one instance serves every call."""

    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        prompts: PromptResolver,
        submit: Callable[[CallRecord], None],
        node: str,
        clock: Callable[[], datetime] = _now,
        queues: QueueWaiting | None = None,
    ) -> None:
        self._queues = queues  # without it (no ACD), a caller sent to a queue is handed to extensions.conf
        self._dialplan = dialplan
        self._prompts = prompts
        self._submit = submit
        self._node = node
        self._clock = clock

    async def __call__(self, channel: AgiChannel) -> None:
        started = self._clock()
        dialled = channel.header("extension")
        # The dialplan passes the linkedid as the first argument: AGI headers do not carry it.
        linkedid = channel.header("arg_1") or channel.header("uniqueid")
        normalized = _normalized_or_none(dialled)
        caller = _normalized_or_none(channel.header("callerid"))
        dialplan = self._dialplan()  # this call keeps this version, whatever reloads happen meanwhile
        line = dialplan.line_for(dialled) if normalized else None
        answered_at: datetime | None = None
        session: IvrSession | None = None
        outcome, reason, destination = Outcome.FAILED, "", ""
        visit: QueueVisit | None = None

        def record(outcome: Outcome, reason: str) -> CallRecord:
            return CallRecord(
                node=self._node,
                linkedid=linkedid,
                uniqueid=channel.header("uniqueid"),
                dialled_raw=dialled,
                dialled_number=normalized,
                caller_number=channel.header("callerid"),
                caller_name=channel.header("calleridname"),
                started_at=started,
                answered_at=answered_at,
                ended_at=self._clock(),
                outcome=outcome,
                outcome_reason=reason,
                language=session.language if session else "",
                ivr_path=tuple(session.path) if session else (),
                inputs=dict(session.inputs) if session else {},
                destination=visit.destination or destination if visit else destination,
                queue=visit.queue if visit else "",
                agent=visit.agent if visit else "",
                queued_at=visit.queued_at if visit else None,
                connected_at=visit.connected_at if visit else None,
            )

        try:
            if line is None:
                outcome, reason = Outcome.REFUSED, "unknown_number"
                log.info("refusing call to unknown number %r from %r", dialled, channel.header("callerid"))
                await channel.set_variable("CC_DONE", "1")
                await channel.hangup(CAUSE_UNALLOCATED)
                return
            log.info("call %s to %s (%s) from %s", linkedid, normalized, line.name, caller or "unknown")
            session = IvrSession(dialplan, line, CallContext(caller, started))
            turn = session.start()
            if isinstance(turn.then, Refuse) and not turn.play:
                outcome, reason = Outcome.REFUSED, turn.then.reason
                await channel.set_variable("CC_DONE", "1")
                await channel.hangup(turn.then.cause)
                return
            await channel.set_variable("CHANNEL(language)", turn.language)
            await channel.answer()
            answered_at = self._clock()
            end = await self._run_ivr(channel, session, turn, turn.language)
            outcome, reason = end.outcome, end.reason
            if isinstance(end.target, ToQueue) and self._queues is not None:
                destination = f"queue:{end.target.queue}"
                visit = QueueVisit(end.target.queue, self._clock(), caller=caller or "", line=normalized or "")
                # The call's row now, as it stands (queued; its end a placeholder the final record replaces):
                # a service killed while the caller waits or talks cannot write the final one, and the restarted
                # service's CallUpdate (calls/resync.py) then has a row to amend.
                self._submit(record(Outcome.QUEUED, IN_PROGRESS))
                await self._queues.wait(channel, dialplan, linkedid, session.priority, session.language, visit)
                outcome, reason = visit.outcome, visit.reason
                await self._queues.hand_on(channel, visit)
                return
            next_step = _dialplan_location(end)
            if next_step is not None:
                destination = f"{end.target.action}:{next_step[1]}" if end.target else ""
                await channel.set_variable("CC_NEXT", ",".join(next_step))
                await channel.set_variable("CC_DONE", "1")
                return  # extensions.conf takes the call on from CC_NEXT
            await channel.set_variable("CC_DONE", "1")
            await channel.hangup()
        except asyncio.CancelledError:
            if visit is not None:  # the service stops; the next start learns the rest (see calls/resync.py)
                outcome, reason = visit.outcome, visit.reason
            raise
        except AgiHangupError:
            if visit is not None:
                outcome, reason = visit.outcome, visit.reason  # the queue knows how it ended
            elif outcome is Outcome.FAILED:  # the caller went before we were done
                if session is not None and session.outcome is not None:
                    outcome = session.outcome  # during the last prompt: the IVR had reached its end
                else:
                    outcome, reason = Outcome.ABANDONED, "caller_hung_up"
        except Exception as error:
            # The caller goes to the fallback in extensions.conf; the record says why.
            reason = reason or f"{type(error).__name__}: {error}"
            raise
        finally:
            self._submit(record(outcome, reason))

    async def _run_ivr(self, channel: AgiChannel, session: IvrSession, turn: Turn, language: str) -> Finish:
        while True:
            if turn.language != language:  # a menu of another language: core sounds follow the channel's
                language = turn.language
                await channel.set_variable("CHANNEL(language)", language)
            key = None
            # Before more input, a key pressed during "invalid, try again" is the caller's next choice.
            barge_in = ALL_KEYS if isinstance(turn.then, Collect) else ""
            for prompt in turn.play:
                key = await channel.stream_file(self._prompts.path(language, prompt), barge_in)
                if key:
                    break
            if isinstance(turn.then, Finish):
                return turn.then
            if isinstance(turn.then, Refuse):
                # Refused after a message (a blacklist with prompts): the message has been played.
                return Finish(Outcome.REFUSED, reason=turn.then.reason)
            keys = await self._collect(channel, turn.then, language, key)
            log.debug("%s entered %r in %s", channel.header("uniqueid"), keys, turn.then.menu)
            turn = session.press(keys)

    async def _collect(self, channel: AgiChannel, step: Collect, language: str, first: str | None) -> str | None:
        """Play the prompts with barge-in and read the input; the last prompt and the wait are one command."""
        paths = [self._prompts.path(language, prompt) for prompt in step.prompts]
        typed = first or ""
        if not typed:
            for prompt in paths[:-1]:
                typed = await channel.stream_file(prompt, ALL_KEYS) or ""
                if typed:
                    break
        if step.max_digits == 1:
            if typed:
                return typed
            if "#" in step.keys:
                # GET DATA treats '#' as the end of input, so a menu that offers '#' reads it this way.
                return await channel.stream_file(paths[-1], ALL_KEYS) or await channel.wait_for_key(step.timeout)
            return (await channel.get_data(paths[-1], step.timeout, 1)) or None
        if typed == step.terminator:
            return None
        # An input: GET DATA reads up to max_digits, '#' ends it early; a key that cut a prompt short is the first.
        rest = (
            ""
            if len(typed) >= step.max_digits
            else await channel.get_data("silence/1" if typed else paths[-1], step.timeout, step.max_digits - len(typed))
        )
        return (typed + rest) or None
