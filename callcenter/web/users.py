"""Who may do what in the web pages and the API: three roles, each tied to the dialplan.

- ``agent``: an agent's extension. Their own state, their own log-in/out and pause/unpause, their own
  figures. Nothing of anyone else.
- ``supervisor``: a supervisor's extension. The queues the dialplan gives that supervisor: the wallboard
  of those queues, their agents (read), monitoring them from the supervisor's own phone, the recordings and
  reports of those queues.
- ``admin``: everything, plus checking and reloading the dialplan. The API's bearer token is an admin
  service account (``SERVICE``).

The rules are functions of (principal, current dialplan), so a dialplan reload that moves an agent to another
queue changes what a supervisor sees at the next request. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from callcenter.dialplan.model import Dialplan
from callcenter.errors import CallcenterError

__all__ = [
    "SERVICE",
    "Principal",
    "Role",
    "UserError",
    "check_extension",
    "check_username",
    "may_act_for_agent",
    "may_monitor_as",
    "may_see_agent",
    "may_see_queue",
    "visible_agents",
    "visible_queues",
]

_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")


class UserError(CallcenterError):
    """A user that cannot be made as asked (bad name, unknown role, extension not in the dialplan)."""


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a logged-in web user, or the API's bearer token (``SERVICE``)."""

    username: str
    role: Role
    extension: str = ""  # the agent's or supervisor's; "" for admins
    service: bool = False  # the bearer token: exempt from CSRF (no cookie is involved)

    @property
    def actor(self) -> str:
        """The name audit entries carry."""
        return "api" if self.service else self.username


SERVICE = Principal("api", Role.ADMIN, service=True)


def check_username(name: str) -> str:
    if not _USERNAME.fullmatch(name):
        raise UserError(
            f"user name {name!r}: 2 to 64 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    return name


def check_extension(role: Role, extension: str, dialplan: Dialplan) -> str:
    """The extension a user of ``role`` speaks for: an agent's or a supervisor's in the dialplan; none for admins."""
    if role is Role.ADMIN:
        if extension:
            raise UserError("an admin has no extension")
        return ""
    people = dialplan.agents if role is Role.AGENT else dialplan.supervisors
    if not any(person.extension == extension for person in people):
        known = ", ".join(person.extension for person in people) or "none"
        raise UserError(f"{extension or '(none)'} is not a {role}'s extension in the dialplan (known: {known})")
    return extension


def visible_queues(principal: Principal, dialplan: Dialplan) -> frozenset[str]:
    """The queues whose wallboard, recordings and reports the principal may see."""
    if principal.role is Role.ADMIN:
        return frozenset(dialplan.queues)
    people = dialplan.supervisors if principal.role is Role.SUPERVISOR else dialplan.agents
    person = next((p for p in people if p.extension == principal.extension), None)
    if person is None or principal.role is Role.AGENT:
        return frozenset()  # an agent sees their own panel, not their queues' figures
    return frozenset(person.queues) & frozenset(dialplan.queues)


def may_see_queue(principal: Principal, dialplan: Dialplan, queue: str) -> bool:
    return queue in visible_queues(principal, dialplan)


def may_see_agent(principal: Principal, dialplan: Dialplan, agent: str) -> bool:
    """Admins: every agent; supervisors: agents of their queues; agents: themselves."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.AGENT:
        return agent == principal.extension
    member = next((a for a in dialplan.agents if a.extension == agent), None)
    return member is not None and bool(set(member.queues) & visible_queues(principal, dialplan))


def visible_agents(principal: Principal, dialplan: Dialplan) -> list[str]:
    return [a.extension for a in dialplan.agents if may_see_agent(principal, dialplan, a.extension)]


def may_act_for_agent(principal: Principal, agent: str) -> bool:
    """Log-in/out, pause/unpause and recording control: the agent themselves, or an admin."""
    return principal.role is Role.ADMIN or (principal.role is Role.AGENT and agent == principal.extension)


def may_monitor_as(principal: Principal, dialplan: Dialplan, supervisor: str, agent: str) -> bool:
    """Start a session ringing ``supervisor``'s phone on ``agent``: a supervisor from their own phone on agents
    of their queues; an admin for any supervisor (the dialplan's rule still applies, checked by the desk)."""
    if principal.role is Role.ADMIN:
        return True
    return (
        principal.role is Role.SUPERVISOR
        and supervisor == principal.extension
        and dialplan.may_monitor(supervisor, agent)
    )
