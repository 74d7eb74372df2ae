"""The typed dialplan model: what admins describe in dialplans/*.yaml.

Structure is validated by pydantic; references between sections (a number's
menu, an option's queue, an agent's queues) are checked by
``Dialplan.reference_problems`` so that every dangling name is reported at
once, each at its own line, by the loader. The model is immutable once built,
so a running call keeps the version it started with while a reload swaps in a
new one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from callcenter.dialplan.hours import Schedule
from callcenter.dialplan.lists import CallerSet, normalize_entry
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.secret_rules import PHONE_PASSWORD_MIN, weakness

__all__ = [
    "DTMF_KEYS",
    "Action",
    "Agent",
    "Back",
    "Blacklist",
    "CollectDigits",
    "Dialplan",
    "GotoMenu",
    "Hangup",
    "Lists",
    "Menu",
    "Number",
    "NumberList",
    "PlayMessage",
    "Queue",
    "RecordingPolicy",
    "Repeat",
    "ServiceLevel",
    "Supervisor",
    "ToNumber",
    "ToQueue",
    "ToVoicemail",
    "TransferNumbers",
    "VipList",
    "final_action",
]

DTMF_KEYS = "0123456789*#"
Location = tuple[str, ...]
# A sound name relative to a sounds directory, without extension: no '..', no absolute path, no spaces,
# since it ends up as an argument of an AGI command and a path inside the Asterisk root.
Prompt = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$", description="A sound name without extension")
]
Prompts = tuple[Prompt, ...]
# Shown on phones and put into config files: one line, no quotes or config comment characters.
DisplayName = Annotated[str, Field(min_length=1, max_length=80, pattern=r'^[^"\\;\x00-\x1f\x7f-\x9f]+$')]
# Names of menus, queues, mailboxes, inputs: they appear in records, URLs and generated config.
Name = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
Pin = Annotated[str, Field(pattern=r"^[0-9]{4,8}$", description="4 to 8 digits, typed on the phone's keypad")]
Extension = Annotated[str, Field(pattern=r"^[0-9]{3,6}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- what a key (or the end of a step) does ---------------------------------------------------------------


class PlayMessage(_Strict):
    """Play prompts, then hang up: the caller was served by the IVR alone."""

    action: Literal["message"] = "message"
    prompts: Prompts = Field(min_length=1)


class GotoMenu(_Strict):
    """Continue in another menu."""

    action: Literal["menu"] = "menu"
    menu: Name


class ToQueue(_Strict):
    """Wait for an agent of a queue."""

    action: Literal["queue"] = "queue"
    queue: Name
    prompts: Prompts = Field(default=(), description="Played before the caller is queued")


class ToNumber(_Strict):
    """Transfer the call to another number (through the carrier trunk)."""

    action: Literal["number"] = "number"
    number: str
    prompts: Prompts = ()

    @field_validator("number")
    @classmethod
    def _normalized(cls, number: str) -> str:
        return normalize_number(number)


class ToVoicemail(_Strict):
    """Leave a voice message in a mailbox."""

    action: Literal["voicemail"] = "voicemail"
    mailbox: Name
    prompts: Prompts = ()


class Repeat(_Strict):
    """Play the current menu again."""

    action: Literal["repeat"] = "repeat"


class Back(_Strict):
    """Return to the menu the caller came from (the same menu at the top)."""

    action: Literal["back"] = "back"


class Hangup(_Strict):
    """Play prompts, if any, and hang up."""

    action: Literal["hangup"] = "hangup"
    prompts: Prompts = ()


class CollectDigits(_Strict):
    """Ask for a number (an order, a contract); store it on the call, then go on with ``then``."""

    action: Literal["input"] = "input"
    name: Name = Field(description="Stored on the call under this name, for the agent and the record")
    prompts: Prompts = Field(min_length=1)
    min_digits: int = Field(default=1, ge=1, le=32)
    max_digits: int = Field(default=16, ge=1, le=32)
    terminator: Literal["#"] | None = Field(default="#", description="Key that ends the input early")
    timeout: float = Field(default=10.0, gt=0, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    invalid: Prompts = ("invalid",)
    then: Action

    @model_validator(mode="after")
    def _lengths(self) -> CollectDigits:
        if self.min_digits > self.max_digits:
            raise ValueError(f"min_digits ({self.min_digits}) is more than max_digits ({self.max_digits})")
        return self


def final_action(action: Action) -> Action:
    """What an action comes to once its inputs are typed: an input's `then`, followed to the end."""
    while isinstance(action, CollectDigits):
        action = action.then
    return action


Action = Annotated[
    PlayMessage | GotoMenu | ToQueue | ToNumber | ToVoicemail | Repeat | Back | Hangup | CollectDigits,
    Field(discriminator="action"),
]
CollectDigits.model_rebuild()


# --- the sections -------------------------------------------------------------------------------------------


class _KeepsHours(_Strict):
    """A line or a menu that may keep a schedule, and says what happens outside it."""

    hours: Name | None = Field(default=None, description="A schedule from `hours`; `closed` happens outside it")
    closed: Action | None = None

    @field_validator("closed")
    @classmethod
    def _closed(cls, action: Action | None) -> Action | None:
        if isinstance(action, Repeat | Back):
            raise ValueError(f"'{action.action}' cannot be what happens when closed")
        return action

    @model_validator(mode="after")
    def _closed_with_hours(self) -> _KeepsHours:
        if (self.hours is None) != (self.closed is None):
            raise ValueError("`hours` and `closed` go together: the schedule, and what happens outside it")
        return self


class Menu(_KeepsHours):
    greeting: Prompts = Field(min_length=1, description="Played while waiting for a key")
    options: dict[str, Action] = Field(min_length=1)
    timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds to wait for a key")
    retries: int = Field(default=3, ge=1, le=10, description="Times the greeting is played before giving up")
    invalid: Prompts = ("invalid",)
    no_input: Prompts = ("vm-goodbye",)
    announce_key: bool = Field(default=False, description="Say the key pressed before acting on it")
    language: Literal["ru", "en"] | None = Field(
        default=None, description="Switch to this language here (and in the menus after); default: the line's"
    )

    @field_validator("options")
    @classmethod
    def _keys_are_dtmf(cls, options: dict[str, Action]) -> dict[str, Action]:
        for key in options:
            if len(key) != 1 or key not in DTMF_KEYS:
                raise ValueError(f"option key {key!r} is not a DTMF key (one of {DTMF_KEYS})")
        return options


class RecordingPolicy(_Strict):
    """Which calls are recorded, and for how long the files are kept."""

    mode: Literal["always", "never", "sampled", "on_demand"] = Field(
        description="always; never; sampled (`percent` of the calls); on_demand (the agent or the API starts it)"
    )
    percent: int | None = Field(default=None, ge=1, le=99, description="sampled: the share of calls recorded")
    retention_days: int = Field(
        default=90, ge=1, le=3650, description="Days a recording is kept; `callcenter recordings purge` deletes older"
    )

    @model_validator(mode="after")
    def _percent_with_sampled(self) -> RecordingPolicy:
        if (self.mode == "sampled") != (self.percent is not None):
            raise ValueError("`percent` goes with mode `sampled`, and only with it")
        return self


class Number(_KeepsHours):
    name: DisplayName
    menu: Name
    language: Literal["ru", "en"] = "ru"
    whitelist_only: bool = Field(default=False, description="Only callers on the whitelist get through")
    recording: RecordingPolicy | None = Field(
        default=None, description="For calls to this number in queues that have no recording policy of their own"
    )
    recording_notice: Prompts = Field(
        default=(), description="Played first on every call to this number, e.g. 'this call may be recorded'"
    )


class ServiceLevel(_Strict):
    """A queue's service-level settings for reports (GUIDE §3). A change applies to intervals rebuilt after it:
    run `callcenter report rebuild` over the period the new figures should cover."""

    target_seconds: int = Field(default=20, ge=1, le=3600, description="T: answered within this many seconds")
    short_abandon_seconds: int = Field(
        default=5, ge=0, le=600, description="S: callers hanging up within this many seconds are not counted"
    )
    goal: float = Field(default=0.8, gt=0, lt=1, description="The share answered within T aimed at (staffing hints)")
    shown: Literal["sl_offered", "sl_answered", "sl_asterisk2"] = Field(
        default="sl_offered", description="The service-level variant reports show first"
    )

    @model_validator(mode="after")
    def _short_abandon_within_target(self) -> ServiceLevel:
        if self.short_abandon_seconds >= self.target_seconds:
            raise ValueError("`short_abandon_seconds` must be less than `target_seconds`")
        return self


class Queue(_Strict):
    name: DisplayName
    strategy: Literal["longest_idle", "round_robin", "fewest_calls", "ring_all", "random", "linear"] = "longest_idle"
    skills: dict[Name, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict, description="Skill -> minimum level an agent needs"
    )
    wrap_up: int = Field(default=10, ge=0, le=600, description="Seconds after a call before the next offer")
    max_wait: int = Field(default=600, ge=10, le=7200, description="Seconds before `overflow`")
    max_length: int | None = Field(default=None, ge=1, description="Callers waiting at most; more overflow")
    overflow: Action | None = None
    ring_timeout: int = Field(default=15, ge=5, le=120, description="Seconds an agent's phone rings per offer")
    announce_every: int | None = Field(
        default=30, ge=10, le=600, description="Seconds between position and wait-time announcements; none: never"
    )
    announce_hold_time: bool = Field(default=True, description="Include the estimated wait in the announcements")
    relax_after: int | None = Field(
        default=None, ge=1, description="Seconds of waiting after which any member may take the call, skills or not"
    )
    callback_key: Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"] | None = Field(
        default=None,
        description="A key a waiting caller presses to hang up and be called back, keeping their place in line",
    )
    transfer_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,4}$",
        description="Agents transfer a call to this queue by dialling *7 and this code after the transfer key",
    )
    recording: RecordingPolicy | None = Field(
        default=None, description="Recording of this queue's calls; none: the policy of the number called"
    )
    monitoring_notice: bool = Field(
        default=False, description="The agent hears a short beep when a supervisor starts listening to a call"
    )
    service_level: ServiceLevel = Field(
        default_factory=ServiceLevel, description="Thresholds of this queue's service level and abandon figures"
    )


def _strong_phone_password(password: str | None, info: ValidationInfo) -> str | None:
    """A phone password someone typed: strong enough for a SIP digest exposed to the network, or refused."""
    if password is not None:
        why = weakness(password, PHONE_PASSWORD_MIN, (str(info.data.get("extension", "")),))
        if why is not None:
            raise ValueError(f"weak phone password: {why} (leave it out to have a strong one generated)")
    return password


class Agent(_Strict):
    extension: Extension
    name: DisplayName
    password: str | None = Field(
        default=None,
        description="SIP password (12+ characters, mixed kinds); leave out to have one generated into the run "
        "directory's secrets",
    )
    pin: Pin | None = None
    queues: tuple[Name, ...] = ()
    skills: dict[Name, Annotated[int, Field(ge=1, le=10)]] = Field(default_factory=dict)
    no_answer_limit: int = Field(
        default=3, ge=1, le=20, description="Offers missed in a row before the agent is paused (reason no_answer)"
    )

    _password = field_validator("password")(_strong_phone_password)


class Supervisor(_Strict):
    extension: Extension
    name: DisplayName
    password: str | None = None
    pin: Pin | None = None
    queues: tuple[Name, ...] = Field(min_length=1, description="Queues whose agents this supervisor may monitor")

    _password = field_validator("password")(_strong_phone_password)


def _normalized_entries(entries: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_entry(entry) for entry in entries))


class NumberList(_Strict):
    numbers: tuple[str, ...] = Field(default=(), description="Numbers, or prefixes ending in '*', in any form")

    @field_validator("numbers")
    @classmethod
    def _normalize(cls, numbers: tuple[str, ...]) -> tuple[str, ...]:
        return _normalized_entries(numbers)

    def callers(self) -> CallerSet:
        return CallerSet(self.numbers)


class Blacklist(NumberList):
    prompts: Prompts = Field(default=(), description="Played to a blocked caller; without it the call is refused")


class VipList(NumberList):
    priority: int = Field(default=10, ge=1, le=100, description="Queue priority: higher is offered first")


def _transfer_number(text: str) -> str:
    """An outside number an agent may transfer a caller to: one exact Russian number, as agents dial it."""
    if text.rstrip().endswith("*"):
        raise ValueError(
            f"{text!r}: transfer numbers are exact numbers, not prefixes (a prefix opens a range to fraud)"
        )
    number = normalize_number(text)
    if not re.fullmatch(r"\+7[0-9]{10}", number):
        raise ValueError(f"{text!r} is not a number agents can dial: 8 or 7 and ten digits (+7 and ten digits)")
    return number


class TransferNumbers(_Strict):
    """The only outside numbers agents may transfer callers to (through the carrier); none by default."""

    numbers: tuple[Annotated[str, AfterValidator(_transfer_number)], ...] = Field(
        default=(),
        description="Exact numbers (+7 and ten digits, in any form); agents dial them as 8 or 7 and ten digits",
    )

    @field_validator("numbers")
    @classmethod
    def _once(cls, numbers: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(numbers))


class Lists(_Strict):
    blacklist: Blacklist = Blacklist()
    whitelist: NumberList = NumberList()
    vip: VipList = VipList()
    transfer_numbers: TransferNumbers = Field(
        default=TransferNumbers(),
        description="Outside numbers agents may transfer callers to; any other outside number is refused (toll fraud)",
    )


class Dialplan(_Strict):
    numbers: dict[str, Number]
    menus: dict[Name, Menu]
    hours: dict[Name, Schedule] = Field(default_factory=dict)
    queues: dict[Name, Queue] = Field(default_factory=dict)
    agents: tuple[Agent, ...] = ()
    supervisors: tuple[Supervisor, ...] = ()
    lists: Lists = Lists()

    _blacklist: CallerSet = PrivateAttr()
    _whitelist: CallerSet = PrivateAttr()
    _vip: CallerSet = PrivateAttr()

    @field_validator("numbers", mode="before")
    @classmethod
    def _normalize_numbers(cls, numbers: object) -> object:
        if not isinstance(numbers, dict):
            return numbers
        normalized: dict[str, object] = {}
        for raw, value in numbers.items():
            key = normalize_number(str(raw))
            if key in normalized:
                raise ValueError(f"number {raw!r} is defined twice (as {key})")
            normalized[key] = value
        return normalized

    def phones(self) -> tuple[Agent | Supervisor, ...]:
        """Everyone with a desk phone: agents and supervisors."""
        return (*self.agents, *self.supervisors)

    def may_monitor(self, supervisor: str, agent: str) -> bool:
        """Whether the supervisor at extension ``supervisor`` may listen to the agent at ``agent``:
        only to agents of the queues the dialplan assigns them."""
        boss = next((person for person in self.supervisors if person.extension == supervisor), None)
        member = next((person for person in self.agents if person.extension == agent), None)
        return boss is not None and member is not None and bool(set(boss.queues) & set(member.queues))

    def line_for(self, dialled: str) -> Number | None:
        """The line a dialled number reaches, in any of its forms, or None."""
        try:
            return self.numbers.get(normalize_number(dialled))
        except InvalidNumberError:
            return None

    def actions(self) -> Iterator[tuple[Location, Action]]:
        """Every action in the dialplan with its location, nested ones (an input's `then`) included."""

        def walk(location: Location, action: Action | None) -> Iterator[tuple[Location, Action]]:
            if action is None:
                return
            yield location, action
            if isinstance(action, CollectDigits):
                yield from walk((*location, "then"), action.then)

        for number, line in self.numbers.items():
            yield from walk(("numbers", number, "closed"), line.closed)
        for name, menu in self.menus.items():
            for key, option in menu.options.items():
                yield from walk(("menus", name, "options", key), option)
            yield from walk(("menus", name, "closed"), menu.closed)
        for name, queue in self.queues.items():
            yield from walk(("queues", name, "overflow"), queue.overflow)

    def reference_problems(self, also_defined: Mapping[str, set[str]] | None = None) -> list[tuple[Location, str]]:
        """Every reference to something not defined, and menus with no way out, as (location, message).

        Kept out of pydantic's validators so the loader can report all of them, each at its line.
        ``also_defined`` names items (by section) that exist but were left out of this model because they
        are invalid themselves: references to them are not reported again.
        """
        problems: list[tuple[Location, str]] = []
        sections = {"menu": "menus", "queue": "queues", "schedule": "hours"}
        elsewhere = also_defined or {}

        def need(location: Location, kind: str, name: str, known: Mapping[str, object]) -> None:
            if name not in known and name not in elsewhere.get(sections[kind], set()):
                problems.append((location, f"{kind} {name!r} is not defined{_suggest(name, known)}"))

        for number, line in self.numbers.items():
            need(("numbers", number, "menu"), "menu", line.menu, self.menus)
            if line.hours is not None:
                need(("numbers", number, "hours"), "schedule", line.hours, self.hours)
        for name, menu in self.menus.items():
            if menu.hours is not None:
                need(("menus", name, "hours"), "schedule", menu.hours, self.hours)
        for location, action in self.actions():
            if isinstance(action, GotoMenu):
                need((*location, "menu"), "menu", action.menu, self.menus)
            elif isinstance(action, ToQueue):
                need((*location, "queue"), "queue", action.queue, self.queues)
        codes: dict[str, str] = {}
        for name, rules in self.queues.items():
            code = rules.transfer_code
            if code is not None and code in codes:
                problems.append(
                    (("queues", name, "transfer_code"), f"transfer_code {code} is also queue {codes[code]!r}'s")
                )
            elif code is not None:
                codes[code] = name
        seen: dict[str, str] = {}
        people: tuple[tuple[str, tuple[Agent | Supervisor, ...]], ...] = (
            ("agents", self.agents),
            ("supervisors", self.supervisors),
        )
        for section, group in people:
            for index, person in enumerate(group):
                for queue in person.queues:
                    need((section, str(index), "queues"), "queue", queue, self.queues)
                if person.extension in seen:
                    problems.append(
                        ((section, str(index), "extension"), f"extension {person.extension} is defined twice")
                    )
                seen[person.extension] = section
        if not elsewhere.get("menus"):  # a left-out menu might be the way out
            problems.extend(self._trapped_menus())
        return problems

    def _trapped_menus(self) -> list[tuple[Location, str]]:
        """Menus from which no option ever leads out of the menus (to a queue, a number, a message...)."""
        leaves_directly: set[str] = set()
        goes_to: dict[str, set[str]] = {name: set() for name in self.menus}
        for name, menu in self.menus.items():
            for option in menu.options.values():
                target = final_action(option)
                if isinstance(target, GotoMenu):
                    goes_to[name].add(target.menu)
                elif not isinstance(target, Repeat | Back):
                    leaves_directly.add(name)
        way_out = set(leaves_directly)
        changed = True
        while changed:  # a menu has a way out if it leads to a menu that has one
            changed = False
            for name, targets in goes_to.items():
                if name not in way_out and targets & way_out:
                    way_out.add(name)
                    changed = True
        return [
            (
                ("menus", name),
                "no option of this menu, or of the menus it leads to, ever ends the menus "
                "(a message, queue, number, voicemail or hangup): callers can only go round in circles",
            )
            for name in self.menus
            if name not in way_out
        ]

    @classmethod
    def checked(cls, data: object) -> Dialplan:
        """Validate ``data`` completely (structure and references); raise ValueError on the first problem."""
        dialplan = cls.model_validate(data)
        problems = dialplan.reference_problems()
        if problems:
            location, message = problems[0]
            raise ValueError(f"{'.'.join(location)}: {message}")
        return dialplan

    def model_post_init(self, context: object, /) -> None:
        # Matched on every call: built once per dialplan version (the model is frozen, so never stale).
        self._blacklist = self.lists.blacklist.callers()
        self._whitelist = self.lists.whitelist.callers()
        self._vip = self.lists.vip.callers()

    def blacklisted(self, caller: str | None) -> bool:
        return caller is not None and caller in self._blacklist

    def whitelisted(self, caller: str | None) -> bool:
        return caller is not None and caller in self._whitelist

    def vip(self, caller: str | None) -> bool:
        return caller is not None and caller in self._vip


def _suggest(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
