"""Fixtures for monitoring tests: the test step types, in-process and in a `ragline` subprocess."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragline.sdk.registry import Registry, discover

HERE = Path(__file__).resolve().parent
COMPILER_TESTS = HERE.parent / "compiler"
PLUGINS = "ragline_test_steps,ragline_monitor_steps"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """Built-in steps plus the compiler's test steps (flaky, count...) and `progress`."""
    monkeypatch.syspath_prepend(str(COMPILER_TESTS))
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("RAGLINE_PLUGINS", PLUGINS)
    return discover()


@pytest.fixture
def plugin_env() -> dict[str, str]:
    """Environment for a `ragline` subprocess that knows the test step types."""
    path = os.pathsep.join([str(COMPILER_TESTS), str(HERE), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "RAGLINE_PLUGINS": PLUGINS}
