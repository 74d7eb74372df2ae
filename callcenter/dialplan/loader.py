"""Read dialplans/*.yaml into a Dialplan, with errors that name file, line and column.

Files in the directory are merged: each top-level section (numbers, menus,
agents) may be spread over several files, one per line of business; a key
defined in two files is an error naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError

__all__ = ["DialplanError", "Problem", "load_dialplan"]

_MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int  # 1-based; 0 when the problem has no single place
    column: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class DialplanError(ConfigError):
    """The dialplan files are invalid; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class _Source:
    """Where a piece of the merged document came from."""

    file: Path
    node: yaml.Node


def load_dialplan(path: Path) -> Dialplan:
    """Load a directory of YAML files (or one file) and validate it; raise DialplanError listing all problems."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise DialplanError([Problem(path, 0, 0, "no *.yaml files found")])
    problems: list[Problem] = []
    merged: dict[str, dict[str, Any] | list[Any]] = {}
    sources: dict[tuple[str, ...], _Source] = {}
    for file in files:
        document = _read(file, problems)
        if document is None:
            continue
        data, root = document
        if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
            problems.append(_at(file, root, "the top level must be a mapping of sections (numbers, menus, agents)"))
            continue
        for key_node, value_node in root.value:
            section = key_node.value
            value = data[section]
            sources[(section,)] = _Source(file, value_node)
            if isinstance(value, dict) and isinstance(value_node, yaml.MappingNode):
                target = merged.setdefault(section, {})
                if not isinstance(target, dict):
                    problems.append(_at(file, value_node, f"section {section!r} is a list in another file"))
                    continue
                for item_key, item_node in value_node.value:
                    name = item_key.value
                    if name in target:
                        first = sources[(section, name)]
                        problems.append(_at(file, item_key, f"{section}.{name} is already defined at "
                                                            f"{first.file}:{first.node.start_mark.line + 1}"))
                        continue
                    target[name] = value[_python_key(value, name)]
                    sources[(section, name)] = _Source(file, item_node)
            elif isinstance(value, list) and isinstance(value_node, yaml.SequenceNode):
                target_list = merged.setdefault(section, [])
                if not isinstance(target_list, list):
                    problems.append(_at(file, value_node, f"section {section!r} is a mapping in another file"))
                    continue
                offset = len(target_list)
                target_list.extend(value)
                for index, item_node in enumerate(value_node.value):
                    sources[(section, str(offset + index))] = _Source(file, item_node)
            else:
                merged[section] = value
    if problems:
        raise DialplanError(problems)
    try:
        return Dialplan.model_validate(merged)
    except ValidationError as error:
        raise DialplanError([_locate(error_item, sources, files[0]) for error_item in error.errors()]) from None


def _python_key(mapping: dict[Any, Any], name: str) -> Any:
    """The key as PyYAML built it: a scalar like 1 is an int in Python but the string '1' in the node."""
    for key in mapping:
        if str(key) == name:
            return key
    raise KeyError(name)


def _read(file: Path, problems: list[Problem]) -> tuple[Any, yaml.Node] | None:
    try:
        raw = file.read_bytes()
    except OSError as error:
        problems.append(Problem(file, 0, 0, f"cannot read: {error.strerror}"))
        return None
    if len(raw) > _MAX_FILE_BYTES:
        problems.append(Problem(file, 0, 0, f"file is larger than {_MAX_FILE_BYTES} bytes"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(Problem(file, line, 0, "not UTF-8 text; save the file as UTF-8"))
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.append(Problem(file, line, column, f"YAML syntax: {error.problem}"))
        return None
    if root is None:
        return None
    return data, root


def _at(file: Path, node: yaml.Node, message: str) -> Problem:
    return Problem(file, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _locate(error: Any, sources: dict[tuple[str, ...], _Source], fallback: Path) -> Problem:
    """Find the YAML node a pydantic error location points at, as deep as the document goes."""
    loc = [str(part) for part in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif error["type"] == "missing":
        message = f"missing required key {loc[-1]!r}"
    if loc:
        message = f"{'.'.join(loc)}: {message}"
    for depth in range(min(len(loc), 2), 0, -1):
        source = sources.get(tuple(loc[:depth]))
        if source is not None:
            node = _descend(source.node, loc[depth:])
            return _at(source.file, node, message)
    return Problem(fallback, 0, 0, message)


def _descend(node: yaml.Node, path: list[str]) -> yaml.Node:
    """Walk ``path`` down from ``node``; stop at the deepest node that exists.

    The last step lands on a mapping's key rather than its value, so an unknown
    or misspelt key is reported where it is written.
    """
    for index, part in enumerate(path):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return node
            node = pair[0] if index == len(path) - 1 else pair[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            return node
    return node
