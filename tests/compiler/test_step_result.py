"""A step's result travels between tasks without Prefect walking its output.

Prefect walks every task input looking for futures and upstream states, and it
walks into dataclasses and pydantic models. A slice of `index` receives a slice of
`embed`'s output: hundreds of chunks with 384 floats each. That walk used to cost
about a second of a worker's time per slice; a `StepResult` is one leaf to it.
"""

from __future__ import annotations

import pickle
from typing import Any

from prefect.states import Completed
from prefect.utilities.collections import visit_collection
from prefect.utilities.engine import collect_task_run_inputs_sync, resolve_inputs_sync

from ragline.compiler.records import StepResult
from ragline.documents import Chunk


def embedded_slice(n: int = 250) -> StepResult:
    chunks = [
        Chunk(id=f"c{i}", document_id=f"d{i}", text="a passage " * 20, vector=[0.5] * 384)
        for i in range(n)
    ]
    return StepResult(chunks, "fingerprint", 1.5, {"embedded": n}, attempt=2)


def test_prefect_sees_a_step_result_as_one_leaf() -> None:
    visited: list[Any] = []
    visit_collection({"upstream": {"embed": [Completed(data=embedded_slice())]}}, visited.append)

    assert sum(isinstance(v, StepResult) for v in visited) == 1
    assert not any(isinstance(v, (Chunk, float)) for v in visited)


def test_a_task_input_resolves_to_the_same_result_it_was_given() -> None:
    given = embedded_slice()
    upstream = Completed(data=given)
    parameters = {"upstream": {"embed": [upstream]}, "run_id": "r"}

    assert collect_task_run_inputs_sync(parameters) == set()  # a bare state names no run
    resolved = resolve_inputs_sync(parameters)

    assert resolved["upstream"]["embed"][0] is given


def test_a_step_result_pickles_and_compares_by_value() -> None:
    result = embedded_slice(3)

    assert pickle.loads(pickle.dumps(result)) == result
    assert result != result.summary()
    assert result.summary().output is None
    assert result.summary().metrics == {"embedded": 3}
    assert "fingerprint='fingerprint'" in repr(result)
