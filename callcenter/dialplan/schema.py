"""The JSON Schema of one dialplan file, for editors (yaml-language-server) and `callcenter schema`."""

from __future__ import annotations

from typing import Any

from callcenter.dialplan.model import Dialplan

__all__ = ["file_schema"]


def file_schema() -> dict[str, Any]:
    """The model's schema, with every section optional: the sections may be spread over several files."""
    schema = Dialplan.model_json_schema()
    schema.pop("required", None)
    schema["title"] = "callcenter dialplan file"
    schema["description"] = (
        "One file of dialplans/: numbers, menus, hours, queues, agents, supervisors, lists. "
        "Sections may be split over several files; `callcenter check` validates the whole set."
    )
    return schema
