"""The plugin API is exported from one place, `ragline.sdk`; the old place still answers.

Plugins written before the SDK had its own package imported `StepConfig` and
friends from `ragline.steps`; they keep working, with a warning that says where
the name lives now.
"""

from __future__ import annotations

import warnings

import pytest

import ragline.sdk
import ragline.steps
from ragline.sdk import StepConfig, StepContext, step


def test_a_plugin_step_is_written_against_ragline_sdk_alone(tmp_path) -> None:
    class ShoutConfig(StepConfig):
        text: str

    @step("shout", config=ShoutConfig)
    def shout(config: ShoutConfig, ctx: StepContext) -> str:
        """Upper-case a text."""
        return config.text.upper()

    from ragline.spec.model import Workflow

    workflow = Workflow.model_validate(
        {"apiVersion": "ragline/v1", "name": "w", "steps": [{"id": "a", "uses": "value"}]}
    )
    ctx = StepContext(step_id="a", workflow=workflow, workflow_dir=tmp_path)
    assert shout(ShoutConfig(text="hi"), ctx) == "HI"
    assert shout.summary == "Upper-case a text."


@pytest.mark.parametrize("name", sorted(ragline.sdk.__all__))
def test_an_sdk_name_imported_from_ragline_steps_warns_and_is_the_same_object(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"import {name} from ragline.sdk"):
        old = getattr(ragline.steps, name)
    assert old is getattr(ragline.sdk, name)


def test_a_name_neither_package_has_is_an_attribute_error_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'StepConfigg'"):
            ragline.steps.StepConfigg  # noqa: B018
