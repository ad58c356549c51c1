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
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from ragline.llm.types import Prompt
from ragline.sdk.context import StepContext
from ragline.sdk.step import ModelAlias, StepConfig, TemplateSource, step


class MessageTemplate(BaseModel):
    """One chat message whose content is an inline Jinja template."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(description="Jinja template text of the message.")


class PromptConfig(StepConfig):
    """Render a prompt template with variables; exactly one of template, text, messages."""

    template: str | None = Field(
        default=None,
        description="Template file (.j2), relative to the workflow file; it must resolve "
        "inside `roots`.",
    )
    text: Annotated[str | None, TemplateSource()] = Field(
        default=None,
        description="An inline Jinja template; a `${{ }}` inside it is bound as a variable "
        "(its value is data, never template code).",
    )
    messages: Annotated[list[MessageTemplate] | None, TemplateSource()] = Field(
        default=None, description="Inline chat messages (Jinja), `${{ }}` bound as in `text`."
    )
    vars: dict[str, Any] = Field(default_factory=dict, description="Variables the template reads.")
    roots: list[str] | None = Field(
        default=None,
        description="Folders the template and what it includes must resolve into (after ~, "
        "symlinks and ..); default: the workflow's folder.",
    )
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


def _sources(
    raw: dict[str, Any], workflow_dir: Path, bound: dict[str, Any]
) -> list[tuple[tuple[str | int, ...], Any]]:
    """(json path, Template) for each template the raw `with:` names (file, text or messages).

    `${{ }}` expressions in inline text become variables (named in `bound`), as at run time.
    """
    from ragline.prompts.templates import inline_template, load_confined, template_roots
    from ragline.spec.expressions import bind_as_variables, is_expression

    given = raw.get("roots")
    roots = template_roots(
        workflow_dir, [r for r in given if isinstance(r, str)] if isinstance(given, list) else None
    )
    out: list[tuple[tuple[str | int, ...], Any]] = []
    name = raw.get("template")
    if isinstance(name, str) and not is_expression(name):
        out.append((("template",), load_confined(name, workflow_dir, roots)))
    if isinstance(raw.get("text"), str):
        text = bind_as_variables(raw["text"], None, bound)
        out.append((("text",), inline_template(text, "with.text", roots)))
    for i, m in enumerate(raw.get("messages") or []):
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            content = bind_as_variables(m["content"], None, bound)
            out.append(
                (("messages", i, "content"), inline_template(content, f"with.messages[{i}]", roots))
            )
    return out


def check_prompt(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Path
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: the template is inside its roots, parses, includes only
    templates inside them, and has every variable bound."""
    from ragline.errors import ConfigError
    from ragline.prompts.render import PromptError, check_loads, variables

    problems: list[tuple[tuple[str | int, ...], str]] = []
    expressions: dict[str, Any] = {}
    try:
        sources = _sources(raw, Path(workflow_dir), expressions)
    except ConfigError as exc:
        return [(("template",), str(exc).replace("\n ", ";"))]
    bound: dict[str, Any] = raw["vars"] if isinstance(raw.get("vars"), dict) else {}
    bound = {**bound, **expressions}
    for path, template in sources:
        try:
            needed = variables(template)
        except PromptError as exc:
            problems.append((path, str(exc)))
            continue
        refused = check_loads(template)
        if refused:  # one diagnostic per position: several refusals share one line
            problems.append((path, "; ".join(refused)))
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
    from ragline.errors import ConfigError
    from ragline.prompts.templates import confine, template_roots

    if config.template is None:
        return ""
    try:
        path = confine(
            config.template, ctx.workflow_dir, template_roots(ctx.workflow_dir, config.roots)
        )
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, ConfigError):
        return "missing"  # the step itself reports why


@step(
    "prompt", config=PromptConfig, version="1", check=check_prompt, fingerprint=prompt_fingerprint
)
def prompt(config: PromptConfig, ctx: StepContext) -> Prompt:
    """Render a prompt template (file or inline) into text and chat messages."""
    from ragline.prompts.build import PromptRequest, build_prompt

    request = PromptRequest(
        template=config.template,
        text=config.text,
        messages=[(m.role, m.content) for m in config.messages] if config.messages else None,
        vars=config.vars,
        roots=config.roots,
        contexts_var=config.contexts_var,
        max_input_tokens=config.max_input_tokens,
        model=config.model,
    )
    return build_prompt(request, ctx)
