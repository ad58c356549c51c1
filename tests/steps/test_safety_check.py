"""`safety-check`: bad configs `ragline validate` refuses, and a text with an e-mail address
and a prompt injection cleaned by `redact`.

Covered elsewhere, not repeated here: each check on its own kinds, block and flag, allowed
texts (tests/safety/test_safety_check.py), an unknown kind with a literal text through the
CLI (same file, integration tier), hostile inputs (tests/safety/test_hostile.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.sdk import StepContext
from ragline.steps.safety_check import SafetyCheckConfig, safety_check
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_refused, bad

TEXT = "text: ${{ steps.upstream.output }}"

BAD = [
    bad("text missing", "on_fail: block", (1, 1), "missing required key 'text'", "'safety-check'"),
    bad(
        "a check that does not exist",
        f"{TEXT}\nchecks: [pii, virus]",
        (2, 15),
        "'virus' is not one of pii, injection, toxicity, malicious_code, secrets",
    ),
    bad("no check at all", f"{TEXT}\nchecks: []", (2, 9), "needs at least 1 item"),
    bad("checks as one string", f"{TEXT}\nchecks: pii", (2, 9), "expected a list"),
    bad(
        "an unknown on_fail",
        f"{TEXT}\non_fail: drop",
        (2, 10),
        "'drop' is not one of block, redact, flag",
    ),
    bad(
        # The text is a reference, as in every real workflow: the kinds are still checked.
        "a finding kind misspelt",
        f"{TEXT}\nignore_kinds: [emial]",
        (2, 15),
        "unknown finding kind 'emial'",
        "did you mean 'email'?",
    ),
    bad("allow as one string", f"{TEXT}\nallow: help@example.com", (2, 8), "expected a list"),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "safety-check", body, at, words)


def test_redact_replaces_an_address_and_reports_where_without_the_text(tmp_path: Path) -> None:
    text = "Write to ana.lopez@example.org about the invoice."
    ctx = StepContext(step_id="clean", workflow=workflow_model(), workflow_dir=tmp_path)

    out = safety_check(SafetyCheckConfig(text=text, checks=["pii"], on_fail="redact"), ctx)

    assert "ana.lopez@example.org" not in out.text
    assert out.text.startswith("Write to ") and out.text.endswith(" about the invoice.")
    assert not out.report.passed
    [finding] = out.report.findings
    assert (finding.check, finding.kind) == ("pii", "email")
    assert text[finding.start : finding.end] == "ana.lopez@example.org"
    [artifact] = ctx.metrics["artifacts"]
    assert artifact["key"] == "clean-safety" and "ana.lopez" not in artifact["data"]
