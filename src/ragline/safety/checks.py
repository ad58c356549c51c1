"""Regex-based detectors. Each check returns findings with offsets, so block
can say where and redact can replace exactly what fired."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str
    kind: str
    start: int
    end: int


def _luhn(digits: str) -> bool:
    nums = [int(c) for c in digits][::-1]
    total = sum(
        n if i % 2 == 0 else (n * 2 - 9 if n * 2 > 9 else n * 2) for i, n in enumerate(nums)
    )
    return total % 10 == 0


def _iban_ok(raw: str) -> bool:
    s = raw.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
_PHONE = re.compile(
    r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b"
)
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")

_SECRETS = [
    ("aws_key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("openai_key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b")),
    ("slack_token", re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b")),
    ("google_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    (
        "assigned_secret",
        re.compile(
            r"(?i)\b(?:api[_-]?key|secret|token|password)\s*[:=]\s*['\"]?[A-Za-z0-9_\-/+]{16,}"
        ),
    ),
]

_INJECTION = [
    (
        "override",
        re.compile(
            r"(?i)\b(?:ignore|disregard|forget|override)\b[\w\s,]{0,30}\b(?:previous|prior|above|earlier|all|your)\b[\w\s]{0,20}\b(?:instructions?|rules|prompts?|directions|guidelines)"
        ),
    ),
    (
        "system_prompt",
        re.compile(r"(?i)\b(?:reveal|print|show|repeat|output)\b[\w\s]{0,20}\bsystem prompt"),
    ),
    (
        "jailbreak",
        re.compile(
            r"(?i)\b(?:DAN mode|do anything now|jailbreak|developer mode"
            r"|no (?:restrictions|filters|rules))\b"
        ),
    ),
    (
        "roleplay",
        re.compile(
            r"(?i)\b(?:pretend|act as if|you are now|from now on,? you)\b[\w\s,']{0,40}"
            r"\b(?:no|without|unfiltered|uncensored|evil|ignore)"
        ),
    ),
    (
        "hidden_html",
        re.compile(r"(?is)<!--.*?\b(?:ignore|instruction|assistant|system|prompt)\b.*?-->"),
    ),
    ("zero_width", re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")),
]

_MALICIOUS = [
    ("rm_rf", re.compile(r"\brm\s+-(?:[a-z]*r[a-z]*f|[a-z]*f[a-z]*r)[a-z]*\s+(?:/|~|\*)")),
    ("sql_drop", re.compile(r"(?i)(?:;|'|\")\s*(?:DROP|TRUNCATE)\s+(?:TABLE|DATABASE)\b")),
    ("sql_tautology", re.compile(r"(?i)'\s*OR\s+'?1'?\s*=\s*'?1")),
    ("script_tag", re.compile(r"(?i)<script\b|javascript:|\bon(?:error|load)\s*=")),
    (
        "pipe_to_shell",
        re.compile(r"(?i)\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"),
    ),
    ("fork_bomb", re.compile(r":\(\)\s*\{\s*:\|:&\s*\};:")),
]

# A short, deliberately conservative list: words that are insults or slurs in
# nearly every context. Extend per deployment with `extra_words`.
_TOXIC_WORDS = (
    "fuck",
    "fucking",
    "shit",
    "bitch",
    "bastard",
    "asshole",
    "cunt",
    "dickhead",
    "motherfucker",
    "retard",
    "idiot",
    "moron",
    "stupid bitch",
    "kill yourself",
    "kys",
)
_TOXIC = re.compile(r"(?i)\b(?:" + "|".join(re.escape(w) for w in _TOXIC_WORDS) + r")\b")


def check_pii(text: str) -> list[Finding]:
    out = [Finding("pii", "email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            out.append(Finding("pii", "credit_card", m.start(), m.end()))
    out += [
        Finding("pii", "iban", m.start(), m.end())
        for m in _IBAN.finditer(text)
        if _iban_ok(m.group())
    ]
    out += [Finding("pii", "ip_address", m.start(), m.end()) for m in _IPV4.finditer(text)]
    out += [Finding("pii", "national_id", m.start(), m.end()) for m in _SSN.finditer(text)]
    # Long digit runs are card-like (even failing Luhn), never phone numbers.
    taken = [(f.start, f.end) for f in out] + [(m.start(), m.end()) for m in _CARD.finditer(text)]
    for m in _PHONE.finditer(text):
        if sum(c.isdigit() for c in m.group()) >= 7 and not any(
            s < m.end() and m.start() < e for s, e in taken
        ):
            out.append(Finding("pii", "phone", m.start(), m.end()))
    return out


def _table(check: str, table: list[tuple[str, re.Pattern[str]]]) -> Callable[[str], list[Finding]]:
    def run(text: str) -> list[Finding]:
        return [
            Finding(check, kind, m.start(), m.end())
            for kind, rx in table
            for m in rx.finditer(text)
        ]

    return run


def check_toxicity(text: str) -> list[Finding]:
    return [Finding("toxicity", "profanity", m.start(), m.end()) for m in _TOXIC.finditer(text)]


CHECKS: dict[str, Callable[[str], list[Finding]]] = {
    "pii": check_pii,
    "secrets": _table("secrets", _SECRETS),
    "injection": _table("injection", _INJECTION),
    "toxicity": check_toxicity,
    "malicious_code": _table("malicious_code", _MALICIOUS),
}


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
