"""What a test suite file may say: targets, cases and their assertions.

The names follow promptfoo (`assert`, `type`, `value`, `threshold`), so a
user who knows it can read a suite at sight. Every model forbids unknown keys:
a misspelt `treshold` is an error with a suggestion, never a silently
ignored check.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from ragline.spec.model import Deployment

CheckName = Literal["pii", "injection", "toxicity", "malicious_code", "secrets"]
ALL_CHECKS: tuple[CheckName, ...] = ("pii", "injection", "toxicity", "malicious_code", "secrets")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _Assertion(_Strict):
    type: str
    description: str | None = Field(default=None, description="Shown when the assertion fails.")


class Contains(_Assertion):
    """The output contains `value` (case-sensitive; `icontains` ignores case)."""

    type: Literal["contains", "not-contains", "icontains", "not-icontains"]
    value: str


class RegexAssertion(_Assertion):
    """The output matches (or, for not-regex, does not match) a Python regular expression."""

    type: Literal["regex", "not-regex"]
    value: str

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        try:
            re.compile(self.value)
        except re.error as err:
            raise ValueError(f"invalid regular expression: {err}") from None
        return self


class Equals(_Assertion):
    """The output equals `value` (a string after trimming, or structured data)."""

    type: Literal["equals"]
    value: Any


class JsonSchemaAssertion(_Assertion):
    """The output (parsed from JSON when it is text) is valid against a JSON Schema."""

    type: Literal["json-schema"]
    value: dict[str, Any]

    @model_validator(mode="after")
    def _is_a_schema(self) -> Self:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(self.value)
        except SchemaError as err:
            raise ValueError(f"not a valid JSON Schema: {err.message}") from None
        return self


class MaxLatency(_Assertion):
    """The case's whole run (every step) took at most `value` milliseconds."""

    type: Literal["max-latency-ms"]
    value: float = Field(gt=0)


class MaxCost(_Assertion):
    """The case's model calls cost at most `value` US dollars (judges not counted)."""

    type: Literal["max-cost"]
    value: float = Field(ge=0)


class SimilarTo(_Assertion):
    """Cosine similarity of the output's and `value`'s embeddings is at least `threshold`."""

    type: Literal["similar-to"]
    value: str
    threshold: float = Field(default=0.75, ge=-1, le=1)
    model: str | None = Field(
        default=None,
        description="An embedding alias from `deployments:`; default: local all-MiniLM-L6-v2.",
    )


class LlmRubric(_Assertion):
    """A judge model decides whether the output meets the rubric in `value`."""

    type: Literal["llm-rubric"]
    value: str
    model: str | None = Field(
        default=None, description="A judge alias from `deployments:`; default: defaults.judge."
    )
    threshold: float = Field(default=0.5, ge=0, le=1, description="Minimum judge score to pass.")


class SafetyAssertion(_Assertion):
    """The output passes ragline's local safety checks (see the safety-check step)."""

    type: Literal["safety"]
    value: Literal["pass"] = "pass"
    checks: list[CheckName] = Field(default_factory=lambda: list(ALL_CHECKS))


class RunFails(_Assertion):
    """The run fails (a guard blocks it, a gate fails it), with `value` in its error message."""

    type: Literal["run-fails"]
    value: str | None = Field(default=None, description="Text the error message must contain.")


Assertion = (
    Contains
    | RegexAssertion
    | Equals
    | JsonSchemaAssertion
    | MaxLatency
    | MaxCost
    | SimilarTo
    | LlmRubric
    | SafetyAssertion
    | RunFails
)

# What can be checked when the run failed: there is no output, but there is a run.
WITHOUT_OUTPUT: tuple[type[_Assertion], ...] = (RunFails, MaxLatency, MaxCost)

ASSERTION_MODELS: dict[str, type[_Assertion]] = {
    name: cls
    for cls in (
        Contains,
        RegexAssertion,
        Equals,
        JsonSchemaAssertion,
        MaxLatency,
        MaxCost,
        SimilarTo,
        LlmRubric,
        SafetyAssertion,
        RunFails,
    )
    for name in cls.model_fields["type"].annotation.__args__  # type: ignore[union-attr]
}

RawAssertions = Annotated[list[dict[str, Any]], Field(alias="assert")]


class CaseSpec(_Strict):
    """One test case: inputs for the target and what its output must satisfy."""

    name: str | None = None
    description: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: str | None = Field(
        default=None, description="Which workflow output the assertions check."
    )
    assert_: RawAssertions = Field(default_factory=list, alias="assert")


class DefaultsSpec(_Strict):
    """Applied to every case: inputs merged under the case's, assertions added to its own."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None
    assert_: RawAssertions = Field(default_factory=list, alias="assert")
    judge: str | None = Field(default=None, description="Judge alias for llm-rubric.")


class SuiteSpec(_Strict):
    """A suite file, before its assertions are parsed one by one (for precise errors)."""

    name: str | None = None
    description: str | None = None
    workflow: str | None = Field(default=None, description="Workflow file, relative to the suite.")
    workflows: list[str] = Field(default_factory=list)
    models: list[str] = Field(
        default_factory=list, description="Model aliases (from deployments:) to run `prompt` on."
    )
    prompt: str | None = Field(default=None, description="Inline Jinja prompt for `models:`.")
    deployments: dict[str, list[Deployment]] = Field(
        default_factory=dict,
        description="Model aliases, like a workflow's models: (targets, judges, embedders).",
    )
    cache: bool = Field(default=True, description="Use the response cache for `models:` targets.")
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    concurrency: PositiveInt = Field(default=4, le=64)
    cases: list[CaseSpec] = Field(default_factory=list)


class Case(BaseModel):
    """A case ready to run: defaults merged, assertions parsed."""

    name: str
    inputs: dict[str, Any]
    output: str | None
    assertions: list[Assertion]
