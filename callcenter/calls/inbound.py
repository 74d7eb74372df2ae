"""An inbound call, from the carrier or a desk phone, over FastAGI.

Unknown numbers are refused before answer (SIP 404 via cause 1, unallocated
number). Known numbers are answered in the line's language and walked through
the IVR interpreter. Whatever happens, one call record is written; if this code
fails, the channel goes back to extensions.conf, which plays the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from callcenter.asterisk.agi import ALL_KEYS, AgiChannel, AgiHangupError
from callcenter.dialplan.model import Dialplan
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.ivr.interpreter import Collect, Finish, IvrSession, Turn
from callcenter.ivr.prompts import PromptResolver
from callcenter.records import CallRecord, Outcome

__all__ = ["CAUSE_UNALLOCATED", "InboundCallFlow"]

log = logging.getLogger(__name__)

CAUSE_UNALLOCATED = 1  # Q.850 "unallocated number": PJSIP answers 404 Not Found


def _now() -> datetime:
    return datetime.now(UTC)


class InboundCallFlow:
    """The FastAGI handler for ``inbound``: one instance serves every call."""

    def __init__(
        self,
        dialplan: Callable[[], Dialplan],
        prompts: PromptResolver,
        submit: Callable[[CallRecord], None],
        node: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
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
        try:
            normalized: str | None = normalize_number(dialled)
        except InvalidNumberError:
            normalized = None
        dialplan = self._dialplan()  # this call keeps this version, whatever reloads happen meanwhile
        line = dialplan.line_for(dialled) if normalized else None
        answered_at: datetime | None = None
        session: IvrSession | None = None
        outcome, reason = Outcome.FAILED, ""
        try:
            if line is None:
                outcome, reason = Outcome.REFUSED, "unknown_number"
                log.info("refusing call to unknown number %r from %r", dialled, channel.header("callerid"))
                await channel.set_variable("CC_DONE", "1")
                await channel.hangup(CAUSE_UNALLOCATED)
                return
            await channel.set_variable("CHANNEL(language)", line.language)
            await channel.answer()
            answered_at = self._clock()
            session = IvrSession(dialplan, line)
            outcome = await self._run_ivr(channel, session, line.language)
            await channel.set_variable("CC_DONE", "1")
            await channel.hangup()
        except AgiHangupError:
            if outcome is Outcome.FAILED:  # the caller went before we were done
                if session is not None and session.outcome is not None:
                    outcome = session.outcome  # during the last prompt: the IVR had reached its end
                else:
                    outcome, reason = Outcome.ABANDONED, "caller_hung_up"
        except Exception as error:
            # The caller goes to the fallback in extensions.conf; the record says why.
            reason = reason or f"{type(error).__name__}: {error}"
            raise
        finally:
            self._submit(
                CallRecord(
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
                    language=line.language if line else "",
                    ivr_path=tuple(session.path) if session else (),
                )
            )

    async def _run_ivr(self, channel: AgiChannel, session: IvrSession, language: str) -> Outcome:
        turn: Turn = session.start()
        while True:
            key = None
            # Before a menu, a key pressed during "invalid, try again" is the caller's next choice.
            barge_in = ALL_KEYS if isinstance(turn.then, Collect) else ""
            for prompt in turn.play:
                key = await channel.stream_file(self._prompts.path(language, prompt), barge_in)
                if key:
                    break
            if isinstance(turn.then, Finish):
                return turn.then.outcome
            key = key or await self._collect(channel, turn.then, language)
            log.debug("%s pressed %r in %s", channel.header("uniqueid"), key, turn.then.menu)
            turn = session.press(key)

    async def _collect(self, channel: AgiChannel, step: Collect, language: str) -> str | None:
        """Play the prompts with barge-in and read one key; the last prompt and the wait are one command."""
        *leading, last = (self._prompts.path(language, prompt) for prompt in step.prompts)
        for prompt in leading:
            key = await channel.stream_file(prompt, ALL_KEYS)
            if key:
                return key
        if "#" in step.keys:
            # GET DATA treats '#' as the end of input, so a menu that offers '#' reads it this way.
            return await channel.stream_file(last, ALL_KEYS) or await channel.wait_for_key(step.timeout)
        return (await channel.get_data(last, step.timeout, 1)) or None
