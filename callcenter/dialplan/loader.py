"""Read dialplans/*.yaml into a Dialplan, with errors that name file, line and column.

Files in the directory are merged: each top-level section (numbers, menus,
agents) may be spread over several files, one per line of business; a name
defined in two files is an error naming both places. Every problem found is
reported, not only the first.

Mapping keys are read as the text written in the file: YAML would otherwise
turn `1:` into an integer, `yes:` into True and `+78005553535:` into a
number, and an admin means none of those.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from callcenter.dialplan.model import Dialplan
from callcenter.dialplan.numbers import InvalidNumberError, normalize_number
from callcenter.dialplan.prompt_check import missing_prompts
from callcenter.errors import ConfigError

__all__ = ["DialplanError", "Problem", "load_dialplan"]

_MAX_FILE_BYTES = 1 << 20
# Aliases make a small file stand for a huge document ("billion laughs"); validation walks all of it.
_MAX_EXPANDED_NODES = 200_000


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
    """Where one named item of the merged document was written."""

    file: Path
    key: yaml.Node
    value: yaml.Node


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the node stands for with every alias expanded (memoized: aliases share nodes)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that contains itself (a recursive alias) counts once
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


def _at(file: Path, node: yaml.Node, message: str) -> Problem:
    return Problem(file, node.start_mark.line + 1, node.start_mark.column + 1, message)


class _TextKeyLoader(yaml.SafeLoader):
    """A SafeLoader whose mapping keys are the text as written, and which reports duplicate keys."""

    def __init__(self, text: str, file: Path, problems: list[Problem]) -> None:
        super().__init__(text)
        self.file = file
        self.problems = problems

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(_at(self.file, key_node, "a key must be plain text"))
                continue
            key = key_node.value
            if key in first:
                self.problems.append(
                    _at(
                        self.file, key_node, f"key {key!r} is repeated (first at line {first[key].start_mark.line + 1})"
                    )
                )
                continue
            first[key] = key_node
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def load_dialplan(path: Path, shipped: Callable[[str, str], bool] | None = None) -> Dialplan:
    """Load a directory of YAML files (or one file) and validate it; raise DialplanError listing all problems.

    With ``shipped`` (is this (language, prompt) one of the project's sounds?), every prompt a caller can
    hear is checked to exist.
    """
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    if not files:
        raise DialplanError([Problem(path, 0, 0, "no *.yaml files found")])
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], _Source] = {}
    numbers_seen: dict[str, _Source] = {}
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
            if not isinstance(key_node, yaml.ScalarNode) or section not in data:
                continue  # reported by the YAML reader (not plain text, or repeated)
            value = data[section]
            if value is None:
                continue  # an empty section defines nothing
            sources.setdefault((section,), _Source(file, key_node, value_node))
            if isinstance(value, dict) and isinstance(value_node, yaml.MappingNode):
                target = merged.setdefault(section, {})
                if not isinstance(target, dict):
                    problems.append(_at(file, key_node, f"section {section!r} is a list in another file"))
                    continue
                named_here: set[str] = set()
                for item_key, item_node in value_node.value:
                    name = item_key.value
                    if not isinstance(item_key, yaml.ScalarNode) or name not in value or name in named_here:
                        continue  # reported by the YAML reader
                    named_here.add(name)
                    source = _Source(file, item_key, item_node)
                    if name in target:
                        first = sources[(section, name)]
                        problems.append(
                            _at(
                                file,
                                item_key,
                                f"{section}.{name} is already defined at {first.file}:{first.key.start_mark.line + 1}",
                            )
                        )
                        continue
                    if section == "numbers" and not _check_number(name, source, numbers_seen, sources, problems):
                        continue
                    target[name] = value[name]
                    sources[(section, name)] = source
            elif isinstance(value, list) and isinstance(value_node, yaml.SequenceNode):
                target_list = merged.setdefault(section, [])
                if not isinstance(target_list, list):
                    problems.append(_at(file, key_node, f"section {section!r} is a mapping in another file"))
                    continue
                offset = len(target_list)
                target_list.extend(value)
                for index, item_node in enumerate(value_node.value):
                    sources[(section, str(offset + index))] = _Source(file, item_node, item_node)
            else:
                merged[section] = value
    if problems:
        raise DialplanError(problems)
    try:
        dialplan = Dialplan.model_validate(merged)
    except ValidationError as error:
        items = _without_consequences(error.errors())
        found = [_locate(_describe(item), item["loc"], sources, files[0]) for item in items]
        found += _references_in_the_rest(merged, items, sources, files[0])
        raise DialplanError(found) from None
    references = dialplan.reference_problems()
    if shipped is not None:
        references += missing_prompts(dialplan, shipped)
    if references:
        raise DialplanError([_locate(message, location, sources, files[0]) for location, message in references])
    return dialplan


def _references_in_the_rest(
    merged: dict[str, Any], errors: list[Any], sources: dict[tuple[str, ...], _Source], fallback: Path
) -> list[Problem]:
    """Reference problems among the items that are valid, so one bad menu does not hide a missing queue.

    The invalid items (a menu with a misspelt key, ...) are left out and validation is tried again; their
    names still count as defined.
    """
    left_out: dict[str, set[str]] = {}
    rest = {section: dict(value) if isinstance(value, dict) else value for section, value in merged.items()}
    for error in errors:
        loc = [str(part) for part in error["loc"]]
        if len(loc) < 2 or not isinstance(rest.get(loc[0]), dict):
            return []  # not an item of a named section: nothing sensible to leave out
        rest[loc[0]].pop(loc[1], None)
        left_out.setdefault(loc[0], set()).add(loc[1])
    try:
        partial = Dialplan.model_validate(rest)
    except ValidationError:
        return []
    return [_locate(message, location, sources, fallback) for location, message in partial.reference_problems(left_out)]


def _check_number(
    name: str,
    source: _Source,
    seen: dict[str, _Source],
    sources: dict[tuple[str, ...], _Source],
    problems: list[Problem],
) -> bool:
    """A number must be a number, and one number (in any of its forms) is defined once."""
    try:
        normalized = normalize_number(name)
    except InvalidNumberError as error:
        problems.append(_at(source.file, source.key, str(error)))
        return False
    first = seen.get(normalized)
    if first is not None:
        problems.append(
            _at(
                source.file,
                source.key,
                f"number {name!r} is {normalized}, already defined as "
                f"{first.key.value!r} at {first.file}:{first.key.start_mark.line + 1}",
            )
        )
        return False
    seen[normalized] = source
    # Validation errors come back keyed by the normalized form.
    sources[("numbers", normalized)] = source
    return True


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
    loader = _TextKeyLoader(text, file, problems)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if _expanded_size(root, {}) > _MAX_EXPANDED_NODES:
            problems.append(
                Problem(
                    file,
                    0,
                    0,
                    f"the file stands for more than {_MAX_EXPANDED_NODES} values once its "
                    "aliases (*name) are expanded; use fewer or smaller aliases",
                )
            )
            return None
        return loader.construct_document(root), root
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.append(Problem(file, line, column, f"YAML syntax: {error.problem}"))
        return None
    finally:
        loader.dispose()


def _without_consequences(errors: list[Any]) -> list[Any]:
    """Drop "too short" errors caused by a rejected item inside the same list: the item's own error says it."""
    locations = [tuple(error["loc"]) for error in errors]
    return [
        error
        for error in errors
        if error["type"] != "too_short"
        or not any(
            len(other) > len(error["loc"]) and other[: len(error["loc"])] == tuple(error["loc"]) for other in locations
        )
    ]


@cache
def _known_keys() -> tuple[str, ...]:
    """Every key the dialplan's models know, for "did you mean" on a misspelt one."""
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [Dialplan]
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        keys.update(model.model_fields)
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return tuple(sorted(keys))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in _models_in(argument)]


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    message: str = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _known_keys(), n=1)
        message = f"unknown key {loc[-1]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    elif error["type"] == "missing":
        message = f"missing required key {loc[-1]!r}"
    return f"{'.'.join(loc)}: {message}" if loc else message


def _locate(
    message: str, location: tuple[Any, ...], sources: dict[tuple[str, ...], _Source], fallback: Path
) -> Problem:
    """Find the YAML node a location points at, as deep as the document goes."""
    loc = [str(part) for part in location]
    for depth in range(min(len(loc), 2), 0, -1):
        source = sources.get(tuple(loc[:depth]))
        if source is not None:
            rest = loc[depth:]
            node = _descend(source.value, rest) if rest else source.key
            return _at(source.file, node, message)
    return Problem(fallback, 0, 0, message)


def _descend(node: yaml.Node, path: list[str]) -> yaml.Node:
    """Walk ``path`` down from ``node``; stop at the deepest node that exists.

    The last step lands on a mapping's key rather than its value, so an unknown
    or misspelt key is reported where it is written. Parts that name no key
    (pydantic puts a union's tag into the path) are stepped over.
    """
    for index, part in enumerate(path):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                continue
            if index < len(path) - 1 and isinstance(pair[1], yaml.ScalarNode):
                continue  # a union's tag that happens to be a field name too ('menu'): the path goes on here
            node = pair[0] if index == len(path) - 1 else pair[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
    return node
