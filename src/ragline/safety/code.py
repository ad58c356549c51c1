"""Code payloads: destructive shell commands, pipe-to-shell installs, reverse shells,
SQL injection (stacked DROP/TRUNCATE, tautologies, UNION SELECT after a value,
xp_cmdshell), script injection (tags, javascript: URLs, event handlers) and
encoded PowerShell.

Code that merely *talks about* these (a SELECT with a WHERE clause, `rm -rf
build/`, "put the script tag at the end of the body") is not a payload.
"""

from __future__ import annotations

import re

from ragline.safety.findings import pattern_table

_TABLE = [
    (
        "rm_rf",
        re.compile(
            r"\brm\s+(?:-[a-zA-Z]*[rR][a-zA-Z]*\s+|--recursive\s+|--force\s+)+"
            r"(?:--no-preserve-root\b|/(?:\s|$|\*|\"|')|~/?(?:\s|$)|\*|/(?:etc|usr|bin|var|home)\b)"
        ),
    ),
    (
        "sql_drop",
        re.compile(
            r"(?i)(?:;|'|\")\s*(?:DROP|TRUNCATE|DELETE\s+FROM)\s+(?:TABLE\s+|DATABASE\s+)?\w"
        ),
    ),
    ("sql_tautology", re.compile(r"(?i)['\"]\s*\)?\s*OR\s+['\"]?(\w+)['\"]?\s*=\s*['\"]?\1\b")),
    ("sql_union", re.compile(r"(?i)(?:['\"]|\d)\s*\)?\s*UNION\s+(?:ALL\s+)?SELECT\b")),
    ("sql_exec", re.compile(r"(?i)\b(?:xp_cmdshell|sp_oacreate|exec\s+master\.)")),
    ("script_tag", re.compile(r"(?i)<script\b[^>]*>\s*\S|javascript:\s*\w")),
    ("event_handler", re.compile(r"(?i)<[a-z][^>]*?[\s/]on[a-z]{3,}\s*=")),
    (
        "pipe_to_shell",
        re.compile(r"(?i)\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"),
    ),
    (
        "reverse_shell",
        re.compile(
            r"/dev/tcp/[\w.-]+/\d+|\bnc(?:at)?\s+(?:-\w+\s+)*-e\s+/bin/\w*sh\b|\bbash\s+-i\s+>&"
        ),
    ),
    (
        "obfuscated_eval",
        re.compile(
            r"\beval\s*\(\s*(?:atob|unescape|String\.fromCharCode|base64_decode|gzinflate"
            r"|decodeURIComponent)\s*\("
        ),
    ),
    ("fork_bomb", re.compile(r":\(\)\s*\{\s*:\|:&\s*\};:")),
    (
        "disk_wipe",
        re.compile(
            r"\bdd\s+if=/dev/(?:zero|random|urandom)\s+of=/dev/[sh]d|\bmkfs(?:\.\w+)?\s+/dev/"
        ),
    ),
    (
        "credential_files",
        re.compile(r"\b(?:chmod\s+[0-7]*7[0-7]*\s+|cat\s+)/etc/(?:shadow|sudoers)\b"),
    ),
    (
        "encoded_powershell",
        re.compile(
            r"(?i)\bpowershell(?:\.exe)?\s+(?:-\w+\s+)*-e(?:nc|ncodedcommand)?\s+[A-Za-z0-9+/=]{20,}"
        ),
    ),
]

_NEEDLES: dict[str, tuple[str, ...]] = {
    "rm_rf": ("rm",),
    "sql_drop": ("drop", "truncate", "delete"),
    "sql_tautology": ("or",),
    "sql_union": ("union",),
    "sql_exec": ("xp_cmdshell", "sp_oacreate", "exec"),
    "script_tag": ("<script", "javascript:"),
    "event_handler": ("<",),
    "pipe_to_shell": ("curl", "wget"),
    "reverse_shell": ("/dev/tcp/", "nc", "bash"),
    "obfuscated_eval": ("eval",),
    "fork_bomb": (":()",),
    "disk_wipe": ("dd", "mkfs"),
    "credential_files": ("/etc/shadow", "/etc/sudoers"),
    "encoded_powershell": ("powershell",),
}

check_malicious_code = pattern_table("malicious_code", _TABLE, _NEEDLES)

KINDS = tuple(kind for kind, _ in _TABLE)
