"""The JSON Schema of one dialplan file, for editors (yaml-language-server) and `callcenter schema`."""

from __future__ import annotations

from typing import Any

from callcenter.dialplan.model import Dialplan

__all__ = ["file_schema"]


_TIME = "([01][0-9]|2[0-4]):[0-5][0-9]"
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"


def file_schema() -> dict[str, Any]:
    """The model's schema, with every section optional: the sections may be spread over several files."""
    schema = Dialplan.model_json_schema()
    schema.pop("required", None)
    _hours_as_written(schema["$defs"])
    schema["title"] = "callcenter dialplan file"
    schema["description"] = (
        "One file of dialplans/: numbers, menus, hours, queues, agents, supervisors, lists. "
        "Sections may be split over several files; `callcenter check` validates the whole set."
    )
    return schema


def _hours_as_written(definitions: dict[str, Any]) -> None:
    """Describe hours as admins write them ("09:00-21:00", "2027-01-01..2027-01-08", closed), not as parsed."""
    definitions["TimeRange"] = {
        "type": "string",
        "pattern": f"^{_TIME}-{_TIME}$",
        "description": "HH:MM-HH:MM; an end before the start is on the next day",
    }
    definitions["DateRange"] = {
        "type": "string",
        "pattern": f"^{_DATE}([.][.]{_DATE})?$",
        "description": "YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD (both days included)",
    }
    day_hours = {
        "anyOf": [
            {"$ref": "#/$defs/TimeRange"},
            {"type": "array", "items": {"$ref": "#/$defs/TimeRange"}},
            {"const": "closed"},
        ]
    }
    for section in ("weekly", "special"):
        definitions["Schedule"]["properties"][section]["additionalProperties"] = day_hours
