"""Evaluation scores kept per run, so a prompt or model change can be compared with the last.

One SQLite file beside the workflow (`.ragline/scores.sqlite`): a row per
`evaluate` step run with its metrics, the prompt template, version and hash,
and the model that answered. `ragline eval compare` reads it back.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    step_id TEXT NOT NULL,
    created REAL NOT NULL,
    metrics TEXT NOT NULL,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
)
"""


@dataclass
class ScoreRecord:
    run_id: str
    workflow: str
    step_id: str
    metrics: dict[str, float]
    prompt: dict[str, str] = field(default_factory=dict)
    model: str = ""
    created: float = field(default_factory=time.time)


def scores_path(state_dir: Path) -> Path:
    return state_dir / "scores.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    connection.execute(SCHEMA)
    return connection


def save(path: Path, record: ScoreRecord) -> None:
    with _connect(path) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.run_id,
                record.workflow,
                record.step_id,
                record.created,
                json.dumps(record.metrics, sort_keys=True),
                json.dumps(record.prompt, sort_keys=True),
                record.model,
            ),
        )


def _record(row: tuple[Any, ...]) -> ScoreRecord:
    run_id, workflow, step_id, created, metrics, prompt, model = row
    return ScoreRecord(
        run_id, workflow, step_id, json.loads(metrics), json.loads(prompt), model, created
    )


def recent(path: Path, limit: int = 20, workflow: str | None = None) -> list[ScoreRecord]:
    if not path.exists():
        return []
    query = "SELECT * FROM scores"
    args: tuple[Any, ...] = ()
    if workflow:
        query += " WHERE workflow = ?"
        args = (workflow,)
    with _connect(path) as connection:
        rows = connection.execute(query + " ORDER BY created DESC LIMIT ?", (*args, limit))
        return [_record(r) for r in rows.fetchall()]


def find(path: Path, run_id: str) -> list[ScoreRecord]:
    """Records of a run: an exact run id, or a unique prefix of one (as shown by `eval list`)."""
    if not path.exists():
        return []
    with _connect(path) as connection:
        rows = connection.execute(
            "SELECT * FROM scores WHERE run_id = ? OR run_id LIKE ? ORDER BY step_id",
            (run_id, run_id.replace("%", "") + "%"),
        ).fetchall()
    exact = [r for r in rows if r[0] == run_id]
    return [_record(r) for r in (exact or rows)]
