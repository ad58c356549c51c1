"""`ragline schema [--check]`: regenerate schemas/ from the models, or fail if it is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the files differ from the models"
    )
    parser.add_argument("--dir", default="schemas", help="schema folder (default: schemas)")


def run(args: argparse.Namespace) -> int:
    from ragline.spec.schema import stale_files, write_files
    from ragline.steps.registry import default_registry

    registry = default_registry()
    folder = Path(args.dir)
    if args.check:
        stale = stale_files(folder, registry)
        if stale:
            print(
                f"stale schemas in {folder}/: {', '.join(stale)}; "
                "run 'ragline schema' and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{folder}/ is up to date ({len(registry.names())} step types)")
        return 0
    written = write_files(folder, registry)
    print(f"wrote {len(written)} file(s) in {folder}/" if written else f"{folder}/ is up to date")
    return 0
