"""callcenter.dialplan.loader and model: YAML in, a validated Dialplan or located problems out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from callcenter.dialplan.loader import DialplanError, Problem, load_dialplan
from callcenter.dialplan.model import Dialplan, GotoMenu, PlayMessage
from callcenter.errors import ConfigError

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "dialplans"

MENU_MAIN = """\
menus:
  main:
    greeting: [hello]
    options:
      "1": {action: message, prompts: [bye]}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the only line of ``path`` that contains ``needle``."""
    lines = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DialplanError) as caught:
        load_dialplan(path)
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


# --- the sample dialplans in the repository -------------------------------------------------------


def test_sample_directory_loads() -> None:
    dialplan = load_dialplan(SAMPLE_DIR)
    assert isinstance(dialplan, Dialplan)
    assert "+78005553535" in dialplan.numbers
    assert dialplan.numbers["+78005553535"].menu in dialplan.menus


def test_sample_directory_merges_agents_from_their_own_file() -> None:
    dialplan = load_dialplan(SAMPLE_DIR)
    assert [agent.extension for agent in dialplan.agents] == ["1001", "1002"]
    assert all(agent.password is None for agent in dialplan.agents)


def test_sample_support_menu_has_the_settings_written_in_the_file() -> None:
    menu = load_dialplan(SAMPLE_DIR).menus["support-main"]
    assert menu.greeting == ("cc/greeting",)
    assert menu.timeout == 5
    assert menu.retries == 3
    assert menu.announce_key is True
    assert set(menu.options) == {"1", "2"}
    assert all(isinstance(option, PlayMessage) for option in menu.options.values())


@pytest.mark.parametrize("dialled", ["88005553535", "78005553535", "+78005553535", "8 (800) 555-35-35"])
def test_line_for_finds_the_sample_line_in_every_number_form(dialled: str) -> None:
    line = load_dialplan(SAMPLE_DIR).line_for(dialled)
    assert line is not None
    assert line.name == "Support line"
    assert line.language == "ru"


@pytest.mark.parametrize("dialled", ["84951234567", "1001", "not a number", ""])
def test_line_for_returns_none_for_unknown_or_invalid_numbers(dialled: str) -> None:
    assert load_dialplan(SAMPLE_DIR).line_for(dialled) is None


# --- loading from files ---------------------------------------------------------------------------


def test_single_file_can_be_loaded_directly(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    assert set(load_dialplan(path).numbers) == {"+78005553535"}


def test_yml_extension_is_read_too(tmp_path: Path) -> None:
    write(tmp_path, "numbers.yml", 'numbers:\n  "88005553535": {name: L, menu: main}\n')
    write(tmp_path, "menus.yaml", MENU_MAIN)
    assert set(load_dialplan(tmp_path).numbers) == {"+78005553535"}


def test_unquoted_integer_number_key_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "plan.yaml", "numbers:\n  88005553535: {name: L, menu: main}\n" + MENU_MAIN)
    assert set(load_dialplan(tmp_path).numbers) == {"+78005553535"}


def test_sections_are_merged_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: A, menu: main}\n' + MENU_MAIN)
    write(
        tmp_path,
        "b.yaml",
        """\
        numbers:
          "84951234567": {name: B, menu: sales}
        menus:
          sales:
            greeting: [sales]
            options:
              "0": {action: menu, menu: main}
        """,
    )
    dialplan = load_dialplan(tmp_path)
    assert set(dialplan.numbers) == {"+78005553535", "+74951234567"}
    assert set(dialplan.menus) == {"main", "sales"}
    assert dialplan.menus["sales"].options["0"] == GotoMenu(menu="main")


def test_menu_defaults_apply_when_left_out(tmp_path: Path) -> None:
    write(tmp_path, "plan.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    menu = load_dialplan(tmp_path).menus["main"]
    assert menu.timeout == 5.0
    assert menu.retries == 3
    assert menu.invalid == ("invalid",)
    assert menu.no_input == ("vm-goodbye",)
    assert menu.announce_key is False


# --- problems, located ----------------------------------------------------------------------------


def test_dialplan_error_is_a_config_error_whose_message_lists_the_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", "numbers: [1, 2\n")
    with pytest.raises(ConfigError) as caught:
        load_dialplan(tmp_path)
    assert isinstance(caught.value, DialplanError)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    assert str(path) in str(caught.value)


def test_problem_str_shows_file_line_and_column_or_only_the_file() -> None:
    assert str(Problem(Path("a.yaml"), 3, 5, "bad")) == "a.yaml:3:5: bad"
    assert str(Problem(Path("a.yaml"), 0, 0, "bad")) == "a.yaml: bad"


def test_unknown_key_inside_a_menu_is_reported_at_the_key_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main:
            greeting: [hello]
            greting: [typo]
            options:
              "1": {action: message, prompts: [bye]}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == line_of(path, "greting")
    assert problem.column == 5
    assert "unknown key 'greting'" in problem.message
    assert "menus.main.greting" in problem.message


OPTION_WITH_TYPO = """\
numbers:
  "88005553535": {name: L, menu: main}
menus:
  main:
    greeting: [hello]
    options:
      "1":
        action: message
        prompts: [bye]
        promtps: [typo]
"""


def test_unknown_key_inside_an_option_is_reported_within_that_option(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", OPTION_WITH_TYPO)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert line_of(path, '"1":') <= problem.line <= line_of(path, "promtps")
    assert "unknown key 'promtps'" in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="pydantic puts the union tag into the error location (menus.main.options.1.message.promtps); "
    "loader._descend (loader.py:170-179) finds no key 'message' and stops at the option's first line "
    "instead of the misspelt key",
)
def test_unknown_key_inside_an_option_is_reported_at_the_key_line(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", OPTION_WITH_TYPO)
    problem = only_problem(tmp_path)
    assert problem.line == line_of(path, "promtps")


def test_unknown_key_in_an_agent_is_reported_in_the_agents_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    agents = write(
        tmp_path,
        "b.yaml",
        """\
        agents:
          - extension: "1001"
            name: Anna
          - extension: "1002"
            name: Boris
            pasword: secret
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == agents
    assert problem.line == line_of(agents, "pasword")
    assert "agents.1.pasword" in problem.message


def test_number_pointing_to_a_missing_menu_names_the_number_and_the_menu(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", 'numbers:\n  "88005553535": {name: L, menu: nowhere}\n' + MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert "+78005553535" in problem.message
    assert "'nowhere'" in problem.message
    assert "not defined" in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="model.py:110 raises a plain ValueError from the whole-model validator, so pydantic gives "
    "it no location and loader._locate reports line 0 of the first file instead of the number's line",
)
def test_number_pointing_to_a_missing_menu_is_reported_at_the_number_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MENU_MAIN)
    path = write(tmp_path, "b.yaml", 'numbers:\n  "88005553535": {name: L, menu: nowhere}\n')
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == line_of(path, "nowhere")


def test_option_pointing_to_a_missing_menu_names_the_menu_and_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main:
            greeting: [hello]
            options:
              "5": {action: menu, menu: nowhere}
        """,
    )
    problem = only_problem(tmp_path)
    assert "menu 'main' option '5'" in problem.message
    assert "'nowhere'" in problem.message


@pytest.mark.parametrize("key", ["A", "12", "", "**"])
def test_option_key_that_is_not_one_dtmf_key_is_rejected_at_the_options_line(
    tmp_path: Path, key: str
) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        f"""\
        numbers:
          "88005553535": {{name: L, menu: main}}
        menus:
          main:
            greeting: [hello]
            options:
              "1": {{action: message, prompts: [bye]}}
              "{key}": {{action: message, prompts: [bye]}}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    # The field validator checks the whole options mapping, so the place is the `options:` key.
    assert problem.line == line_of(path, "options:")
    assert f"option key {key!r} is not a DTMF key" in problem.message
    assert "menus.main.options" in problem.message


@pytest.mark.parametrize("key", ["0", "9", "*", "#"])
def test_every_dtmf_key_is_accepted_as_an_option(tmp_path: Path, key: str) -> None:
    write(
        tmp_path,
        "plan.yaml",
        f"""\
        numbers:
          "88005553535": {{name: L, menu: main}}
        menus:
          main:
            greeting: [hello]
            options:
              "{key}": {{action: message, prompts: [bye]}}
        """,
    )
    assert list(load_dialplan(tmp_path).menus["main"].options) == [key]


def test_same_number_in_two_forms_is_rejected_with_both_forms_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        textwrap.dedent(
            """\
            numbers:
              "88005553535": {name: First, menu: main}
              "+78005553535": {name: Second, menu: main}
            """
        )
        + MENU_MAIN,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert "defined twice" in problem.message
    assert "'+78005553535'" in problem.message
    # Reported somewhere in the numbers section (see the xfail below for the exact line).
    assert line_of(path, "numbers:") <= problem.line <= line_of(path, "+78005553535")


def test_same_number_in_domestic_and_ten_digit_form_is_rejected(tmp_path: Path) -> None:
    write(
        tmp_path,
        "plan.yaml",
        textwrap.dedent(
            """\
            numbers:
              "8 (916) 123-45-67": {name: First, menu: main}
              "9161234567": {name: Second, menu: main}
            """
        )
        + MENU_MAIN,
    )
    problem = only_problem(tmp_path)
    assert "defined twice" in problem.message
    assert "+79161234567" in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="the duplicate is raised by a before-validator of the whole `numbers` field (model.py:102), so it "
    "is located at the start of the numbers section of the LAST file holding numbers (loader.py:72 "
    "overwrites sources[('numbers',)] per file), not at the duplicate entry",
)
def test_same_number_in_two_forms_is_reported_at_the_second_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        textwrap.dedent(
            """\
            numbers:
              "84951234567": {name: Other, menu: main}
              "88005553535": {name: First, menu: main}
              "+78005553535": {name: Second, menu: main}
            """
        )
        + MENU_MAIN,
    )
    write(tmp_path, "b.yaml", 'numbers:\n  "84957654321": {name: Elsewhere, menu: main}\n')
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == line_of(path, "+78005553535")


def test_invalid_number_key_is_reported_with_the_reason(tmp_path: Path) -> None:
    write(tmp_path, "plan.yaml", 'numbers:\n  "8800-CALL-ME": {name: L, menu: main}\n' + MENU_MAIN)
    problem = only_problem(tmp_path)
    assert "'8800-CALL-ME' is not a phone number" in problem.message


def test_yaml_syntax_error_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main:
            greeting: [hello, bye
            options: {}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.message.startswith("YAML syntax:")
    # PyYAML notices the unclosed flow sequence on the line after it was opened.
    assert problem.line == line_of(path, "options: {}")
    assert problem.column >= 1


def test_yaml_syntax_error_on_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", "numbers: : :\n")
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == 1
    assert problem.message.startswith("YAML syntax:")


def test_non_utf8_file_is_reported_at_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b'numbers:\n  "88005553535": {name: L, menu: main}\n# caf\xe9 in Latin-1\n')
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == 3
    assert "not UTF-8" in problem.message


def test_empty_directory_is_an_error_naming_the_directory(tmp_path: Path) -> None:
    problem = only_problem(tmp_path)
    assert problem.file == tmp_path
    assert problem.line == 0
    assert "no *.yaml files found" in problem.message


def test_directory_with_only_other_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "README.txt", "numbers: {}\n")
    assert "no *.yaml files found" in only_problem(tmp_path).message


def test_missing_file_is_reported_as_unreadable(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "absent.yaml")
    assert problem.file == tmp_path / "absent.yaml"
    assert "cannot read" in problem.message


def test_empty_file_reports_the_missing_sections(tmp_path: Path) -> None:
    write(tmp_path, "plan.yaml", "")
    messages = [problem.message for problem in problems_of(tmp_path)]
    assert any("missing required key 'numbers'" in message for message in messages)
    assert any("missing required key 'menus'" in message for message in messages)


def test_top_level_list_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", "- numbers\n- menus\n")
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == 1
    assert "top level must be a mapping" in problem.message


def test_section_that_is_a_mapping_in_one_file_and_a_list_in_another_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    second = write(tmp_path, "b.yaml", "numbers:\n  - 84951234567\n")
    problem = only_problem(tmp_path)
    assert problem.file == second
    assert problem.line == 2
    assert "mapping in another file" in problem.message


def test_duplicate_menu_across_files_is_reported_at_the_second_definition(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    second = write(tmp_path, "b.yaml", MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.file == second
    assert problem.line == line_of(second, "main:")
    assert "menus.main is already defined at" in problem.message


def test_duplicate_menu_message_names_the_first_file(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    write(tmp_path, "b.yaml", MENU_MAIN)
    assert f"already defined at {first}:" in only_problem(tmp_path).message


@pytest.mark.xfail(
    strict=True,
    reason="loader.py:83 takes the line of the first definition's VALUE node (its first field, "
    "`greeting:`) instead of its key, so a block-style menu is reported one line too late",
)
def test_duplicate_menu_message_names_the_line_of_the_first_definition(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    write(tmp_path, "b.yaml", MENU_MAIN)
    assert f"already defined at {first}:{line_of(first, 'main:')}" in only_problem(tmp_path).message


def test_duplicate_menu_in_flow_style_names_the_line_of_the_first_definition(tmp_path: Path) -> None:
    flow_menu = 'menus:\n  main: {greeting: [hello], options: {"1": {action: message, prompts: [bye]}}}\n'
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + flow_menu)
    write(tmp_path, "b.yaml", flow_menu)
    assert f"already defined at {first}:{line_of(first, 'main:')}" in only_problem(tmp_path).message


def test_same_menu_twice_in_one_file_is_reported_not_silently_overwritten(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main: {greeting: [first], options: {"1": {action: message, prompts: [bye]}}}
          main: {greeting: [second], options: {"1": {action: message, prompts: [bye]}}}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == line_of(path, "[second]")
    assert "menus.main is already defined" in problem.message


def test_bare_integer_option_key_is_rejected_at_its_line(tmp_path: Path) -> None:
    # YAML reads `1:` as the integer 1. The model wants string keys and does not coerce,
    # so the admin is told, at that line, to write the key as a string ("1").
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main:
            greeting: [hello]
            options:
              1: {action: message, prompts: [bye]}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.line == line_of(path, "1: {action")
    assert "menus.main.options.1" in problem.message
    assert "valid string" in problem.message


def test_bare_integer_option_key_is_rejected_by_the_model_too() -> None:
    data = {
        "numbers": {"88005553535": {"name": "L", "menu": "main"}},
        "menus": {"main": {"greeting": ["hello"], "options": {1: {"action": "message", "prompts": ["bye"]}}}},
    }
    with pytest.raises(ValueError, match="valid string"):
        Dialplan.model_validate(data)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "numbers:\n  +78005553535: {name: L, menu: main}\n" + MENU_MAIN, id="unquoted-plus-number"
        ),
        pytest.param(
            "numbers:\n  8_800_555_35_35: {name: L, menu: main}\n" + MENU_MAIN, id="underscore-number"
        ),
        pytest.param(
            'numbers:\n  "88005553535": {name: L, menu: "yes"}\nmenus:\n  yes:\n'
            '    greeting: [hello]\n    options: {"1": {action: message, prompts: [bye]}}\n',
            id="menu-named-yes",
        ),
        pytest.param("1: {}\n", id="integer-section"),
    ],
)
@pytest.mark.xfail(
    strict=True,
    raises=KeyError,
    reason="loader.py:71 (data[section]) and loader.py:85 (_python_key) look the Python key up by the "
    "node's source text; YAML 1.1 scalars whose str() differs from their text (+7..., 8_800..., yes) "
    "are not found and KeyError escapes instead of a DialplanError or a loaded dialplan",
)
def test_yaml_scalar_keys_never_crash_the_loader(tmp_path: Path, text: str) -> None:
    write(tmp_path, "plan.yaml", text)
    try:
        load_dialplan(tmp_path)
    except DialplanError:
        pass


def test_several_problems_in_one_file_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main:
            greeting: [hello]
            colour: red
            options:
              "1": {action: message, prompts: [bye]}
          other:
            greeting: [hello]
            options:
              "12": {action: message, prompts: [bye]}
        """,
    )
    problems = problems_of(tmp_path)
    assert [(problem.file, problem.line) for problem in problems] == [
        (path, line_of(path, "colour")),
        (path, line_of(path, '"12"') - 1),  # the `options:` line of menu "other"
    ]
    assert "unknown key 'colour'" in problems[0].message
    assert "'12' is not a DTMF key" in problems[1].message


def test_problems_in_several_files_are_all_reported(tmp_path: Path) -> None:
    broken = write(tmp_path, "a.yaml", "numbers: [1, 2\n")
    latin1 = tmp_path / "b.yaml"
    latin1.write_bytes(b"menus: {}\n# \xff\n")
    problems = problems_of(tmp_path)
    assert [problem.file for problem in problems] == [broken, latin1]
    assert problems[0].message.startswith("YAML syntax:")
    assert problems[1].line == 2
    assert "not UTF-8" in problems[1].message


def test_duplicate_and_syntax_problems_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    write(tmp_path, "b.yaml", MENU_MAIN)
    write(tmp_path, "c.yaml", "agents: [\n")
    problems = problems_of(tmp_path)
    assert [problem.file.name for problem in problems] == ["b.yaml", "c.yaml"]


@pytest.mark.xfail(
    strict=True,
    reason="model.py:108-114 raise on the first dangling reference, so a second one is only found "
    "after the first is fixed",
)
def test_every_missing_menu_reference_is_reported_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "88005553535": {name: A, menu: nowhere}\n  "84951234567": {name: B, menu: gone}\n'
        + MENU_MAIN,
    )
    messages = " ".join(problem.message for problem in problems_of(tmp_path))
    assert "'nowhere'" in messages
    assert "'gone'" in messages


# --- the model on its own -------------------------------------------------------------------------


def test_model_rejects_duplicate_agent_extensions() -> None:
    data = {
        "numbers": {},
        "menus": {},
        "agents": [{"extension": "1001", "name": "A"}, {"extension": "1001", "name": "B"}],
    }
    with pytest.raises(ValueError, match="agent extension 1001 is defined twice"):
        Dialplan.model_validate(data)


@pytest.mark.parametrize("extension", ["12", "1234567", "10a1", "+1001"])
def test_model_rejects_agent_extensions_that_are_not_3_to_6_digits(extension: str) -> None:
    with pytest.raises(ValueError):
        Dialplan.model_validate(
            {"numbers": {}, "menus": {}, "agents": [{"extension": extension, "name": "A"}]}
        )


def _plan_with_greeting(prompt: str) -> dict[str, object]:
    return {
        "numbers": {},
        "menus": {"main": {"greeting": [prompt], "options": {"1": {"action": "menu", "menu": "main"}}}},
    }


@pytest.mark.parametrize("prompt", ["hello", "cc/greeting", "digits/1", "vm-goodbye", "a_b/c-d/E9"])
def test_model_accepts_plain_sound_names_as_prompts(prompt: str) -> None:
    assert Dialplan.model_validate(_plan_with_greeting(prompt)).menus["main"].greeting == (prompt,)


@pytest.mark.parametrize("prompt", ["", "/", "..", "./."])
def test_model_rejects_prompts_without_any_valid_sound_name(prompt: str) -> None:
    with pytest.raises(ValueError):
        Dialplan.model_validate(_plan_with_greeting(prompt))


@pytest.mark.parametrize(
    "prompt", ["../../etc/passwd", "/abs/path", "a b", "x.wav", "cc/greeting;rm", "a//b"]
)
@pytest.mark.xfail(
    strict=True,
    reason="model.py:29-31: the Prompt pattern is not anchored and pydantic patterns match anywhere "
    "in the string (search, not fullmatch), so any text containing one valid name passes, "
    "including path traversal like ../../etc/passwd",
)
def test_model_rejects_prompts_that_are_not_plain_sound_names(prompt: str) -> None:
    with pytest.raises(ValueError):
        Dialplan.model_validate(_plan_with_greeting(prompt))


def test_model_is_frozen() -> None:
    dialplan = load_dialplan(SAMPLE_DIR)
    with pytest.raises(ValueError):
        dialplan.menus["support-main"].retries = 9  # type: ignore[misc]
