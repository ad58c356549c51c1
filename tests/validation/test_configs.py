"""What validate reads from a config model: alias fields wherever they sit, and the
model's own rules with `${{ }}` references standing in for values."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from ragline.sdk import ModelAlias, Ref, StepConfig, StoreAlias
from ragline.steps.evaluate import EvaluateConfig
from ragline.validation.configs import alias_fields, rule_errors

REF = "${{ steps.upstream.output }}"


class Judge(BaseModel):
    model: ModelAlias


class Aliases(StepConfig):
    model: ModelAlias
    fallback: ModelAlias | None = None
    store: StoreAlias | None = None
    judge: Judge | None = None
    note: str = ""


def test_alias_fields_are_found_when_optional_or_nested() -> None:
    assert alias_fields(Aliases) == (
        (("model",), "models"),
        (("fallback",), "models"),
        (("store",), "stores"),
        (("judge", "model"), "models"),
    )
    assert (("judge", "model"), "models") in alias_fields(EvaluateConfig)


class Window(StepConfig):
    items: Ref[list[str]]
    size: int = 10
    overlap: int = 2

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


def messages(errors: list[Any]) -> list[str]:
    return [str(e["msg"]).removeprefix("Value error, ") for e in errors]


def test_a_rule_between_literal_fields_is_checked_beside_a_reference() -> None:
    errors = rule_errors(Window, {"items": REF, "size": 4, "overlap": 4})
    assert messages(errors) == ["overlap (4) must be smaller than size (4)"]


class NonEmptyWindow(Window):
    @field_validator("items")
    @classmethod
    def _not_empty(cls, items: list[str]) -> list[str]:
        if not items:
            raise ValueError("needs at least one item")
        return items


def test_the_stand_in_itself_is_never_judged() -> None:
    # `[]` stands in for the reference; the field's own rule would refuse it. The
    # model's rules then do not run either (pydantic stops at a bad field): no guess.
    assert rule_errors(NonEmptyWindow, {"items": REF, "size": 4, "overlap": 4}) == []


def test_a_number_behind_a_reference_leaves_the_rules_to_the_run() -> None:
    assert rule_errors(Window, {"items": ["a"], "size": REF, "overlap": 50}) == []


def test_a_reference_nested_inside_a_field_leaves_the_rules_to_the_run() -> None:
    class Nested(StepConfig):
        gates: dict[str, float] = Field(default_factory=dict)
        size: int = 1

    assert rule_errors(Nested, {"gates": {"mrr": REF}, "size": 1}) == []
