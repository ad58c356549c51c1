"""What the flow body (the run's driver) learns of a step: its final state and a small result.

On a Dask cluster a task's result (chunks with their vectors) stays on the worker
that computed it; the downstream tasks fetch it from there. The driver needs only
each step's state, duration, metrics and attempt, plus the output of the steps
`outputs:` reads. So for any other step it asks the worker that holds the result
for a summary: a small Dask task next to the result returns the `StepResult`
without its output (and the output's length, which a `partition: {size: N}`
downstream needs). The driver's memory then does not grow with the corpus.

With threads the results are in the driver's process anyway: read as they are.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ragline.compiler.partitions import CommittedFuture, PartitionedFuture, joined
from ragline.compiler.records import StepResult
from ragline.errors import ErrorCategory, StepError

# Summaries jump the queue of a busy worker: they take milliseconds and unblock the driver.
_SUMMARY_PRIORITY = 100
_POLL_S = 2.0


@dataclass(frozen=True)
class Outcome:
    """A task run's final state, and its result (output left out unless asked for)."""

    state: str  # the Prefect state's name: Completed, Cached, Failed, TimedOut, Crashed...
    completed: bool
    message: str | None = None
    result: StepResult | None = None
    error: BaseException | None = None
    length: int | None = None  # of the output, when it is a list

    @property
    def cached(self) -> bool:
        return self.state == "Cached"


def outcome(future: Any, *, full: bool) -> Outcome:
    """A step's outcome; `full` fetches its output (for `outputs:`), else a summary only."""
    if isinstance(future, CommittedFuture):
        for part in future.parts:  # a failed slice names the failure
            staged = task_outcome(part, full=False)
            if not staged.completed:
                return staged
        return task_outcome(future.commit, full=True)  # the commit's result is small
    if isinstance(future, PartitionedFuture):
        return _joined([task_outcome(part, full=full) for part in future.parts])
    return task_outcome(future, full=full)


def task_outcome(future: Any, *, full: bool) -> Outcome:
    """One task run's outcome: summarised where its result lives, on a Dask cluster."""
    wrapped: Any = getattr(future, "wrapped_future", None)
    client = getattr(wrapped, "client", None)  # a distributed.Future knows its client
    if client is None:
        future.wait()
        return outcome_of_state(future.state, full=True, result=future.result)
    try:
        if full:
            state = _result(wrapped, client)
            return outcome_of_state(
                state, full=True, result=lambda **kw: state.result(_sync=True, **kw)
            )
        summary = client.submit(_summary, wrapped, pure=False, priority=_SUMMARY_PRIORITY)
        return _result(summary, client)  # type: ignore[no-any-return]
    except Exception as exc:  # the worker died for good, or the scheduler went away
        return Outcome("Crashed", False, str(exc), error=lost_cluster(exc, client) or exc)


def _result(future: Any, client: Any) -> Any:
    """A distributed future's result, or an error once its client has given up on the scheduler.

    When the scheduler goes away, Dask's client tries to reconnect (30 s by default),
    then closes, and the futures it leaves behind never finish: wait in short steps.
    """
    while True:
        try:
            return future.result(timeout=_POLL_S)
        except TimeoutError:
            if client.status in ("closing", "closed"):
                raise ConnectionError(f"the Dask client is {client.status}") from None


def _summary(state: Any) -> Outcome:
    """On the worker holding a task's State: its outcome without the output."""
    return outcome_of_state(state, full=False, result=lambda **kw: state.result(_sync=True, **kw))


def outcome_of_state(state: Any, *, full: bool, result: Any) -> Outcome:
    if state.is_completed():
        value: StepResult = result()
        length = len(value.output) if isinstance(value.output, list) else None
        kept = value if full else value.summary()
        return Outcome(state.name, True, state.message, kept, None, length)
    error: BaseException | None = None
    try:
        raised = result(raise_on_failure=False)
        error = raised if isinstance(raised, BaseException) else None
    except Exception as exc:  # the failure we are reporting
        error = exc
    return Outcome(state.name, False, state.message, None, error)


def _joined(parts: list[Outcome]) -> Outcome:
    """A partitioned step's outcome: the first unfinished slice's, else the slices joined."""
    for part in parts:
        if not part.completed:
            return part
    results = [p.result for p in parts if p.result is not None]
    fresh = [p for p in parts if not p.cached]
    lengths = [p.length for p in parts]
    return Outcome(
        "Cached" if not fresh else fresh[0].state,
        True,
        (fresh or parts)[0].message,
        joined(results),
        None,
        None if None in lengths else sum(n for n in lengths if n is not None),
    )


def lost_cluster(exc: BaseException, client: Any) -> StepError | None:
    """A located error when the Dask scheduler is gone; None while it answers."""
    address = getattr(getattr(client, "scheduler", None), "address", None)
    if not isinstance(address, str):  # a closed client forgets it, but not what it was given
        address = getattr(client, "_start_arg", None)
    if not isinstance(address, str):
        return None
    # A client that lost its scheduler reconnects ("connecting"), then gives up ("closed").
    if getattr(client, "status", "running") == "running" and _answers(address):
        return None
    return StepError(
        f"the Dask scheduler at {address} went away during the run "
        f"({type(exc).__name__}); start a scheduler and rerun: "
        "the cached partitions that finished are not run again",
        category=ErrorCategory.INFRASTRUCTURE,
        retryable=False,
        step_id="(cluster)",
    )


def _answers(address: str, timeout: float = 2.0) -> bool:
    parts = urlsplit(address)
    if not parts.hostname or not parts.port:
        return True
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False
