"""`generate`: one model call through the run's LiteLLM Router.

The alias names an entry of `models:`; routing, retries, fallbacks, rate
limits, the response cache and the run's budget all apply. With
`response_format` (a JSON Schema) the answer is parsed and validated; an
invalid answer is sent back once with the validation error, then the step
fails. Usage (tokens, cost, latency, the deployment that answered, cache hit,
retries, fallbacks) is on the output and in the run's `model_usage` metrics.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, NonNegativeFloat, PositiveInt, model_validator

from ragline.llm.types import Generation, Message, Prompt
from ragline.sdk.context import StepContext
from ragline.sdk.step import ModelAlias, StepConfig, step


class GenerateConfig(StepConfig):
    """Call a model alias with a prompt (or messages) and return its answer."""

    model: ModelAlias = Field(description="A model alias defined under `models:`.")
    prompt: Prompt | str | None = Field(
        default=None, description="Output of a `prompt` step, or plain text."
    )
    messages: list[Message] | None = Field(
        default=None, description="Chat messages, instead of prompt."
    )
    system: str | None = Field(default=None, description="A system message put before the prompt.")
    temperature: NonNegativeFloat | None = Field(
        default=None, description="0 makes the call cacheable."
    )
    max_tokens: PositiveInt | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema the answer must satisfy (the answer is parsed into `parsed`).",
    )
    stream: bool = Field(default=False, description="Log the answer as it arrives.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Extra LiteLLM parameters (e.g. top_p, seed)."
    )

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> Self:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("set exactly one of 'prompt' or 'messages'")
        return self


def _messages(config: GenerateConfig) -> list[dict[str, str]]:
    if config.messages is not None:
        msgs = [m.model_dump() for m in config.messages]
    elif isinstance(config.prompt, Prompt):
        msgs = [m.model_dump() for m in config.prompt.messages] or [
            {"role": "user", "content": config.prompt.text}
        ]
    else:
        msgs = [{"role": "user", "content": str(config.prompt)}]
    if config.system:
        msgs = [{"role": "system", "content": config.system}, *msgs]
    return msgs


def check_generate(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: `response_format` must be a valid JSON Schema."""
    schema = raw.get("response_format")
    if not isinstance(schema, dict):
        return []
    import jsonschema

    from ragline.spec.diagnostics import did_you_mean

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        message = exc.message
        if exc.validator == "anyOf" and exc.path and exc.path[-1] == "type":
            hint = did_you_mean(str(exc.instance), JSON_TYPES)
            message = f"'{exc.instance}' is not a JSON type{hint} (types: {', '.join(JSON_TYPES)})"
        return [(("response_format", *exc.path), f"not a valid JSON Schema at {where}: {message}")]
    return []


JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")


@step(
    "generate",
    config=GenerateConfig,
    version="1",
    check=check_generate,
)
def generate(config: GenerateConfig, ctx: StepContext) -> Generation:
    """Call a model alias through the LiteLLM Router and return its answer."""
    from ragline.llm.generation import GenerationRequest, run_generation

    request = GenerationRequest(
        model=config.model,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        stop=config.stop,
        response_format=config.response_format,
        stream=config.stream,
        params=config.params,
    )
    return run_generation(request, _messages(config), ctx)
