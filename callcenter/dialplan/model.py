"""The typed dialplan model: what admins describe in dialplans/*.yaml.

Validation happens here (pydantic); locating an error in the YAML file is the
loader's job. The model is immutable once built, so a running call can keep the
version it started with while a reload swaps in a new one.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
_PROMPT = re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*")

Prompt = Annotated[str, Field(pattern=_PROMPT.pattern, description="A sound name without extension")]


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
    name: str
    menu: str
    language: Literal["ru", "en"] = "ru"


class Agent(_Strict):
    extension: str = Field(pattern=r"^[0-9]{3,6}$")
    name: str
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

    @model_validator(mode="after")
    def _references_exist(self) -> Dialplan:
        for number, line in self.numbers.items():
            if line.menu not in self.menus:
                raise ValueError(f"number {number} goes to menu {line.menu!r}, which is not defined")
        for name, menu in self.menus.items():
            for key, option in menu.options.items():
                if isinstance(option, GotoMenu) and option.menu not in self.menus:
                    raise ValueError(f"menu {name!r} option {key!r} goes to menu {option.menu!r}, which is not defined")
        seen: set[str] = set()
        for agent in self.agents:
            if agent.extension in seen:
                raise ValueError(f"agent extension {agent.extension} is defined twice")
            seen.add(agent.extension)
        return self

    def line_for(self, dialled: str) -> Number | None:
        """The line a dialled number reaches, in any of its forms, or None."""
        try:
            return self.numbers.get(normalize_number(dialled))
        except InvalidNumberError:
            return None
