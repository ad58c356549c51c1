"""Suite results as a terminal table, JSON, JUnit XML (for CI) and Prefect artifacts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ragline.suites.load import Suite
    from ragline.suites.results import CaseResult, SuiteResult


def why(result: CaseResult) -> str:
    """The first reason a case failed, on one line."""
    if result.crashed and result.error:
        return f"run failed: {result.error.splitlines()[0]}"
    failed = [a for a in result.assertions if not a.passed]
    if not failed:
        return ""
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"{failed[0].type}: {failed[0].reason}{more}"


def table(result: SuiteResult, width: int | None = None) -> str:
    """One row per case; with `width` (a terminal's), reasons are trimmed to fit."""
    rows = [("", "target", "case", "ms", "cost $", "assertions", "why")]
    for r in result.results:
        ok = sum(a.passed for a in r.assertions)
        rows.append(
            (
                "PASS" if r.passed else "FAIL",
                r.target,
                r.case,
                f"{r.latency_ms:.0f}",
                f"{r.cost_usd:.4f}",
                "-" if r.crashed else f"{ok}/{len(r.assertions)}",
                why(r),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6]))
        tail = row[6]
        room = max(20, width - len(head) - 2) if width else len(tail)
        lines.append(f"{head}  {tail[: room - 3] + '...' if len(tail) > room else tail}".rstrip())
    failed = len(result.failed)
    total = len(result.results)
    for r in result.failed:  # in full: the table trims reasons to the terminal's width
        lines += ["", f"FAIL {r.target} / {r.case}"]
        if r.crashed and r.error:
            lines.append("  run failed: " + r.error.replace("\n", "\n  "))
        lines += [f"  {a.type}: {a.reason}" for a in r.assertions if not a.passed]
    lines.append("")
    lines.append(
        f"{total - failed} passed, {failed} failed ({total} cases) in {result.duration_s:.1f} s"
    )
    return "\n".join(lines)


def as_json(result: SuiteResult) -> dict[str, Any]:
    return {
        "suite": result.suite,
        "file": result.file,
        "passed": result.passed,
        "flow_run_id": result.flow_run_id,
        "summary": {
            "cases": len(result.results),
            "passed": len(result.results) - len(result.failed),
            "failed": len(result.failed),
            "duration_s": round(result.duration_s, 3),
        },
        "results": [r.as_dict() for r in result.results],
    }


def write_json(result: SuiteResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(result), indent=2, ensure_ascii=False) + "\n")


def junit_xml(result: SuiteResult) -> str:
    """One <testcase> per case and target: a failed run is an <error>, a check a <failure>."""
    errors = sum(1 for r in result.results if r.crashed)
    failures = len(result.failed) - errors
    root = ET.Element("testsuites", name="ragline test")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=result.suite,
        tests=str(len(result.results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{result.duration_s:.3f}",
        file=result.file,
    )
    for r in result.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{result.suite}.{r.target}",
            name=r.case,
            time=f"{r.latency_ms / 1000:.3f}",
        )
        if r.crashed and r.error:
            ET.SubElement(case, "error", message=r.error[:500], type="RunFailed").text = r.error
        elif not r.passed:
            failed = [a for a in r.assertions if not a.passed]
            node = ET.SubElement(case, "failure", message=why(r)[:500], type=failed[0].type)
            node.text = "\n".join(f"{a.type}: {a.reason}" for a in failed)
        lines = [f"{'ok  ' if a.passed else 'FAIL'} {a.type}: {a.reason}" for a in r.assertions]
        if lines:
            ET.SubElement(case, "system-out").text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: SuiteResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(result))


def artifact_rows(results: list[CaseResult]) -> list[dict[str, Any]]:
    return [
        {
            "target": r.target,
            "case": r.case,
            "result": "pass" if r.passed else "fail",
            "latency_ms": round(r.latency_ms, 1),
            "cost_usd": round(r.cost_usd, 8),
            "assertions": f"{sum(a.passed for a in r.assertions)}/{len(r.assertions)}",
            "why": why(r),
        }
        for r in results
    ]


def publish_artifacts(suite: Suite, results: list[CaseResult]) -> None:
    """A table of every case on the suite's flow run, plus a one-line markdown verdict."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from ragline.compiler.report import artifact_key

    key = artifact_key(f"test-{suite.name}")
    failed = sum(not r.passed for r in results)
    create_table_artifact(
        table=artifact_rows(results),
        key=key,
        description=f"ragline test {suite.path}: {len(results) - failed} passed, {failed} failed",
    )
    lines = [f"# ragline test {suite.name}", ""]
    lines.append(f"**{len(results) - failed} passed, {failed} failed** of {len(results)} cases.")
    for r in results:
        if not r.passed:
            lines.append(f"- FAIL `{r.target}` / {r.case}: {why(r)}")
    create_markdown_artifact(
        markdown="\n".join(lines) + "\n", key=f"{key}-summary", description="suite verdict"
    )
