"""Progress of a long step: log lines a user can follow, a bar on a terminal.

A step calls `ctx.progress(done, total, "ingested")` as often as it likes; the
reporter logs "ingested 120/2000" at most every few seconds (and at the end),
so the Prefect UI and JSON logs show the step moving without a line per item.
When stderr is a terminal and logs are not JSON, a one-line bar redraws in
place as well.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

from ragline.monitoring.events import emit
from ragline.monitoring.logs import log_format

LOG_EVERY_S = 5.0
BAR_WIDTH = 30


class Progress:
    """One step's progress; thread-safe, cheap to call once per item."""

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        *,
        label: str,
        stream: TextIO | None = None,
        interactive: bool | None = None,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.logger = logger
        self.label = label
        self.stream = stream or sys.stderr
        if interactive is None:
            interactive = _isatty(self.stream) and log_format() != "json"
        self.interactive = interactive
        self.log_every_s = log_every_s
        self._last_log = float("-inf")
        self._last_bar = float("-inf")
        self._lock = threading.Lock()
        self.lines: int = 0

    def update(self, done: int, total: int | None = None, verb: str = "done") -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        with self._lock:
            if finished or now - self._last_log >= self.log_every_s:
                self._last_log = now
                self.lines += 1
                where = f"{done}/{total}" if total is not None else str(done)
                self.logger.info("%s %s", verb, where)
                emit("step.progress", f"{verb} {where}", done=done, total=total, verb=verb)
            if self.interactive and (finished or now - self._last_bar >= 0.1):
                self._last_bar = now
                self.stream.write("\r" + bar(self.label, done, total, verb))
                if finished:
                    self.stream.write("\n")
                self.stream.flush()


def bar(label: str, done: int, total: int | None, verb: str = "done") -> str:
    """`label [#########.........]  120/2000 ingested (6%)`."""
    if not total:
        return f"{label} {done} {verb}"
    share = min(1.0, max(0.0, done / total))
    filled = round(share * BAR_WIDTH)
    drawn = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"{label} [{drawn}] {done}/{total} {verb} ({share:.0%})"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
