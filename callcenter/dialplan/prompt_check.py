"""Every prompt a caller can hear must exist in the language they hear it in: checked before calls, never silence.

A prompt is found among the project's own sounds (sounds/<language>/<name>.*)
or among Asterisk's core sounds for that language (the list shipped in
core_sounds.txt, taken from the Debian packages installed in the Asterisk
root; a test keeps it in step with the root).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources

from callcenter.dialplan.model import Action, CollectDigits, Dialplan, GotoMenu, Location, final_action

__all__ = ["core_sounds", "missing_prompts"]


@cache
def core_sounds() -> frozenset[tuple[str, str]]:
    """(language, name) of every core sound in the Asterisk root's sound packages."""
    text = resources.files("callcenter.dialplan").joinpath("core_sounds.txt").read_text(encoding="utf-8")
    return frozenset(tuple(line.split(" ", 1)) for line in text.splitlines() if " " in line)  # type: ignore[misc]


def _action_prompts(location: Location, action: Action | None) -> Iterator[tuple[Location, str]]:
    if action is None:
        return
    for index, prompt in enumerate(getattr(action, "prompts", ())):
        yield (*location, "prompts", str(index)), prompt
    if isinstance(action, CollectDigits):
        for index, prompt in enumerate(action.invalid):
            yield (*location, "invalid", str(index)), prompt
        yield from _action_prompts((*location, "then"), action.then)


def _menu_prompts(dialplan: Dialplan, name: str) -> Iterator[tuple[Location, str]]:
    menu = dialplan.menus[name]
    for field in ("greeting", "invalid", "no_input"):
        for index, prompt in enumerate(getattr(menu, field)):
            yield ("menus", name, field, str(index)), prompt
    for key, option in menu.options.items():
        yield from _action_prompts(("menus", name, "options", key), option)
    yield from _action_prompts(("menus", name, "closed"), menu.closed)


def _reachable_menus(dialplan: Dialplan, firsts: list[str], language: str) -> list[tuple[str, str]]:
    """(menu, language it is heard in) for every menu a caller can reach from ``firsts``."""
    starts = [(first, dialplan.menus[first].language or language) for first in firsts if first in dialplan.menus]
    seen, todo = list(starts), list(starts)
    while todo:
        name, heard_in = todo.pop()
        menu = dialplan.menus.get(name)
        if menu is None:
            continue
        for action in [*menu.options.values(), menu.closed]:
            target = final_action(action) if action is not None else None
            if isinstance(target, GotoMenu) and target.menu in dialplan.menus:
                state = (target.menu, dialplan.menus[target.menu].language or heard_in)
                if state not in seen:
                    seen.append(state)
                    todo.append(state)
    return seen


def missing_prompts(dialplan: Dialplan, shipped: Callable[[str, str], bool]) -> list[tuple[Location, str]]:
    """(location, message) for each prompt that a caller of some line would hear but that does not exist."""
    core = core_sounds()
    problems: dict[tuple[Location, str], str] = {}
    for number, line in dialplan.numbers.items():
        places: list[tuple[tuple[Location, str], str]] = [
            (place, line.language) for place in _action_prompts(("numbers", number, "closed"), line.closed)
        ]
        places.extend(
            ((("numbers", number, "recording_notice", str(index)), prompt), line.language)
            for index, prompt in enumerate(line.recording_notice)
        )
        firsts = [line.menu]
        closed_to = final_action(line.closed) if line.closed is not None else None
        if isinstance(closed_to, GotoMenu):
            firsts.append(closed_to.menu)  # the after-hours menu
        for name, language in _reachable_menus(dialplan, firsts, line.language):
            places.extend((place, language) for place in _menu_prompts(dialplan, name))
        for (location, prompt), language in places:
            if not shipped(language, prompt) and (language, prompt) not in core:
                problems.setdefault(
                    (location, language),
                    f"prompt {prompt!r} does not exist in {language!r} (callers of {number} would hear "
                    f"silence): add it to sounds/prompts.tsv or use a core sound",
                )
    # Played to callers of any line: the blacklist's message and what queues overflow to.
    languages = sorted({line.language for line in dialplan.numbers.values()})
    anywhere: list[tuple[Location, str]] = [
        (("lists", "blacklist", "prompts", str(i)), p) for i, p in enumerate(dialplan.lists.blacklist.prompts)
    ]
    for name, queue in dialplan.queues.items():
        anywhere.extend(_action_prompts(("queues", name, "overflow"), queue.overflow))
    for location, prompt in anywhere:
        for language in languages:
            if not shipped(language, prompt) and (language, prompt) not in core:
                problems.setdefault((location, language), f"prompt {prompt!r} does not exist in {language!r}")
    return [(location, message) for (location, _), message in problems.items()]
