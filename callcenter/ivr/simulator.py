"""`callcenter simulate`: walk a call through the dialplan with the live interpreter, printing each step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from callcenter.dialplan.model import Dialplan
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.ivr.interpreter import CallContext, Collect, Finish, IvrSession, Refuse

__all__ = ["simulate"]


def simulate(dialplan: Dialplan, dialled: str, caller: str | None, at: datetime, keys: Sequence[str]) -> list[str]:
    """The steps a call takes: what is played, what is waited for, what each input does, how it ends.

    ``keys`` holds one entry per input the caller gives: a key, digits for an input, or '' for
    letting the timeout pass.
    """
    line = dialplan.line_for(dialled)
    if line is None:
        return [f"{dialled}: not a number of this call center: refused before answer (SIP 404)"]
    try:
        caller_number = normalize_number(caller) if caller else None
    except InvalidNumberError:
        caller_number = None
    number = normalize_number(dialled)
    lines = [
        f"call to {number} ({line.name}, {line.language}) from {caller_number or 'an unknown caller'} "
        f"at {at.isoformat(sep=' ', timespec='minutes')}"
    ]
    if dialplan.vip(caller_number):
        lines.append(f"  VIP caller: queue priority {dialplan.lists.vip.priority}")
    session = IvrSession(dialplan, line, CallContext(caller_number, at))
    turn = session.start()
    remaining = list(keys)
    while True:
        if turn.play:
            lines.append(f"  plays {', '.join(turn.play)}")
        step = turn.then
        if isinstance(step, Refuse):
            lines.append(f"refused ({step.reason}): " + ("after the message" if turn.play else "not answered"))
            return lines
        if isinstance(step, Finish):
            target = f" -> {step.target.action} {_target_name(step)}" if step.target else ""
            if step.target is not None and step.target.action == "queue" and session.priority:
                target += f" with priority {session.priority}"
            reason = f" ({step.reason})" if step.reason and step.reason != step.outcome else ""
            lines.append(f"ends: {step.outcome}{reason}{target}")
            for name, value in session.inputs.items():
                lines.append(f"  stored on the call: {name} = {value}")
            return lines
        lines.append(_describe_wait(step))
        if not remaining:
            lines.append("  (no more keys given: the caller is still in the menu)")
            return lines
        pressed = remaining.pop(0)
        lines.append(f"  caller {'enters ' + pressed if pressed else 'presses nothing'}")
        turn = session.press(pressed or None)


def _describe_wait(step: Collect) -> str:
    what = f"up to {step.max_digits} digits for {step.input!r}" if step.input else f"a key of {step.keys}"
    return f"menu {step.menu}: plays {', '.join(step.prompts)}; waits {step.timeout:g} s for {what}"


def _target_name(end: Finish) -> str:
    target = end.target
    return str(getattr(target, "queue", None) or getattr(target, "number", None) or getattr(target, "mailbox", ""))
