"""The suites shipped under workflows/suites/ pass against the shipped workflows, offline."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_docs_qa_suite_passes(tmp_path: Path, cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    # A copy, so the workflow's .ragline/ state (LanceDB, caches) lands in tmp_path.
    shutil.copytree(
        ROOT / "workflows", tmp_path / "workflows", ignore=shutil.ignore_patterns(".ragline")
    )
    shutil.copytree(ROOT / "docs", tmp_path / "docs")  # the corpus docs_qa reads
    result = cli(
        "test", "workflows/suites/docs_qa.suite.yaml", "--junit", "report.xml", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    suite = ET.parse(tmp_path / "report.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "0")
    # The injection case passed because the guard stopped the run, as the suite asserts.
    refused = [c for c in suite.iter("testcase") if "injection" in str(c.get("name"))]
    out = refused[0].find("system-out")
    assert out is not None and "run-fails: the run failed as expected" in str(out.text)


def test_every_shipped_suite_is_valid(cli) -> None:  # type: ignore[no-untyped-def]
    suites = sorted((ROOT / "workflows" / "suites").glob("*.suite.yaml"))
    assert suites
    for path in suites:
        result = cli("test", "--list", str(path))
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) >= 3, path  # cases, one line each
