"""The registry of checks and what runs them. Each check returns findings with
offsets, so block can say where and redact can replace exactly what fired.

Every check reads the normalised text (`normalize`: NFKC, invisible characters
dropped, homoglyphs folded) and its findings are mapped back to spans of the
original text: offsets in a report, and what `redact` replaces, always refer to
the text the caller passed in. The invisible characters themselves are found
in the original (`injection.invisible`).
"""

from __future__ import annotations

from ragline.safety import code, injection, pii, secrets, toxicity
from ragline.safety.code import check_malicious_code
from ragline.safety.findings import Detector, Finding
from ragline.safety.injection import check_injection
from ragline.safety.normalize import Normalized, normalize
from ragline.safety.pii import check_pii, iban_ok, luhn
from ragline.safety.secrets import check_secrets
from ragline.safety.toxicity import check_toxicity

__all__ = [
    "CHECKS",
    "KINDS",
    "Detector",
    "Finding",
    "iban_ok",
    "luhn",
    "normalize",
    "redact",
    "run_checks",
]

# Each detector reads normalised text; `run_checks` normalises once for all of them.
_DETECTORS: dict[str, Detector] = {
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


def _on_original(norm: Normalized, findings: list[Finding]) -> list[Finding]:
    if norm.starts is None:
        return findings
    out = []
    for f in findings:
        start, end = norm.original(f.start, f.end)
        out.append(Finding(f.check, f.kind, start, end))
    return out


def run_checks(text: str, checks: list[str]) -> list[Finding]:
    """All findings of the named checks on `text`, with offsets into `text`, sorted."""
    norm = normalize(text)
    found: list[Finding] = []
    for name in checks:
        found += _on_original(norm, _DETECTORS[name](norm.text))
    if "injection" in checks and norm.starts is not None:
        found += injection.invisible(text)
    return sorted(set(found), key=lambda f: (f.start, f.end, f.check, f.kind))


def _one(name: str) -> Detector:
    def run(text: str) -> list[Finding]:
        return run_checks(text, [name])

    run.__name__ = f"check_{name}"
    return run


# One check at a time, on any text (normalised here).
CHECKS: dict[str, Detector] = {name: _one(name) for name in _DETECTORS}


def redact(text: str, findings: list[Finding]) -> str:
    """Replace each finding with a typed placeholder such as `[EMAIL]`; overlaps merge.

    Findings are spans of the original text (what `run_checks` returns), so an
    injection spelled with homoglyphs or split by zero-width characters is replaced
    whole; an invisible character that is not part of a finding is dropped.
    """
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.end <= pos:
            continue
        start = max(f.start, pos)
        out.append(text[pos:start])
        out.append("" if f.kind == "zero_width" else f"[{f.kind.upper()}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
