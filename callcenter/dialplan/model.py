"""The typed dialplan model: what admins describe in dialplans/*.yaml.

Validation happens here (pydantic); locating an error in the YAML file is the
loader's job. The model is immutable once built, so a running call can keep the
version it started with while a reload swaps in a new one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcenter.dialplan.numbers import InvalidNumberError, normalize_number

__all__ = [
    "DTMF_KEYS",
    "Agent",
    "Dialplan",
    "GotoMenu",
    "Menu",
    "Number",
    "Option",
    "PlayMessage",
]

DTMF_KEYS = "0123456789*#"
# A sound name relative to a sounds directory, without extension: no '..', no absolute path, no spaces,
# since it ends up as an argument of an AGI command and a path inside the Asterisk root.
Prompt = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$", description="A sound name without extension")
]
# Shown on phones and put into config files: one line, no quotes or config comment characters.
DisplayName = Annotated[str, Field(min_length=1, max_length=80, pattern=r'^[^"\\;\x00-\x1f\x7f-\x9f]+$')]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlayMessage(_Strict):
    """Play prompts, then hang up."""

    action: Literal["message"] = "message"
    prompts: tuple[Prompt, ...] = Field(min_length=1)


class GotoMenu(_Strict):
    """Continue in another menu."""

    action: Literal["menu"] = "menu"
    menu: str


Option = Annotated[PlayMessage | GotoMenu, Field(discriminator="action")]


class Menu(_Strict):
    greeting: tuple[Prompt, ...] = Field(min_length=1, description="Played while waiting for a key")
    options: dict[str, Option] = Field(min_length=1)
    timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds to wait for a key")
    retries: int = Field(default=3, ge=1, le=10, description="Times the greeting is played before giving up")
    invalid: tuple[Prompt, ...] = ("invalid",)
    no_input: tuple[Prompt, ...] = ("vm-goodbye",)
    announce_key: bool = Field(default=False, description="Say the key pressed before acting on it")

    @field_validator("options")
    @classmethod
    def _keys_are_dtmf(cls, options: dict[str, Option]) -> dict[str, Option]:
        for key in options:
            if len(key) != 1 or key not in DTMF_KEYS:
                raise ValueError(f"option key {key!r} is not a DTMF key (one of {DTMF_KEYS})")
        return options


class Number(_Strict):
    name: DisplayName
    menu: str
    language: Literal["ru", "en"] = "ru"


class Agent(_Strict):
    extension: str = Field(pattern=r"^[0-9]{3,6}$")
    name: DisplayName
    password: str | None = Field(
        default=None,
        description="SIP password; leave out to have one generated into the run directory's secrets",
    )


class Dialplan(_Strict):
    numbers: dict[str, Number]
    menus: dict[str, Menu]
    agents: tuple[Agent, ...] = ()

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

    def reference_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Every reference to something not defined, as (location in the document, message).

        Kept out of pydantic's validators so the loader can report all of them, each at its line.
        """
        problems: list[tuple[tuple[str, ...], str]] = []
        for number, line in self.numbers.items():
            if line.menu not in self.menus:
                problems.append(
                    (
                        (("numbers", number, "menu")),
                        f"menu {line.menu!r} is not defined{_suggest(line.menu, self.menus)}",
                    )
                )
        for name, menu in self.menus.items():
            for key, option in menu.options.items():
                if isinstance(option, GotoMenu) and option.menu not in self.menus:
                    problems.append(
                        (
                            ("menus", name, "options", key, "menu"),
                            f"menu {option.menu!r} is not defined{_suggest(option.menu, self.menus)}",
                        )
                    )
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.extension in seen:
                problems.append((("agents", str(index), "extension"), f"extension {agent.extension} is defined twice"))
            seen.add(agent.extension)
        return problems

    @classmethod
    def checked(cls, data: object) -> Dialplan:
        """Validate ``data`` completely (structure and references); raise ValueError on the first problem."""
        dialplan = cls.model_validate(data)
        problems = dialplan.reference_problems()
        if problems:
            location, message = problems[0]
            raise ValueError(f"{'.'.join(location)}: {message}")
        return dialplan

    def line_for(self, dialled: str) -> Number | None:
        """The line a dialled number reaches, in any of its forms, or None."""
        try:
            return self.numbers.get(normalize_number(dialled))
        except InvalidNumberError:
            return None


def _suggest(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
