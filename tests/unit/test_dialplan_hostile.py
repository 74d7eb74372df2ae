"""Hostile or broken dialplan files: a clear problem with its place, never a crash or a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from callcenter.dialplan.loader import DialplanError, load_dialplan

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefghi", "bcdefghij", strict=False)
)


def problems(path: Path) -> list[str]:
    with pytest.raises(DialplanError) as caught:
        load_dialplan(path)
    return [str(problem) for problem in caught.value.problems]


def test_an_alias_bomb_is_refused_quickly_without_expanding_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + LAUGHS)
    started = time.monotonic()
    found = problems(bomb)
    assert time.monotonic() - started < 5
    assert found == [
        f"{bomb}: the file stands for more than 200000 values once its aliases (*name) are expanded; "
        "use fewer or smaller aliases"
    ]


def test_a_few_aliases_for_shared_settings_are_fine(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        'numbers:\n  "88005553535": {name: L, menu: main}\n'
        "menus:\n"
        "  main:\n    greeting: [beep]\n    options: &common\n      '1': {action: hangup}\n"
        "  other:\n    greeting: [beep]\n    options: *common\n"
    )
    assert set(load_dialplan(plan).menus) == {"main", "other"}


def test_a_tab_in_the_indentation_is_a_syntax_error_at_its_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("menus:\n  main:\n\tgreeting: [beep]\n")
    [found] = problems(plan)
    assert found.startswith(f"{plan}:3:1: YAML syntax:")


def test_a_file_over_a_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("# padding\n" * 120_000)
    assert problems(plan) == [f"{plan}: file is larger than 1048576 bytes"]


def test_a_document_that_is_a_list_is_refused_at_its_first_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("- numbers\n- menus\n")
    assert problems(plan) == [f"{plan}:1:1: the top level must be a mapping of sections (numbers, menus, agents)"]


def test_a_broken_menu_does_not_hide_a_missing_queue_elsewhere(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        'numbers:\n  "88005553535": {name: L, menu: main}\n'
        "menus:\n"
        "  main:\n    greeting: [beep]\n    timout: 5\n    options: {'1': {action: menu, menu: other}}\n"
        "  other:\n    greeting: [beep]\n    options: {'1': {action: queue, queue: suport}}\n"
        "queues:\n  support: {name: Support}\n"
    )
    assert problems(plan) == [
        f"{plan}:6:5: menus.main.timout: unknown key 'timout' (did you mean 'timeout'?)",
        f"{plan}:10:36: queue 'suport' is not defined (did you mean 'support'?)",
    ]
