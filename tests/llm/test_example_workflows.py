"""The shipped model examples run offline as they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_answer_offline_answers_with_citations_through_the_cli(cli: Any, prefect: str) -> None:
    result = cli("run", str(ROOT / "workflows" / "answer_offline.yaml"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    outputs = json.loads(result.stdout)["outputs"]
    assert outputs["model"] == "local/extractive"
    assert outputs["prompt_version"] == "1"
    assert "[secrets.md#0]" in outputs["answer"]
    assert "masks them in every log line" in outputs["answer"]
