"""An edited template file invalidates the prompt step's cached result."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from ragline.compiler.flow import compile_workflow
from ragline.testing.fixtures import write_workflow
from ragline.validation.workflow import load_workflow


def test_editing_the_template_file_reruns_the_prompt_step(tmp_path: Path, prefect: str) -> None:
    template = tmp_path / "t.j2"
    template.write_text("---\nversion: 1\n---\nHello {{ who }}")
    path = write_workflow(
        tmp_path,
        {
            "name": f"prompt-cache-{uuid.uuid4().hex[:6]}",
            "steps": [
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {"template": "t.j2", "vars": {"who": "Ann"}},
                }
            ],
            "outputs": {
                "text": "${{ steps.prompt.output.text }}",
                "version": "${{ steps.prompt.output.version }}",
            },
        },
    )

    def run() -> tuple[dict[str, Any], bool]:
        records: list[Any] = []
        flow = compile_workflow(
            load_workflow(path), on_finish=lambda recs, outs: records.extend(recs)
        )
        out = flow()
        return out, records[0].cached

    first, cached1 = run()
    second, cached2 = run()
    template.write_text("---\nversion: 2\n---\nGoodbye {{ who }}")
    third, cached3 = run()
    assert (cached1, cached2, cached3) == (False, True, False)
    assert first == second == {"text": "Hello Ann", "version": "1"}
    assert third == {"text": "Goodbye Ann", "version": "2"}
