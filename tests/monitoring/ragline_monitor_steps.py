"""Step types for monitoring tests, loaded through RAGLINE_PLUGINS (beside ragline_test_steps)."""

from __future__ import annotations

from ragline.sdk import StepConfig, StepContext, step


class ProgressConfig(StepConfig):
    """Go through `items` items, reporting progress after each."""

    items: int = 10
    verb: str = "ingested"


@step("progress", config=ProgressConfig)
def progress(config: ProgressConfig, ctx: StepContext) -> int:
    """Report `verb done/total` for every item, the way a long ingest would."""
    for done in range(1, config.items + 1):
        ctx.progress(done, config.items, config.verb)
    return config.items


class WhereConfig(StepConfig):
    """Append the process id and thread this step runs on to `log`; output `value`."""

    log: str
    value: str = "here"


@step("where", config=WhereConfig)
def where(config: WhereConfig, ctx: StepContext) -> str:
    """Say where the step ran: the process id and thread (a Dask worker, or the thread pool)."""
    import os
    import threading

    with ctx.resolve_path(config.log).open("a") as f:
        f.write(f"{ctx.step_id} {os.getpid()} {threading.current_thread().name}\n")
    return config.value
