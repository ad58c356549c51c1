"""A prompt built from a template: load (confined), render, fit the token budget, record.

Takes a `PromptRequest` of plain values; the `prompt` step is where its YAML
config becomes one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.errors import ErrorCategory, StepError
from ragline.llm.types import Message, Prompt
from ragline.prompts.contexts import as_contexts
from ragline.prompts.render import PromptError, render_text, split_messages
from ragline.prompts.templates import Template, inline_template, load_confined, template_roots

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext


@dataclass(frozen=True)
class PromptRequest:
    """Exactly one of `template` (a file), `text` or `messages` ((role, template text) pairs)."""

    template: str | None = None
    text: str | None = None
    messages: list[tuple[str, str]] | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    roots: list[str] | None = None
    contexts_var: str = "contexts"
    max_input_tokens: int | None = None
    model: str | None = None


def _templates(config: PromptRequest, ctx: StepContext) -> list[tuple[str | None, Template]]:
    """(role or None for a whole template, template) in message order."""
    roots = template_roots(ctx.workflow_dir, config.roots)
    if config.template is not None:
        return [(None, load_confined(config.template, ctx.workflow_dir, roots))]
    if config.text is not None:
        return [(None, inline_template(config.text, "with.text", roots))]
    return [
        (role, inline_template(content, f"with.messages[{i}]", roots))
        for i, (role, content) in enumerate(config.messages or [])
    ]


def _render(parts: list[tuple[str | None, Template]], values: dict[str, Any]) -> list[Message]:
    messages: list[Message] = []
    for role, template in parts:
        text = render_text(template, values)
        if role is None:
            messages.extend(split_messages(text))
        elif text.strip():
            messages.append(Message(role=role, content=text.strip()))
    return messages


def _budget(config: PromptRequest, ctx: StepContext) -> tuple[int | None, str]:
    """(max input tokens, model name for the tokenizer)."""
    limit = config.max_input_tokens
    model = "gpt-3.5-turbo"
    if config.model and config.model in ctx.workflow.models:
        first = ctx.workflow.models[config.model][0]
        model = first.model
        if limit is None:
            limit = first.max_input_tokens
    return limit, model


def build_prompt(config: PromptRequest, ctx: StepContext) -> Prompt:
    parts = _templates(config, ctx)
    values = dict(config.vars)
    has_contexts = config.contexts_var in values
    contexts = as_contexts(values.get(config.contexts_var)) if has_contexts else []

    def build(kept: list[dict[str, Any]]) -> list[Message]:
        if has_contexts:
            values[config.contexts_var] = kept
        return _render(parts, values)

    limit, model = _budget(config, ctx)
    meta: dict[str, Any] = {}
    try:
        if limit is not None:
            from ragline.prompts.token_fit import fit

            fitted = fit(contexts, build, max_input_tokens=limit, model=model)
            messages, kept = fitted.messages, fitted.kept
            meta.update(
                input_tokens=fitted.input_tokens,
                max_input_tokens=limit,
                tokenizer_model=model,
                trimmed=fitted.trimmed,
            )
            if fitted.input_tokens > limit:
                raise StepError(
                    f"the prompt needs {fitted.input_tokens} tokens without any context, over "
                    f"max_input_tokens {limit}",
                    category=ErrorCategory.INPUT,
                    retryable=False,
                    hint="shorten the template or raise max_input_tokens",
                )
            if fitted.trimmed:
                ctx.logger.info(
                    "prompt: trimmed %d context(s) to fit %d tokens: %s",
                    len(fitted.trimmed),
                    limit,
                    ", ".join(t["id"] for t in fitted.trimmed),
                )
        else:
            messages, kept = build(contexts), contexts
    except PromptError as exc:
        raise StepError(
            str(exc),
            category=ErrorCategory.INPUT,
            retryable=False,
            hint="fix the template or the step's `vars:`",
        ) from None
    template = parts[0][1]
    ctx.logger.info(
        "prompt: %s version %s (%s), %d context(s)",
        template.name,
        template.version or "-",
        template.content_hash,
        len(kept),
    )
    source_hash = hashlib.sha256("\x00".join(t.body for _, t in parts).encode()).hexdigest()[:16]
    text = "\n\n".join(m.content for m in messages)
    meta.update(
        contexts=[c["id"] for c in kept],
        rendered_hash="sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16],
    )
    return Prompt(
        text=text,
        messages=messages,
        template=config.template or ("inline" if config.text is not None else "inline-messages"),
        version=template.version,
        content_hash=template.content_hash if len(parts) == 1 else f"sha256:{source_hash}",
        metadata=meta,
    )
