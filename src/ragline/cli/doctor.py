"""`ragline doctor [PATH...] [--json]`: is everything a run needs there? One screen.

Checks the Prefect API (and which one), PostgreSQL when the server is
configured for it, then per workflow: LanceDB stores readable and writable,
model aliases routable and their endpoints answering, secrets present (never
shown), Redis when the cache uses it, and free disk. Exit 0 when nothing
failed (warnings are fine), 1 when something did, 2 for an invalid workflow.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ragline.errors import WorkflowError

if TYPE_CHECKING:
    from ragline.ops.doctor import Check

MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="workflow files to check")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def _run_check(check: Callable[[], Check | None]) -> Check | None:
    from ragline.ops.doctor import Check

    try:
        return check()
    except Exception as err:  # a check that breaks is a finding, not a crash
        name = getattr(getattr(check, "func", check), "__name__", "check")
        return Check("fail", name.removeprefix("check_"), f"{type(err).__name__}: {err}")


def _run_all(checks: Iterable[Callable[[], Check | None]]) -> list[Check]:
    return [c for c in map(_run_check, checks) if c is not None]


def run(args: argparse.Namespace) -> int:
    from ragline.validation.workflow import load_workflow

    loaded = []
    problems: list[WorkflowError] = []
    for path in args.paths:
        try:
            loaded.append(load_workflow(path))
        except WorkflowError as invalid:
            problems.append(invalid)
    if problems:
        for problem in problems:
            print(problem.render(), file=sys.stderr)
        print("doctor: fix the workflow first (`ragline validate`)", file=sys.stderr)
        return 2

    from pathlib import Path

    from ragline.ops.doctor import (
        check_disk,
        check_prefect_api,
        check_prefect_database,
        workflow_checks,
    )

    general = [check_prefect_api, check_prefect_database]
    if not loaded:
        general.append(lambda: check_disk(Path.cwd()))
    sections: list[tuple[str, list[Check]]] = [("environment", _run_all(general))]
    for item in loaded:
        title = f"workflow {item.workflow.name} ({item.path})"
        sections.append((title, _run_all(workflow_checks(item.workflow, item.directory))))

    failed = sum(c.status == "fail" for _, checks in sections for c in checks)
    warned = sum(c.status == "warn" for _, checks in sections for c in checks)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not failed,
                    "sections": [
                        {"title": t, "checks": [c.as_dict() for c in cs]} for t, cs in sections
                    ],
                },
                indent=2,
            )
        )
        return 1 if failed else 0
    width = max((len(c.name) for _, checks in sections for c in checks), default=0)
    for title, checks in sections:
        print(title)
        for c in checks:
            print(f"  {MARK[c.status]}  {c.name:<{width}}  {c.detail}")
            if c.hint and c.status != "ok":
                print(f"        {'':<{width}}  hint: {c.hint}")
    summary = "all checks passed" if not failed else f"{failed} problem(s)"
    print(f"{summary}" + (f", {warned} warning(s)" if warned else ""))
    return 1 if failed else 0
