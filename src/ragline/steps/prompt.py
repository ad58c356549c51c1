"""`prompt`: render a versioned template (file or inline) into text and chat messages.

Contexts passed in `vars` (by default the variable `contexts`) are rendered
with citation ids and, when `max_input_tokens` is set (or the `model` alias
declares one), trimmed lowest score first until the prompt fits; the output
records the template's version and content hash and what was trimmed.
`ragline validate` checks statically that every variable the template reads
is bound in `vars:`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from ragline.llm.types import Prompt
from ragline.steps.base import ModelAlias, StepConfig, step
from ragline.steps.context import StepContext


class MessageTemplate(BaseModel):
    """One chat message whose content is an inline Jinja template."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(description="Jinja template text of the message.")


class PromptConfig(StepConfig):
    """Render a prompt template with variables; exactly one of template, text, messages."""

    template: str | None = Field(
        default=None, description="Template file (.j2), relative to the workflow file."
    )
    text: str | None = Field(default=None, description="An inline Jinja template.")
    messages: list[MessageTemplate] | None = Field(
        default=None, description="Inline chat messages (Jinja)."
    )
    vars: dict[str, Any] = Field(default_factory=dict, description="Variables the template reads.")
    contexts_var: str = Field(
        default="contexts", description="Which variable holds retrieved contexts."
    )
    max_input_tokens: PositiveInt | None = Field(
        default=None, description="Trim contexts (lowest score first) until the prompt fits."
    )
    model: ModelAlias | None = Field(
        default=None,
        description="Model alias whose tokenizer counts tokens (its max_input_tokens applies).",
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        given = [k for k in ("template", "text", "messages") if getattr(self, k) is not None]
        if len(given) != 1:
            got = ", ".join(given) or "none"
            raise ValueError(f"set exactly one of 'template', 'text' or 'messages' (got {got})")
        return self


def _sources(raw: dict[str, Any], workflow_dir: Path) -> list[tuple[tuple[str | int, ...], Any]]:
    """(json path, Template) for each template the raw `with:` names (file, text or messages)."""
    from ragline.prompts.templates import inline_template, load_template

    out: list[tuple[tuple[str | int, ...], Any]] = []
    if isinstance(raw.get("template"), str):
        out.append((("template",), load_template(workflow_dir / raw["template"], raw["template"])))
    if isinstance(raw.get("text"), str):
        out.append((("text",), inline_template(raw["text"], "with.text")))
    for i, m in enumerate(raw.get("messages") or []):
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            out.append(
                (("messages", i, "content"), inline_template(m["content"], f"with.messages[{i}]"))
            )
    return out


def check_prompt(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Path
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: the template exists, parses, and has every variable bound."""
    from ragline.errors import ConfigError
    from ragline.prompts.render import PromptError, variables

    problems: list[tuple[tuple[str | int, ...], str]] = []
    try:
        sources = _sources(raw, Path(workflow_dir))
    except ConfigError as exc:
        return [(("template",), str(exc).replace("\n ", ";"))]
    bound: dict[str, Any] = raw["vars"] if isinstance(raw.get("vars"), dict) else {}
    for path, template in sources:
        try:
            needed = variables(template)
        except PromptError as exc:
            problems.append((path, str(exc)))
            continue
        for name, line in needed.items():
            if name not in bound:
                where: tuple[str | int, ...] = ("vars",) if "vars" in raw else path
                problems.append(
                    (
                        where,
                        f"template {template.name}:{line} uses '{name}', which is not bound "
                        f"in `vars:`; add `{name}: ...` under vars",
                    )
                )
    return problems


def prompt_fingerprint(config: PromptConfig, ctx: StepContext) -> str:
    """A template file's content is not in the config: add its hash to the cache key."""
    if config.template is None:
        return ""
    path = ctx.resolve_path(config.template)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


@step(
    "prompt", config=PromptConfig, version="1", check=check_prompt, fingerprint=prompt_fingerprint
)
def prompt(config: PromptConfig, ctx: StepContext) -> Prompt:
    """Render a prompt template (file or inline) into text and chat messages."""
    from ragline.prompts.build import build_prompt

    return build_prompt(config, ctx)
