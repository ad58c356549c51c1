"""A step type for the failure tests: wait for a file, so a test can act mid-run."""

from __future__ import annotations

import time
from typing import Any

from ragline.sdk.context import StepContext
from ragline.sdk.step import StepConfig, step


class WaitConfig(StepConfig):
    """Touch `started`, then wait (at most `timeout` s) until `go` exists."""

    started: str
    go: str
    value: Any = None
    timeout: float = 60


@step("wait-for-file", config=WaitConfig)
def wait_for_file(config: WaitConfig, ctx: StepContext) -> Any:
    ctx.resolve_path(config.started).touch()
    deadline = time.monotonic() + config.timeout
    while not ctx.resolve_path(config.go).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{config.go} did not appear")
        time.sleep(0.1)
    return config.value
