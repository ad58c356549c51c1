"""`ragline schema [--check]`: regenerate schemas/ from the models, or fail if it is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragline.sdk.registry import Registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the files differ from the models"
    )
    parser.add_argument("--dir", default="schemas", help="schema folder (default: schemas)")


def run(args: argparse.Namespace) -> int:
    from ragline.sdk.registry import default_registry

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


def expected_files(registry: Registry) -> dict[str, str]:
    """Relative path under schemas/ -> file content."""
    from ragline.suites.schema import render as render_suite
    from ragline.validation.schema import render, standalone_config_schema, workflow_schema

    files = {
        "workflow.schema.json": render(workflow_schema(registry)),
        "suite.schema.json": render_suite(),
    }
    for name in registry.names():
        files[f"steps/{name}.schema.json"] = render(standalone_config_schema(registry.get(name)))
    return files


def stale_files(schema_dir: Path, registry: Registry) -> list[str]:
    """Files under schema_dir that differ from what the models generate (or are extra)."""
    expected = expected_files(registry)
    stale = [
        rel
        for rel, text in expected.items()
        if not (schema_dir / rel).is_file() or (schema_dir / rel).read_text() != text
    ]
    if (schema_dir / "steps").is_dir():
        stale += [
            f"steps/{p.name}"
            for p in (schema_dir / "steps").glob("*.schema.json")
            if f"steps/{p.name}" not in expected
        ]
    return sorted(stale)


def write_files(schema_dir: Path, registry: Registry) -> list[str]:
    expected = expected_files(registry)
    (schema_dir / "steps").mkdir(parents=True, exist_ok=True)
    for p in (schema_dir / "steps").glob("*.schema.json"):
        if f"steps/{p.name}" not in expected:
            p.unlink()
    written = []
    for rel, text in expected.items():
        target = schema_dir / rel
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
            written.append(rel)
    return written
