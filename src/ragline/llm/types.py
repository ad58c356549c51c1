"""What model steps produce: rendered prompts, generations and their usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: str
    content: str


class Prompt(BaseModel):
    """A rendered prompt and where it came from (template, version, content hash)."""

    text: str = ""
    messages: list[Message] = Field(default_factory=list)
    template: str = ""
    version: str = ""
    content_hash: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    """Tokens, cost and routing facts of one or more model calls."""

    model: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hits: int = 0
    retries: int = 0
    fallbacks: int = 0


class Generation(BaseModel):
    """The output of `generate`."""

    text: str
    model: str = ""
    parsed: Any = None
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)
