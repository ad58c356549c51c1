"""`ragline test SUITE.yaml [--json PATH] [--junit PATH] [--concurrency N]`.

Exit 0 when every case passes, 1 when any fails, 2 when the suite (or a
workflow it targets) is invalid. The suite is checked before Prefect is
imported, so a typo costs milliseconds.

Cases run where `ragline run` runs: on PREFECT_API_URL when it is configured,
otherwise on the local Prefect server of the Prefect home (started by the first
command, reused after), never on a temporary per-process server; a killed
`ragline test` leaves its runs CRASHED, not RUNNING (`ragline.ops.run_api`).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {raw!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", metavar="SUITE", help="suite file (.yaml)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write results as JSON")
    parser.add_argument(
        "--junit", metavar="PATH", type=Path, help="write JUnit XML (one testcase per case)"
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        metavar="N",
        help="cases run at once (default: the suite's concurrency, 4)",
    )
    parser.add_argument(
        "-k",
        dest="pattern",
        metavar="TEXT",
        help="run only the cases whose name contains TEXT (case-insensitive)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--list",
        action="store_true",
        help="check the suite and list its cases per target, without running anything",
    )


def run(args: argparse.Namespace) -> int:
    from ragline.suites.load import load_suite

    suite = load_suite(args.suite)
    if args.pattern:
        chosen = [c for c in suite.cases if args.pattern.lower() in c.name.lower()]
        if not chosen:
            names = ", ".join(repr(c.name) for c in suite.cases)
            print(
                f"error: no case name contains {args.pattern!r} (cases: {names})", file=sys.stderr
            )
            return 2
        suite.cases = chosen
    for path in (args.json, args.junit):
        if path is not None and path.is_dir():
            print(f"error: '{path}' is a directory; name a file to write", file=sys.stderr)
            return 2
    if args.list:
        for target in suite.targets:
            for case in suite.cases:
                kinds = ", ".join(a.type for a in case.assertions)
                print(f"{target.name}  {case.name}  ({kinds})")
        return 0

    try:
        return _run(args, suite)
    finally:
        from ragline.ops.run_api import forget_this_process

        forget_this_process()


def _run(args: argparse.Namespace, suite: Any) -> int:
    """Run the suite where `ragline run` would: the local server unless an API is configured."""
    from ragline.ops.run_api import api_for_runs, choose_api

    local = choose_api()  # before Prefect's import: it reads the URL this exports
    from ragline.ops.run_api import recorded_runs
    from ragline.suites.report import table, write_json, write_junit
    from ragline.suites.results import CaseResult
    from ragline.suites.runner import run_suite

    url, local = api_for_runs(local, "ragline test", "no case ran")
    import ragline.compiler.flow  # noqa: F401  (Prefect sets up its logging on this import)
    from ragline.monitoring.logs import quiet_failures

    # As `ragline run`: one line per failed step, Prefect's tracebacks only with --debug.
    quiet_failures(debug=bool(getattr(args, "debug", False)))

    def progress(result: CaseResult) -> None:
        if not args.quiet:
            mark = "." if result.passed else "F"
            print(mark, end="", file=sys.stderr, flush=True)

    with recorded_runs(url, local) as record_run:
        result = run_suite(
            suite, concurrency=args.concurrency, on_result=progress, on_running=[record_run]
        )
    if not args.quiet:
        print(file=sys.stderr)
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    text = table(result, width)
    print(text if not args.quiet else text.splitlines()[-1])
    if args.json:
        write_json(result, args.json)
    if args.junit:
        write_junit(result, args.junit)
    return 0 if result.passed else 1
