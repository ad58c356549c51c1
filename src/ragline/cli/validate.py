"""`ragline validate PATH...`: every problem in every file, exit 2 if any."""

from __future__ import annotations

import argparse
import sys

from ragline.errors import WorkflowError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="workflow files")


def run(args: argparse.Namespace) -> int:
    from ragline.validation.workflow import load_workflow

    failed = 0
    for path in args.paths:
        try:
            load_workflow(path)
        except WorkflowError as err:
            if args.debug:
                raise
            failed += 1
            print(err.render(), file=sys.stderr)
        else:
            print(f"{path}: ok")
    return 2 if failed else 0
