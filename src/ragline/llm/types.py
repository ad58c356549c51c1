"""What model steps produce: rendered prompts, generations and their usage."""

from __future__ import annotations

from collections.abc import Iterable
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


# Every request counts, the ones that got no answer (`failed`) and the one that
# crossed a budget included: what a provider bills is what is summed (`a + b`).
class Usage(BaseModel):
    """Tokens, cost and routing facts of one or more model calls (failed ones included)."""

    model: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache_hits: int = 0
    retries: int = 0
    fallbacks: int = 0
    failed: int = Field(0, description="Calls that ended in an error (no answer).")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        summed = {
            name: getattr(self, name) + getattr(other, name)
            for name in type(self).model_fields
            if name != "model"
        }
        return Usage(model=other.model or self.model, **summed)

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        out = cls()
        for usage in usages:
            out = out + usage
        return out


class Generation(BaseModel):
    """The output of `generate`."""

    text: str
    model: str = ""
    parsed: Any = None
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)
