"""One model call with a validated answer: call, check structured output, record usage.

Takes a `GenerationRequest` of plain values; the `generate` step is where its
YAML config becomes one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.errors import ErrorCategory, StepError
from ragline.llm.service import Completion, model_service
from ragline.llm.types import Generation

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext


@dataclass(frozen=True)
class GenerationRequest:
    """What to ask which model alias, and how."""

    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = None
    stream: bool = False
    params: dict[str, Any] = field(default_factory=dict)


def _response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's structured-output form; providers that lack it get the schema in the prompt too."""
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def parse_json(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """(parsed value, None) or (None, what is wrong) for an answer that should match `schema`."""
    import jsonschema

    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body[body.find("\n") + 1 :] if "\n" in body else body
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, f"the answer is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path)
    )
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path) or "(root)"
        return None, f"the answer does not match the schema at {where}: {e.message}"
    return value, None


def run_generation(
    config: GenerationRequest, messages: list[dict[str, str]], ctx: StepContext
) -> Generation:
    service = model_service(ctx)
    schema = config.response_format
    if schema is not None:
        instruction = "Reply with JSON only, matching this JSON Schema:\n" + json.dumps(
            schema, sort_keys=True
        )
        messages = [{"role": "system", "content": instruction}, *messages]

    line: list[str] = []

    def on_text(delta: str) -> None:
        line.append(delta)
        text = "".join(line)
        if "\n" in text:
            *done, rest = text.split("\n")
            for d in done:
                ctx.logger.info("%s> %s", config.model, d)
            line[:] = [rest]

    def call(msgs: list[dict[str, str]]) -> Completion:
        return service.complete(
            config.model,
            msgs,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            stop=config.stop,
            response_format=_response_format(schema) if schema is not None else None,
            stream=config.stream,
            on_text=on_text if config.stream else None,
            params=config.params,
            ctx=ctx,
        )

    result = call(messages)
    if config.stream and line and "".join(line).strip():
        ctx.logger.info("%s> %s", config.model, "".join(line))
    usage = result.usage
    parsed: Any = None
    attempts = 1
    if schema is not None:
        parsed, problem = parse_json(result.text, schema)
        if problem is not None:
            attempts = 2
            ctx.logger.warning("generate: %s; asking %s once more", problem, config.model)
            retry = [
                *messages,
                {"role": "assistant", "content": result.text},
                {
                    "role": "user",
                    "content": f"That reply is invalid: {problem}. Reply again with JSON only.",
                },
            ]
            result = call(retry)
            usage = usage + result.usage
            parsed, problem = parse_json(result.text, schema)
            if problem is not None:
                raise StepError(
                    f"model alias '{config.model}' gave no valid JSON after 2 attempts: {problem}",
                    category=ErrorCategory.MODEL,
                    retryable=False,
                    hint="simplify response_format, or use a model that supports structured output",
                    details={"last_answer": result.text[:500]},
                )
    ctx.logger.info(
        "generate: %s -> %s [%s] %d+%d tokens, $%.6f, %.0f ms, cache %s, retries %d, fallbacks %d",
        config.model,
        usage.model,
        result.deployment or "-",
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cost_usd,
        usage.latency_ms,
        "hit" if result.cache_hit else "miss",
        usage.retries,
        usage.fallbacks,
    )
    metadata: dict[str, Any] = {
        "alias": config.model,
        "deployment": result.deployment,
        "cache_hit": result.cache_hit,
        "attempts": attempts,
    }
    if result.provider_metadata:
        metadata["provider"] = result.provider_metadata
        if result.provider_metadata.get("method") == "extractive":
            metadata["note"] = (
                "extractive answer: sentences copied from the retrieved contexts, "
                "not generated text"
            )
    return Generation(
        text=result.text, model=usage.model, parsed=parsed, usage=usage, metadata=metadata
    )
