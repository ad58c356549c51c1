"""Model tests: a fake API key in the environment, and a ModelService factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragline.llm.service import ModelService
from ragline.testing.fixtures import TEST_KEY_ENV, workflow_model

API_KEY = "sk-test-DO-NOT-LEAK-4f9a2c"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The key every fake deployment uses (`env:RAGLINE_TEST_KEY`); it must never be printed."""
    monkeypatch.setenv(TEST_KEY_ENV, API_KEY)
    return API_KEY


@pytest.fixture
def service(tmp_path: Path) -> Callable[..., ModelService]:
    """`service(models=..., routing=...)` -> a ModelService with its disk cache in tmp_path."""

    def make(**sections: Any) -> ModelService:
        return ModelService(workflow_model(**sections), tmp_path)

    return make
