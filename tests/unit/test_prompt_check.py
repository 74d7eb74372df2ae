"""callcenter.dialplan.prompt_check, and the loader with it: every prompt a caller hears exists in their language."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from callcenter.dialplan.loader import DialplanError, load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.dialplan.prompt_check import core_sounds, missing_prompts

LINE = "+78005553535"
OTHER_LINE = "+78005553536"
SHIPPED = {("ru", "cc/main"), ("ru", "cc/bye"), ("en", "cc/main"), ("en", "cc/bye"), ("ru", "cc/only-ru")}


def shipped(language: str, prompt: str) -> bool:
    return (language, prompt) in SHIPPED


def message(*prompts: str) -> dict[str, Any]:
    return {"action": "message", "prompts": list(prompts)}


def goto(menu: str) -> dict[str, Any]:
    return {"action": "menu", "menu": menu}


def main(**changes: Any) -> dict[str, Any]:
    return {"greeting": ["cc/main"], "options": {"1": message("cc/bye"), **changes.pop("options", {})}, **changes}


def plan(menus: dict[str, Any], line: dict[str, Any] | None = None, **sections: Any) -> Dialplan:
    return Dialplan.checked(
        {
            "numbers": {LINE: {"name": "Line", "menu": "main", **(line or {})}},
            "menus": menus,
            "queues": {"support": {"name": "Support"}},
            **sections,
        }
    )


def missing(language: str, prompt: str, number: str = LINE) -> str:
    return (
        f"prompt {prompt!r} does not exist in {language!r} (callers of {number} would hear silence): "
        "add it to sounds/prompts.tsv or use a core sound"
    )


def test_dialplan_whose_prompts_all_exist_has_no_problem() -> None:
    assert missing_prompts(plan({"main": main()}), shipped) == []


@pytest.mark.parametrize(
    ("menus", "line", "location", "prompt"),
    [
        pytest.param(
            {"main": main(greeting=["cc/hello"])}, None, ("menus", "main", "greeting", "0"), "cc/hello", id="greeting"
        ),
        pytest.param(
            {"main": main(invalid=["cc/main", "cc/again"])},
            None,
            ("menus", "main", "invalid", "1"),
            "cc/again",
            id="invalid",
        ),
        pytest.param(
            {"main": main(no_input=["cc/later"])}, None, ("menus", "main", "no_input", "0"), "cc/later", id="no-input"
        ),
        pytest.param(
            {"main": main(options={"2": message("cc/bye", "cc/see-you")})},
            None,
            ("menus", "main", "options", "2", "prompts", "1"),
            "cc/see-you",
            id="message",
        ),
        pytest.param(
            {"main": main(options={"2": {"action": "queue", "queue": "support", "prompts": ["cc/connecting"]}})},
            None,
            ("menus", "main", "options", "2", "prompts", "0"),
            "cc/connecting",
            id="queue",
        ),
        pytest.param(
            {
                "main": main(
                    options={
                        "2": {"action": "input", "name": "order", "prompts": ["cc/order"], "then": message("cc/bye")}
                    }
                )
            },
            None,
            ("menus", "main", "options", "2", "prompts", "0"),
            "cc/order",
            id="input",
        ),
        pytest.param(
            {
                "main": main(
                    options={
                        "2": {
                            "action": "input",
                            "name": "order",
                            "prompts": ["cc/main"],
                            "invalid": ["cc/bad-order"],
                            "then": message("cc/bye"),
                        }
                    }
                )
            },
            None,
            ("menus", "main", "options", "2", "invalid", "0"),
            "cc/bad-order",
            id="input-invalid",
        ),
        pytest.param(
            {
                "main": main(
                    options={
                        "2": {"action": "input", "name": "order", "prompts": ["cc/main"], "then": message("cc/noted")}
                    }
                )
            },
            None,
            ("menus", "main", "options", "2", "then", "prompts", "0"),
            "cc/noted",
            id="input-then",
        ),
        pytest.param(
            {"main": main(hours="day", closed=message("cc/menu-closed"))},
            None,
            ("menus", "main", "closed", "prompts", "0"),
            "cc/menu-closed",
            id="menu-closed",
        ),
        pytest.param(
            {"main": main()},
            {"hours": "day", "closed": {"action": "voicemail", "mailbox": "support", "prompts": ["cc/leave"]}},
            ("numbers", LINE, "closed", "prompts", "0"),
            "cc/leave",
            id="line-closed",
        ),
        pytest.param(
            {"main": main(options={"2": goto("sub")}), "sub": main(greeting=["cc/sub"])},
            None,
            ("menus", "sub", "greeting", "0"),
            "cc/sub",
            id="submenu",
        ),
        pytest.param(
            {"main": main(hours="day", closed=goto("after")), "after": main(greeting=["cc/after-hours"])},
            None,
            ("menus", "after", "greeting", "0"),
            "cc/after-hours",
            id="menu-a-closed-menu-goes-to",
        ),
    ],
)
def test_missing_prompt_is_reported_at_its_location(
    menus: dict[str, Any], line: dict[str, Any] | None, location: tuple[str, ...], prompt: str
) -> None:
    dialplan = plan(menus, line, hours={"day": {"weekly": {"mon-fri": "09:00-18:00"}}})
    assert missing_prompts(dialplan, shipped) == [(location, missing("ru", prompt))]


def test_prompt_present_only_in_russian_is_reported_in_an_english_menu() -> None:
    english = main(language="en", greeting=["cc/only-ru"])
    dialplan = plan({"main": main(options={"9": goto("english")}), "english": english})
    assert missing_prompts(dialplan, shipped) == [(("menus", "english", "greeting", "0"), missing("en", "cc/only-ru"))]


def test_prompt_present_only_in_russian_is_reported_on_an_english_line() -> None:
    dialplan = plan({"main": main(greeting=["cc/only-ru"])}, {"language": "en"})
    assert missing_prompts(dialplan, shipped) == [(("menus", "main", "greeting", "0"), missing("en", "cc/only-ru"))]


def test_menus_after_an_english_menu_are_checked_in_english() -> None:
    english = main(language="en", options={"2": goto("sub")})
    sub = main(greeting=["cc/only-ru"])
    dialplan = plan({"main": main(options={"9": goto("english"), "2": goto("sub")}), "english": english, "sub": sub})
    # sub is heard in Russian from main, and in English from the English menu: only the latter is missing.
    assert missing_prompts(dialplan, shipped) == [(("menus", "sub", "greeting", "0"), missing("en", "cc/only-ru"))]


def test_a_prompt_missing_in_both_languages_is_reported_once_per_language() -> None:
    english = main(language="en", options={"2": goto("sub")})
    sub = main(greeting=["cc/nowhere"])
    dialplan = plan({"main": main(options={"9": goto("english"), "2": goto("sub")}), "english": english, "sub": sub})
    assert sorted(missing_prompts(dialplan, shipped)) == [
        (("menus", "sub", "greeting", "0"), missing("en", "cc/nowhere")),
        (("menus", "sub", "greeting", "0"), missing("ru", "cc/nowhere")),
    ]


def test_a_menu_shared_by_two_lines_names_the_first_line_that_misses_the_prompt() -> None:
    dialplan = Dialplan.checked(
        {
            "numbers": {
                LINE: {"name": "A", "menu": "main"},
                OTHER_LINE: {"name": "B", "menu": "main"},
            },
            "menus": {"main": main(greeting=["cc/nowhere"])},
        }
    )
    assert missing_prompts(dialplan, shipped) == [(("menus", "main", "greeting", "0"), missing("ru", "cc/nowhere"))]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_core_sounds_need_not_be_shipped(language: str) -> None:
    core = main(greeting=["vm-goodbye"], invalid=["invalid"], options={"1": message("digits/1", "you-entered")})
    assert missing_prompts(plan({"main": core}, {"language": language}), lambda _language, _prompt: False) == []


@pytest.mark.parametrize(("language", "prompt"), [("ru", "please-try-call-later"), ("en", "pls-try-call-later")])
def test_a_core_sound_of_the_other_language_only_is_reported(language: str, prompt: str) -> None:
    assert (language, prompt) not in core_sounds()
    dialplan = plan({"main": main(options={"2": message(prompt)})}, {"language": language})
    assert missing_prompts(dialplan, shipped) == [
        (("menus", "main", "options", "2", "prompts", "0"), missing(language, prompt))
    ]


def test_core_sounds_list_has_both_languages_digits() -> None:
    assert {("ru", "digits/1"), ("en", "digits/1"), ("ru", "digits/star"), ("en", "digits/pound")} <= core_sounds()


def test_unreachable_menus_are_not_checked() -> None:
    orphan = main(greeting=["cc/nowhere"], options={"1": message("cc/nothing")})
    assert missing_prompts(plan({"main": main(), "orphan": orphan}), shipped) == []


def test_blacklist_prompts_are_checked_in_the_language_of_every_line() -> None:
    dialplan = Dialplan.checked(
        {
            "numbers": {
                LINE: {"name": "A", "menu": "main"},
                OTHER_LINE: {"name": "B", "menu": "main", "language": "en"},
            },
            "menus": {"main": main()},
            "lists": {"blacklist": {"numbers": ["+79990000000"], "prompts": ["cc/only-ru"]}},
        }
    )
    assert missing_prompts(dialplan, shipped) == [
        (("lists", "blacklist", "prompts", "0"), "prompt 'cc/only-ru' does not exist in 'en'")
    ]


def test_menu_a_closed_line_goes_to_is_checked() -> None:
    dialplan = plan(
        {"main": main(), "after": main(greeting=["cc/after-hours"])},
        {"hours": "day", "closed": goto("after")},
        hours={"day": {"weekly": {"mon-fri": "09:00-18:00"}}},
    )
    assert missing_prompts(dialplan, shipped) == [
        (("menus", "after", "greeting", "0"), missing("ru", "cc/after-hours"))
    ]


def test_menu_reached_through_two_inputs_is_checked() -> None:
    second = {"action": "input", "name": "pin", "prompts": ["cc/main"], "then": goto("deep")}
    first = {"action": "input", "name": "order", "prompts": ["cc/main"], "then": second}
    dialplan = plan({"main": main(options={"2": first}), "deep": main(greeting=["cc/deep"])})
    assert missing_prompts(dialplan, shipped) == [(("menus", "deep", "greeting", "0"), missing("ru", "cc/deep"))]


# --- the loader with shipped=... -------------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def column_of(path: Path, needle: str) -> int:
    return path.read_text(encoding="utf-8").splitlines()[line_of(path, needle) - 1].index(needle) + 1


LINES_YAML = """\
numbers:
  "8 800 555-35-35":
    name: Line
    menu: main
    hours: day
    closed: {action: message, prompts: [cc/closed-line]}
menus:
  main:
    greeting: [cc/main]
    options:
      "1":
        action: input
        name: order
        prompts: [cc/main]
        then:
          action: queue
          queue: support
          prompts: [cc/bye, cc/order-noted]
      "2": {action: message, prompts: [cc/bye]}
      "9": {action: menu, menu: english}
  english:
    language: en
    greeting:
      - cc/only-ru
    options:
      "1": {action: message, prompts: [cc/bye]}
queues:
  support: {name: Support}
hours:
  day:
    weekly: {mon-fri: "09:00-18:00"}
"""


def test_loader_reports_each_missing_prompt_at_its_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "lines.yaml", LINES_YAML)
    with pytest.raises(DialplanError) as caught:
        load_dialplan(tmp_path, shipped)
    assert [(problem.file, problem.line, problem.column, problem.message) for problem in caught.value.problems] == [
        (path, line_of(path, "cc/closed-line"), column_of(path, "cc/closed-line"), missing("ru", "cc/closed-line")),
        (path, line_of(path, "cc/order-noted"), column_of(path, "cc/order-noted"), missing("ru", "cc/order-noted")),
        (path, line_of(path, "- cc/only-ru"), column_of(path, "cc/only-ru"), missing("en", "cc/only-ru")),
    ]


def test_loader_reports_a_missing_blacklist_prompt_in_the_lists_file(tmp_path: Path) -> None:
    write(tmp_path, "lines.yaml", LINES_YAML.replace("cc/closed-line", "cc/bye").replace("cc/order-noted", "cc/bye"))
    lists = write(
        tmp_path,
        "lists.yaml",
        """\
        lists:
          blacklist:
            numbers: ["+7 999 000-00-00"]
            prompts: [cc/bye, cc/blocked]
        """,
    )
    with pytest.raises(DialplanError) as caught:
        load_dialplan(tmp_path, shipped)
    blacklist_problems = [problem for problem in caught.value.problems if problem.file == lists]
    assert [(problem.line, problem.column, problem.message) for problem in blacklist_problems] == [
        (line_of(lists, "cc/blocked"), column_of(lists, "cc/blocked"), "prompt 'cc/blocked' does not exist in 'ru'")
    ]


def test_loader_without_shipped_does_not_check_prompts(tmp_path: Path) -> None:
    write(tmp_path, "lines.yaml", LINES_YAML)
    assert list(load_dialplan(tmp_path).menus) == ["main", "english"]


def test_loader_with_every_prompt_shipped_loads(tmp_path: Path) -> None:
    write(tmp_path, "lines.yaml", LINES_YAML)
    assert list(load_dialplan(tmp_path, lambda _language, _prompt: True).menus) == ["main", "english"]
