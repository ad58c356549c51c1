"""Step types: the public pieces a built-in or plugin step is made of."""

from ragline.steps.base import AliasOf, ModelAlias, Ref, StepConfig, StepType, StoreAlias, step
from ragline.steps.context import RunInfo, RunServices, StepContext

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
    "step",
]
