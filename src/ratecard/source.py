"""Reading YAML/JSON documents with the line of every key, and turning validation errors into
:class:`~ratecard.errors.Problem` values that name file, line and key path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ratecard.errors import Problem, RatecardError

__all__ = ["Document", "load_document", "validate"]

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings pydantic can parse, and remembers lines."""


class Document:
    """A parsed document and the line on which each key path starts."""

    def __init__(self, data: Any, source: str | None, lines: dict[Loc, int]) -> None:
        self.data = data
        self.source = source
        self._lines = lines

    def line(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc``."""
        for size in range(len(loc), -1, -1):
            line = self._lines.get(tuple(loc[:size]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(message, format_loc(loc), self.source, self.line(loc))


def format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, key.value)
            lines[child] = key.start_mark.line + 1
            _index_lines(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines)


def load_document(
    source: str | Path | Mapping[str, Any], error: type[RatecardError], what: str
) -> Document:
    """Parse a YAML or JSON file (JSON is read as YAML, which keeps line numbers), or wrap an
    in-memory mapping. Raises ``error`` for a missing file or malformed syntax."""
    if isinstance(source, Mapping):
        return Document(dict(source), None, {})
    path = Path(source)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error([Problem(f"no such {what} file", source=name)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Problem(f"cannot read {what} file: {exc}", source=name)]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise error([Problem(f"not valid YAML/JSON: {reason}", source=name, line=line)]) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    if not isinstance(data, dict):
        raise error([Problem(f"expected a {what} mapping at the top level", source=name, line=1)])
    return Document(data, name, lines)


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key (not part of the format; check the spelling)"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        key = str(ctx.get("discriminator", "kind")).strip("'")
        return f"unknown {key} {ctx.get('tag')!r}: expected one of {ctx.get('expected_tags')}"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    bounds = {
        "greater_than_equal": ">=",
        "greater_than": ">",
        "less_than_equal": "<=",
        "less_than": "<",
    }
    if kind in bounds:
        limit = next(iter(error.get("ctx", {}).values()), "")
        return f"expected a number {bounds[kind]} {limit}, got {error.get('input')!r}"
    return message


_TAG_KEYS = ("type", "model", "dist")  # discriminators of plans and workloads


def _clean_loc(loc: Sequence[str | int], data: Any) -> Loc:
    """Drop what pydantic adds to a location that is not a key of the document: union member
    tags (the discriminator value, like ``usage`` or ``graduated``) and validator names."""
    cleaned: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, str):
            if part.startswith(("function-", "tagged-union[")):
                continue
            if node is not None and not isinstance(node, Mapping):
                continue  # a union member's name under a scalar (``constrained-int``)
            if (
                isinstance(node, Mapping)
                and part not in node
                and any(node.get(key) == part for key in _TAG_KEYS)
            ):
                continue  # a discriminator value (``usage``, ``graduated``, ``lognormal``)
        cleaned.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(cleaned)


_WRONG_SHAPE = {"model_type", "dict_type", "model_attributes_type"}


def _informative(errors: list[Any], data: Any) -> list[Any]:
    """A value that fits no member of a union gets one error per member; drop the "expected a
    mapping" ones where another member says something more specific about the same value."""
    specific = {_clean_loc(e["loc"], data) for e in errors if e["type"] not in _WRONG_SHAPE}
    return [
        e
        for e in errors
        if e["type"] not in _WRONG_SHAPE or _clean_loc(e["loc"], data) not in specific
    ]


def validation_problems(document: Document, exc: ValidationError) -> list[Problem]:
    problems = []
    seen: set[tuple[Loc, str]] = set()
    for error in _informative(list(exc.errors(include_url=False)), document.data):
        loc = _clean_loc(error["loc"], document.data)
        if error["type"] == "union_tag_invalid":
            loc = (*loc, str(error.get("ctx", {}).get("discriminator", "")).strip("'"))
        message = _describe(error)
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        problems.append(document.problem(loc, message))
    return problems


def validate(
    model: type[M],
    document: Document,
    error: type[RatecardError],
    extra: Sequence[Problem] = (),
    context: dict[str, Any] | None = None,
) -> M:
    """Validate ``document`` as ``model``, raising ``error`` with every problem at once."""
    try:
        result = model.model_validate(document.data, context=context)
    except ValidationError as exc:
        problems = [*extra, *validation_problems(document, exc)]
        problems.sort(key=lambda p: p.line or 0)
        raise error(problems) from None
    if extra:
        raise error(list(extra))
    return result
