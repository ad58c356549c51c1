"""Render templates in Jinja's sandbox with StrictUndefined.

The sandbox refuses access to Python internals (`{{ ''.__class__ }}`-style
payloads raise SecurityError); StrictUndefined makes a missing variable an
error naming the variable and the template line, never an empty string.
Chat messages come from role markers on their own line: `<|system|>`,
`<|user|>`, `<|assistant|>`; text before the first marker (or a template
without markers) is one user message.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

import jinja2
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from ragline.llm.types import Message
from ragline.prompts.contexts import cite
from ragline.prompts.templates import Template

ROLE_MARKER = re.compile(r"^[ \t]*<\|(system|user|assistant)\|>[ \t]*$", re.MULTILINE)
_env_lock = threading.Lock()
_env: SandboxedEnvironment | None = None


class PromptError(ValueError):
    """A template that cannot render: where (template:line) and what."""


def environment() -> SandboxedEnvironment:
    global _env
    with _env_lock:
        if _env is None:
            env = SandboxedEnvironment(
                undefined=StrictUndefined,
                autoescape=False,
                keep_trailing_newline=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["cite"] = cite
            _env = env
        return _env


def variables(template: Template) -> dict[str, int]:
    """Variables the template reads from outside, each with the first file line using it."""
    env = environment()
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
def _compiled(body: str) -> jinja2.Template:
    """Compiling is most of a render's cost; a run renders the same templates again and again."""
    return environment().from_string(body)


def render_text(template: Template, values: dict[str, Any]) -> str:
    try:
        compiled = _compiled(template.body)
        return compiled.render(**values)
    except TemplateSyntaxError as exc:
        raise PromptError(
            f"{template.name}:{template.file_line(exc.lineno)}: {exc.message}"
        ) from None
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
