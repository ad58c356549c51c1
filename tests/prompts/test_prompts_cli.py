"""`ragline prompts` lists templates with version, hash and the variables each needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE = "---\nversion: 7\ndescription: Greets.\n---\nHello {{ name }}, {{ contexts | cite }}\n"


def test_lists_version_hash_and_variables_with_lines(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "greet.j2").write_text(TEMPLATE)
    result = cli("prompts", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)["templates"]
    assert row["version"] == "7"
    assert row["content_hash"].startswith("sha256:")
    assert row["variables"] == {"contexts": 5, "name": 5}
    text = cli("prompts", str(tmp_path / "greet.j2")).stdout
    assert "v7" in text and "needs: contexts (line 5), name (line 5)" in text


def test_finds_the_templates_a_workflow_uses(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.j2").write_text(TEMPLATE)
    (tmp_path / "prompts" / "unused.j2").write_text(TEMPLATE)
    wf = tmp_path / "w.yaml"
    wf.write_text("steps:\n  - {id: p, uses: prompt, with: {template: prompts/a.j2}}\n")
    rows = json.loads(cli("prompts", str(wf), "--json").stdout)["templates"]
    assert [Path(r["path"]).name for r in rows] == ["a.j2"]


def test_a_broken_template_is_reported_with_its_line_and_exit_1(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "bad.j2").write_text("---\nversion: 1\n---\nok\n{% if x %}\n")
    result = cli("prompts", str(tmp_path))
    assert result.returncode == 1
    assert "bad.j2:5: Unexpected end of template" in result.stdout and "ERROR" in result.stdout


def test_a_missing_path_is_a_user_error(tmp_path: Path, cli: Any) -> None:
    result = cli("prompts", str(tmp_path / "nope.j2"))
    assert result.returncode == 2
    assert "no such template" in result.stderr and "Traceback" not in result.stderr
