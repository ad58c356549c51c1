"""The step SDK: what every step type, built-in or plugin, is written against.

This is ragline's public plugin API, and the one place it is exported from:

    from ragline.sdk import StepConfig, StepContext, step

A step type is a pydantic config model plus a plain function, registered with
`@step` and published under the `ragline.steps` entry-point group. Nothing here
imports Prefect, LiteLLM or LanceDB: a plugin's unit test calls its function
with a config and a `StepContext`, and `ragline validate` stays fast.
"""

from ragline.sdk.context import RunInfo, RunServices, StepContext
from ragline.sdk.step import (
    AliasOf,
    ModelAlias,
    Ref,
    StepConfig,
    StepType,
    StoreAlias,
    TemplateSource,
    step,
)

__all__ = [
    "AliasOf",
    "ModelAlias",
    "Ref",
    "RunInfo",
    "RunServices",
    "StepConfig",
    "StepContext",
    "StepType",
    "StoreAlias",
    "TemplateSource",
    "step",
]
