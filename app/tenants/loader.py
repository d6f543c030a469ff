"""Reading ``regions.yaml`` into a validated :class:`RegionsFile`, or every problem at once.

A region's operator fixes a broken file faster when all problems are listed together, each
with the path a person would follow in the YAML (``regions.kaluga.branding.primary_color``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import RegionsFile

# Keys that would hold a secret if written inline. Their `_env` forms name a variable instead.
SECRET_KEY_RE = re.compile(r"(secret|password|passwd|private_key|api_key|token)$", re.IGNORECASE)
PEM_RE = re.compile(r"-----BEGIN [A-Z ]+-----")

PYDANTIC_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "too_short": "must not be empty",
    "union_tag_invalid": "kind must be one of: esia, oidc",
    "union_tag_not_found": "kind is required (esia or oidc)",
}


class ConfigError(Exception):
    """The regions file cannot be served; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


# libyaml (PyYAML's C extension) parses; PyYAML's pure-Python parser is kept where it is
# missing. Nodes become Python values below rather than through PyYAML's constructor: a file
# of 89 regions is mostly plain strings, and the generic constructor was most of start-up's
# cost per region. Every other scalar (numbers, booleans, null) and any tagged collection is
# still built by PyYAML's safe constructor, so the values are the same.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STR, MAP, SEQ, MERGE = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "map", "seq", "merge"))


def _value(node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    """PyYAML keeps the last of two equal keys; a second `kaluga:` block must be an error."""
    if isinstance(node, yaml.MappingNode) and node.tag == MAP:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            problem = "merge keys (<<) are not used here" if key_node.tag == MERGE else None
            key = None if problem else _value(key_node, constructor)
            try:
                if not problem and key in mapping:
                    problem = f"key {key!r} appears twice"
            except TypeError:
                problem = "a key must be a plain value"
            if problem:
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            mapping[key] = _value(value_node, constructor)
        return mapping
    if isinstance(node, yaml.SequenceNode) and node.tag == SEQ:
        return [_value(child, constructor) for child in node.value]
    if isinstance(node, yaml.ScalarNode) and node.tag == STR:
        return node.value
    return constructor.construct_object(node, deep=True)


def parse_yaml(text: str, source: str) -> Any:
    try:
        node = yaml.compose(text, Loader=SafeLoader)  # composing runs no code
        return None if node is None else _value(node, yaml.constructor.SafeConstructor())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"{where}{problem}"]) from None


def _walk(value: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, index))


def inline_secrets(raw: Any) -> list[tuple[tuple, str]]:
    """Places where the file holds a secret itself rather than naming where it is kept."""
    found = []
    for path, value in _walk(raw, ()):
        key = path[-1] if path else None
        if isinstance(key, str) and SECRET_KEY_RE.search(key) and value not in (None, ""):
            found.append(
                (
                    path,
                    "secrets are not written in this file: "
                    f"name an environment variable in {key}_env",
                )
            )
        elif isinstance(value, str) and PEM_RE.search(value):
            found.append((path, "a key or certificate is written inline: name its file's variable"))
    return found


def _dotted(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def message_of(error: Mapping[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["type"] == "literal_error":
        return "must be one of: " + error["ctx"]["expected"].replace("'", "")
    if error["type"] == "string_pattern_mismatch":
        return "has the wrong form"
    if error["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(error["ctx"].values()))
        word = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "above",
            "less_than": "below",
        }[error["type"]]
        return f"must be {word} {bound}"
    return PYDANTIC_MESSAGES.get(error["type"], error["msg"])


def _location(loc: tuple) -> tuple:
    # The login-method shorthand adds a level of its own: drop it.
    return tuple(part for part in loc if part != "function-before[_from_shorthand()]")


def validate(raw: Any, source: str, *, static_dir: Path | None = None) -> RegionsFile:
    """Validate parsed YAML; raise :class:`ConfigError` naming every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError(source, ["(top level): must be a mapping with portal: and regions:"])
    problems: list[str] = []
    secret_paths = set()
    for path, message in inline_secrets(raw):
        secret_paths.add(path)
        problems.append(f"{_dotted(path)}: {message}")
    try:
        regions = RegionsFile.model_validate(raw, context={"static_dir": static_dir})
    except ValidationError as exc:
        for error in exc.errors():
            path = _location(tuple(error["loc"]))
            if error["type"] == "extra_forbidden" and path in secret_paths:
                continue
            problems.append(f"{_dotted(path)}: {message_of(error)}")
    else:
        if not problems:
            return regions
    raise ConfigError(source, problems)


def load_file(path: Path, *, static_dir: Path | None = None) -> RegionsFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc.strerror}"]) from None
    return validate(parse_yaml(text, str(path)), str(path), static_dir=static_dir)
