"""`ragline eval list|compare`: what the stored evaluation scores say about a change.

Scores live beside the workflow (`.ragline/scores.sqlite`, written by every
`evaluate` step); `--at` names that workflow file or its folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ragline.errors import ConfigError

if TYPE_CHECKING:
    from ragline.evaluation.scores import ScoreRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="eval_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="Recent runs with their scores.")
    listing.add_argument("--workflow", help="only runs of this workflow name")
    listing.add_argument("--limit", type=int, default=20)
    compare = sub.add_parser("compare", help="Metric by metric: run A, run B, the change.")
    compare.add_argument("run_a", metavar="RUN_A", help="run id (or a unique prefix)")
    compare.add_argument("run_b", metavar="RUN_B", help="run id (or a unique prefix)")
    for p in (listing, compare):
        p.add_argument(
            "--at", default=".", metavar="PATH", help="the workflow file or its folder (default: .)"
        )


def _db(at: str) -> Path:
    from ragline.evaluation.scores import scores_path

    path = Path(at)
    folder = path.parent if path.is_file() else path
    db = scores_path(folder / ".ragline")
    if not db.exists():
        raise ConfigError(
            f"no stored scores at {db}: run a workflow with an `evaluate` step first, "
            "or point --at at the workflow file"
        )
    return db


def run(args: argparse.Namespace) -> int:
    from ragline.evaluation.scores import find, recent

    db = _db(args.at)
    if args.eval_command == "list":
        rows = recent(db, args.limit, args.workflow)
        print(f"{'run':<38}{'workflow':<18}{'step':<12}{'prompt':<16}{'model':<22}metrics")
        for r in rows:
            prompt = f"v{r.prompt.get('version', '?')}" if r.prompt else "-"
            shown = ", ".join(f"{k}={v:.3f}" for k, v in sorted(r.metrics.items()))
            print(
                f"{r.run_id:<38}{r.workflow:<18}{r.step_id:<12}{prompt:<16}"
                f"{r.model or '-':<22}{shown}"
            )
        return 0
    a, b = (_one(find(db, run_id), run_id) for run_id in (args.run_a, args.run_b))
    print(f"A: {a.run_id} ({a.workflow}, prompt {_prompt(a.prompt)}, model {a.model or '-'})")
    print(f"B: {b.run_id} ({b.workflow}, prompt {_prompt(b.prompt)}, model {b.model or '-'})")
    for what, old, new in (
        ("prompt", _prompt(a.prompt), _prompt(b.prompt)),
        ("model", a.model, b.model),
    ):
        if old != new:
            print(f"changed: {what} {old or '-'} -> {new or '-'}")
    print(f"\n{'metric':<18}{'A':>8}{'B':>8}{'change':>9}")
    for metric in sorted(set(a.metrics) | set(b.metrics)):
        va, vb = a.metrics.get(metric), b.metrics.get(metric)
        delta = f"{vb - va:+.3f}" if va is not None and vb is not None else "n/a"
        print(f"{metric:<18}{_num(va):>8}{_num(vb):>8}{delta:>9}")
    return 0


def _one(records: list[ScoreRecord], run_id: str) -> ScoreRecord:
    if not records:
        raise ConfigError(f"no stored scores for run '{run_id}'; `ragline eval list` shows runs")
    runs = {r.run_id for r in records}
    if len(runs) > 1:
        raise ConfigError(f"run id '{run_id}' is ambiguous: {', '.join(sorted(runs)[:5])}")
    return records[0]


def _prompt(prompt: dict[str, str]) -> str:
    if not prompt:
        return ""
    digest = prompt.get("hash", "")[:19]
    return f"{prompt.get('template', '')} v{prompt.get('version', '?')} ({digest})"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
