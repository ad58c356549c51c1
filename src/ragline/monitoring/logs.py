"""JSON log lines: one object per record, with run id, step id and event fields.

`ragline run --log-format json` (or RAGLINE_LOG_FORMAT=json, which workers and
`ragline serve` read too) switches Prefect's console output and ragline's run
events to this format on stderr, so a log shipper can index every line by run
and step. Text (the default) leaves Prefect's console output as it is and
keeps events quiet.

A failed step says so on the terminal in one located line (`step boom failed
[business_logic, rl-..., retryable=False]: ...`, logged by the compiler), not in
the two to four tracebacks Prefect's engine logs for the same failure:
`quiet_failures` drops those engine lines from the terminal handlers only, so
the Prefect API (the UI's logs) still gets every traceback, and `--debug`
leaves the terminal as Prefect prints it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from ragline.monitoring.events import EVENTS_LOGGER, current_scope

LOG_FORMAT_ENV = "RAGLINE_LOG_FORMAT"
LogFormat = Literal["text", "json"]
_MARK = "_ragline_json"


def log_format() -> LogFormat:
    return "json" if os.environ.get(LOG_FORMAT_ENV, "").strip().lower() == "json" else "text"


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: ts, level, logger, message, run_id, step_id, event, fields."""

    def format(self, record: logging.LogRecord) -> str:
        scope = current_scope()
        run_id = getattr(record, "run_id", None) or _known(getattr(record, "flow_run_id", None))
        step_id = getattr(record, "step_id", None) or _known(getattr(record, "task_run_name", None))
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "run_id": run_id or scope.run_id,
            "step_id": step_id or scope.step_id,
            "message": record.getMessage(),
        }
        flow = _known(getattr(record, "flow_name", None)) or scope.flow_name
        if flow:
            line["flow"] = flow
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _known(value: Any) -> str | None:
    text = None if value is None else str(value)
    return None if not text or text.startswith("<unknown") else text


def configure_logging(fmt: LogFormat | None = None) -> LogFormat:
    """Apply the log format (default: from RAGLINE_LOG_FORMAT); safe to call again.

    In JSON mode every handler that writes to the terminal (Prefect's console
    handlers included) gets the JSON formatter, and run events get a stderr
    handler of their own.
    """
    if fmt is None:
        fmt = log_format()
    else:  # flow runs started later in this process (and its children) follow suit
        os.environ[LOG_FORMAT_ENV] = fmt
    events = logging.getLogger(EVENTS_LOGGER)
    if fmt != "json":
        return fmt
    formatter = JsonFormatter()
    if not any(getattr(h, _MARK, False) for h in events.handlers):
        own: logging.Handler = logging.StreamHandler(sys.stderr)
        setattr(own, _MARK, True)
        own.setFormatter(formatter)
        events.addHandler(own)
    events.setLevel(logging.INFO)
    events.propagate = False
    for logger in _terminal_loggers():
        for i, handler in enumerate(list(logger.handlers)):
            if getattr(handler, _MARK, False) or not _writes_to_terminal(handler):
                continue
            # Prefect's console handler prints through rich (colours, wrapping):
            # a plain stream handler keeps each JSON object on one clean line.
            plain: logging.Handler = logging.StreamHandler(getattr(handler, "stream", sys.stderr))
            plain.setLevel(handler.level)
            for f in handler.filters:
                plain.addFilter(f)
            plain.setFormatter(formatter)
            setattr(plain, _MARK, True)
            logger.handlers[i] = plain
    return fmt


def _terminal_loggers() -> list[logging.Logger]:
    manager = logging.Logger.manager
    loggers = [logging.getLogger()]
    # Every library's terminal handler (prefect, distributed, litellm...), so no line is text.
    loggers.extend(v for v in list(manager.loggerDict.values()) if isinstance(v, logging.Logger))
    return loggers


def _writes_to_terminal(handler: logging.Handler) -> bool:
    if type(handler).__name__ == "PrefectConsoleHandler":
        return True
    stream = getattr(handler, "stream", None)
    return isinstance(handler, logging.StreamHandler) and stream in (sys.stderr, sys.stdout)


# Engine lines that repeat a failure the compiler already logged in one line (the
# flow and task engines log the exception with its traceback, then the final state).
_REPEATS = (
    "Task run failed with exception",
    "Task run failed due to timeout",
    "Encountered exception during execution",
    "Finished in state Failed",
    "Finished in state TimedOut",
)
# ragline's own flow-run hooks, which Prefect announces at INFO on every run.
QUIET_HOOK_PREFIX = "_ragline_"
_QUIET = "_ragline_quiet"


class _QuietFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if QUIET_HOOK_PREFIX in message and "hook" in message.lower():
            return False
        return not (record.name.startswith("prefect") and message.startswith(_REPEATS))


class _NoTraceback(logging.Formatter):
    """Wraps a handler's formatter: the record's own line, its traceback left out."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def quiet_failures(*, debug: bool) -> None:
    """One line per failed step on the terminal; Prefect's tracebacks only with --debug.

    Call after Prefect configured its logging (after importing the compiler).
    """
    if debug:
        return
    for logger in _terminal_loggers():
        for handler in logger.handlers:
            if getattr(handler, _QUIET, False) or not _writes_to_terminal(handler):
                continue
            handler.addFilter(_QuietFailures())
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(_NoTraceback(handler.formatter))
            setattr(handler, _QUIET, True)
