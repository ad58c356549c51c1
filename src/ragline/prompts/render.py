"""Render templates in Jinja's sandbox with StrictUndefined.

The sandbox refuses access to Python internals (`{{ ''.__class__ }}`-style
payloads raise SecurityError); StrictUndefined makes a missing variable an
error naming the variable and the template line, never an empty string.
`{% include %}`, `{% import %}` and `{% extends %}` read templates through a
loader confined to the template's roots: names relative to a root, no `..`,
no absolute path, nothing whose real path (symlinks followed) leaves the roots.
Chat messages come from role markers on their own line: `<|system|>`,
`<|user|>`, `<|assistant|>`; text before the first marker (or a template
without markers) is one user message.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from ragline.errors import ConfigError
from ragline.llm.types import Message
from ragline.prompts.contexts import cite
from ragline.prompts.templates import Template, inside, split_front_matter

ROLE_MARKER = re.compile(r"^[ \t]*<\|(system|user|assistant)\|>[ \t]*$", re.MULTILINE)
_env_lock = threading.Lock()
_envs: dict[tuple[Path, ...], SandboxedEnvironment] = {}


class PromptError(ValueError):
    """A template that cannot render: where (template:line) and what."""


class ConfinedLoader(jinja2.FileSystemLoader):
    """Jinja's file loader, held inside the roots; an included file's front matter is skipped."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        super().__init__([str(r) for r in roots])
        self.roots = roots

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if not self.roots:
            raise TemplateNotFound(template, "this template has no roots to include from")
        if PurePosixPath(template).is_absolute() or Path(template).is_absolute():
            raise TemplateNotFound(template, "absolute paths are not allowed")
        if ".." in re.split(r"[/\\]", template):
            raise TemplateNotFound(template, "'..' is not allowed")
        source, filename, uptodate = super().get_source(environment, template)
        if not inside(Path(filename).resolve(), self.roots):
            raise TemplateNotFound(template, "it resolves outside the allowed roots")
        try:
            _, body, offset = split_front_matter(source, template)
        except ConfigError as exc:
            raise TemplateSyntaxError(str(exc), 1, template, filename) from None
        if offset:  # keep line numbers: the front matter becomes blank lines of a comment
            head = source.split("\n", offset)[:offset]
            if "#}" not in "".join(head):
                body = "{#" + "\n".join(head) + "\n#}" + body
        return body, filename, uptodate


def environment(roots: tuple[Path, ...] = ()) -> SandboxedEnvironment:
    """The sandboxed environment whose loader reads from `roots` (none: includes are refused)."""
    with _env_lock:
        env = _envs.get(roots)
        if env is None:
            env = SandboxedEnvironment(
                loader=ConfinedLoader(roots),
                undefined=StrictUndefined,
                autoescape=False,
                keep_trailing_newline=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["cite"] = cite
            _envs[roots] = env
        return env


_LOADS = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def loads(template: Template) -> list[tuple[str, int]]:
    """Templates named literally by include/import/extends, with their file lines."""
    env = environment(template.roots)
    try:
        ast = env.parse(template.body)
    except TemplateSyntaxError:
        return []  # `variables` reports it
    found = []
    for node in ast.find_all(_LOADS):
        name = getattr(node, "template", None)
        if isinstance(name, nodes.Const) and isinstance(name.value, str):
            found.append((name.value, template.file_line(node.lineno)))
    return found


def check_loads(template: Template) -> list[str]:
    """For `ragline validate`: every literally named include exists inside the roots."""
    env = environment(template.roots)
    problems = []
    for name, line in loads(template):
        try:
            env.loader.get_source(env, name)  # type: ignore[union-attr]
        except TemplateNotFound as exc:
            problems.append(f"{template.name}:{line}: {_refused(name, exc)}")
        except TemplateSyntaxError as exc:
            problems.append(f"{name}:{exc.lineno}: {exc.message}")
    return problems


def _refused(name: str, exc: TemplateNotFound) -> str:
    why = exc.message if exc.message and exc.message != name else "no such template"
    return (
        f"'{name}' refused by the template sandbox ({why}): include, import and extend read "
        "only templates inside the allowed roots (the workflow's folder, or the prompt step's "
        "`roots:`), named relative to a root"
    )


def variables(template: Template) -> dict[str, int]:
    """Variables the template reads from outside, each with the first file line using it."""
    env = environment(template.roots)
    try:
        ast = env.parse(template.body)
    except TemplateSyntaxError as exc:
        raise PromptError(
            f"{template.name}:{template.file_line(exc.lineno)}: {exc.message}"
        ) from None
    needed = meta.find_undeclared_variables(ast)
    lines: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.name in needed and node.ctx == "load" and node.name not in lines:
            lines[node.name] = template.file_line(node.lineno)
    return {name: lines.get(name, template.file_line(1)) for name in sorted(needed)}


def _line_of(exc: BaseException, template: Template) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return None if line is None else template.file_line(line)


@functools.lru_cache(maxsize=256)
def _compiled(body: str, roots: tuple[Path, ...]) -> jinja2.Template:
    """Compiling is most of a render's cost; a run renders the same templates again and again."""
    return environment(roots).from_string(body)


def render_text(template: Template, values: dict[str, Any]) -> str:
    try:
        compiled = _compiled(template.body, template.roots)
        return compiled.render(**values)
    except TemplateNotFound as exc:
        raise PromptError(f"{_where(exc, template)}: {_refused(str(exc.name), exc)}") from None
    except TemplateSyntaxError as exc:
        if exc.name and exc.name != template.name and exc.filename:
            raise PromptError(f"{exc.name}:{exc.lineno}: {exc.message}") from None
        raise PromptError(
            f"{template.name}:{template.file_line(exc.lineno)}: {exc.message}"
        ) from None
    except RecursionError:
        raise PromptError(f"{template.name}: templates include each other without end") from None
    except UndefinedError as exc:
        raise PromptError(
            f"{_where(exc, template)}: {exc.message}; bind it under the prompt step's `vars:`"
        ) from None
    except SecurityError as exc:
        raise PromptError(
            f"{_where(exc, template)}: refused by the template sandbox: {exc}"
        ) from None


def _where(exc: Exception, template: Template) -> str:
    """`name:line` of the template line that raised, or just the name."""
    line = _line_of(exc, template)
    return f"{template.name}:{line}" if line else template.name


def split_messages(text: str) -> list[Message]:
    """Chat messages from role markers; a template without markers is one user message."""
    parts = ROLE_MARKER.split(text)
    messages: list[Message] = []
    head = parts[0].strip()
    if head:
        messages.append(Message(role="user", content=head))
    for i in range(1, len(parts), 2):
        content = parts[i + 1].strip() if i + 1 < len(parts) else ""
        if content:
            messages.append(Message(role=parts[i], content=content))
    return messages
