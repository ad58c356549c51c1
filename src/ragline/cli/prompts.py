"""`ragline prompts [PATH ...]`: prompt templates, their versions, hashes and variables.

PATH is a template file, a folder (searched for *.j2, *.jinja) or a workflow
file (its prompt steps' templates); the default is ./workflows/prompts and
./prompts. Nothing heavy is imported: this reads files and parses Jinja.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="template files, folders or workflow files"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _from_workflow(path: Path) -> list[Path]:
    """The templates a workflow's prompt steps name, confined like a run confines them."""
    import yaml

    from ragline.prompts.templates import confine, template_roots

    data = yaml.safe_load(path.read_text()) or {}
    found = []
    for s in data.get("steps") or []:
        with_ = s.get("with") if isinstance(s, dict) else None
        is_prompt = isinstance(s, dict) and s.get("uses") == "prompt" and isinstance(with_, dict)
        if is_prompt and isinstance(with_.get("template"), str):  # type: ignore[union-attr]
            roots = with_.get("roots")  # type: ignore[union-attr]
            allowed = template_roots(path.parent, roots if isinstance(roots, list) else None)
            confine(with_["template"], path.parent, allowed)  # type: ignore[index]
            found.append(path.parent / with_["template"])  # type: ignore[index]
    return found


def _collect(paths: list[str]) -> list[Path]:
    from ragline.prompts.templates import TEMPLATE_SUFFIXES, find_templates

    targets = [Path(p) for p in paths] or [
        p for p in (Path("workflows/prompts"), Path("prompts")) if p.is_dir()
    ]
    files: list[Path] = []
    for t in targets:
        if t.is_dir():
            files.extend(find_templates(t))
        elif t.suffix in (".yaml", ".yml") and t.is_file():
            files.extend(_from_workflow(t))
        elif t.is_file():
            files.append(t)
        else:
            kinds = "/".join(TEMPLATE_SUFFIXES)
            raise ConfigError(f"{t}: no such template ({kinds}), folder or workflow file")
    return list(dict.fromkeys(files))


def describe(path: Path) -> dict[str, Any]:
    from ragline.prompts.render import PromptError, variables
    from ragline.prompts.templates import load_template

    row: dict[str, Any] = {"path": str(path)}
    try:
        template = load_template(path, str(path))
        row.update(
            version=template.version or "-",
            content_hash=template.content_hash,
            description=template.description,
            variables=variables(template),
            error=None,
        )
    except (ConfigError, PromptError) as exc:
        row.update(version="-", content_hash="-", description="", variables={}, error=str(exc))
    return row


def run(args: argparse.Namespace) -> int:
    rows = [describe(p) for p in _collect(args.paths)]
    if args.json:
        print(json.dumps({"templates": rows}, indent=2))
    else:
        if not rows:
            print("no prompt templates found (looked in workflows/prompts and prompts)")
        for r in rows:
            print(f"{r['path']}  v{r['version']}  {r['content_hash']}")
            if r["description"]:
                print(f"  {r['description']}")
            if r["error"]:
                print(f"  ERROR: {r['error']}")
            else:
                needs = ", ".join(f"{name} (line {line})" for name, line in r["variables"].items())
                print(f"  needs: {needs or 'nothing'}")
    return 1 if any(r["error"] for r in rows) else 0
