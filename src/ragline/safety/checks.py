"""The registry of checks and what runs them. Each check returns findings with
offsets, so block can say where and redact can replace exactly what fired."""

from __future__ import annotations

from ragline.safety import code, injection, pii, secrets, toxicity
from ragline.safety.code import check_malicious_code
from ragline.safety.findings import Detector, Finding
from ragline.safety.injection import check_injection
from ragline.safety.pii import check_pii, iban_ok, luhn
from ragline.safety.secrets import check_secrets
from ragline.safety.toxicity import check_toxicity

__all__ = ["CHECKS", "KINDS", "Detector", "Finding", "iban_ok", "luhn", "redact", "run_checks"]

CHECKS: dict[str, Detector] = {
    "pii": check_pii,
    "secrets": check_secrets,
    "injection": check_injection,
    "toxicity": check_toxicity,
    "malicious_code": check_malicious_code,
}

# What each check can report, for configs that name kinds (`ignore_kinds: [ip_address]`).
KINDS: dict[str, tuple[str, ...]] = {
    "pii": pii.KINDS,
    "secrets": secrets.KINDS,
    "injection": injection.KINDS,
    "toxicity": toxicity.KINDS,
    "malicious_code": code.KINDS,
}

# Kept for callers of the first version.
_luhn, _iban_ok = luhn, iban_ok


def run_checks(text: str, checks: list[str]) -> list[Finding]:
    """All findings of the named checks, sorted by position."""
    found: list[Finding] = []
    for name in checks:
        found += CHECKS[name](text)
    return sorted(found, key=lambda f: (f.start, f.end))


def redact(text: str, findings: list[Finding]) -> str:
    """Replace each finding with a typed placeholder such as `[EMAIL]`; overlaps merge."""
    out, pos = [], 0
    for f in findings:
        if f.start < pos:
            continue
        out.append(text[pos : f.start])
        out.append("" if f.kind == "zero_width" else f"[{f.kind.upper()}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
