"""What a running step may use: paths, stores, models, a logger, run metrics.

Resources that are costly to build (the LiteLLM router, an embedding model, a
LanceDB connection) live in `RunServices`, built once per run on first use and
shared by every step of the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline.spec.model import StoreSpec, Workflow

R = TypeVar("R")


@dataclass
class RunServices:
    """Per-run resources, created lazily and thread-safely (steps run concurrently)."""

    _items: dict[Any, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get_or_create(self, key: Any, factory: Callable[[], R]) -> R:
        with self._lock:
            if key not in self._items:
                self._items[key] = factory()
            return self._items[key]  # type: ignore[no-any-return]

    def close(self) -> None:
        """At the end of a run: close every resource that can be closed, each once.

        A resource that fails to close is logged and the others are still closed;
        the run's result does not depend on it.
        """
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for item in items:
            close = getattr(item, "close", None)
            if not callable(close):
                continue
            try:
                close()
            except Exception as exc:  # one broken resource must not keep the others open
                logging.getLogger("ragline").warning(
                    "could not close %s at the end of the run: %s", type(item).__name__, exc
                )


@dataclass
class RunInfo:
    run_id: str = "local"
    flow_name: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepContext:
    """Handed to every step function along with its config."""

    step_id: str
    workflow: Workflow
    workflow_dir: Path
    logger: logging.Logger | logging.LoggerAdapter[Any] = field(
        default_factory=lambda: logging.getLogger("ragline.step")
    )
    run: RunInfo = field(default_factory=RunInfo)
    services: RunServices = field(default_factory=RunServices)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        """Where ragline keeps its own state for this workflow (caches, default stores)."""
        return self.workflow_dir / ".ragline"

    def resolve_path(self, path: str | Path) -> Path:
        """Paths in a workflow are relative to the workflow file's folder, like docker-compose."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.workflow_dir / p)

    def progress(self, done: int, total: int | None = None, verb: str = "done") -> None:
        """Report how far a long step is ("ingested 120/2000").

        Logged every few seconds and at the end (so the Prefect UI shows it),
        and drawn as a bar when `ragline run` writes to a terminal.
        """
        from ragline.monitoring.progress import Progress

        reporter = self.services.get_or_create(
            ("ragline.progress", self.run.run_id, self.step_id),
            lambda: Progress(self.logger, label=self.step_id),
        )
        reporter.update(done, total, verb)

    def store(self, alias: str) -> StoreSpec:
        try:
            return self.workflow.stores[alias]
        except KeyError:
            known = ", ".join(sorted(self.workflow.stores)) or "none"
            raise ConfigError(f"unknown store '{alias}' (stores defined: {known})") from None
