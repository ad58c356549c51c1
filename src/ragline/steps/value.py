"""`value`: output a value built from inputs and upstream outputs.

Useful to name an intermediate result, reshape data for the next step, or
give a constant a step id other steps can depend on.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ragline.sdk.context import StepContext
from ragline.sdk.step import StepConfig, step


class ValueConfig(StepConfig):
    """Output `value` as it is after expressions are resolved."""

    value: Any = Field(description="Any value; `${{ }}` expressions inside are resolved.")


@step("value", config=ValueConfig, version="1")
def value(config: ValueConfig, ctx: StepContext) -> Any:
    """Output a value built from inputs and upstream outputs."""
    return config.value
