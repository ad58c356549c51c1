"""Read the question and the cited contexts back out of a rendered RAG prompt.

Local providers receive what any provider receives: chat messages. ragline's
prompt step renders each context as a block starting with `[source-id]` and
the question on a line starting with `Question:`; this module undoes that, so
`local/extractive` works with any template that keeps those two conventions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CONTEXT = re.compile(r"^\[(?P<id>[^\]\n]{1,200})\][ \t]*(?P<text>.*)$")
_QUESTION = re.compile(r"^\s*(?:question|q)\s*:\s*(?P<q>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    source_id: str
    text: str


def _content(message: Any) -> str:
    content = (
        message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
    )
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def parse_prompt(messages: list[Any]) -> tuple[str, list[Context]]:
    """(question, contexts) from the messages; the question falls back to the last user line."""
    contexts: list[Context] = []
    question = ""
    last_user = ""
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else getattr(message, "role", "")
        text = _content(message)
        if role == "user" and text.strip():
            last_user = text.strip().splitlines()[-1]
        current: tuple[str, list[str]] | None = None
        for line in text.splitlines():
            q = _QUESTION.match(line)
            if q:
                question = q.group("q").strip()
                _flush(current, contexts)
                current = None
                continue
            m = _CONTEXT.match(line)
            if m:
                _flush(current, contexts)
                current = (m.group("id").strip(), [m.group("text")])
            elif current is not None:
                if line.strip():
                    current[1].append(line)
                else:
                    _flush(current, contexts)
                    current = None
        _flush(current, contexts)
    return question or last_user, contexts


def _flush(current: tuple[str, list[str]] | None, out: list[Context]) -> None:
    if current is not None:
        text = " ".join(part.strip() for part in current[1] if part.strip())
        if text:
            out.append(Context(current[0], text))
