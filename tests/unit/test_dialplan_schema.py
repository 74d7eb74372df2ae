"""callcenter.dialplan.schema: the JSON Schema editors use for one dialplan file.

jsonschema is not installed in the venv, so the sample files are checked with the small validator
below. It knows the keywords pydantic emits and fails on any other, so a schema using a keyword it
does not know cannot pass unchecked; its own tests show it rejects what it should.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from callcenter.dialplan.schema import file_schema

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "dialplans"
SECTIONS = {"numbers", "menus", "hours", "queues", "agents", "supervisors", "lists"}

_ANNOTATIONS = {"title", "description", "default", "discriminator", "format", "$defs"}
_OBJECT = {"properties", "patternProperties", "additionalProperties", "required", "minProperties", "propertyNames"}
_ARRAY = {"items", "minItems", "maxItems"}
_STRING = {"pattern", "minLength", "maxLength"}
_NUMBER = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_KNOWN = _ANNOTATIONS | _OBJECT | _ARRAY | _STRING | _NUMBER | {"$ref", "type", "anyOf", "oneOf", "const", "enum"}


def _is_type(value: object, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    kinds: dict[str, type | tuple[type, ...]] = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
    }
    return isinstance(value, kinds[name])


def _number_errors(keyword: str, limit: float, value: float) -> bool:
    return {
        "minimum": value < limit,
        "maximum": value > limit,
        "exclusiveMinimum": value <= limit,
        "exclusiveMaximum": value >= limit,
    }[keyword]


def schema_errors(schema: dict[str, Any], value: Any, root: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (a subset of JSON Schema 2020-12, the part pydantic emits)."""
    unknown = set(schema) - _KNOWN
    assert not unknown, f"the test validator does not know {sorted(unknown)}"
    errors: list[str] = []
    for keyword, argument in schema.items():
        if keyword == "$ref":
            errors += schema_errors(root["$defs"][argument.removeprefix("#/$defs/")], value, root, where)
        elif keyword == "type" and not _is_type(value, argument):
            errors.append(f"{where}: {value!r} is not of type {argument}")
        elif keyword in ("anyOf", "oneOf"):
            matching = sum(not schema_errors(option, value, root, where) for option in argument)
            if matching == 0 or (keyword == "oneOf" and matching > 1):
                errors.append(f"{where}: {value!r} matches {matching} of the {keyword} schemas")
        elif keyword == "const" and value != argument:
            errors.append(f"{where}: {value!r} is not {argument!r}")
        elif keyword == "enum" and value not in argument:
            errors.append(f"{where}: {value!r} is not one of {argument!r}")
        elif keyword in _OBJECT and isinstance(value, dict):
            errors += _object_errors(schema, keyword, argument, value, root, where)
        elif keyword in _ARRAY and isinstance(value, list):
            if keyword == "items":
                for index, item in enumerate(value):
                    errors += schema_errors(argument, item, root, f"{where}[{index}]")
            elif (keyword == "minItems" and len(value) < argument) or (keyword == "maxItems" and len(value) > argument):
                errors.append(f"{where}: {len(value)} items breaks {keyword} {argument}")
        elif keyword in _STRING and isinstance(value, str):
            if keyword == "pattern" and not re.search(argument, value):
                errors.append(f"{where}: {value!r} does not match {argument}")
            elif (keyword == "minLength" and len(value) < argument) or (
                keyword == "maxLength" and len(value) > argument
            ):
                errors.append(f"{where}: {value!r} breaks {keyword} {argument}")
        elif keyword in _NUMBER and _is_type(value, "number") and _number_errors(keyword, argument, value):
            errors.append(f"{where}: {value!r} breaks {keyword} {argument}")
    return errors


def _object_errors(
    schema: dict[str, Any], keyword: str, argument: Any, value: dict[str, Any], root: dict[str, Any], where: str
) -> list[str]:
    errors: list[str] = []
    if keyword == "properties":
        for name, sub in argument.items():
            if name in value:
                errors += schema_errors(sub, value[name], root, f"{where}.{name}")
    elif keyword == "patternProperties":
        for pattern, sub in argument.items():
            for name in value:
                if re.search(pattern, name):
                    errors += schema_errors(sub, value[name], root, f"{where}.{name}")
    elif keyword == "additionalProperties":
        patterns = schema.get("patternProperties", {})
        for name in value:
            if name in schema.get("properties", {}) or any(re.search(pattern, name) for pattern in patterns):
                continue
            if argument is False:
                errors.append(f"{where}: unknown key {name!r}")
            elif argument is not True:
                errors += schema_errors(argument, value[name], root, f"{where}.{name}")
    elif keyword == "required":
        errors += [f"{where}: missing {name!r}" for name in argument if name not in value]
    elif keyword == "minProperties" and len(value) < argument:
        errors.append(f"{where}: fewer than {argument} keys")
    elif keyword == "propertyNames":
        for name in value:
            errors += schema_errors(argument, name, root, f"{where}[{name!r}]")
    return errors


def as_json(value: Any) -> Any:
    """What an editor's YAML 1.2 reader sees: PyYAML's dates are the text written."""
    if isinstance(value, dict):
        return {
            str(key) if not isinstance(key, date) else key.isoformat(): as_json(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def sample(name: str) -> Any:
    return as_json(yaml.safe_load((SAMPLE_DIR / name).read_text(encoding="utf-8")))


def errors_of(document: Any) -> list[str]:
    schema = file_schema()
    return schema_errors(schema, document, schema)


# --- the schema itself ---------------------------------------------------------------------------------------


def test_no_section_is_required_since_sections_are_spread_over_files() -> None:
    schema = file_schema()
    assert "required" not in schema
    assert errors_of({}) == []
    assert errors_of({"agents": [{"extension": "1001", "name": "Anna"}]}) == []


def test_every_section_is_a_property_and_nothing_else_is_allowed() -> None:
    schema = file_schema()
    assert set(schema["properties"]) == SECTIONS
    assert schema["additionalProperties"] is False
    assert schema["type"] == "object"


def test_schema_is_titled_for_editors_and_is_plain_json() -> None:
    schema = file_schema()
    assert schema["title"] == "callcenter dialplan file"
    assert "Sections may be split over several files" in schema["description"]
    assert json.loads(json.dumps(schema)) == schema


def test_every_reference_in_the_schema_is_defined() -> None:
    schema = file_schema()
    text = json.dumps(schema)
    references = set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text))
    assert references
    assert references <= set(schema["$defs"])


def test_the_schema_describes_every_action() -> None:
    option = file_schema()["$defs"]["Menu"]["properties"]["options"]["additionalProperties"]
    assert set(option["discriminator"]["mapping"]) == {
        "message",
        "menu",
        "queue",
        "number",
        "voicemail",
        "repeat",
        "back",
        "hangup",
        "input",
    }


def test_file_schema_returns_a_fresh_copy_each_time() -> None:
    first = file_schema()
    first["properties"].pop("numbers")
    assert "numbers" in file_schema()["properties"]


# --- the sample files against it --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lines.yaml", "agents.yaml", "queues.yaml", "lists.yaml"])
def test_sample_file_validates_against_the_schema(name: str) -> None:
    document = sample(name)
    assert set(document) <= SECTIONS
    assert errors_of(document) == []


def test_sample_hours_file_validates_against_the_schema() -> None:
    assert errors_of(sample("hours.yaml")) == []


# --- the validator above catches what it should ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "error"),
    [
        pytest.param({"colour": "red"}, "$: unknown key 'colour'", id="unknown-section"),
        pytest.param({"agents": {"1001": {}}}, "$.agents: {'1001': {}} is not of type array", id="section-type"),
        pytest.param({"agents": [{"extension": "1001"}]}, "$.agents[0]: missing 'name'", id="missing-required-key"),
        pytest.param(
            {"agents": [{"extension": "10", "name": "A"}]},
            "$.agents[0].extension: '10' does not match ^[0-9]{3,6}$",
            id="pattern",
        ),
        pytest.param(
            {"menus": {"main": {"greeting": ["hi"], "options": {"1": {"action": "dance"}}}}},
            "$.menus.main.options.1: {'action': 'dance'} matches 0 of the oneOf schemas",
            id="unknown-action",
        ),
        pytest.param(
            {"menus": {"main": {"greeting": ["hi"], "options": {"1": {"action": "queue"}}}}},
            "$.menus.main.options.1: {'action': 'queue'} matches 0 of the oneOf schemas",
            id="action-without-its-keys",
        ),
        pytest.param(
            {"menus": {"main": {"greeting": [], "options": {"1": {"action": "repeat"}}}}},
            "$.menus.main.greeting: 0 items breaks minItems 1",
            id="min-items",
        ),
        pytest.param(
            {"menus": {"main": {"greeting": ["hi"], "retries": 0, "options": {"1": {"action": "repeat"}}}}},
            "$.menus.main.retries: 0 breaks minimum 1",
            id="minimum",
        ),
        pytest.param(
            {"numbers": {"88005553535": {"name": "L", "menu": "main", "language": "de"}}},
            "$.numbers.88005553535.language: 'de' is not one of ['ru', 'en']",
            id="enum",
        ),
        pytest.param(
            {"lists": {"vip": {"numbers": ["+79167777777"], "priority": "high"}}},
            "$.lists.vip.priority: 'high' is not of type integer",
            id="nested-type",
        ),
    ],
)
def test_the_test_validator_rejects_what_the_schema_forbids(document: dict[str, Any], error: str) -> None:
    assert error in errors_of(document)


def test_the_test_validator_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(AssertionError, match="does not know"):
        schema_errors({"if": {}}, 1, {})
