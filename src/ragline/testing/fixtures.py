"""pytest fixtures for model tests; enable with `pytest_plugins = ["ragline.testing.fixtures"]`.

- `openai_server`: a fresh FakeOpenAI on 127.0.0.1 for one test (stopped after it).
- `slow_openai_server`: the same with 100 ms latency on every answer.
- `model_workflow`: writes a workflow file with `models:` pointing at a server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline.testing.openai_server import FakeOpenAI


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    """A local OpenAI-compatible server; tell it how to misbehave with set_behavior/script."""
    with FakeOpenAI(retry_after=0.2, hang_seconds=10) as fake:
        yield fake


@pytest.fixture
def slow_openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(latency=0.1) as fake:
        yield fake


def write_workflow(folder: Path, data: dict[str, Any], name: str = "workflow.yaml") -> Path:
    """Write a workflow mapping as YAML (adds apiVersion and name when missing)."""
    body = {"apiVersion": "ragline/v1", "name": "test-workflow", **data}
    path = folder / name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.fixture
def model_workflow(tmp_path: Path) -> Callable[..., Path]:
    """`model_workflow(models=..., steps=..., **sections)` -> a workflow file in tmp_path."""

    def make(**sections: Any) -> Path:
        return write_workflow(tmp_path, sections)

    return make


TEST_KEY_ENV = "RAGLINE_TEST_KEY"


def fake_deployments(fake: FakeOpenAI, *names: str, **extra: Any) -> list[dict[str, Any]]:
    """`models:` entries for `openai/<name>` on the fake server, keyed by env:RAGLINE_TEST_KEY."""
    return [
        {
            "model": f"openai/{n}",
            "api_base": fake.base_url,
            "api_key": f"env:{TEST_KEY_ENV}",
            **extra,
        }
        for n in names
    ]


def workflow_model(**sections: Any) -> Any:
    """A validated Workflow with one placeholder step plus the given sections."""
    from ragline.spec.model import Workflow

    base = {
        "apiVersion": "ragline/v1",
        "name": "llm-test",
        "steps": [{"id": "s", "uses": "value", "with": {"value": 1}}],
    }
    return Workflow.model_validate({**base, **sections})
