"""`safety-check`: refuse, clean or flag unsafe text before and after a model call."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ragline.errors import ErrorCategory, StepError
from ragline.safety.checks import KINDS, Finding, redact, run_checks
from ragline.sdk.context import StepContext
from ragline.sdk.step import StepConfig, step

CheckName = Literal["pii", "injection", "toxicity", "malicious_code", "secrets"]


def _all_checks() -> list[CheckName]:
    return ["pii", "injection", "toxicity", "malicious_code", "secrets"]


class SafetyCheckConfig(StepConfig):
    """Run local, offline checks on a text; block, redact or flag what fires."""

    text: str = Field(
        description="The text to check (a question, a retrieved context or an answer)."
    )
    checks: list[CheckName] = Field(
        default_factory=_all_checks,
        min_length=1,
        description="Which checks to run (at least one; leave the key out to run them all).",
    )
    on_fail: Literal["block", "redact", "flag"] = Field(
        "flag",
        description=(
            "block fails the step; redact replaces findings with typed placeholders"
            " (checks read the text normalised, so a spaced, hidden or look-alike spelling"
            " is replaced whole) and drops invisible characters; flag passes the text through."
        ),
    )
    ignore_kinds: list[str] = Field(
        default_factory=list,
        description="Finding kinds to let through, e.g. [ip_address] for ops logs "
        "(docs/safety.md lists each check's kinds).",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Exact texts that are never a finding, e.g. your own support address.",
    )

    @field_validator("ignore_kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        known = sorted({k for ks in KINDS.values() for k in ks})
        for kind in kinds:
            if kind not in known:
                match = difflib.get_close_matches(kind, known, n=1)
                hint = f"; did you mean '{match[0]}'?" if match else f" (kinds: {', '.join(known)})"
                raise ValueError(f"unknown finding kind '{kind}'{hint}")
        return kinds


class SafetyFinding(BaseModel):
    check: str
    kind: str
    start: int
    end: int


class SafetyReport(BaseModel):
    passed: bool
    findings: list[SafetyFinding] = Field(default_factory=list)


class SafetyResult(BaseModel):
    text: str
    report: SafetyReport


def _markdown(findings: list[Finding]) -> str:
    if not findings:
        return "All safety checks passed."
    rows = "\n".join(f"| {f.check} | {f.kind} | {f.start}-{f.end} |" for f in findings)
    return "| check | kind | offsets |\n|---|---|---|\n" + rows


@step("safety-check", config=SafetyCheckConfig, version="3")
def safety_check(config: SafetyCheckConfig, ctx: StepContext) -> SafetyResult:
    """Check `text`; the report never contains the matched text itself (it may be a secret)."""
    findings = [
        f
        for f in run_checks(config.text, list(config.checks))
        if f.kind not in config.ignore_kinds and config.text[f.start : f.end] not in config.allow
    ]
    ctx.metrics.setdefault("artifacts", []).append(
        {
            "key": f"{ctx.step_id}-safety",
            "kind": "markdown",
            "data": _markdown(findings),
            "description": f"safety-check {ctx.step_id}",
        }
    )
    report = SafetyReport(
        passed=not findings,
        findings=[
            SafetyFinding(check=f.check, kind=f.kind, start=f.start, end=f.end) for f in findings
        ],
    )
    if findings and config.on_fail == "block":
        where = ", ".join(f"{f.check}/{f.kind} at {f.start}-{f.end}" for f in findings[:5])
        raise StepError(
            f"unsafe text: {where}",
            category=ErrorCategory.SECURITY,
            retryable=False,
            hint="use on_fail: redact or flag to let the text through",
        )
    text = redact(config.text, findings) if config.on_fail == "redact" else config.text
    return SafetyResult(text=text, report=report)
