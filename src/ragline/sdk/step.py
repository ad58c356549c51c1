"""What a step type is: a config model, a plain function, a declared output.

The compiler wraps the function in a Prefect task; the function itself never
imports Prefect, so a unit test calls it with a config and a context.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ragline.sdk.context import StepContext

T = TypeVar("T")


class StepConfig(BaseModel):
    """Base of every step's `with:` model. Unknown keys are errors, never ignored."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class RefMarker:
    """Marks a config field whose value always comes from an upstream step."""


@dataclass(frozen=True)
class AliasOf:
    """Marks a config field naming an entry of a workflow section (`models`, `stores`)."""

    section: str


@dataclass(frozen=True)
class TemplateSource:
    """Marks a config field holding template source (Jinja text).

    Its `${{ }}` expressions are bound as template variables in the field named
    `variables`, never pasted into the source: a value is data, never template code.
    """

    variables: str = "vars"


if TYPE_CHECKING:
    Ref = Annotated[T, RefMarker()]
else:

    class Ref(Generic[T]):
        """`Ref[list[Chunk]]`: a `${{ }}` reference resolving to that type at run time."""

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[item, RefMarker()]


ModelAlias = Annotated[str, AliasOf("models")]
StoreAlias = Annotated[str, AliasOf("stores")]

# A static check receives the raw `with:` mapping and the workflow data and
# returns (relative json path, message) pairs; see `prompt` for an example.
StaticCheck = Callable[
    [dict[str, Any], dict[str, Any], "typing.Any"], list[tuple[tuple[str | int, ...], str]]
]


@dataclass(frozen=True)
class StepType:
    """A registered step type. Calling it runs the step function."""

    name: str
    config: type[StepConfig]
    func: Callable[..., Any]
    version: str = "1"
    cache: bool = True
    description: str = ""
    check: StaticCheck | None = None
    fingerprint: Callable[[StepConfig, StepContext], str] | None = None
    partition: str | None = None
    stage: Callable[[Any, StepContext], Any] | None = None
    commit: Callable[[list[Any], StepContext], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __call__(self, config: StepConfig, ctx: StepContext) -> Any:
        return self.func(config, ctx)

    @property
    def output_type(self) -> Any:
        hints = typing.get_type_hints(self.func, include_extras=False)
        return hints.get("return", Any)

    @property
    def summary(self) -> str:
        text = self.description or (self.config.__doc__ or self.func.__doc__ or "").strip()
        return text.splitlines()[0] if text else ""


def step(
    name: str,
    *,
    config: type[StepConfig],
    version: str = "1",
    cache: bool = True,
    check: StaticCheck | None = None,
    fingerprint: Callable[[Any, StepContext], str] | None = None,
    partition: str | None = None,
    stage: Callable[[Any, StepContext], Any] | None = None,
    commit: Callable[[list[Any], StepContext], Any] | None = None,
) -> Callable[[Callable[..., Any]], StepType]:
    """Register a function as step type `name` (publish it under the `ragline.steps` entry point).

    `cache=False` marks steps whose result depends on the world, not only on
    their inputs (writing to a store); `fingerprint` adds what the config cannot
    see (e.g. the files a glob matches) to the step's cache key. `partition`
    names the list field a workflow may split across tasks (`partition:` on the
    step): the function then runs once per slice and downstream steps see the
    outputs joined in order, so it must map each item on its own. A step that
    writes one shared thing (a table) gives `stage` and `commit` instead: each
    slice runs `stage(config, ctx)`, and one task then runs `commit(staged, ctx)`
    over the slices' results in order; its return value is the step's output.
    """

    def wrap(func: Callable[..., Any]) -> StepType:
        return StepType(
            name=name,
            config=config,
            func=func,
            version=version,
            cache=cache,
            description=(func.__doc__ or "").strip(),
            check=check,
            fingerprint=fingerprint,
            partition=partition,
            stage=stage,
            commit=commit,
        )

    return wrap
