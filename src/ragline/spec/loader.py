"""Load YAML into plain data while remembering where every value came from.

PyYAML forgets positions once it builds Python objects and silently keeps the
last of two duplicate keys; we compose nodes ourselves so every diagnostic can
point at `file:line:col` (1-based) and duplicates are an error. Aliases are
refused outright: a workflow never needs them, and they are how "billion
laughs" files blow up memory. Nesting is limited to MAX_NESTING levels while
composing, before PyYAML's own recursion (and ours, and jsonschema's) can
exhaust the Python stack: 400 levels of `[` fit in 0.8 KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ragline.errors import Diagnostic, WorkflowError

MAX_WORKFLOW_BYTES = 1_000_000
# Real workflows nest under 10 levels; the Python stack gives out a little past 300.
MAX_NESTING = 64

JsonPath = tuple[str | int, ...]


class _WorkflowLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 timestamps: dates stay strings, as JSON Schema expects."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class LoadedYaml:
    """Plain data plus the position of each value and each mapping key."""

    file: str
    data: Any
    value_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: JsonPath, *, key: bool = False) -> tuple[int, int]:
        """Best 1-based (line, col) for a path: the key if asked, else the value,
        else the nearest enclosing value that has a position."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        probe = path
        while True:
            if probe in self.value_marks:
                return self.value_marks[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def diagnostic(self, path: JsonPath, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.position(path, key=key)
        return Diagnostic(self.file, line, col, format_path(path), message)


def format_path(path: JsonPath) -> str:
    """`('steps', 3, 'with', 'chunks')` -> `steps[3].with.chunks`, as users read it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif any(c in part for c in ".[] "):  # a key like '.rst' reads apart from the path
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loaded: LoadedYaml, loader: _WorkflowLoader) -> None:
        self.loaded = loaded
        self.loader = loader
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.loaded.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    self._at(key_node, path, "merge keys (<<) are not allowed; write the keys out")
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    self._at(key_node, path, "a mapping key must be a plain string")
                )
                continue
            key = self.loader.construct_object(key_node)
            key = (
                key
                if isinstance(key, str)
                else str(key).lower()
                if isinstance(key, bool)
                else str(key)
            )
            child = (*path, key)
            if key in out:
                first = self.loaded.key_marks[child]
                self.problems.append(
                    self._at(
                        key_node,
                        child,
                        f"duplicate key '{key}' (first defined at line {first[0]}); "
                        "YAML would silently keep only the last one: remove or rename one of them",
                    )
                )
                continue
            self.loaded.key_marks[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        return out

    def _at(self, node: yaml.Node, path: JsonPath, message: str) -> Diagnostic:
        line, col = _mark(node)
        return Diagnostic(self.loaded.file, line, col, format_path(path), message)


_ALIAS_HINT = (
    "YAML aliases (*{name}) are not allowed in workflow files; write the value out in full"
)


class _NoAliasLoader(_WorkflowLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str | int] = []  # where composing is, for a too-deep error

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(event.anchor, mark.line + 1, mark.column + 1)
        if parent is not None:
            # A key counts as deep as its value (else `? ? ? ...` keys would nest unchecked).
            if isinstance(index, yaml.ScalarNode):  # a mapping value, after its key
                label: str | int = index.value
            elif isinstance(index, int):  # a sequence item
                label = index
            else:  # a key
                label = event.value if isinstance(event, yaml.ScalarEvent) else "(key)"
            self._path.append(label)
        if len(self._path) > MAX_NESTING:
            raise _TooDeep(tuple(self._path), mark.line + 1, mark.column + 1)
        try:
            return super().compose_node(parent, index)
        finally:
            if parent is not None:
                self._path.pop()


class _AliasRefused(Exception):
    def __init__(self, name: str, line: int, col: int) -> None:
        self.name, self.line, self.col = name, line, col


class _TooDeep(Exception):
    def __init__(self, path: JsonPath, line: int, col: int) -> None:
        self.path, self.line, self.col = path, line, col


def _syntax_hint(problem: str, snippet: str) -> str:
    if "\t" in snippet or "'\\t'" in problem:
        return "indent with spaces, not tabs (YAML forbids tab indentation)"
    if "mapping values are not allowed" in problem:
        return "a value that contains ': ' needs quotes, or a key is indented wrongly"
    if "could not find expected ':'" in problem:
        return "a key is missing its ':' or a quoted string is not closed"
    if "expected <block end>" in problem:
        return "indentation is inconsistent here: align this line with its siblings"
    return "check indentation and quoting around this position"


def load_yaml_text(text: str, file: str = "<workflow>") -> LoadedYaml:
    """Parse YAML text, raising WorkflowError with positions for every problem found."""
    loaded = LoadedYaml(file=file, data=None)
    if not text.strip():
        raise WorkflowError(
            [
                Diagnostic(
                    file,
                    1,
                    1,
                    "(top level)",
                    "the file is empty; a workflow starts with 'apiVersion: ragline/v1'",
                )
            ]
        )
    loader = _NoAliasLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise WorkflowError(
                [
                    Diagnostic(
                        file,
                        1,
                        1,
                        "(top level)",
                        "the file holds no YAML document; "
                        "a workflow starts with 'apiVersion: ragline/v1'",
                    )
                ]
            )
        builder = _Builder(loaded, loader)
        loaded.data = builder.build(node, ())
    except _AliasRefused as refused:
        raise WorkflowError(
            [
                Diagnostic(
                    file,
                    refused.line,
                    refused.col,
                    "(top level)",
                    _ALIAS_HINT.format(name=refused.name),
                )
            ]
        ) from None
    except _TooDeep as deep:
        raise WorkflowError(
            [
                Diagnostic(
                    file,
                    deep.line,
                    deep.col,
                    format_path(deep.path),
                    f"values are nested more than {MAX_NESTING} levels deep here; "
                    "a workflow needs a few levels: flatten this value, or keep large "
                    "data in a file a step reads",
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        lines = text.splitlines()
        snippet = lines[line - 1] if 0 < line <= len(lines) else ""
        problem = err.problem or str(err)
        raise WorkflowError(
            [
                Diagnostic(
                    file,
                    line,
                    col,
                    "(syntax)",
                    f"invalid YAML: {problem}; {_syntax_hint(problem, snippet)}",
                )
            ]
        ) from None
    except yaml.YAMLError as err:
        raise WorkflowError([Diagnostic(file, 1, 1, "(syntax)", f"invalid YAML: {err}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise WorkflowError(builder.problems)
    if not isinstance(loaded.data, dict):
        kind = (
            "a list" if isinstance(loaded.data, list) else f"a {type(loaded.data).__name__} value"
        )
        raise WorkflowError(
            [
                Diagnostic(
                    file,
                    1,
                    1,
                    "(top level)",
                    f"the top level is {kind}; a workflow is a mapping that starts with "
                    "'apiVersion: ragline/v1'",
                )
            ]
        )
    return loaded


_SCHEMA_LINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=")


def has_schema_comment(text: str) -> bool:
    first = text.splitlines()[0] if text else ""
    return bool(_SCHEMA_LINE.match(first))


def load_yaml_file(path: str | Path, display: str | None = None) -> LoadedYaml:
    """Read and parse a workflow file, refusing missing, unreadable and oversized ones."""
    path = Path(path)
    shown = display or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise WorkflowError(
            [
                Diagnostic(
                    shown,
                    1,
                    1,
                    "(file)",
                    f"no such file '{shown}'; "
                    "check the path (workflow files usually live in workflows/)",
                )
            ]
        ) from None
    except OSError as err:
        raise WorkflowError(
            [Diagnostic(shown, 1, 1, "(file)", f"cannot read '{shown}': {err.strerror}")]
        ) from None
    if path.is_dir():
        raise WorkflowError(
            [Diagnostic(shown, 1, 1, "(file)", f"'{shown}' is a directory; name a .yaml file")]
        )
    if size > MAX_WORKFLOW_BYTES:
        raise WorkflowError(
            [
                Diagnostic(
                    shown,
                    1,
                    1,
                    "(file)",
                    f"the file is {size / 1_000_000:.1f} MB; workflow files are limited to "
                    f"{MAX_WORKFLOW_BYTES // 1_000_000} MB: "
                    "keep data in files the steps read, not in the workflow",
                )
            ]
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise WorkflowError(
            [Diagnostic(shown, line, 1, "(file)", "the file is not valid UTF-8; save it as UTF-8")]
        ) from None
    return load_yaml_text(text, shown)
