"""callcenter.dialplan.loader and model: YAML in, a validated Dialplan or located problems out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from callcenter.dialplan.loader import DialplanError, Problem, load_dialplan
from callcenter.dialplan.model import CollectDigits, Dialplan, GotoMenu, PlayMessage, ToQueue, ToVoicemail
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
    assert [agent.extension for agent in dialplan.agents] == ["1001", "1002", "1003"]
    assert [supervisor.extension for supervisor in dialplan.supervisors] == ["1901", "1902"]
    assert all(person.password is None for person in dialplan.phones())


def test_sample_directory_merges_every_section_from_its_own_file() -> None:
    dialplan = load_dialplan(SAMPLE_DIR)
    assert list(dialplan.numbers) == ["+78005553535", "+78005553536"]
    assert list(dialplan.menus) == ["support-main", "support-english", "sales-main"]
    assert list(dialplan.queues) == ["support", "orders", "sales"]
    assert list(dialplan.hours) == ["support", "sales"]
    assert dialplan.lists.blacklist.numbers == ("+79990000000", "+7900111*")
    assert dialplan.lists.whitelist.numbers == ("+79160000001",)
    assert dialplan.lists.vip.numbers == ("+79167777777", "+7495700*")


def test_sample_support_menu_has_the_settings_written_in_the_file() -> None:
    menu = load_dialplan(SAMPLE_DIR).menus["support-main"]
    assert menu.greeting == ("cc/support-main",)
    assert menu.timeout == 5
    assert menu.retries == 3
    assert menu.invalid == ("invalid",)
    assert menu.announce_key is False
    assert menu.language is None
    assert menu.options == {
        "1": CollectDigits(
            name="order_number",
            prompts=("cc/enter-order",),
            min_digits=6,
            max_digits=10,
            then=ToQueue(queue="orders", prompts=("cc/order-noted",)),
        ),
        "2": ToQueue(queue="support", prompts=("cc/connecting",)),
        "3": ToVoicemail(mailbox="support", prompts=("cc/voicemail-intro",)),
        "9": GotoMenu(menu="support-english"),
    }


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


def test_unknown_key_inside_an_option_is_reported_at_the_key_line(tmp_path: Path) -> None:
    # pydantic puts the union's tag into the location: menus.main.options.1.message.promtps
    path = write(tmp_path, "plan.yaml", OPTION_WITH_TYPO)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "promtps"), 9)
    assert problem.message == "menus.main.options.1.message.promtps: unknown key 'promtps' (did you mean 'prompts'?)"


GOTO_OPTION_WITH_TYPO = """\
numbers:
  "88005553535": {name: L, menu: main}
menus:
  main:
    greeting: [hello]
    options:
      "5":
        action: menu
        menu: main
        colour: red
"""


def test_unknown_key_inside_a_goto_option_is_reported_at_the_key_line(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", GOTO_OPTION_WITH_TYPO)
    problem = only_problem(tmp_path)
    assert problem.message == "menus.main.options.5.menu.colour: unknown key 'colour'"
    assert (problem.line, problem.column) == (line_of(path, "colour"), 9)


def test_unknown_key_inside_a_goto_option_is_reported_within_that_option(tmp_path: Path) -> None:
    # What does work today for the case above: the right message, inside the option.
    path = write(tmp_path, "plan.yaml", GOTO_OPTION_WITH_TYPO)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.message == "menus.main.options.5.menu.colour: unknown key 'colour'"
    assert line_of(path, '"5":') < problem.line <= line_of(path, "colour")


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


def test_number_pointing_to_a_missing_menu_is_reported_at_the_menu_value(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", 'numbers:\n  "88005553535": {name: L, menu: nowhere}\n' + MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.message == "menu 'nowhere' is not defined"
    assert problem.line == line_of(path, "nowhere")
    assert problem.column == path.read_text().splitlines()[problem.line - 1].index("menu: nowhere") + 1


def test_number_pointing_to_a_missing_menu_is_reported_at_the_number_line_in_its_own_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MENU_MAIN)
    path = write(
        tmp_path,
        "b.yaml",
        'numbers:\n  "84951234567": {name: Other, menu: main}\n  "88005553535":\n    name: L\n    menu: nowhere\n',
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "nowhere"), 5)
    assert problem.message == "menu 'nowhere' is not defined"


def test_missing_menu_close_to_a_defined_one_is_suggested(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", 'numbers:\n  "88005553535": {name: L, menu: mian}\n' + MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.line == line_of(path, "mian")
    assert problem.message == "menu 'mian' is not defined (did you mean 'main'?)"


def test_option_pointing_to_a_missing_menu_is_reported_at_the_option(tmp_path: Path) -> None:
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
              "1": {action: message, prompts: [bye]}
              "5": {action: menu, menu: nowhere}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert problem.message == "menu 'nowhere' is not defined"
    assert problem.line == line_of(path, "nowhere")
    assert problem.column == path.read_text().splitlines()[problem.line - 1].index("menu: nowhere") + 1


@pytest.mark.parametrize("key", ["A", "12", "", "**"])
def test_option_key_that_is_not_one_dtmf_key_is_rejected_at_the_options_line(tmp_path: Path, key: str) -> None:
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
    assert (problem.line, problem.column) == (line_of(path, "+78005553535"), 3)
    first_line = line_of(path, '"88005553535"')
    assert problem.message == (
        f"number '+78005553535' is +78005553535, already defined as '88005553535' at {path}:{first_line}"
    )


def test_same_number_in_domestic_and_ten_digit_form_is_rejected(tmp_path: Path) -> None:
    path = write(
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
    assert problem.line == line_of(path, "9161234567")
    assert problem.message == (
        f"number '9161234567' is +79161234567, already defined as '8 (916) 123-45-67' at {path}:"
        f"{line_of(path, '8 (916)')}"
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
    assert (problem.line, problem.column) == (line_of(path, "+78005553535"), 3)


def test_same_number_in_two_files_is_reported_in_the_second_file_naming_the_first(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    second = write(
        tmp_path,
        "b.yaml",
        'numbers:\n  "84951234567": {name: Other, menu: main}\n  +7 800 555 35 35: {name: M, menu: main}\n',
    )
    problem = only_problem(tmp_path)
    assert problem.file == second
    assert (problem.line, problem.column) == (3, 3)
    assert problem.message == (
        f"number '+7 800 555 35 35' is +78005553535, already defined as '88005553535' at {first}:2"
    )


def test_invalid_number_key_is_reported_at_its_key_line_with_the_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "84951234567": {name: Other, menu: main}\n  "8800-CALL-ME": {name: L, menu: main}\n' + MENU_MAIN,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "8800-CALL-ME"), 3)
    assert problem.message == "'8800-CALL-ME' is not a phone number: use digits, optionally after a '+'"


def test_every_invalid_number_key_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "12345678901234567": {name: A, menu: main}\n  "8800-CALL-ME": {name: B, menu: main}\n' + MENU_MAIN,
    )
    problems = problems_of(tmp_path)
    assert [(problem.file, problem.line) for problem in problems] == [
        (path, line_of(path, "12345678901234567")),
        (path, line_of(path, "8800-CALL-ME")),
    ]
    assert problems[0].message.startswith("'12345678901234567' is not a Russian number")
    assert problems[1].message.startswith("'8800-CALL-ME' is not a phone number")


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
    assert (problem.line, problem.column) == (line_of(second, "numbers:"), 1)
    assert problem.message == "section 'numbers' is a mapping in another file"


def test_section_that_is_a_list_in_one_file_and_a_mapping_in_another_is_rejected(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        'numbers:\n  "88005553535": {name: L, menu: main}\n'
        + MENU_MAIN
        + 'agents:\n  - {extension: "1001", name: A}\n',
    )
    second = write(tmp_path, "b.yaml", 'numbers:\n  "84951234567": {name: B, menu: main}\nagents:\n  x: {}\n')
    problem = only_problem(tmp_path)
    assert problem.file == second
    assert (problem.line, problem.column) == (line_of(second, "agents:"), 1)
    assert problem.message == "section 'agents' is a list in another file"


def test_empty_section_in_a_later_file_defines_nothing_and_keeps_earlier_files(tmp_path: Path) -> None:
    # An admin who comments out every entry of a section leaves it empty: that is not an error.
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    write(tmp_path, "b.yaml", "numbers:\n")
    assert list(load_dialplan(tmp_path).numbers) == ["+78005553535"]


def test_empty_section_in_an_earlier_file_does_not_block_a_later_mapping(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "numbers:\n")
    write(tmp_path, "b.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    assert list(load_dialplan(tmp_path).numbers) == ["+78005553535"]


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


def test_duplicate_menu_message_names_the_line_of_the_first_definition(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    second = write(tmp_path, "b.yaml", MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.message == f"menus.main is already defined at {first}:{line_of(first, 'main:')}"
    assert (problem.file, problem.line, problem.column) == (second, line_of(second, "main:"), 3)


def test_duplicate_menu_in_flow_style_names_the_line_of_the_first_definition(tmp_path: Path) -> None:
    flow_menu = 'menus:\n  main: {greeting: [hello], options: {"1": {action: message, prompts: [bye]}}}\n'
    first = write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + flow_menu)
    write(tmp_path, "b.yaml", flow_menu)
    assert f"already defined at {first}:{line_of(first, 'main:')}" in only_problem(tmp_path).message


SAME_MENU_TWICE = """\
numbers:
  "88005553535": {name: L, menu: main}
menus:
  main: {greeting: [first], options: {"1": {action: message, prompts: [bye]}}}
  main: {greeting: [second], options: {"1": {action: message, prompts: [bye]}}}
"""


def test_same_menu_twice_in_one_file_is_reported_at_the_second_key(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", SAME_MENU_TWICE)
    problems = problems_of(tmp_path)
    assert (problems[0].file, problems[0].line, problems[0].column) == (path, line_of(path, "[second]"), 3)
    assert problems[0].message == f"key 'main' is repeated (first at line {line_of(path, '[first]')})"
    # Whatever else is said, it is about that same second key.
    assert all((problem.file, problem.line) == (path, line_of(path, "[second]")) for problem in problems)


def test_same_menu_twice_in_one_file_is_reported_once(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", SAME_MENU_TWICE)
    problem = only_problem(tmp_path)
    assert problem.message == f"key 'main' is repeated (first at line {line_of(path, '[first]')})"


def test_repeated_option_key_is_reported_at_the_second_key(tmp_path: Path) -> None:
    # `1:` and "1": are the same key now that keys are read as written text.
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
              "1": {action: message, prompts: [first]}
              "2": {action: message, prompts: [other]}
              1: {action: message, prompts: [second]}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "[second]"), 7)
    assert problem.message == f"key '1' is repeated (first at line {line_of(path, '[first]')})"


def test_repeated_key_inside_a_number_entry_is_reported_at_the_second_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "88005553535":\n    name: First\n    menu: main\n    name: Second\n' + MENU_MAIN,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "Second"), 5)
    assert problem.message == f"key 'name' is repeated (first at line {line_of(path, 'First')})"


def test_repeated_top_level_section_is_reported_at_the_second_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main}
        menus:
          main: {greeting: [hello], options: {"1": {action: message, prompts: [bye]}}}
        menus:
          other: {greeting: [hello], options: {"1": {action: message, prompts: [bye]}}}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (5, 1)
    assert problem.message == "key 'menus' is repeated (first at line 3)"


def test_repeated_keys_in_several_mappings_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        """\
        numbers:
          "88005553535": {name: L, menu: main, menu: main}
        menus:
          main:
            greeting: [hello]
            timeout: 5
            options:
              "1": {action: message, prompts: [bye], prompts: [again]}
            timeout: 6
        """,
    )
    problems = problems_of(tmp_path)
    # Nested mappings are built after their parents, so the order is not the order of the lines.
    assert sorted((problem.line, problem.message) for problem in problems) == [
        (2, "key 'menu' is repeated (first at line 2)"),
        (8, "key 'prompts' is repeated (first at line 8)"),
        (9, "key 'timeout' is repeated (first at line 6)"),
    ]
    assert all(problem.file == path for problem in problems)


def test_bare_integer_option_key_is_accepted_as_the_text_written(tmp_path: Path) -> None:
    # YAML 1.1 reads `1:` as the integer 1; the loader keeps the text "1", which is what the admin meant.
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
              1: {action: message, prompts: [bye]}
              0: {action: menu, menu: main}
        """,
    )
    options = load_dialplan(tmp_path).menus["main"].options
    assert options == {"1": PlayMessage(prompts=("bye",)), "0": GotoMenu(menu="main")}
    assert all(type(key) is str for key in options)


def test_bare_integer_option_key_is_rejected_by_the_model_itself() -> None:
    # Only the loader reads keys as text; the model does not coerce an integer key.
    data = {
        "numbers": {"88005553535": {"name": "L", "menu": "main"}},
        "menus": {"main": {"greeting": ["hello"], "options": {1: {"action": "message", "prompts": ["bye"]}}}},
    }
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(data)
    [error] = caught.value.errors()
    assert error["loc"] == ("menus", "main", "options", 1, "[key]")
    assert error["type"] == "string_type"


def test_bare_two_digit_option_key_is_rejected_at_the_options_line(tmp_path: Path) -> None:
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
              12: {action: message, prompts: [bye]}
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.line == line_of(path, "options:")
    assert problem.message == "menus.main.options: option key '12' is not a DTMF key (one of 0123456789*#)"


def test_unquoted_plus_number_key_is_read_as_written(tmp_path: Path) -> None:
    write(tmp_path, "plan.yaml", "numbers:\n  +78005553535: {name: L, menu: main}\n" + MENU_MAIN)
    assert list(load_dialplan(tmp_path).numbers) == ["+78005553535"]


def test_underscore_number_key_is_not_read_as_an_integer(tmp_path: Path) -> None:
    # YAML 1.1 would read 8_800_555_35_35 as 88005553535; as written it is not a number.
    path = write(tmp_path, "plan.yaml", "numbers:\n  8_800_555_35_35: {name: L, menu: main}\n" + MENU_MAIN)
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (2, 3)
    assert problem.message == "'8_800_555_35_35' is not a phone number: use digits, optionally after a '+'"


@pytest.mark.parametrize("name", ["yes", "No", "on", "off", "null", "true", "0x1F", "1e3", "1_000", "2024-01-01"])
def test_menu_name_that_yaml_1_1_would_convert_is_kept_as_written(tmp_path: Path, name: str) -> None:
    write(tmp_path, "plan.yaml", _plan_with_menu_named(name))
    dialplan = load_dialplan(tmp_path)
    assert list(dialplan.menus) == [name]
    assert dialplan.numbers["+78005553535"].menu == name


def _plan_with_menu_named(name: str) -> str:
    return (
        f'numbers:\n  "88005553535": {{name: L, menu: "{name}"}}\nmenus:\n  {name}:\n'
        '    greeting: [hello]\n    options: {"1": {action: message, prompts: [bye]}}\n'
    )


_NAME_PATTERN_MESSAGE = "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_\\-]*$'"


def test_menu_name_that_yaml_reads_as_null_is_kept_as_the_text_and_refused_as_a_name(tmp_path: Path) -> None:
    # `~` is null to YAML; read as the text "~" it is no name (names start with a letter or digit),
    # and the problems name "~", not None.
    path = write(tmp_path, "plan.yaml", _plan_with_menu_named("~"))
    problems = problems_of(tmp_path)
    # (Where the second one is reported is the strict xfail below.)
    assert [(problem.file, problem.message) for problem in problems] == [
        (path, f"numbers.+78005553535.menu: {_NAME_PATTERN_MESSAGE}"),
        (path, f"menus.~.[key]: {_NAME_PATTERN_MESSAGE}"),
    ]
    assert problems[0].line == 2


@pytest.mark.xfail(
    strict=True,
    reason="loader._descend steps over pydantic's '[key]' part, so a bad mapping key is reported at the "
    "first line of its value instead of at the key itself",
)
def test_menu_name_that_is_not_a_name_is_reported_at_the_name(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", _plan_with_menu_named("sales menu"))
    problems = problems_of(tmp_path)
    assert [(problem.line, problem.column, problem.message) for problem in problems] == [
        (2, 28, f"numbers.+78005553535.menu: {_NAME_PATTERN_MESSAGE}"),
        (line_of(path, "sales menu:"), 3, f"menus.sales menu.[key]: {_NAME_PATTERN_MESSAGE}"),
    ]


def test_integer_top_level_key_is_an_unknown_section_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", "1: {}\n")
    problems = problems_of(tmp_path)
    assert [(problem.file, problem.line, problem.column, problem.message) for problem in problems] == [
        (path, 0, 0, "numbers: missing required key 'numbers'"),
        (path, 0, 0, "menus: missing required key 'menus'"),
        (path, 1, 1, "1: unknown key '1'"),
    ]


def test_key_that_is_a_mapping_is_reported_not_crashed_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "88005553535": {name: L, menu: main}\n'
        + MENU_MAIN
        + "      ? {a: 1}\n      : {action: message, prompts: [x]}\n",
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "? {a: 1}"), 9)
    assert problem.message == "a key must be plain text"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("numbers:\n  ? [1, 2]\n  : {name: L, menu: main}\n" + MENU_MAIN, id="in-a-section"),
        pytest.param('? [1, 2]\n: {}\nnumbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN, id="top-level"),
    ],
)
def test_key_that_is_a_list_in_a_section_or_at_the_top_is_reported_not_crashed_on(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "plan.yaml", text)
    problem = only_problem(tmp_path)
    assert (problem.file, problem.line) == (path, line_of(path, "? [1, 2]"))
    assert problem.message == "a key must be plain text"


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


def test_every_missing_menu_reference_is_reported_at_once(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "a.yaml",
        """\
        numbers:
          "88005553535": {name: A, menu: nowhere}
          "84951234567":
            name: B
            menu: gone
        menus:
          main:
            greeting: [hello]
            options:
              "1": {action: message, prompts: [bye]}
              "2": {action: menu, menu: lost}
        """,
    )
    second = write(
        tmp_path,
        "b.yaml",
        """\
        numbers:
          "84957654321": {name: C, menu: mian}
        menus:
          sales:
            greeting: [sales]
            options:
              "0": {action: menu, menu: main}
              "9":
                action: menu
                menu: missing
        """,
    )
    problems = problems_of(tmp_path)
    assert [(problem.file, problem.line, problem.message) for problem in problems] == [
        (first, line_of(first, "nowhere"), "menu 'nowhere' is not defined"),
        (first, line_of(first, "gone"), "menu 'gone' is not defined"),
        (second, line_of(second, "mian"), "menu 'mian' is not defined (did you mean 'main'?)"),
        (first, line_of(first, "lost"), "menu 'lost' is not defined"),
        (second, line_of(second, "missing"), "menu 'missing' is not defined"),
    ]


def test_duplicate_agent_extension_is_reported_at_the_second_extension(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", 'numbers:\n  "88005553535": {name: L, menu: main}\n' + MENU_MAIN)
    write(tmp_path, "b.yaml", 'agents:\n  - {extension: "1001", name: Anna}\n')
    second = write(
        tmp_path, "c.yaml", 'agents:\n  - extension: "1002"\n    name: Boris\n  - name: Vera\n    extension: "1001"\n'
    )
    problem = only_problem(tmp_path)
    assert problem.file == second
    assert (problem.line, problem.column) == (line_of(second, '"1001"'), 5)
    assert problem.message == "extension 1001 is defined twice"


# --- the model on its own -------------------------------------------------------------------------


DUPLICATE_AGENTS = {
    "numbers": {},
    "menus": {},
    "agents": [
        {"extension": "1001", "name": "A"},
        {"extension": "1002", "name": "B"},
        {"extension": "1001", "name": "C"},
    ],
}


def test_model_lists_duplicate_agent_extensions_as_reference_problems() -> None:
    dialplan = Dialplan.model_validate(DUPLICATE_AGENTS)
    assert dialplan.reference_problems() == [(("agents", "2", "extension"), "extension 1001 is defined twice")]


def test_checked_rejects_duplicate_agent_extensions() -> None:
    with pytest.raises(ValueError, match=r"^agents\.2\.extension: extension 1001 is defined twice$"):
        Dialplan.checked(DUPLICATE_AGENTS)


DANGLING = {
    "numbers": {
        "88005553535": {"name": "A", "menu": "nope"},
        "84951234567": {"name": "B", "menu": "mian"},
    },
    "menus": {"main": {"greeting": ["hello"], "options": {"5": {"action": "menu", "menu": "gone"}}}},
}


def test_model_validate_alone_does_not_check_references() -> None:
    dialplan = Dialplan.model_validate(DANGLING)
    assert dialplan.reference_problems() == [
        (("numbers", "+78005553535", "menu"), "menu 'nope' is not defined"),
        (("numbers", "+74951234567", "menu"), "menu 'mian' is not defined (did you mean 'main'?)"),
        (("menus", "main", "options", "5", "menu"), "menu 'gone' is not defined"),
        # main's only option goes nowhere, so main has no way out either: reported last.
        (
            ("menus", "main"),
            "no option of this menu, or of the menus it leads to, ever ends the menus "
            "(a message, queue, number, voicemail or hangup): callers can only go round in circles",
        ),
    ]


def test_checked_raises_on_the_first_reference_problem_with_its_location() -> None:
    with pytest.raises(ValueError) as caught:
        Dialplan.checked(DANGLING)
    assert type(caught.value) is ValueError
    assert str(caught.value) == "numbers.+78005553535.menu: menu 'nope' is not defined"


def test_checked_locates_a_dangling_option() -> None:
    data = {**DANGLING, "numbers": {"88005553535": {"name": "A", "menu": "main"}}}
    with pytest.raises(ValueError, match=r"^menus\.main\.options\.5\.menu: menu 'gone' is not defined$"):
        Dialplan.checked(data)


def test_checked_raises_the_validation_error_for_structure_problems() -> None:
    with pytest.raises(ValidationError) as caught:
        Dialplan.checked({"numbers": {}, "menus": {}, "colour": "red"})
    assert [error["loc"] for error in caught.value.errors()] == [("colour",)]


def test_checked_returns_a_dialplan_without_problems() -> None:
    data = {
        "numbers": {"88005553535": {"name": "A", "menu": "main"}},
        "menus": {
            "main": {
                "greeting": ["hello"],
                "options": {"1": {"action": "menu", "menu": "main"}, "2": {"action": "message", "prompts": ["bye"]}},
            }
        },
        "agents": [{"extension": "1001", "name": "A"}],
    }
    dialplan = Dialplan.checked(data)
    assert dialplan.model_dump() == Dialplan.model_validate(data).model_dump()
    assert dialplan.reference_problems() == []


def test_dialplans_built_from_the_same_data_are_equal() -> None:
    data = {"numbers": {"88005553535": {"name": "A", "menu": "main"}}, "menus": {"main": _MENU_MAIN}}
    assert Dialplan.model_validate(data) == Dialplan.model_validate(data)


_MENU_MAIN = {"greeting": ["hello"], "options": {"1": {"action": "message", "prompts": ["bye"]}}}


def test_model_still_rejects_the_same_number_in_two_forms() -> None:
    data = {
        "numbers": {"88005553535": {"name": "A", "menu": "main"}, "+78005553535": {"name": "B", "menu": "main"}},
        "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "menu", "menu": "main"}}}},
    }
    with pytest.raises(ValidationError, match=r"number '\+78005553535' is defined twice \(as \+78005553535\)"):
        Dialplan.checked(data)


@pytest.mark.parametrize("extension", ["12", "1234567", "10a1", "+1001"])
def test_model_rejects_agent_extensions_that_are_not_3_to_6_digits(extension: str) -> None:
    with pytest.raises(ValueError):
        Dialplan.model_validate({"numbers": {}, "menus": {}, "agents": [{"extension": extension, "name": "A"}]})


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
    "prompt",
    [
        "../../etc/passwd",
        "/abs/path",
        "a b",
        "x.wav",
        "cc/greeting;rm",
        "a//b",
        "a/",
        "end-m3-#",
        "end-m3-*",
        "hello\n",
        "\u0433\u0443\u0434\u043e\u043a",  # not ASCII
    ],
)
def test_model_rejects_prompts_that_are_not_plain_sound_names(prompt: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(_plan_with_greeting(prompt))
    first = caught.value.errors()[0]
    assert first["loc"] == ("menus", "main", "greeting", 0)
    assert first["type"] == "string_pattern_mismatch"


def test_prompt_that_is_not_a_plain_sound_name_is_reported_at_its_line(tmp_path: Path) -> None:
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
              "1":
                action: message
                prompts: [bye, ../../etc/passwd]
        """,
    )
    problem = only_problem(tmp_path)
    assert problem.file == path
    assert (problem.line, problem.column) == (line_of(path, "passwd"), 24)
    assert problem.message.startswith("menus.main.options.1.message.prompts.1: String should match pattern")


def test_only_prompt_that_is_invalid_is_reported_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "88005553535": {name: L, menu: main}\n'
        'menus:\n  main:\n    greeting: [x.wav]\n    options:\n      "1": {action: message, prompts: [bye]}\n',
    )
    problem = only_problem(tmp_path)
    assert problem.line == line_of(path, "x.wav")
    assert problem.message.startswith("menus.main.greeting.0: String should match pattern")


def _plan_with_names(name: str) -> dict[str, object]:
    return {
        "numbers": {"88005553535": {"name": name, "menu": "main"}},
        "menus": {"main": {"greeting": ["hello"], "options": {"1": {"action": "message", "prompts": ["bye"]}}}},
        "agents": [{"extension": "1001", "name": name}],
    }


@pytest.mark.parametrize(
    "name", ["L", "Support line", "\u041f\u043e\u0434\u0434\u0435\u0440\u0436\u043a\u0430", "x" * 80, "O'Brien <1>"]
)
def test_model_accepts_display_names(name: str) -> None:
    dialplan = Dialplan.checked(_plan_with_names(name))
    assert dialplan.numbers["+78005553535"].name == name
    assert dialplan.agents[0].name == name


@pytest.mark.parametrize(
    "name", ["", "x" * 81, 'Anna "A"', "back\\slash", "semi;colon", "new\nline", "tab\there", "nul\0", "del\x7f"]
)
def test_model_rejects_display_names_that_cannot_go_on_a_phone_or_into_a_config(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Dialplan.model_validate(_plan_with_names(name))
    assert [error["loc"] for error in caught.value.errors()] == [
        ("numbers", "+78005553535", "name"),
        ("agents", 0, "name"),
    ]


@pytest.mark.parametrize("name", ["next\x85line", "csi\x9b31m"])
def test_model_rejects_display_names_with_c1_control_characters(name: str) -> None:
    with pytest.raises(ValidationError):
        Dialplan.model_validate(_plan_with_names(name))


def test_bad_display_name_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plan.yaml",
        'numbers:\n  "88005553535":\n    name: "Line; evil"\n    menu: main\n'
        + MENU_MAIN
        + 'agents:\n  - extension: "1001"\n    name: "A\\"B"\n',
    )
    problems = problems_of(tmp_path)
    assert [(problem.file, problem.line, problem.column) for problem in problems] == [
        (path, line_of(path, "Line; evil"), 5),
        (path, line_of(path, 'A\\"B'), 5),
    ]
    assert problems[0].message.startswith("numbers.+78005553535.name: String should match pattern")
    assert problems[1].message.startswith("agents.0.name: String should match pattern")


def test_model_is_frozen() -> None:
    dialplan = load_dialplan(SAMPLE_DIR)
    with pytest.raises(ValueError):
        dialplan.menus["support-main"].retries = 9
