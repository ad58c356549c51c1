"""Flow runs whose `ragline run` process vanished end CRASHED, not RUNNING forever.

A run that is SIGKILLed (or loses its machine's power) cannot tell the server
it ended. So every `ragline run` writes a small record as soon as it knows its
API, `PREFECT_HOME/ragline-runs/<pid>.json` with its pid, the pid's start time,
the API URL and (once started) its flow run id, and removes it when the run
ends however it ends.
A record whose process is gone belongs to a killed run: the local server's
watchdog (every few seconds) and the next `ragline run` against the same API
set that flow run, and its task runs that were still running, to CRASHED.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ragline.ops.local_server import alive, process_started

RUNS_DIR = "ragline-runs"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
UNFINISHED = ["RUNNING", "PENDING", "SCHEDULED", "CANCELLING", "PAUSED"]


@dataclass
class RunRecord:
    """One `ragline run` process: the API it records into and the flow runs it started."""

    api_url: str
    pid: int
    pid_started: str | None
    started_at: float
    flow_run_ids: list[str] = field(default_factory=list)


def _path(home: Path, pid: int | None = None) -> Path:
    return home / RUNS_DIR / f"{pid or os.getpid()}.json"


def _write(home: Path, record: RunRecord) -> None:
    path = _path(home, record.pid)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)))
    os.replace(tmp, path)


def register(home: Path, api_url: str) -> RunRecord:
    """Record that this process is about to run flows on `api_url` (a live run keeps the
    local server from stopping idle, even while it is still importing Prefect)."""
    record = RunRecord(
        api_url=api_url.rstrip("/"),
        pid=os.getpid(),
        pid_started=process_started(os.getpid()),
        started_at=time.time(),
    )
    _write(home, record)
    return record


def add_flow_run(home: Path, record: RunRecord, flow_run_id: str) -> None:
    record.flow_run_ids.append(flow_run_id)
    _write(home, record)


def unregister(home: Path, pid: int | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(home, pid).unlink()


def records(home: Path, api_url: str) -> list[RunRecord]:
    folder = home / RUNS_DIR
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.json"):
        try:
            record = RunRecord(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if record.api_url == api_url.rstrip("/"):
            out.append(record)
    return out


def live_runs(home: Path, api_url: str) -> list[RunRecord]:
    return [r for r in records(home, api_url) if alive(r.pid, r.pid_started)]


def _call(method: str, url: str, body: Any, headers: dict[str, str], timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def _crash(api_url: str, path: str, message: str, headers: dict[str, str]) -> None:
    state = {"type": "CRASHED", "name": "Crashed", "message": message}
    _call("POST", f"{api_url}{path}/set_state", {"state": state, "force": True}, headers)


def mark_crashed(record: RunRecord, flow_run_id: str, headers: dict[str, str]) -> bool:
    """Set the flow run (and its unfinished task runs) CRASHED; False if it had ended."""
    url = record.api_url
    message = (
        f"the `ragline run` process (pid {record.pid}) that ran this flow run ended without "
        "reporting a final state (killed?)"
    )
    try:
        run = _call("GET", f"{url}/flow_runs/{flow_run_id}", None, headers)
    except urllib.error.HTTPError as err:
        if err.code == 404:  # the server forgot it (a fresh database): nothing to mark
            return False
        raise
    state_type = ((run or {}).get("state") or {}).get("type")
    if state_type in TERMINAL:
        return False
    tasks = _call(
        "POST",
        f"{url}/task_runs/filter",
        {
            "flow_runs": {"id": {"any_": [flow_run_id]}},
            "task_runs": {"state": {"type": {"any_": UNFINISHED}}},
        },
        headers,
    )
    for task in tasks or []:
        _crash(url, f"/task_runs/{task['id']}", message, headers)
    _crash(url, f"/flow_runs/{flow_run_id}", message, headers)
    return True


def sweep(home: Path, api_url: str, *, headers: dict[str, str] | None = None) -> list[str]:
    """Mark the runs of vanished processes on `api_url` CRASHED; the flow run ids marked."""
    marked = []
    for record in records(home, api_url):
        if alive(record.pid, record.pid_started):
            continue
        for flow_run_id in record.flow_run_ids:
            if mark_crashed(record, flow_run_id, headers or {}):
                marked.append(flow_run_id)
        unregister(home, record.pid)
    return marked
