"""What model steps produce: rendered prompts, generations and their usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ragline.llm.usage import Usage


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


class Generation(BaseModel):
    """The output of `generate`."""

    text: str
    model: str = ""
    parsed: Any = None
    usage: Usage = Field(default_factory=Usage)
    metadata: dict[str, Any] = Field(default_factory=dict)
