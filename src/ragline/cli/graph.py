"""`ragline graph PATH`: the workflow's DAG as Mermaid text, without running anything."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="workflow file")


def run(args: argparse.Namespace) -> int:
    from ragline.compiler.plan import mermaid
    from ragline.validation.workflow import load_workflow

    print(mermaid(load_workflow(args.path).workflow), end="")
    return 0
