"""Run events (`step.finished`, `model.call`, `run.finished`, ...) as log records.

An event is a record on the `ragline.events` logger whose `extra` carries the
fields; the JSON formatter turns it into one line. The run and step ids come
from a context variable the compiler sets around each step, so code deep
inside a step (or a LiteLLM callback, which LiteLLM runs in a copy of the
caller's context) does not have to pass them along.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

EVENTS_LOGGER = "ragline.events"


@dataclass(frozen=True)
class Scope:
    run_id: str | None = None
    step_id: str | None = None
    flow_name: str | None = None


_EMPTY = Scope()
_scope: contextvars.ContextVar[Scope] = contextvars.ContextVar("ragline_scope", default=_EMPTY)


def current_scope() -> Scope:
    return _scope.get()


@contextmanager
def scope(
    run_id: str | None = None, step_id: str | None = None, flow_name: str | None = None
) -> Iterator[Scope]:
    """Within this block every event (and JSON log line) names this run and step."""
    outer = _scope.get()
    inner = Scope(
        run_id=run_id or outer.run_id,
        step_id=step_id or outer.step_id,
        flow_name=flow_name or outer.flow_name,
    )
    token = _scope.set(inner)
    try:
        yield inner
    finally:
        _scope.reset(token)


def emit(event: str, message: str | None = None, /, **fields: Any) -> None:
    """Log one event; its fields become keys of the JSON line."""
    logger = logging.getLogger(EVENTS_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        return
    s = _scope.get()
    extra = {
        "event": event,
        "run_id": fields.pop("run_id", None) or s.run_id,
        "step_id": fields.pop("step_id", None) or s.step_id,
        "fields": fields,
    }
    logger.info(message or event, extra=extra)
