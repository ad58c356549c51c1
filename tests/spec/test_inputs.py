"""Run parameters are checked against `inputs:` before anything runs."""

from __future__ import annotations

import json

import pytest

from ragline.errors import ParameterError
from ragline.spec.inputs import check_parameters, parse_assignments
from ragline.spec.model import Workflow


def workflow(**inputs: dict[str, object]) -> Workflow:
    return Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "params",
            "inputs": inputs,
            "steps": [{"id": "echo", "uses": "value", "with": {"value": 1}}],
        }
    )


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_a_number_input_refuses_what_json_cannot_carry(raw: str) -> None:
    wf = workflow(threshold={"type": "number", "maximum": 1})
    with pytest.raises(ParameterError) as err:
        check_parameters(wf, parse_assignments(wf, [f"threshold={raw}"]))
    assert err.value.problems == [
        (
            "threshold",
            f"input 'threshold' must be a finite number, got {raw}: NaN and Infinity are "
            "not JSON, so a run could neither store nor print it",
        )
    ]


def test_a_list_input_refuses_an_infinity_inside_it() -> None:
    wf = workflow(weights={"type": "array"})
    with pytest.raises(ParameterError) as err:
        check_parameters(wf, parse_assignments(wf, ["weights=[1, [2, -Infinity]]"]))
    assert "input 'weights' holds -Infinity" in str(err.value)


def test_a_non_finite_default_is_refused_like_a_passed_value() -> None:
    wf = workflow(threshold={"type": "number", "default": float("inf")})
    with pytest.raises(ParameterError, match="got Infinity"):
        check_parameters(wf, {})


def test_finite_numbers_pass_and_print_as_strict_json() -> None:
    wf = workflow(threshold={"type": "number"}, name={"type": "string"})
    params = check_parameters(wf, parse_assignments(wf, ["threshold=1e308", "name=NaN"]))
    assert params == {"threshold": 1e308, "name": "NaN"}  # a string input keeps the text
    assert json.loads(json.dumps(params, allow_nan=False)) == params


def test_a_parameter_nested_past_the_stack_is_refused_by_name() -> None:
    wf = workflow(xs={"type": "array"})
    with pytest.raises(ParameterError) as err:
        parse_assignments(wf, ["xs=" + "[" * 100_000])
    assert err.value.problems == [
        ("xs", "input 'xs' is nested too deeply to read; pass a flatter value")
    ]
