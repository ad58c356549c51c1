"""Credentials: provider key shapes (AWS, OpenAI, Anthropic, GitHub, GitLab, Slack,
Stripe, Google, Hugging Face, npm, SendGrid, Twilio), private key blocks, JWTs,
bearer tokens, passwords in URLs, and long values assigned to a secret-sounding
name (`DB_PASSWORD=...`, `client_secret: ...`).

An assignment whose value is a reference (`env:NAME`, `secret:NAME`,
`${{ secrets.X }}`, `${VAR}`) is how a secret *should* be written and never fires.
"""

from __future__ import annotations

import re

from ragline.safety.findings import Finding, pattern_table

_TABLE = [
    ("aws_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),  # also sk-proj-, sk-ant-, sk-svcacct-
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    ),
    ("google_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("google_oauth", re.compile(r"\b(?:GOCSPX-[A-Za-z0-9_-]{20,}|ya29\.[A-Za-z0-9_-]{20,})")),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("sendgrid_key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("twilio_key", re.compile(r"\bSK[0-9a-f]{32}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-.~+/]{20,}=*")),
    ("azure_key", re.compile(r"(?i)\b(?:AccountKey|SharedAccessKey)=[A-Za-z0-9+/]{30,}={0,2}")),
    # scheme://user:password@host, the password not a ${VAR} or *** placeholder
    ("url_password", re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]+:(?![$*<{])[^\s@/]{4,}@")),
]

# NAME = value, where NAME ends in a secret-sounding word.
_ASSIGNED = re.compile(
    r"(?i)(?<![\w-])[\w.-]*?(?:api[_-]?key|apikey|secret(?:[_-]?access)?(?:[_-]?key)?"
    r"|client[_-]?secret|access[_-]?key|auth[_-]?token|authtoken|token|password|passwd|pwd"
    r"|private[_-]?key)(?![\w-])['\"]?(?:\s*[:=]\s*|\s+(?:is\s+)?)['\"]?"
    r"(?!env:|secret:|\$|\{\{|<|\*{3})([^\s'\",;]{16,})"
)


_NEEDLES: dict[str, tuple[str, ...]] = {
    "aws_key": ("akia", "asia"),
    "private_key": ("-----begin",),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": ("glpat-",),
    "openai_key": ("sk-",),
    "stripe_key": ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    "slack_token": ("xox",),
    "slack_webhook": ("hooks.slack.com",),
    "google_key": ("aiza",),
    "google_oauth": ("gocspx-", "ya29."),
    "huggingface_token": ("hf_",),
    "npm_token": ("npm_",),
    "sendgrid_key": ("sg.",),
    "twilio_key": ("sk",),
    "jwt": ("eyj",),
    "bearer_token": ("bearer",),
    "azure_key": ("accountkey=", "sharedaccesskey="),
    "url_password": ("://",),
}
_ASSIGNED_NEEDLES = ("key", "secret", "token", "passw", "pwd")
_providers = pattern_table("secrets", _TABLE, _NEEDLES)


def _looks_random(value: str) -> bool:
    """A key-like value mixes letters and digits (a bare word is a placeholder)."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def check_secrets(text: str) -> list[Finding]:
    out = _providers(text)
    low = text.lower()
    if not any(n in low for n in _ASSIGNED_NEEDLES):
        return out
    taken = [(f.start, f.end) for f in out]
    for m in _ASSIGNED.finditer(text):
        start, end = m.start(1), m.end(1)
        if _looks_random(m.group(1)) and not any(s < end and start < e for s, e in taken):
            out.append(Finding("secrets", "assigned_secret", start, end))
    return out


KINDS = (*(kind for kind, _ in _TABLE), "assigned_secret")
