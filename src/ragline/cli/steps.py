"""`ragline steps`: the registered step types and their config fields."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ragline.sdk.registry import default_registry
    from ragline.spec.outputs import type_name

    registry = default_registry()
    rows: list[dict[str, Any]] = []
    for name in registry.names():
        st = registry.get(name)
        fields = []
        for fname, info in st.config.model_fields.items():
            required = info.is_required()
            fields.append(
                {
                    "name": info.alias or fname,
                    "type": type_name(info.annotation),
                    "required": required,
                    "default": None
                    if required
                    else repr(info.get_default(call_default_factory=True)),
                    "description": info.description or "",
                }
            )
        rows.append(
            {
                "name": name,
                "version": st.version,
                "origin": registry.origin.get(name, ""),
                "summary": st.summary,
                "output": type_name(st.output_type),
                "partitions": st.partition,
                "fields": fields,
            }
        )
    if args.json:
        print(json.dumps({"steps": rows, "broken": registry.broken}, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']} (v{row['version']}, {row['origin']}): {row['summary']}")
        print(f"  output: {row['output']}")
        if row["partitions"]:
            print(f"  partitions: over {row['partitions']} (`partition: {{size: N}}` on the step)")
        for f in row["fields"]:
            req = "required" if f["required"] else f"default {f['default']}"
            desc = f"  {f['description']}" if f["description"] else ""
            print(f"  - {f['name']}: {f['type']} ({req}){desc}")
    for name, why in registry.broken.items():
        print(f"{name}: BROKEN: {why}")
    return 0
