"""Step types for compiler tests, loaded through RAGLINE_PLUGINS like any extra module.

Each one leaves evidence a test can read afterwards: a line per execution in a
log file (to tell a cache hit from a run) and timestamps (to prove overlap).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ragline.errors import StepError
from ragline.sdk import Ref, StepConfig, StepContext, step


class Span(BaseModel):
    """When a step ran, by the wall clock."""

    step_id: str
    started: float
    finished: float


class SleepConfig(StepConfig):
    """Sleep, then say when."""

    seconds: float = 0.3
    log: str | None = None


@step("sleep", config=SleepConfig)
def sleep(config: SleepConfig, ctx: StepContext) -> Span:
    """Sleep for `seconds` and return the span it took."""
    started = time.time()
    time.sleep(config.seconds)
    if config.log:
        _append(ctx, config.log)
    return Span(step_id=ctx.step_id, started=started, finished=time.time())


class CountConfig(StepConfig):
    """Record each execution in `log`, then output `value`."""

    log: str
    value: Any = None


@step("count", config=CountConfig)
def count(config: CountConfig, ctx: StepContext) -> Any:
    """Append the step id to `log` each time the step really runs."""
    _append(ctx, config.log)
    return config.value


class FlakyConfig(StepConfig):
    """Fail the first `failures` executions with an error of `category`."""

    log: str
    failures: int = 1
    category: Literal["model", "input", "infrastructure", "business_logic"] = "model"
    value: Any = "ok"


@step("flaky", config=FlakyConfig)
def flaky(config: FlakyConfig, ctx: StepContext) -> Any:
    """Fail until it has been attempted more than `failures` times (counted in `log`)."""
    attempts = _append(ctx, config.log)
    if attempts <= config.failures:
        raise StepError(
            f"attempt {attempts} failed on purpose",
            category=config.category,
            hint="this is a test step",
        )
    return config.value


def _append(ctx: StepContext, log: str) -> int:
    """Append the step id to the log; return how often this step has run."""
    path = Path(ctx.resolve_path(log))
    with path.open("a") as f:
        f.write(ctx.step_id + "\n")
    return path.read_text().splitlines().count(ctx.step_id)


class KeepConfig(StepConfig):
    """Take chunks from upstream in batches (an `index` stand-in for tests)."""

    chunks: Ref[list[Any]]
    batch_size: int = 64


@step("keep", config=KeepConfig)
def keep(config: KeepConfig, ctx: StepContext) -> list[Any]:
    """Output the chunks it was given."""
    return list(config.chunks)
